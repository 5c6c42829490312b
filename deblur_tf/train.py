"""Training runs: config → datasets → DeblurGAN → fit() with checkpoints, logs and sample grids.

The run folder's layout is ``deblur_tf.runs.RunFolder``'s. Running again on the same folder resumes
from the latest checkpoint: the step count continues and the run stops at ``train.steps``.
"""

from __future__ import annotations

import atexit
import dataclasses
import math
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from deblur_tf import data as D
from deblur_tf.config import ConfigError, ExperimentConfig
from deblur_tf.degrade import Degradation
from deblur_tf.degrade.masks import MaskSampler
from deblur_tf.gan import DeblurGAN, LinearDecaySchedule, adam
from deblur_tf.io import atomic_path
from deblur_tf.losses import PerceptualLoss, default_vgg_weights
from deblur_tf.models import build_critic, build_generator
from deblur_tf.models.nafnet import revive_dead_branches
from deblur_tf.runs import RunFolder, TrainingError


# --- building blocks -----------------------------------------------------------------------------

def build_datasets(cfg: ExperimentConfig, start_step: int = 0) -> tuple[tf.data.Dataset, tf.data.Dataset | None]:
    """Training and validation data; ``start_step`` > 0 (a resumed run) makes every kind of
    training data go on from sample ``start_step * batch_size`` rather than replay the run's
    first ones."""
    d = cfg.data
    if not d.train:
        raise ConfigError("data.train is empty: give a folder or file list of training images")
    common = dict(image_size=d.image_size, batch_size=d.batch_size, seed=d.seed)
    if d.kind == "sharp":
        chain = Degradation(d.degradations, bank_seed=d.seed)
        train = D.sharp_dataset(d.train, chain, center_crop=d.center_crop, root=d.root,
                                jitter=d.jitter, training=True, augment=d.augment,
                                start_index=start_step * d.batch_size, **common)
        val = None
        if d.val:
            val = D.sharp_dataset(d.val, chain, center_crop=d.center_crop, root=d.root,
                                  training=False, **{**common, "seed": d.seed + 1})
    elif d.kind == "damaged":
        masks = MaskSampler(d.masks, d.image_size)
        train = D.damaged_dataset(d.train, masks, fills=d.fills, center_crop=d.center_crop,
                                  root=d.root, jitter=d.jitter, training=True, augment=d.augment,
                                  start_index=start_step * d.batch_size, **common)
        val = None
        if d.val:
            val = D.damaged_dataset(d.val, masks, fills=d.fills, center_crop=d.center_crop,
                                    root=d.root, training=False, **{**common, "seed": d.seed + 1})
    elif d.kind == "paired":
        train = D.paired_dataset(d.train, training=True, start_index=start_step * d.batch_size,
                                 **common)
        val = D.paired_dataset(d.val, training=False, **common) if d.val else None
    elif d.kind == "video":
        train = D.video_dataset(d.train, frames_per_blur=d.frames_per_blur, training=True,
                                start_index=start_step * d.batch_size, **common)
        val = (D.video_dataset(d.val, frames_per_blur=d.frames_per_blur, training=False, **common)
               if d.val else None)
    else:
        raise ConfigError(f"data.kind must be sharp, paired, video or damaged, got {d.kind!r}")
    if val is not None:
        # Not cached: the validation pipelines are seeded (the same batches every pass) and one
        # pass of the robust recipe's 8 batches takes about 1 s. With .cache(), a run on
        # 2026-11-28 validated on 1 of its 8 batches all run long (Keras: "input ran out of
        # data" at the first validation): a truncated cache, not reproduced in isolation; the
        # sample grid's partial read of the same dataset before fit() is the likely trigger.
        val = val.take(d.val_batches)
    return train, val


def resolve_perceptual_weights(spec: str) -> str | None:
    if spec == "random":
        return None
    if spec == "auto":
        path = default_vgg_weights()
        if path is None:
            raise ConfigError("perceptual loss needs VGG16 weights: none found in ../shared/weights "
                              "(set DEBLUR_TF_SHARED, loss.perceptual_weights=PATH, or "
                              "loss.perceptual_weight=0)")
        return path
    return spec


