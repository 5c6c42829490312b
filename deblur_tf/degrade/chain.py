"""Degradation chains built from configuration (a list of dicts), not from code.

Example (YAML)::

    degradations:
      - op: blur
        bank_size: 2000
        kernels:
          - {type: trajectory, sizes: [13, 15, 17, 19, 21, 23, 25, 27], weight: 0.8}
          - {type: motion, length: [5, 25], angle: [0, 180], weight: 0.1}
          - {type: disk, radius: [1, 4], weight: 0.05}
          - {type: gaussian, sigma: [0.5, 3], weight: 0.05}
      - {op: gaussian_noise, sigma: [0.0, 0.02]}
      - {op: poisson_noise, peak: [100, 1000], p: 0.2}
      - {op: impulse_noise, amount: [0.0, 0.01], p: 0.1}
      - {op: jpeg, quality: [50, 95], p: 0.3}
      - {op: damage, regions: [1, 3], size: [0.05, 0.25], fill: noise, p: 0.2}

``damage`` occludes ``regions`` random rectangles whose sides are a fraction ``size`` of the image's,
filled with ``noise``, ``black`` or one random ``colour``; the target stays the clean image, so a
model trained with it learns to inpaint (Murugan 2018's "heavily damaged" faces).

A parameter is a number (fixed) or ``[low, high]`` (drawn uniformly per sample); every step has an
application probability ``p`` (default 1). Blur, if present, must come first: it is applied to a
window with ``margin`` pixels of context on each side (see ``Degradation.margin``), so blurred borders
are made of real image content.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np
import tensorflow as tf

from deblur_tf.degrade import kernels as K
from deblur_tf.degrade import ops
from deblur_tf.errors import DeblurTFError


class DegradationConfigError(DeblurTFError, ValueError):
    """A degradation step or kernel spec is malformed."""


def _range(value, name: str) -> tuple[float, float]:
    if isinstance(value, (int, float)):
        return float(value), float(value)
    if isinstance(value, (list, tuple)) and len(value) == 2:
        lo, hi = float(value[0]), float(value[1])
        if lo > hi:
            raise DegradationConfigError(f"{name}: low {lo} is above high {hi}")
        return lo, hi
    raise DegradationConfigError(f"{name} must be a number or [low, high], got {value!r}")


def _pop_known(spec: dict, allowed: dict[str, Any], where: str) -> dict:
    unknown = set(spec) - set(allowed)
    if unknown:
        raise DegradationConfigError(
            f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    return {**allowed, **spec}


# --- kernel banks --------------------------------------------------------------------------------

@dataclasses.dataclass
class KernelBank:
    """Pre-generated kernels, zero-padded to one odd size, sampled at random per image.

    ``sizes`` holds each kernel's nominal support (the trajectory size, or the odd side of the
    motion / disk / gaussian kernel before padding) so results can be reported per size.
    """
    kernels: np.ndarray  # [N, S, S] float32, each sums to 1
    sizes: np.ndarray    # [N] int
    kinds: np.ndarray    # [N] str

    @property
    def size(self) -> int:
        return int(self.kernels.shape[1])

    def __len__(self) -> int:
        return len(self.kernels)


_KERNEL_DEFAULTS = {
    "identity": {},
    "trajectory": {"sizes": list(K.LITERATURE_KERNEL_SIZES), "exposure": [0.5, 1.0]},
    "spline": {"sizes": list(range(5, 32, 2)), "points": 6},
    # Sampled in time, so the kernel is bright where the camera slowed down (K.dwell_shake_kernel).
    "dwell_shake": {"sizes": list(range(5, 32, 2)), "drift": [0.05, 5.0], "cutoff": [0.5, 4.0]},
    "motion": {"length": [5, 25], "angle": [0, 180]},
    "disk": {"radius": [1, 4]},
    "gaussian": {"sigma": [0.5, 3.0]},
    "anisotropic_gaussian": {"sigma": [0.3, 4.0], "angle": [0, 180]},
    # Camera shake (trajectory or spline, half each) seen through a slightly defocused lens.
    "shake_defocus": {"sizes": list(range(5, 32, 2)), "radius": [0.5, 2.5], "max_size": 31},
}


def draw_kernel(kind: str, spec: dict, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One kernel of ``kind`` with parameters drawn from ``spec`` (see ``_KERNEL_DEFAULTS``), and
    its nominal size (the support it was made for, before any padding)."""
    if kind == "identity":
        return np.ones((1, 1), np.float32), 1
    if kind in ("trajectory", "spline", "shake_defocus"):
        size = int(rng.choice([int(s) for s in spec["sizes"]]))
        if kind == "trajectory":
            return K.shake_kernel(rng, size, _range(spec["exposure"], "trajectory.exposure")), size
        if kind == "spline" or rng.uniform() < 0.5:
            shake = K.spline_kernel(rng, size, int(spec.get("points", 6)))
        else:
            shake = K.shake_kernel(rng, size)
        if kind == "spline":
            return shake, size
        disk = K.disk_kernel(rng.uniform(*_range(spec["radius"], "shake_defocus.radius")))
        k = K.compose_kernels(shake, disk, int(spec["max_size"]))
        return k, k.shape[0]
    if kind == "dwell_shake":
        size = int(rng.choice([int(s) for s in spec["sizes"]]))
        drift, cutoff = _range(spec["drift"], "dwell_shake.drift"), _range(spec["cutoff"], "dwell_shake.cutoff")
        if min(drift + cutoff) <= 0:  # both are drawn log-uniformly
            raise DegradationConfigError(f"dwell_shake: drift and cutoff must be > 0, got {drift}, {cutoff}")
        return K.dwell_shake_kernel(rng, size, drift, cutoff), size
    if kind == "motion":
        k = K.linear_motion_kernel(rng.uniform(*_range(spec["length"], "motion.length")),
                                   rng.uniform(*_range(spec["angle"], "motion.angle")))
    elif kind == "disk":
        k = K.disk_kernel(rng.uniform(*_range(spec["radius"], "disk.radius")))
    elif kind == "gaussian":
        k = K.gaussian_kernel(rng.uniform(*_range(spec["sigma"], "gaussian.sigma")))
    elif kind == "anisotropic_gaussian":
        sx, sy = rng.uniform(*_range(spec["sigma"], "anisotropic_gaussian.sigma"), 2)
        k = K.anisotropic_gaussian_kernel(sx, sy, rng.uniform(*_range(spec["angle"], "anisotropic_gaussian.angle")))
    else:
        raise DegradationConfigError(
            f"unknown kernel type {kind!r}; choose from {sorted(_KERNEL_DEFAULTS)}")
    return k, k.shape[0]


