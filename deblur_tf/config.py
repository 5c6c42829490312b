"""Typed experiment configs: dataclasses, overridable from YAML/JSON files and ``key=value`` flags.

In the style of tensorflow/models ``official/vision/configs``: an experiment is a named, registered
function returning an ``ExperimentConfig``; a file and command-line overrides are layered on top::

    cfg = get_experiment("lfw_compact_warmup")
    cfg = apply_overrides(cfg, load_config_file("my.yaml"))
    cfg = apply_overrides(cfg, parse_overrides(["train.steps=500", "data.batch_size=4"]))
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, Callable

import yaml

from deblur_tf.data import LFW_FACE_CROP, FaceAugment
from deblur_tf.degrade import DEFAULT_DEGRADATIONS
from deblur_tf.degrade.masks import HOLE_FILLS

# Inpainting masks: facial parts, free-form strokes and rectangles, each hole 3–40 % of the face.
DEFAULT_MASKS: list[dict] = [{"type": "part", "weight": 0.4}, {"type": "brush", "weight": 0.4},
                             {"type": "rect", "weight": 0.2}]
from deblur_tf.errors import DeblurTFError
from deblur_tf.paths import shared_dir


class ConfigError(DeblurTFError, ValueError):
    """A config file or override names an unknown key or gives a value of the wrong type."""


DATA_KINDS = ("sharp", "paired", "video", "damaged")


@dataclasses.dataclass
class DataConfig:
    kind: str = "sharp"              # sharp | paired | video | damaged (inpainting)
    train: str = ""                  # folder, file list, or (paired/video) root folder
    val: str | None = None
    root: str | None = None          # base folder for relative paths in file lists
    image_size: int = 128
    center_crop: int | None = None   # LFW: 150 (central px taken as the face)
    jitter: int = 0                  # training-time shift of the face window, output px
    batch_size: int = 8
    val_batches: int = 8
    seed: int = 0
    degradations: list = dataclasses.field(default_factory=lambda: [dict(d) for d in DEFAULT_DEGRADATIONS])
    frames_per_blur: int = 7         # video: frames averaged into one blurred image
    augment: FaceAugment = dataclasses.field(default_factory=FaceAugment)  # training only
    # damaged: hole masks drawn per sample (deblur_tf.degrade.masks.MaskSampler kinds) and what
    # fills the holes of the model's input.
    masks: list = dataclasses.field(default_factory=lambda: [dict(m) for m in DEFAULT_MASKS])
    fills: list = dataclasses.field(default_factory=lambda: list(HOLE_FILLS))


@dataclasses.dataclass
class ModelConfig:
    generator: str = "deblurgan_resnet_compact"
    generator_args: dict = dataclasses.field(default_factory=dict)
    critic: str = "patchgan"
    critic_args: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class LossConfig:
    adversarial: str = "wgan-gp"     # wgan-gp | bce | none
    gp_weight: float = 10.0
    adversarial_weight: float = 1.0
    l1_weight: float = 1.0
    mse_weight: float = 0.0
    perceptual_weight: float = 0.01
    frequency_weight: float = 0.0    # L1 between FFTs (MIMO-UNet's frequency loss); 0 = off
    ssim_weight: float = 0.0         # 1 - SSIM (Zhao et al. 2017's L1 + SSIM mix); 0 = off
    # VGG16 relu3_3 weights: a .weights.h5 path; "auto" = ../shared/weights (or $DEBLUR_TF_SHARED);
    # "random" = random init (tests only).
    perceptual_weights: str = "auto"
    hole_weight: float = 6.0         # inpainting: L1 inside the holes weighs this much more


@dataclasses.dataclass
class OptimConfig:
    optimizer: str = "adam"          # adam | rmsprop (generator; the critic always uses Adam)
    g_learning_rate: float = 1e-4
    d_learning_rate: float = 1e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    decay_start_fraction: float = 0.5  # linear decay to 0 over the last half


@dataclasses.dataclass
class TrainConfig:
    steps: int = 1000                # generator updates in total
    steps_per_epoch: int = 100
    n_critic: int = 5                # 0 = content-only warm-up
    checkpoint_every: int = 100      # steps
    keep_checkpoints: int = 3
    tensorboard_every: int = 10      # steps
    init_generator: str | None = None  # warm start: .keras file or run folder
    # With init_generator: the step it was taken at, so the learning-rate schedule and the data
    # go on from there (resuming from a committed generator without the optimizer state).
    init_step: int = 0
    # init_generator is a smaller model of the same family (e.g. nafnet_compact for
    # nafnet_compact_deep): copy the layers both have, by name; the new layers keep their
    # initialisation. NAFNet blocks start as the identity, so the grown model starts as the old one.
    init_grow: bool = False
    # With init_generator (a NAFNet): re-initialise the block branches that had stopped
    # contributing (models.nafnet.revive_dead_branches); the output is unchanged, but they can learn.
    init_revive: bool = False
    # bfloat16 compute (float32 weights, skip path and losses): ~2.3x faster on CPUs with AMX /
    # AVX512-BF16. Checkpoints are float32 either way, so a run may switch on resume; the exported
    # generator.keras is always float32.
    mixed_precision: bool = False
    verbose: int = 1
    # "default" (one device), "mirrored" (every local GPU, or the logical CPUs of --cpu-devices),
    # "multiworker" (MultiWorkerMirroredStrategy over the cluster TF_CONFIG describes).
    strategy: str = "default"


STRATEGIES = ("default", "mirrored", "multiworker")


@dataclasses.dataclass
class ExperimentConfig:
    name: str = "custom"
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    optim: OptimConfig = dataclasses.field(default_factory=OptimConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def adversarial_on(self) -> bool:
        """Whether a critic is trained: the one rule used to build and to train a run."""
        return (self.loss.adversarial != "none" and self.train.n_critic > 0
                and self.loss.adversarial_weight > 0)

    def validate(self) -> "ExperimentConfig":
        """Check every value's range and choice; raise ConfigError naming the key. Returns self."""
        d, m, lo, o, t = self.data, self.model, self.loss, self.optim, self.train
        checks = [
            ("data.kind", d.kind in DATA_KINDS, "one of " + ", ".join(DATA_KINDS)),
            ("data.image_size", d.image_size >= 16, "at least 16"),
            ("data.batch_size", d.batch_size >= 1, "at least 1"),
            ("data.val_batches", d.val_batches >= 1, "at least 1"),
            ("data.center_crop", d.center_crop is None or d.center_crop >= 1, "null or at least 1"),
            ("data.jitter", d.jitter >= 0, "at least 0"),
            ("data.frames_per_blur", d.frames_per_blur >= 1, "at least 1"),
            ("loss.adversarial", lo.adversarial in ("wgan-gp", "bce", "none"), "one of wgan-gp, bce, none"),
            ("optim.optimizer", o.optimizer in ("adam", "rmsprop"), "adam or rmsprop"),
            ("optim.g_learning_rate", o.g_learning_rate > 0, "above 0"),
            ("optim.d_learning_rate", o.d_learning_rate > 0, "above 0"),
            ("optim.beta_1", 0 <= o.beta_1 < 1, "in [0, 1)"),
            ("optim.beta_2", 0 <= o.beta_2 < 1, "in [0, 1)"),
            ("optim.decay_start_fraction", 0 <= o.decay_start_fraction <= 1, "in [0, 1]"),
            ("train.steps", t.steps >= 1, "at least 1"),
            ("train.steps_per_epoch", t.steps_per_epoch >= 1, "at least 1"),
            ("train.n_critic", t.n_critic >= 0, "at least 0"),
            ("train.checkpoint_every", t.checkpoint_every >= 1, "at least 1"),
            ("train.keep_checkpoints", t.keep_checkpoints >= 1, "at least 1"),
            ("train.tensorboard_every", t.tensorboard_every >= 1, "at least 1"),
            ("train.init_step", 0 <= t.init_step < t.steps, "in [0, train.steps)"),
            ("train.verbose", t.verbose in (0, 1, 2), "0, 1 or 2"),
            ("train.strategy", t.strategy in STRATEGIES, "one of " + ", ".join(STRATEGIES)),
        ]
        for name in ("gp_weight", "adversarial_weight", "l1_weight", "mse_weight", "perceptual_weight",
                     "hole_weight", "frequency_weight", "ssim_weight"):
            checks.append((f"loss.{name}", getattr(lo, name) >= 0, "at least 0"))
        for key, ok, expected in checks:
            if not ok:
                section, field = key.split(".")
                value = getattr(getattr(self, section), field)
                raise ConfigError(f"config key '{key}' must be {expected}, got {value!r}")
        if not m.generator:
            raise ConfigError("config key 'model.generator' is empty")
        try:
            d.augment.validate()
            if d.kind == "damaged":
                from deblur_tf.degrade.masks import MaskSampler
                MaskSampler(d.masks, d.image_size)
                bad = [f for f in d.fills if f not in HOLE_FILLS]
                if bad or not d.fills:
                    raise ConfigError(f"config key 'data.fills' must list some of {list(HOLE_FILLS)}, "
                                      f"got {d.fills!r}")
        except ValueError as e:
            raise ConfigError(str(e)) from None
        return self