def build_gan(cfg: ExperimentConfig) -> DeblurGAN:
    """Generator, critic, losses and optimizers as the config says; compiled."""
    generator = build_generator(cfg.model.generator, **cfg.model.generator_args)
    critic = build_critic(cfg.model.critic, **cfg.model.critic_args) if cfg.adversarial_on else None
    perceptual = None
    if cfg.loss.perceptual_weight:
        perceptual = PerceptualLoss(resolve_perceptual_weights(cfg.loss.perceptual_weights))
    gan = DeblurGAN(generator, critic, n_critic=cfg.train.n_critic, adversarial=cfg.loss.adversarial,
                    gp_weight=cfg.loss.gp_weight, adversarial_weight=cfg.loss.adversarial_weight,
                    l1_weight=cfg.loss.l1_weight, mse_weight=cfg.loss.mse_weight,
                    perceptual_weight=cfg.loss.perceptual_weight, perceptual=perceptual,
                    hole_weight=cfg.loss.hole_weight, frequency_weight=cfg.loss.frequency_weight,
                    ssim_weight=cfg.loss.ssim_weight)
    o, steps = cfg.optim, cfg.train.steps
    decay_start = int(steps * (1 - o.decay_start_fraction))
    g_schedule = LinearDecaySchedule(o.g_learning_rate, steps, decay_start)
    if o.optimizer == "adam":
        g_opt = adam(g_schedule, o.beta_1, o.beta_2)
    elif o.optimizer == "rmsprop":
        g_opt = keras.optimizers.RMSprop(g_schedule)
    else:
        raise TrainingError(f"optim.optimizer must be 'adam' or 'rmsprop', got {o.optimizer!r}")
    d_opt = None
    if critic is not None:
        n = cfg.train.n_critic
        d_opt = adam(LinearDecaySchedule(o.d_learning_rate, steps * n, decay_start * n),
                     o.beta_1, o.beta_2)
    gan.compile(g_optimizer=g_opt, d_optimizer=d_opt)
    return gan


def load_generator_weights(generator: keras.Model, source: str, grow: bool = False) -> list[str] | None:
    """Warm start from a ``.keras`` generator file or a run folder (its generator.keras/checkpoint).
    With ``grow``, from a smaller model of the same family (see grow_generator_weights): returns the
    names of the layers it did not have."""
    path = Path(source).expanduser()
    if path.is_dir():
        folder = RunFolder(path)
        if folder.generator_path.is_file():
            path = folder.generator_path
        else:
            latest = folder.latest_checkpoint()
            if latest is None:
                raise TrainingError(f"no generator.keras or checkpoint in {path}")
            if grow:
                raise TrainingError(f"train.init_grow needs a .keras generator, and {path} has only "
                                    "checkpoints: export one first (deblur-tf extract)")
            tf.train.Checkpoint(generator=generator).restore(latest).expect_partial()
            return
    if not path.is_file():
        raise TrainingError(f"init_generator not found: {source}")
    loaded = keras.saving.load_model(str(path), compile=False)
    if grow:
        return grow_generator_weights(generator, loaded)
    if [tuple(w.shape) for w in loaded.weights] != [tuple(w.shape) for w in generator.weights]:
        raise TrainingError(f"init_generator {source} is not this run's architecture "
                            f"({len(loaded.weights)} vs {len(generator.weights)} weights); to start "
                            "a larger model of the same family from it, set train.init_grow=true")
    generator.set_weights(loaded.get_weights())