def _make_kernels(kind: str, spec: dict, count: int, rng: np.random.Generator):
    if kind == "trajectory":
        # Vectorised over the bank; the evaluation protocol's kernels come from here, so this
        # path must keep drawing exactly as it always has.
        sizes = [int(s) for s in spec["sizes"]]
        exposure = _range(spec["exposure"], "trajectory.exposure")
        per_size = np.bincount(rng.integers(0, len(sizes), count), minlength=len(sizes))
        out = []
        for size, n in zip(sizes, per_size):
            if n:
                out += [(k, size) for k in K.trajectory_kernels(size, int(n), rng, exposure)]
        return out
    return [draw_kernel(kind, spec, rng) for _ in range(count)]


def _full_specs(specs: list[dict]) -> tuple[list[tuple[str, dict]], np.ndarray]:
    """Validated (kind, parameters) pairs with defaults filled in, and their normalised weights."""
    if not specs:
        raise DegradationConfigError("blur needs at least one kernel spec under 'kernels'")
    out, weights = [], []
    for spec in specs:
        if not isinstance(spec, dict) or "type" not in spec:
            raise DegradationConfigError(f"kernel spec {spec!r} has no 'type'")
        kind = spec["type"]
        if kind not in _KERNEL_DEFAULTS:
            raise DegradationConfigError(
                f"unknown kernel type {kind!r}; choose from {sorted(_KERNEL_DEFAULTS)}")
        weight = float(spec.get("weight", 1.0))
        if weight < 0:
            raise DegradationConfigError(f"kernel '{kind}': weight must be >= 0, got {weight}")
        out.append((kind, _pop_known({k: v for k, v in spec.items() if k not in ("type", "weight")},
                                     _KERNEL_DEFAULTS[kind], f"kernel '{kind}'")))
        weights.append(weight)
    weights = np.asarray(weights)
    if weights.sum() <= 0:
        raise DegradationConfigError("kernel weights must not all be 0")
    return out, weights / weights.sum()