# --- overriding ----------------------------------------------------------------------------------

def _type_ok(value: Any, hints) -> bool:
    origin = typing.get_origin(hints)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, a) for a in typing.get_args(hints))
    if hints is type(None) or hints is None:
        return value is None
    if hints is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hints is int:
        return isinstance(value, int) and not isinstance(value, bool)
    base = origin or hints
    return isinstance(value, base)


def apply_overrides(config, overrides: dict, prefix: str = ""):
    """Return a copy of ``config`` with nested ``overrides`` applied, checking keys and types."""
    if not isinstance(overrides, dict):
        raise ConfigError(f"config section {prefix or '<top>'} must be a mapping, got {overrides!r}")
    fields = {f.name: f for f in dataclasses.fields(config)}
    hints = typing.get_type_hints(type(config))  # resolves the postponed (string) annotations
    changes = {}
    for key, value in overrides.items():
        path = f"{prefix}{key}"
        if key not in fields:
            raise ConfigError(f"unknown config key '{path}'; valid keys here: {', '.join(fields)}")
        current = getattr(config, key)
        if dataclasses.is_dataclass(current):
            changes[key] = apply_overrides(current, value, f"{path}.")
            continue
        if hints[key] is float and not isinstance(value, bool):
            # YAML reads 1e-4 as a string and 2 as an int; both are fine for a float field.
            try:
                value = float(value)
            except (TypeError, ValueError):
                pass
        if not _type_ok(value, hints[key]):
            raise ConfigError(f"config key '{path}' expects {fields[key].type}, got {value!r}")
        changes[key] = value
    return dataclasses.replace(config, **changes)