def grow_generator_weights(generator: keras.Model, smaller: keras.Model) -> list[str]:
    """Copy every weighted layer of ``smaller`` into the layer of the same name in ``generator``
    (function-preserving growth: Net2Net, Chen et al. 2016). Returns the names of the layers
    ``smaller`` lacks, which keep their initialisation; in a NAFNet those are whole blocks whose
    residual scales start at 0, so the grown model computes exactly what ``smaller`` did."""
    target = {layer.name: layer for layer in generator.layers if layer.weights}
    for layer in smaller.layers:
        if not layer.weights:
            continue
        if layer.name not in target:
            raise TrainingError(f"cannot grow from this model: its layer {layer.name!r} is not in the "
                                "new architecture (growing only adds layers)")
        into = target.pop(layer.name)
        old, new = [tuple(w.shape) for w in layer.weights], [tuple(w.shape) for w in into.weights]
        if old != new:
            raise TrainingError(f"cannot grow from this model: layer {layer.name!r} has weights "
                                f"{old} there and {new} here (growing keeps every old layer's shape)")
        into.set_weights(layer.get_weights())
    new = sorted(target)
    print(f"grown: {len(new)} new layers"
          + (f" ({', '.join(new[:4])}{', ...' if len(new) > 4 else ''})" if new else ""))
    return new


def revive_branches(generator: keras.Model, images) -> list[str]:
    """train.init_revive: wake the NAFNet branches that had stopped contributing (one line)."""
    try:
        revived = revive_dead_branches(generator, images)
    except ValueError as e:
        raise TrainingError(f"train.init_revive: {e}") from None
    print(f"revived {len(revived)} branches" + (f" ({', '.join(revived)})" if revived else ""))
    return revived


def float32_generator(generator: keras.Model) -> keras.Model:
    """The same generator computing in float32 (a mixed-precision one is rebuilt and its float32
    weights copied): exported models must not depend on the training precision."""
    if generator.compute_dtype == "float32":
        return generator
    config = {k: v for k, v in generator.get_config().items() if k != "dtype"}
    clone = type(generator).from_config({**config, "dtype": "float32"})
    clone.set_weights(generator.get_weights())
    return clone


def interpolate_generators(a: keras.Model, b: keras.Model, alpha: float,
                           base: keras.Model | None = None) -> keras.Model:
    """Network interpolation (Wang et al. 2018, ESRGAN): a copy of ``a`` whose every weight is
    ``(1 - alpha) * a + alpha * b``. With ``a`` a content-only (PSNR) generator and ``b`` its own
    adversarial fine-tune, ``alpha`` trades fidelity for sharpness smoothly — usually better than
    stopping the fine-tune early, because both ends are trained to convergence.

    With ``base`` (the generator ``b`` was fine-tuned from), ``a + alpha * (b - base)`` instead:
    the adversarial stage's change added to ``a``, a content model trained further from ``base``
    after ``b`` branched off (without ``base`` the blend would pull ``a`` back towards it). With
    ``base`` = ``a`` the two are the same."""
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"alpha must be in [0, 1], got {alpha}")
    models = [a, b] + ([base] if base is not None else [])
    # Shapes in order, not weight paths: auto-named layers (conv2d_3, ...) differ between two
    # copies of one architecture built in the same process.
    shapes = [[tuple(w.shape) for w in m.weights] for m in models]
    for m, s in zip(models[1:], shapes[1:]):
        if type(m) is not type(a) or s != shapes[0]:
            raise ConfigError(f"cannot interpolate a {type(a).__name__} with {len(shapes[0])} weights and a "
                              f"{type(m).__name__} with {len(s)}: they must be the same "
                              "architecture with the same arguments (e.g. a run and its fine-tune)")
    wa, wb = a.get_weights(), b.get_weights()
    if base is None:
        weights = [(1.0 - alpha) * x + alpha * y for x, y in zip(wa, wb)]
    else:
        weights = [x + alpha * (y - s) for x, y, s in zip(wa, wb, base.get_weights())]
    mixed = type(a).from_config(a.get_config())
    mixed.set_weights(weights)
    return float32_generator(mixed)


def _finite(logs: dict | None) -> bool:
    return all(np.isfinite(float(v)) for v in (logs or {}).values())


# No weight of a working network comes near this; a diverged one passes it within a few steps.
HEALTHY_WEIGHT_LIMIT = 1e6