class KernelSampler:
    """Kernels drawn fresh for every sample (no fixed bank), keyed by the sample's seed.

    A kernel is a pure function of (seed, specs): the same sample gets the same kernel whatever
    the tf.data parallelism. Runs in numpy inside ``tf.numpy_function`` (~2-6 ms per kernel, far
    below a training step's share); every kernel is zero-padded to ``max_size`` so the blur is
    one fixed-shape 'valid' convolution.
    """

    def __init__(self, specs: list[dict], max_size: int = 31):
        self.specs, self.weights = _full_specs(specs)
        self.max_size = K._check_size(max_size)
        # Fail at configuration time, not inside tf.data: every family must fit max_size.
        rng = np.random.default_rng(0)
        for kind, spec in self.specs:
            biggest = max([int(s) for s in spec.get("sizes", [1])])
            if biggest > self.max_size:
                raise DegradationConfigError(
                    f"kernel '{kind}': size {biggest} exceeds blur.max_size {self.max_size}")
            draw_kernel(kind, spec, rng)

    def sample(self, seed) -> tuple[np.ndarray, int]:
        rng = np.random.default_rng([int(v) & 0x7FFFFFFFFFFFFFFF for v in np.ravel(seed)])
        kind, spec = self.specs[rng.choice(len(self.specs), p=self.weights)]
        kernel, size = draw_kernel(kind, spec, rng)
        if kernel.shape[0] > self.max_size:  # e.g. a wide gaussian: keep the centre
            kernel = K.compose_kernels(kernel, np.ones((1, 1), np.float32), self.max_size)
        return K.pad_kernel(kernel, self.max_size), size

    def __call__(self, seed: tf.Tensor) -> tf.Tensor:
        kernel, _ = tf.numpy_function(
            lambda s: tuple(np.asarray(v, t) for v, t in zip(self.sample(s), (np.float32, np.int32))),
            [seed], [tf.float32, tf.int32], stateful=False)
        return tf.ensure_shape(kernel, [self.max_size, self.max_size])


def build_kernel_bank(specs: list[dict], count: int = 2000, seed: int = 0) -> KernelBank:
    """Generate ``count`` kernels mixed from ``specs`` in proportion to their ``weight``."""
    full, weights = _full_specs(specs)
    rng = np.random.default_rng(seed)
    counts = np.bincount(rng.choice(len(full), size=count, p=weights), minlength=len(full))
    items, kinds = [], []
    for (kind, spec), n in zip(full, counts):
        if n:
            made = _make_kernels(kind, spec, int(n), rng)
            items += made
            kinds += [kind] * len(made)
    side = max(k.shape[0] for k, _ in items)
    order = rng.permutation(len(items))
    kernels = np.stack([K.pad_kernel(items[i][0], side) for i in order])
    sizes = np.asarray([items[i][1] for i in order], np.int32)
    return KernelBank(kernels.astype(np.float32), sizes, np.asarray(kinds)[order])


# --- the chain -----------------------------------------------------------------------------------

def _uniform(seed, lo: float, hi: float) -> tf.Tensor:
    return tf.random.stateless_uniform([], seed, lo, hi) if hi > lo else tf.constant(lo)


@dataclasses.dataclass
class _Step:
    name: str
    p: float
    apply: Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


_STEP_PARAMS = {
    "gaussian_noise": {"sigma": [0.0, 0.02]},
    "poisson_noise": {"peak": [100.0, 1000.0]},
    "impulse_noise": {"amount": [0.0, 0.01]},
    "jpeg": {"quality": [50, 95]},
}


def _noise_step(name: str, params: dict) -> Callable:
    key, = _STEP_PARAMS[name]
    lo, hi = _range(params[key], f"{name}.{key}")

    def apply(image, seed):
        value = _uniform(tf.random.experimental.stateless_fold_in(seed, 1), lo, hi)
        if name == "gaussian_noise":
            return ops.gaussian_noise(image, value, seed)
        if name == "poisson_noise":
            return ops.poisson_noise(image, value, seed)
        if name == "impulse_noise":
            return ops.impulse_noise(image, value, seed)
        return ops.jpeg(image, tf.round(value))
    return apply


_RESCALE_PARAMS = {"factor": [1.0, 3.0]}


def _rescale_step(params: dict) -> Callable:
    lo, hi = _range(params["factor"], "rescale.factor")
    if lo < 1:
        raise DegradationConfigError(f"rescale.factor is a down-scaling factor >= 1, got {params['factor']!r}")

    def apply(image, seed):
        factor = _uniform(tf.random.experimental.stateless_fold_in(seed, 1), lo, hi)
        method = tf.random.stateless_uniform([], tf.random.experimental.stateless_fold_in(seed, 2),
                                             0, 3, dtype=tf.int32)
        return ops.down_up(image, factor, method)
    return apply