def parse_overrides(pairs: list[str]) -> dict:
    """``["train.steps=500", "loss.adversarial=none"]`` -> nested dict; values parsed as YAML."""
    out: dict = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"override {pair!r} is not of the form section.key=value")
        key, raw = pair.split("=", 1)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def load_degradations(path: str | Path) -> list[dict]:
    """The ``degradations:`` list of a config file (top level, or under ``data:``)."""
    data = load_config_file(path)
    steps = data.get("degradations", data.get("data", {}).get("degradations"))
    if not isinstance(steps, list):
        raise ConfigError(f"{path} has no 'degradations:' list")
    return steps


def load_config_file(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot parse config file {path}: {str(e).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return data


def config_from_dict(data: dict) -> ExperimentConfig:
    return apply_overrides(ExperimentConfig(), data)


def save_config(config: ExperimentConfig, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))


# --- registered experiments ----------------------------------------------------------------------

EXPERIMENTS: dict[str, Callable[[], ExperimentConfig]] = {}


def register_experiment(name: str):
    def wrap(fn: Callable[[], ExperimentConfig]):
        EXPERIMENTS[name] = fn
        return fn
    return wrap


def get_experiment(name: str) -> ExperimentConfig:
    if name not in EXPERIMENTS:
        raise ConfigError(f"unknown experiment {name!r}; registered: {', '.join(sorted(EXPERIMENTS))}")
    config = EXPERIMENTS[name]()
    return dataclasses.replace(config, name=name)


def _lfw_data(split: str = "train") -> DataConfig:
    lfw = shared_dir() / "data" / "lfw"
    return DataConfig(train=str(lfw / "splits" / f"{split}.txt"), val=str(lfw / "splits" / "val.txt"),
                      root=str(lfw / "images"), center_crop=LFW_FACE_CROP, jitter=4)


@register_experiment("lfw_compact_warmup")
def lfw_compact_warmup() -> ExperimentConfig:
    """Content-only (L1 + perceptual) warm-up of the compact DeblurGAN ResNet on LFW train."""
    return ExperimentConfig(data=_lfw_data(), loss=LossConfig(adversarial="none"),
                            train=TrainConfig(steps=20000, steps_per_epoch=500, n_critic=0,
                                              checkpoint_every=250, mixed_precision=True))


@register_experiment("lfw_compact_wgan")
def lfw_compact_wgan() -> ExperimentConfig:
    """WGAN-GP fine-tuning (5 critic steps per generator step) from a warm-up generator."""
    # Content losses dominate (adversarial_weight 0.005): the critic should sharpen textures, not
    # trade PSNR for them; the 5 critic steps still run at full strength. The generator's rate is
    # 10x below the critic's: the warm-up ends with its rate decayed to zero, and 1e-4 lost 0.5 dB
    # validation PSNR in 100 steps; the critic starts from scratch and needs the larger rate.
    return ExperimentConfig(data=_lfw_data(), loss=LossConfig(adversarial="wgan-gp",
                                                              adversarial_weight=0.005),
                            optim=OptimConfig(g_learning_rate=1e-5, d_learning_rate=1e-4),
                            train=TrainConfig(steps=1000, steps_per_epoch=100, n_critic=5,
                                              checkpoint_every=50, keep_checkpoints=20,
                                              mixed_precision=True))


# --- each paper's recipe for the seed architectures (compact presets, LFW train) ------------------
# Loss weights are the papers'. Their perceptual terms were computed with their own feature scaling,
# so the balance between terms here follows the papers' numbers, not necessarily their effect.

def _paper_recipe(generator: str, loss: LossConfig, optim: OptimConfig | None = None) -> ExperimentConfig:
    n_critic = 0 if loss.adversarial == "none" else 5
    return ExperimentConfig(data=_lfw_data(), model=ModelConfig(generator=generator), loss=loss,
                            optim=optim or OptimConfig(),
                            train=TrainConfig(steps=2000, steps_per_epoch=100, n_critic=n_critic,
                                              checkpoint_every=100, mixed_precision=True))


@register_experiment("lfw_unet_res_murugan")
def lfw_unet_res_murugan() -> ExperimentConfig:
    """Murugan's residual U-Net (compact) with DeblurGAN's loss: WGAN-GP + 100 x perceptual."""
    return _paper_recipe("unet_res_murugan_compact", LossConfig(l1_weight=0.0, perceptual_weight=100.0))


@register_experiment("lfw_ird_chen")
def lfw_ird_chen() -> ExperimentConfig:
    """Chen & Chang's IRD generator (compact) with their loss: WGAN-GP + 100 x perceptual + 170 x L1."""
    return _paper_recipe("ird_chen_compact", LossConfig(l1_weight=170.0, perceptual_weight=100.0))


@register_experiment("lfw_unet_enhance_qi")
def lfw_unet_enhance_qi() -> ExperimentConfig:
    """Qi et al.'s U-Net + enhancement (compact) with their loss: MSE + 10 x perceptual + WGAN-GP."""
    return _paper_recipe("unet_enhance_qi_compact",
                         LossConfig(l1_weight=0.0, mse_weight=1.0, perceptual_weight=10.0))


@register_experiment("lfw_fpn_mobilenet")
def lfw_fpn_mobilenet() -> ExperimentConfig:
    """DeblurGAN-v2's FPN-MobileNet (compact): 0.5 x MSE + 0.006 x perceptual + 0.01 x adversarial
    (the paper's weights; its RaGAN-LS critic is replaced by WGAN-GP here)."""
    return _paper_recipe("fpn_mobilenet_compact",
                         LossConfig(adversarial_weight=0.01, l1_weight=0.0, mse_weight=0.5,
                                    perceptual_weight=0.006))


@register_experiment("lfw_inception_deepdeblur")
def lfw_inception_deepdeblur() -> ExperimentConfig:
    """The DeepDeblur inception baseline (compact): MSE only, RMSProp lr 1e-3, no critic."""
    return _paper_recipe("inception_deepdeblur_compact",
                         LossConfig(adversarial="none", l1_weight=0.0, mse_weight=1.0, perceptual_weight=0.0),
                         OptimConfig(optimizer="rmsprop", g_learning_rate=1e-3))


# --- the robust recipe (issue 12): blur, noise and framing the model never saw must not break it ---

ROBUST_DEGRADATIONS: list[dict] = [
    {"op": "clean", "p": 0.05},
    {"op": "blur", "per_sample": True, "max_size": 31, "kernels": [
        {"type": "identity", "weight": 0.08},
        {"type": "trajectory", "sizes": list(range(3, 32, 2)), "weight": 0.30},
        {"type": "spline", "sizes": list(range(5, 32, 2)), "weight": 0.18},
        {"type": "shake_defocus", "sizes": list(range(5, 32, 2)), "radius": [0.5, 2.5], "weight": 0.14},
        {"type": "motion", "length": [1.5, 29], "weight": 0.08},
        {"type": "disk", "radius": [0.5, 6], "weight": 0.07},
        {"type": "gaussian", "sigma": [0.3, 3.5], "weight": 0.07},
        {"type": "anisotropic_gaussian", "sigma": [0.3, 4.0], "weight": 0.08}]},
    {"op": "rescale", "factor": [1.0, 3.0], "p": 0.2},
    {"op": "gaussian_noise", "sigma": [0.0, 0.03], "p": 0.8},
    {"op": "poisson_noise", "peak": [200, 2000], "p": 0.2},
    {"op": "jpeg", "quality": [30, 95], "p": 0.4},
]

ROBUST_AUGMENT = FaceAugment(crop=[110, 200], shift=0.05, rotation=10.0, brightness=0.05,
                             contrast=0.15, gamma=0.2)


def _robust(generator: str, steps: int) -> ExperimentConfig:
    data = dataclasses.replace(_lfw_data(), degradations=[dict(d) for d in ROBUST_DEGRADATIONS],
                               augment=dataclasses.replace(ROBUST_AUGMENT), jitter=0)
    return ExperimentConfig(data=data, model=ModelConfig(generator=generator),
                            loss=LossConfig(adversarial="none"),
                            optim=OptimConfig(g_learning_rate=3e-4, beta_1=0.9, decay_start_fraction=0.3),
                            train=TrainConfig(steps=steps, steps_per_epoch=500, n_critic=0,
                                              checkpoint_every=250, keep_checkpoints=2,
                                              mixed_precision=True))


@register_experiment("lfw_robust_nafnet")
def lfw_robust_nafnet() -> ExperimentConfig:
    """v2 content warm-up: NAFNet (compact) on the robust distribution — kernels of eight
    families drawn per sample (1–31 px), rescaling, noise, JPEG, clean samples, and faces at
    crop 110–200 px, tilted and re-lit. L1 + 0.01 perceptual, bf16."""
    return _robust("nafnet_compact", 120000)


def _with_dwell_shake(degradations: list[dict]) -> list[dict]:
    """The robust chain with time-sampled shake (``dwell_shake``) taking a sixth of the shake
    kernels' share from the constant-speed walk and the splines."""
    out = [dict(d) for d in degradations]
    blur = next(d for d in out if d["op"] == "blur")
    kernels = [dict(k) for k in blur["kernels"]]
    for k in kernels:
        if k["type"] in ("trajectory", "spline"):
            k["weight"] = round(k["weight"] * 5 / 6, 4)
    kernels.insert(3, {"type": "dwell_shake", "sizes": list(range(5, 32, 2)), "weight": 0.08})
    blur["kernels"] = kernels
    return out


@register_experiment("lfw_robust_nafnet_ft")
def lfw_robust_nafnet_ft() -> ExperimentConfig:
    """Fine-tune a lfw_robust_nafnet generator (train.init_generator; the shipped one by default
    in the docs) with a new learning-rate cycle: the robust distribution plus dwell_shake kernels,
    L1 + 2 x frequency L1 + 0.01 perceptual, lr 1.5e-4 decaying to 0 over the last 60 % of
    5,000 steps, fresh samples (data.seed 1)."""
    cfg = _robust("nafnet_compact", 5000)
    cfg.data.degradations = _with_dwell_shake(cfg.data.degradations)
    cfg.data.seed = 1
    cfg.loss = LossConfig(adversarial="none", frequency_weight=2.0)
    cfg.optim = dataclasses.replace(cfg.optim, g_learning_rate=1.5e-4, decay_start_fraction=0.6)
    cfg.train = dataclasses.replace(cfg.train, keep_checkpoints=3)
    return cfg


@register_experiment("lfw_robust_nafnet_ft_ssim")
def lfw_robust_nafnet_ft_ssim() -> ExperimentConfig:
    """lfw_robust_nafnet_ft's cycle (10,000 steps, lr 1.5e-4 to step 4,000, then linear to 0) with 0.25 x (1 - SSIM)
    added to the content losses (Zhao et al. 2017), for the SSIM the pixel losses leave: at the
    start of a cycle from a shipped model the term weighs about as much as the L1 and the perceptual term."""
    cfg = lfw_robust_nafnet_ft()
    cfg.loss = dataclasses.replace(cfg.loss, ssim_weight=0.25)
    cfg.train = dataclasses.replace(cfg.train, steps=10000)
    return cfg


@register_experiment("lfw_robust_nafnet_deep")
def lfw_robust_nafnet_deep() -> ExperimentConfig:
    """lfw_robust_nafnet_ft's recipe for nafnet_compact_deep, grown from a trained nafnet_compact
    (train.init_generator; train.init_grow is on): the four new middle blocks start as the
    identity, so training starts from the smaller model's output, not from scratch."""
    cfg = lfw_robust_nafnet_ft()
    cfg.model = dataclasses.replace(cfg.model, generator="nafnet_compact_deep")
    cfg.train = dataclasses.replace(cfg.train, init_grow=True)
    return cfg


@register_experiment("lfw_robust_nafnet_revive")
def lfw_robust_nafnet_revive() -> ExperimentConfig:
    """lfw_robust_nafnet_ft's recipe from a trained nafnet_compact (train.init_generator) whose
    dead branches are revived first (train.init_revive): the spatial branches of the 1/8 and
    1/16-resolution blocks, which the old depthwise initialisation left at ~1e-5 of their input,
    so the model never used its widest receptive field. 10,000 steps, lr 1.5e-4 to step 4,000, then linear to 0."""
    cfg = lfw_robust_nafnet_ft()
    cfg.train = dataclasses.replace(cfg.train, steps=10000, init_revive=True)
    return cfg


@register_experiment("lfw_robust_nafnet_wgan")
def lfw_robust_nafnet_wgan() -> ExperimentConfig:
    """v2 adversarial stage: WGAN-GP fine-tune of a lfw_robust_nafnet generator
    (train.init_generator) on the same robust distribution, 5 critic steps per generator step.

    Same balance as v1's lfw_compact_wgan: the content losses dominate (adversarial weight 0.005),
    the generator moves 10x slower than the critic, which starts from scratch."""
    cfg = _robust("nafnet_compact", 1000)
    cfg.loss = LossConfig(adversarial="wgan-gp", adversarial_weight=0.005)
    cfg.optim = OptimConfig(g_learning_rate=1e-5, d_learning_rate=1e-4)
    cfg.train = dataclasses.replace(cfg.train, steps_per_epoch=100, n_critic=5, checkpoint_every=50,
                                    keep_checkpoints=20)
    return cfg


@register_experiment("lfw_robust_nafnet_ft_wgan")
def lfw_robust_nafnet_ft_wgan() -> ExperimentConfig:
    """The adversarial stage for a generator of the lfw_robust_nafnet_ft cycles: lfw_robust_nafnet_wgan's
    balance (WGAN-GP weight 0.005, 5 critic steps, generator lr 1e-5, critic 1e-4) on the cycles'
    own distribution and content losses (dwell_shake kernels, 2 x frequency L1), so that only the
    critic's term is new to the generator."""
    cfg = lfw_robust_nafnet_wgan()
    cfg.data.degradations = _with_dwell_shake(cfg.data.degradations)
    cfg.loss = dataclasses.replace(cfg.loss, frequency_weight=2.0)
    return cfg


@register_experiment("lfw_robust_resnet")
def lfw_robust_resnet() -> ExperimentConfig:
    """The compact DeblurGAN ResNet (v1's architecture) on the same robust recipe, for the
    equal-budget comparison with lfw_robust_nafnet."""
    return _robust("deblurgan_resnet_compact", 120000)


# --- damaged faces (issue 14): inpainting the parts a person marks --------------------------------

INPAINT_AUGMENT = FaceAugment(crop=[135, 170], shift=0.03, rotation=5.0, brightness=0.05,
                              contrast=0.1, gamma=0.1)


def _inpaint(generator: str, loss: LossConfig, steps: int, n_critic: int) -> ExperimentConfig:
    # Part masks sit on the face template's landmarks: only mild scale / shift / tilt changes,
    # so the eyes, nose and mouth stay under their masks (the masks' own jitter covers the rest).
    data = dataclasses.replace(_lfw_data(), kind="damaged", jitter=0,
                               augment=dataclasses.replace(INPAINT_AUGMENT))
    return ExperimentConfig(data=data, model=ModelConfig(generator=generator), loss=loss,
                            optim=OptimConfig(g_learning_rate=2e-4, d_learning_rate=2e-4,
                                              beta_1=0.5, decay_start_fraction=0.3),
                            train=TrainConfig(steps=steps, steps_per_epoch=250, n_critic=n_critic,
                                              checkpoint_every=250, keep_checkpoints=2,
                                              mixed_precision=True))


@register_experiment("lfw_inpaint_gated")
def lfw_inpaint_gated() -> ExperimentConfig:
    """Damaged faces, ours: gated U-Net on pre-filled holes, hole-weighted L1 + perceptual.

    Masks: facial parts, strokes and rectangles; L1 with the hole weighted 6x + 0.05 perceptual,
    content-only (fine-tune with lfw_inpaint_gated_wgan)."""
    return _inpaint("gated_unet", LossConfig(adversarial="none", perceptual_weight=0.05,
                                             hole_weight=6.0), steps=20000, n_critic=0)


@register_experiment("lfw_inpaint_gated_wgan")
def lfw_inpaint_gated_wgan() -> ExperimentConfig:
    """Damaged faces: WGAN-GP fine-tune of a lfw_inpaint_gated generator (train.init_generator).

    5 critic steps per generator step; the content losses dominate."""
    cfg = _inpaint("gated_unet", LossConfig(adversarial="wgan-gp", adversarial_weight=0.002,
                                            perceptual_weight=0.05, hole_weight=6.0),
                   steps=1000, n_critic=5)
    cfg.optim.g_learning_rate = 2e-5
    cfg.optim.d_learning_rate = 1e-4
    return cfg


@register_experiment("lfw_inpaint_bidari")
def lfw_inpaint_bidari() -> ExperimentConfig:
    """Damaged faces, the seed paper's recipe: U-Net GAN with BCE on pre-filled holes.

    Bidari & Nyaupane: one critic step per generator step, pix2pix-style weights (BCE + 100 x L1
    = 0.01 : 1), at 128 px on LFW (the paper used 64 px CelebA)."""
    return _inpaint("unet_bidari", LossConfig(adversarial="bce", adversarial_weight=0.01,
                                              perceptual_weight=0.0, hole_weight=1.0),
                    steps=4000, n_critic=1)


@register_experiment("tiny_cpu")
def tiny_cpu() -> ExperimentConfig:
    """A minutes-long run for demos and tests: a very small generator, no perceptual loss."""
    return ExperimentConfig(
        data=DataConfig(image_size=64, batch_size=4, val_batches=2),
        model=ModelConfig(generator="deblurgan_resnet",
                          generator_args={"filters": 8, "num_blocks": 2, "dropout": 0.0},
                          critic_args={"filters": 8, "n_layers": 2}),
        loss=LossConfig(adversarial="none", perceptual_weight=0.0),
        train=TrainConfig(steps=20, steps_per_epoch=10, n_critic=0, checkpoint_every=10))