def _weights_healthy(gan) -> bool:
    """The generator's and critic's weights are finite and below HEALTHY_WEIGHT_LIMIT. The loss
    alone is not enough: behind the output clip, weights of 1e30 still give a finite loss, and
    resuming from them gives NaN at once. Such a checkpoint must never be written."""
    models = [gan.generator] + ([gan.critic] if gan.critic is not None else [])
    return all(bool(tf.reduce_max(tf.abs(tf.cast(v, tf.float32))) <= HEALTHY_WEIGHT_LIMIT)
               for m in models for v in m.weights)


# --- callbacks -----------------------------------------------------------------------------------

class RunCallback(keras.callbacks.Callback):
    """Checkpoints, exact stop at the last step, NaN guard and TensorBoard scalars, in one place so
    their order is fixed: a non-finite loss stops the run before anything is saved."""

    def __init__(self, manager: tf.train.CheckpointManager, total_steps: int, checkpoint_every: int,
                 writer, scalars_every: int):
        super().__init__()
        self.manager = manager
        self.total_steps = total_steps
        self.checkpoint_every = checkpoint_every
        self.writer = writer
        self.scalars_every = scalars_every
        self.nan_stopped = False
        self.stop_reason = ""  # why a non-finite loss / diverged weights stopped the run
        self.stop_signal: int | None = None  # set by a SIGTERM/SIGINT handler

    @property
    def step(self) -> int:
        return int(self.model.g_optimizer.iterations.numpy())

    def on_train_batch_end(self, batch, logs=None):
        step = self.step
        if not _finite(logs):
            self.nan_stopped = True
            bad = ", ".join(f"{k}={float(v):.3g}" for k, v in (logs or {}).items()
                            if not np.isfinite(float(v)))
            self.stop_reason = f"non-finite loss ({bad})"
            self.model.stop_training = True
            return
        if step % self.scalars_every == 0:
            with self.writer.as_default(step=step):
                for k, v in logs.items():
                    tf.summary.scalar(f"train/{k}", float(v))
                tf.summary.scalar("train/learning_rate",
                                  float(self.model.g_optimizer.learning_rate.numpy()))
        if step % self.checkpoint_every == 0:
            if not self._save(step):
                return
        if step >= self.total_steps or self.stop_signal is not None:
            self.model.stop_training = True  # on_train_end saves the checkpoint of this step

    def on_epoch_end(self, epoch, logs=None):
        val = {k: v for k, v in (logs or {}).items() if k.startswith("val_")}
        if val and not self.nan_stopped:
            with self.writer.as_default(step=self.step):
                for k, v in val.items():
                    tf.summary.scalar(f"val/{k[4:]}", float(v))

    def on_train_end(self, logs=None):
        if not self.nan_stopped and self.manager.latest_checkpoint != self._path(self.step):
            self._save(self.step)
        self.writer.flush()

    def _save(self, step: int) -> bool:
        """Checkpoint only finite weights; otherwise stop as for a non-finite loss (the last
        checkpoint on disk stays the last good one)."""
        if not _weights_healthy(self.model):
            self.nan_stopped = True
            self.stop_reason = f"diverged weights (non-finite or above {HEALTHY_WEIGHT_LIMIT:g})"
            self.model.stop_training = True
            return False
        self.manager.save(checkpoint_number=step)
        return True

    def _path(self, step: int) -> str:
        return os.path.join(self.manager.directory, f"ckpt-{step}")