_DAMAGE_PARAMS = {"regions": [1, 3], "size": [0.05, 0.25], "fill": "noise"}


def _damage_step(params: dict) -> Callable:
    lo, hi = _range(params["regions"], "damage.regions")
    if lo < 0 or lo != int(lo) or hi != int(hi):
        raise DegradationConfigError(f"damage.regions must be whole numbers >= 0, got {params['regions']!r}")
    size = _range(params["size"], "damage.size")
    if not 0 < size[0] <= size[1] <= 1:
        raise DegradationConfigError(f"damage.size is a fraction of the image side in (0, 1], got {params['size']!r}")
    if params["fill"] not in ops.DAMAGE_FILLS:
        raise DegradationConfigError(f"damage.fill must be one of {list(ops.DAMAGE_FILLS)}, got {params['fill']!r}")

    def apply(image, seed):
        regions = tf.random.stateless_uniform([], tf.random.experimental.stateless_fold_in(seed, 1),
                                              int(lo), int(hi) + 1, dtype=tf.int32)
        return ops.damage_regions(image, regions, int(hi), size, params["fill"], seed)
    return apply


class Degradation:
    """A configured chain: ``degrade(window, seed) -> (blurred, sharp, kernel_index)``.

    ``window`` is [H + 2*margin, W + 2*margin, 3] float32 in [0, 1]; both outputs are [H, W, 3] in
    [0, 1]. ``kernel_index`` is the bank entry used (-1 when no blur was applied).
    """

    def __init__(self, steps: list[dict] | None, bank_seed: int = 0):
        steps = list(steps or [])
        self.config = steps
        self.bank: KernelBank | None = None
        self.sampler: KernelSampler | None = None
        self.blur_p = 0.0
        self.clean_p = 0.0
        self._steps: list[_Step] = []
        first = 0
        if steps and isinstance(steps[0], dict) and steps[0].get("op") == "clean":
            # Some samples left sharp and clean, input = target: a model must learn to leave a
            # sharp face alone, and chance alone (no blur AND no noise AND no JPEG) is too rare.
            spec = _pop_known({k: v for k, v in steps[0].items() if k != "op"}, {"p": 0.05}, "clean")
            self.clean_p = float(spec["p"])
            if not 0 <= self.clean_p <= 1:
                raise DegradationConfigError(f"clean.p must be in [0, 1], got {self.clean_p}")
            first = 1
        for i, raw in enumerate(steps[first:], start=first):
            if not isinstance(raw, dict) or "op" not in raw:
                raise DegradationConfigError(f"degradation step {i} needs an 'op': {raw!r}")
            spec = dict(raw)
            name = spec.pop("op")
            p = float(spec.pop("p", 1.0))
            if not 0 <= p <= 1:
                raise DegradationConfigError(f"{name}: p must be in [0, 1], got {p}")
            if name == "clean":
                raise DegradationConfigError("'clean' must be the first step")
            if name == "blur":
                if i != first:
                    raise DegradationConfigError("'blur' must be the first and only blur step")
                full = _pop_known(spec, {"kernels": [{"type": "trajectory"}], "bank_size": 2000,
                                         "seed": bank_seed, "per_sample": False, "max_size": 31},
                                  "blur")
                if full["per_sample"]:
                    self.sampler = KernelSampler(full["kernels"], int(full["max_size"]))
                else:
                    self.bank = build_kernel_bank(full["kernels"], int(full["bank_size"]),
                                                  int(full["seed"]))
                self.blur_p = p
            elif name in _STEP_PARAMS:
                params = _pop_known(spec, _STEP_PARAMS[name], name)
                self._steps.append(_Step(name, p, _noise_step(name, params)))
            elif name == "rescale":
                params = _pop_known(spec, _RESCALE_PARAMS, name)
                self._steps.append(_Step(name, p, _rescale_step(params)))
            elif name == "damage":
                self._steps.append(_Step(name, p, _damage_step(_pop_known(spec, _DAMAGE_PARAMS, name))))
            else:
                raise DegradationConfigError(
                    f"unknown degradation op {name!r}; choose from {['clean', 'blur', *_STEP_PARAMS, 'rescale', 'damage']}")
        self._bank_tensor = None if self.bank is None else tf.constant(self.bank.kernels)

    @classmethod
    def from_kernel_bank(cls, bank: KernelBank, steps: list[dict] | None = None) -> "Degradation":
        """A chain that blurs with a given bank (e.g. a fixed evaluation set) then applies ``steps``."""
        chain = cls(steps)
        chain.bank, chain.blur_p = bank, 1.0
        chain._bank_tensor = tf.constant(bank.kernels)
        return chain

    @property
    def margin(self) -> int:
        """Context pixels needed on each side of the output for 'valid' blurring."""
        if self.sampler is not None:
            return self.sampler.max_size // 2
        return 0 if self.bank is None else self.bank.size // 2

    def __call__(self, window: tf.Tensor, seed: tf.Tensor, kernel_index=None):
        return self.with_kernel(window, seed, kernel_index)[:3]

    def with_kernel(self, window: tf.Tensor, seed: tf.Tensor, kernel_index=None):
        """As calling the chain, plus the kernel used ([K, K]; a 1x1 identity when not blurred)."""
        seed = tf.cast(seed, tf.int64)
        kernel = tf.ones([1, 1], tf.float32)
        sharp = ops.center_crop(window, self.margin) if self.margin else window
        image = sharp
        index = tf.constant(-1, tf.int32)
        if self.bank is not None or self.sampler is not None:
            s = tf.random.experimental.stateless_fold_in(seed, 1000)
            if self.sampler is not None:
                kernel = self.sampler(s)
            else:
                if kernel_index is None:
                    index = tf.random.stateless_uniform([], s, 0, len(self.bank), dtype=tf.int32)
                else:
                    index = tf.cast(kernel_index, tf.int32)
                kernel = tf.gather(self._bank_tensor, index)
            blurred = ops.convolve_valid(window, kernel)
            if self.blur_p < 1:
                apply = tf.random.stateless_uniform([], tf.random.experimental.stateless_fold_in(s, 1)) < self.blur_p
                image = tf.where(apply, blurred, sharp)
                index = tf.where(apply, index, -1)
                kernel = tf.cond(apply, lambda: kernel, lambda: _identity_like(kernel))
            else:
                image = blurred
        for i, step in enumerate(self._steps):
            s = tf.random.experimental.stateless_fold_in(seed, i + 1)
            out = step.apply(image, s)
            if step.p < 1:
                gate = tf.random.stateless_uniform([], tf.random.experimental.stateless_fold_in(s, 7))
                out = tf.where(gate < step.p, out, image)
            image = out
        if self.clean_p > 0:
            keep = tf.random.stateless_uniform([], tf.random.experimental.stateless_fold_in(seed, 2000)) < self.clean_p
            image = tf.where(keep, sharp, image)
            index = tf.where(keep, -1, index)
            kernel = tf.cond(keep, lambda: _identity_like(kernel), lambda: kernel)
        return tf.clip_by_value(image, 0.0, 1.0), sharp, index, kernel