class SampleGrid(keras.callbacks.Callback):
    """At each epoch end: a blurred | restored | sharp grid as PNG and as a TensorBoard image
    (damaged | restored | clean for an inpainting model, whose input is (damaged, mask))."""

    def __init__(self, batch: tuple, folder: Path, writer, rows: int = 4):
        super().__init__()
        inputs = batch[0]
        self.inputs = (tuple(np.asarray(t)[:rows] for t in inputs) if isinstance(inputs, (tuple, list))
                       else np.asarray(inputs)[:rows])
        self.blurred = self.inputs[0] if isinstance(self.inputs, tuple) else self.inputs
        self.sharp = np.asarray(batch[1])[:rows]
        self.folder = folder
        self.writer = writer

    def on_epoch_end(self, epoch, logs=None):
        if getattr(self.model, "stop_training", False) and not _finite(logs):
            return
        restored = np.asarray(self.model.generator(self.inputs, training=False))
        step = int(self.model.g_optimizer.iterations.numpy())
        path = self.folder / f"step_{step:07d}.png"
        names = (("damaged", "repaired", "clean") if isinstance(self.inputs, tuple)
                 else ("blurred", "restored", "sharp"))
        save_comparison_grid(self.blurred, restored, self.sharp, path, title=f"step {step}", names=names)
        with self.writer.as_default(step=step):
            tf.summary.image("samples/blurred_restored_sharp",
                             np.concatenate([self.blurred, restored, self.sharp], axis=2), max_outputs=4)


def save_comparison_grid(blurred, restored, sharp, path: str | os.PathLike, title: str = "",
                         names=("blurred", "restored", "sharp")) -> None:
    """A grid, one row per image: blurred | restored | sharp, with PSNR against sharp."""
    from deblur_tf.plots import comparison_grid
    comparison_grid((blurred, restored, sharp), path, names, title)


# --- distribution --------------------------------------------------------------------------------

def split_cpu(devices: int) -> None:
    """Show the CPU as ``devices`` logical devices, so ``mirrored`` can be tried (and tested) on a
    machine without GPUs. Must run before TensorFlow executes anything."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
    except RuntimeError:
        raise TrainingError("the CPU can only be split before TensorFlow starts running: "
                            "call split_cpu first") from None


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy ``train.strategy`` names."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = ([d.name for d in tf.config.list_logical_devices("GPU")]
                   or [d.name for d in tf.config.list_logical_devices("CPU")])
        return tf.distribute.MirroredStrategy(devices)
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise ConfigError("train.strategy=multiworker needs TF_CONFIG (the cluster's workers and "
                              "this process's task): see docs/scaling.md")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ConfigError(f"train.strategy must be default, mirrored or multiworker, got {name!r}")


def worker_role(strategy: tf.distribute.Strategy) -> tuple[bool, int]:
    """(is this the chief, task index). Only the chief writes the run folder; every worker still
    saves checkpoints (saving is a collective step), the others into a private temporary folder."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True, 0
    task_type, task_id = resolver.task_type, int(resolver.task_id or 0)
    chief = task_type == "chief" or (task_type == "worker" and task_id == 0
                                     and "chief" not in resolver.cluster_spec().as_dict())
    return chief, task_id


def _shard_by_data(dataset):
    # Every worker builds the same (seeded) pipeline; each keeps its share of the batches.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


# --- the run -------------------------------------------------------------------------------------

@dataclasses.dataclass
class RunResult:
    run_dir: Path
    start_step: int
    end_step: int
    history: dict
    generator_path: Path | None
    stopped_by_signal: int | None = None