def degrade_photo(chain: Degradation, image: np.ndarray, seed) -> tuple[np.ndarray, np.ndarray]:
    """A whole float [H, W, 3] photo through ``chain``: mirror-padded by the chain's margin, so
    the blur sees context as in training, and cropped back. Returns (degraded, kernel)."""
    m = chain.margin
    window = np.pad(image, ((m, m), (m, m), (0, 0)), mode="symmetric") if m else image
    degraded, _, _, kernel = chain.with_kernel(tf.constant(window, tf.float32), tf.constant(seed))
    return degraded.numpy(), kernel.numpy()


def kernel_picture(kernel: np.ndarray, scale: int = 8) -> np.ndarray:
    """A kernel as a uint8 RGB picture, each tap a ``scale`` x ``scale`` block, brightest = white."""
    picture = np.kron(kernel / kernel.max(), np.ones((scale, scale)))
    return np.repeat(np.round(picture * 255).astype(np.uint8)[..., None], 3, axis=2)


def _identity_like(kernel: tf.Tensor) -> tf.Tensor:
    """The identity kernel of the same (odd) shape as ``kernel``."""
    k = tf.shape(kernel)[0]
    return tf.scatter_nd([[k // 2, k // 2]], [1.0], tf.shape(kernel))


DEFAULT_DEGRADATIONS: list[dict] = [
    {"op": "blur", "bank_size": 2000,
     "kernels": [{"type": "trajectory", "sizes": list(K.LITERATURE_KERNEL_SIZES)}]},
    {"op": "gaussian_noise", "sigma": [0.0, 0.01]},
]