def run(cfg: ExperimentConfig, run_dir: str | os.PathLike) -> RunResult:
    """Train (or resume) the run in ``run_dir`` until ``cfg.train.steps`` generator updates."""
    cfg.validate()  # before anything is built or the run folder exists
    folder = RunFolder(run_dir)
    folder.check_resume(cfg)
    strategy = make_strategy(cfg.train.strategy)
    chief, task_id = worker_role(strategy)
    latest = folder.latest_checkpoint()  # every worker: the chief's
    # Checkpoints are numbered by step: a resumed run's data goes on from there (built once).
    expected_start = (int(latest.rsplit("-", 1)[1]) if latest
                      else cfg.train.init_step if cfg.train.init_generator else 0)
    train_ds, val_ds = build_datasets(cfg, start_step=expected_start)
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if cfg.train.mixed_precision else "float32")
    try:
        with strategy.scope():  # variables and optimizer slots mirrored on every replica
            gan = build_gan(cfg)
    finally:
        keras.mixed_precision.set_global_policy(policy)
    if chief:
        folder.prepare(cfg)

    ckpt = tf.train.Checkpoint(generator=gan.generator, g_optimizer=gan.g_optimizer,
                               **({"critic": gan.critic, "d_optimizer": gan.d_optimizer}
                                  if gan.critic is not None else {}))
    worker_dir = None if chief else tempfile.mkdtemp(prefix=f"deblur-tf-worker{task_id}-")
    if worker_dir is not None:  # also when the run fails (the folder is only a scratch copy)
        atexit.register(shutil.rmtree, worker_dir, True)
    manager = tf.train.CheckpointManager(ckpt, worker_dir or str(folder.checkpoints),
                                         max_to_keep=cfg.train.keep_checkpoints)
    if latest:
        # Resume: weights, optimizer slots and iteration counts. A content-only checkpoint restored
        # into an adversarial run has no critic: start it fresh (expect_partial).
        ckpt.restore(latest).expect_partial()
    elif cfg.train.init_generator:
        load_generator_weights(gan.generator, cfg.train.init_generator, grow=cfg.train.init_grow)
        if cfg.train.init_revive:
            revive_branches(gan.generator, next(iter(train_ds))[0])
        if cfg.train.init_step:
            # Continue the schedule of the run the generator came from (e.g. a committed
            # checkpoint after a machine change); the optimizer moments start afresh.
            gan.g_optimizer.iterations.assign(cfg.train.init_step)
            if gan.d_optimizer is not None:
                gan.d_optimizer.iterations.assign(cfg.train.init_step * cfg.train.n_critic)
    start = int(gan.g_optimizer.iterations.numpy())
    if start != expected_start:  # a checkpoint not numbered by its step (saved by other code)
        train_ds, _ = build_datasets(cfg, start_step=start)
    if cfg.train.strategy == "multiworker":
        train_ds = _shard_by_data(train_ds)
        val_ds = _shard_by_data(val_ds) if val_ds is not None else None

    t = cfg.train
    writer = (tf.summary.create_file_writer(str(folder.logs)) if chief
              else tf.summary.create_noop_writer())
    run_cb = RunCallback(manager, t.steps, t.checkpoint_every, writer, t.tensorboard_every)
    callbacks = [run_cb]
    if chief:
        sample_source = val_ds if val_ds is not None else train_ds
        first = next(iter(sample_source))
        callbacks += [SampleGrid(first, folder.samples, writer),
                      keras.callbacks.CSVLogger(str(folder.history), append=True)]
    history = {}
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def request_stop(signum, frame):
        # A kill (or Ctrl-C) finishes the current step, saves a checkpoint and returns; running
        # the same command again resumes from it. A second signal aborts at once.
        run_cb.stop_signal = signum
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    if threading.current_thread() is threading.main_thread():
        for sig in previous:
            signal.signal(sig, request_stop)
    if start < t.steps:
        hist = gan.fit(train_ds, epochs=math.ceil(t.steps / t.steps_per_epoch),
                       initial_epoch=start // t.steps_per_epoch, steps_per_epoch=t.steps_per_epoch,
                       validation_data=val_ds, callbacks=callbacks, verbose=t.verbose,
                       shuffle=False)  # the tf.data pipeline shuffles
        history = hist.history
    if threading.current_thread() is threading.main_thread():
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    end = int(gan.g_optimizer.iterations.numpy())
    generator_path = None
    if run_cb.nan_stopped:
        raise TrainingError(f"{run_cb.stop_reason} at step {end}; stopped, last good checkpoint "
                            f"kept: {manager.latest_checkpoint}")
    if worker_dir is not None:
        shutil.rmtree(worker_dir, ignore_errors=True)
    if end >= t.steps and chief:
        generator_path = folder.generator_path
        with atomic_path(generator_path) as tmp:
            float32_generator(gan.generator).save(tmp)
    return RunResult(folder.path, start, end, history, generator_path, run_cb.stop_signal)
