"""Blur kernels (point-spread functions) as float32 numpy arrays.

Every kernel is non-negative, sums to 1 and has an odd side so that it has a centre pixel.
Kernels are made in numpy (once, into a bank) rather than in the tf.data graph: the random-walk
trajectories are sequential and cheap to pre-compute, while applying a kernel is the per-sample
hot path (see ``deblur_tf.degrade.ops``).
"""

from __future__ import annotations

import math

import numpy as np

# Kernel sizes used by the face-deblurring literature (Shen et al. 2018, UMSN): 13, 15, ..., 27 px.
LITERATURE_KERNEL_SIZES = tuple(range(13, 28, 2))


def _check_size(size: int) -> int:
    size = int(size)
    if size < 1 or size % 2 == 0:
        raise ValueError(f"kernel size must be a positive odd integer, got {size}")
    return size


def _normalise(kernel: np.ndarray) -> np.ndarray:
    kernel = np.clip(kernel, 0.0, None)
    total = kernel.sum()
    if total <= 0:
        raise ValueError("kernel has no mass; is it larger than its support?")
    return (kernel / total).astype(np.float32)


def splat_points(points_xy: np.ndarray, size: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Accumulate sub-pixel points into a size x size grid with bilinear weights (anti-aliasing).

    ``points_xy`` is [N, 2] in pixel coordinates (x = column, y = row; (0, 0) is the centre of the
    top-left pixel). Points must lie inside [0, size - 1].
    """
    size = _check_size(size)
    pts = np.asarray(points_xy, np.float64)
    w = np.ones(len(pts)) if weights is None else np.asarray(weights, np.float64)
    x0 = np.floor(pts[:, 0]).astype(int)
    y0 = np.floor(pts[:, 1]).astype(int)
    fx = pts[:, 0] - x0
    fy = pts[:, 1] - y0
    kernel = np.zeros((size, size), np.float64)
    for dx, dy, share in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                          (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xs = np.clip(x0 + dx, 0, size - 1)
        ys = np.clip(y0 + dy, 0, size - 1)
        np.add.at(kernel, (ys, xs), w * share)
    return _normalise(kernel)


def linear_motion_kernel(length: float, angle_deg: float, size: int | None = None) -> np.ndarray:
    """h(i, j; L, θ) = 1/L on the segment of length L through the centre at angle θ.

    θ is measured counter-clockwise from the x axis (rows grow downwards, so +θ points up-right).
    The segment is sampled densely and splatted bilinearly: sub-pixel lengths and any angle give an
    anti-aliased line whose mass is uniform along the segment, as the formula asks.
    """
    if length <= 0:
        raise ValueError(f"motion length must be > 0, got {length}")
    if size is None:
        size = int(math.ceil(length)) + 2
        size += 1 - size % 2
    size = _check_size(size)
    if length > size - 1:
        raise ValueError(f"motion length {length} does not fit a {size}x{size} kernel")
    centre = (size - 1) / 2
    theta = math.radians(angle_deg)
    n = max(2, int(math.ceil(length * 16)))
    t = (np.arange(n) + 0.5) / n * length - length / 2  # midpoints: equal mass per sub-segment
    points = np.stack([centre + t * math.cos(theta), centre - t * math.sin(theta)], axis=1)
    return splat_points(points, size)


def disk_kernel(radius: float, size: int | None = None, supersample: int = 8) -> np.ndarray:
    """Defocus (pillbox) kernel: 1/(πR²) inside the disk of radius R, 0 outside.

    Edge pixels get the fraction of their area inside the disk (estimated on a supersampled grid),
    so the kernel is anti-aliased and its total area is πR².
    """
    if radius <= 0:
        raise ValueError(f"disk radius must be > 0, got {radius}")
    if size is None:
        size = 2 * int(math.ceil(radius)) + 1
    size = _check_size(size)
    centre = (size - 1) / 2
    offsets = (np.arange(supersample) + 0.5) / supersample - 0.5
    coords = (np.arange(size)[:, None] + offsets[None, :]).reshape(-1) - centre
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    inside = (xx**2 + yy**2 <= radius**2).astype(np.float64)
    coverage = inside.reshape(size, supersample, size, supersample).mean(axis=(1, 3))
    return _normalise(coverage)


def gaussian_kernel(sigma: float, size: int | None = None) -> np.ndarray:
    """Isotropic Gaussian kernel; the default size covers ±3σ."""
    if sigma <= 0:
        raise ValueError(f"gaussian sigma must be > 0, got {sigma}")
    if size is None:
        size = 2 * int(math.ceil(3 * sigma)) + 1
    size = _check_size(size)
    r = np.arange(size) - (size - 1) / 2
    g = np.exp(-(r**2) / (2 * sigma**2))
    return _normalise(np.outer(g, g))


def camera_shake_trajectories(
    rng: np.random.Generator,
    count: int,
    length: float,
    steps: int = 2000,
    max_anxiety: float = 0.03,
) -> np.ndarray:
    """Random camera-shake trajectories after Boracchi & Foi (2012), as used by DeblurGAN.

    The camera position is a random walk with inertia: the velocity keeps a constant step
    (``length / steps`` per sample) and is nudged each step by Gaussian jitter plus a centripetal pull
    towards the start; with a small probability an impulsive shake turns it abruptly (about a
    reversal). A per-trajectory "anxiety" in U(0, max_anxiety) scales jitter and shakes, so some
    trajectories are nearly straight and others erratic. DeblurGAN draws it from U(0, 0.1); above
    ~0.03 most paths are tangled scribbles, unlike measured camera shake (Levin et al. 2009), hence
    the lower default. Vectorised over ``count`` trajectories.
    Returns [count, steps, 2] positions (x, y) in pixels.
    """
    anxiety = max_anxiety * rng.uniform(0, 1, count)
    centripetal = 0.7 * rng.uniform(0, 1, count)
    p_big_shake = 0.2 * rng.uniform(0, 1, count)
    jitter = 10.0 * rng.uniform(0, 1, count)
    step_len = length / (steps - 1)
    v = np.exp(1j * rng.uniform(0, 2 * np.pi, count)) * step_len
    pos = np.zeros((steps, count), np.complex128)
    for t in range(steps - 1):
        u_shake, u_turn = rng.uniform(0, 1, (2, count))
        noise = rng.standard_normal(count) + 1j * rng.standard_normal(count)
        # Impulsive shake: a turn of π ± 0.5 rad with doubled speed, for the unlucky few.
        shake = np.where(u_shake < p_big_shake * anxiety,
                         2 * v * np.exp(1j * (np.pi + u_turn - 0.5)), 0)
        v = v + shake + anxiety * (jitter * noise - centripetal * pos[t]) * step_len
        speed = np.abs(v)
        v = np.where(speed > 0, v / np.maximum(speed, 1e-12) * step_len, step_len)
        pos[t + 1] = pos[t] + v
    return np.stack([pos.real.T, pos.imag.T], axis=-1)


def trajectory_kernels(
    size: int,
    count: int,
    rng: np.random.Generator,
    exposure: tuple[float, float] = (0.5, 1.0),
    steps: int = 2000,
) -> np.ndarray:
    """``count`` camera-shake kernels of one support size, as a [count, size, size] array.

    Each kernel integrates a random trajectory (total path length = ``size`` px) over an exposure
    fraction drawn from U(*exposure): shorter and longer blurs for one size, centred and scaled to
    span the support (``_path_to_kernel``).
    """
    size = _check_size(size)
    lo, hi = exposure
    if not 0 < lo <= hi <= 1:
        raise ValueError(f"exposure range must lie in (0, 1], got {exposure}")
    paths = camera_shake_trajectories(rng, count, length=float(size), steps=steps)
    fractions = rng.uniform(lo, hi, count)
    return np.stack([_path_to_kernel(paths[i, : max(2, int(round(fractions[i] * steps)))], size)
                     for i in range(count)]).astype(np.float32)


def shake_kernel(rng: np.random.Generator, size: int, exposure: tuple[float, float] = (0.5, 1.0),
                 steps: int = 1000) -> np.ndarray:
    """One Boracchi–Foi camera-shake kernel, drawn fast enough to make one per training sample.

    The same random walk as ``camera_shake_trajectories`` (same parameter distributions), written
    with Python complex scalars for a single path: numpy's per-call overhead on 1-element arrays
    made the vectorised version ~10x slower for ``count=1``. ``steps`` is lower than the bank's
    2,000: at most 31 px of path, 1,000 samples still land every 0.03 px.
    """
    size = _check_size(size)
    if size == 1:
        return np.ones((1, 1), np.float32)
    anxiety, centripetal, p_big, jitter = rng.uniform(0, 1, 4) * (0.03, 0.7, 0.2, 10.0)
    step_len = float(size) / (steps - 1)
    u = rng.uniform(0, 1, (steps, 2))
    noise = rng.standard_normal((steps, 2))
    v = complex(np.exp(1j * rng.uniform(0, 2 * np.pi))) * step_len
    pos = [0j] * steps
    p = 0j
    threshold = p_big * anxiety
    for t in range(steps - 1):
        if u[t, 0] < threshold:
            v += 2 * v * complex(np.exp(1j * (np.pi + u[t, 1] - 0.5)))
        v += anxiety * (jitter * complex(noise[t, 0], noise[t, 1]) - centripetal * p) * step_len
        speed = abs(v)
        v = v / speed * step_len if speed > 0 else complex(step_len)
        p += v
        pos[t + 1] = p
    path = np.asarray(pos[: max(2, int(round(rng.uniform(*exposure) * steps)))])
    path = np.stack([path.real, path.imag], axis=1)
    return _path_to_kernel(path, size)


def _path_to_kernel(path: np.ndarray, size: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Centre a [N, 2] path on its (weighted) centre of mass, scale it to span the support, splat.

    Centred, blurring does not shift the image (a shifted target would teach the generator to
    translate). Scaled so the blur reaches the edge of the support, the nominal size is the blur's
    extent: a 27 px kernel blurs more than a 13 px one (curly paths would otherwise collapse to a
    few pixels whatever the size)."""
    if weights is None:
        path = path - path.mean(axis=0)
    else:
        path = path - (path * weights[:, None]).sum(axis=0) / weights.sum()
    half = (size - 1) / 2 - 0.5  # keep the bilinear footprint inside the support
    path = path * (half / max(np.abs(path).max(), 1e-9))
    return splat_points(path + (size - 1) / 2, size, weights)


def spline_kernel(rng: np.random.Generator, size: int, points: int = 6) -> np.ndarray:
    """Camera-shake kernel after Chakrabarti (ECCV 2016), the generator MSPL-GAN trains with.

    ``points`` random control points in the size x size grid, a smooth curve through them
    (Catmull–Rom spline), and an intensity along the curve drawn from N(1, 0.5) and clipped to be
    positive, then normalised. Unlike the constant-speed Boracchi–Foi walk, the camera lingers at
    some points of the path (brighter kernel spots), as measured shakes do.
    """
    size = _check_size(size)
    if size == 1:
        return np.ones((1, 1), np.float32)
    ctrl = rng.uniform(0, size - 1, (points, 2))
    # Catmull–Rom through the control points (end points duplicated), 64 samples per segment.
    c = np.concatenate([ctrl[:1], ctrl, ctrl[-1:]])
    t = np.linspace(0, 1, 64, endpoint=False)[:, None]
    segs = []
    for i in range(1, len(c) - 2):
        p0, p1, p2, p3 = c[i - 1], c[i], c[i + 1], c[i + 2]
        segs.append(0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                           + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3))
    path = np.concatenate(segs)
    # Intensity: N(1, 0.5) at each control point, interpolated along the curve, clipped >= 0.05.
    knots = np.clip(rng.normal(1.0, 0.5, points), 0.05, None)
    weights = np.interp(np.linspace(0, points - 1, len(path)), np.arange(points), knots)
    return _path_to_kernel(path, size, weights)


def dwell_shake_kernel(rng: np.random.Generator, size: int, drift: tuple[float, float] = (0.05, 5.0),
                       cutoff: tuple[float, float] = (0.5, 4.0), samples: int = 1024) -> np.ndarray:
    """Camera shake sampled uniformly in *time*: the kernel is how long the image stays at each
    offset during the exposure (the point-spread function is the time integral of a moving point),
    so where the camera slows down — at a turn, at the start or end of a jerk — the kernel has a
    bright spot, and where it moves fast only a faint stroke.

    The Boracchi–Foi walk moves at constant speed (uniform brightness) and the spline kernel
    paints random brightness on its curve; here brightness follows from the motion. The motion is
    a hand's: a steady drift plus a smooth random wobble. The wobble's velocity is Gaussian noise
    low-passed at ``cutoff`` cycles per exposure (drawn log-uniformly: from one slow swing to a
    few tremor cycles); the drift speed, in units of the wobble's RMS speed, is drawn
    log-uniformly from ``drift`` (from pure wobble to nearly straight motion blur). Centred on its
    centre of mass and scaled to span ``size``, like the other shake kernels.
    """
    size = _check_size(size)
    if size == 1:
        return np.ones((1, 1), np.float32)
    fc = np.exp(rng.uniform(*np.log(cutoff)))
    f = np.fft.rfftfreq(samples, 1.0 / samples)  # cycles per exposure
    spectrum = np.fft.rfft(rng.standard_normal((samples, 2)), axis=0) / np.sqrt(1 + (f / fc) ** 4)[:, None]
    wobble = np.fft.irfft(spectrum, n=samples, axis=0)
    wobble /= max(float(np.sqrt(np.mean(np.sum(wobble**2, axis=1)))), 1e-12)
    angle = rng.uniform(0, 2 * np.pi)
    velocity = wobble + np.exp(rng.uniform(*np.log(drift))) * np.array([np.cos(angle), np.sin(angle)])
    return _path_to_kernel(np.cumsum(velocity, axis=0), size)


def anisotropic_gaussian_kernel(sigma_x: float, sigma_y: float, angle_deg: float,
                                size: int | None = None) -> np.ndarray:
    """Gaussian with standard deviations ``sigma_x`` / ``sigma_y`` along axes rotated by ``angle``."""
    if min(sigma_x, sigma_y) <= 0:
        raise ValueError(f"gaussian sigmas must be > 0, got {sigma_x}, {sigma_y}")
    if size is None:
        size = 2 * int(math.ceil(3 * max(sigma_x, sigma_y))) + 1
    size = _check_size(size)
    r = np.arange(size) - (size - 1) / 2
    yy, xx = np.meshgrid(r, r, indexing="ij")
    th = math.radians(angle_deg)
    u = xx * math.cos(th) + yy * math.sin(th)
    v = -xx * math.sin(th) + yy * math.cos(th)
    return _normalise(np.exp(-0.5 * ((u / sigma_x) ** 2 + (v / sigma_y) ** 2)))


def compose_kernels(a: np.ndarray, b: np.ndarray, max_size: int | None = None) -> np.ndarray:
    """The kernel of blurring with ``a`` then ``b`` (their full convolution), trimmed to ``max_size``
    (centred) and renormalised: e.g. camera shake through a slightly defocused lens."""
    from scipy.signal import fftconvolve
    k = np.clip(fftconvolve(a.astype(np.float64), b.astype(np.float64), mode="full"), 0, None)
    if max_size is not None and k.shape[0] > max_size:
        cut = (k.shape[0] - _check_size(max_size)) // 2
        k = k[cut:cut + max_size, cut:cut + max_size]
    return _normalise(k)


def centre_of_mass_centred(kernel: np.ndarray) -> np.ndarray:
    """The kernel moved by whole pixels so its centre of mass is within half a pixel of its centre,
    zero-padded (still square and odd) so nothing is cut off. Blurring with a kernel whose mass sits
    off-centre also translates the image; the generated kernels here are centred by construction,
    measured ones (e.g. Levin et al.'s) need not be."""
    k = np.asarray(kernel, np.float32)
    n = k.shape[0]
    yy, xx = np.mgrid[:n, :n]
    total = float(k.sum())
    dy = int(round(float((k * yy).sum()) / total - (n - 1) / 2))
    dx = int(round(float((k * xx).sum()) / total - (n - 1) / 2))
    margin = max(abs(dy), abs(dx))
    return np.roll(np.pad(k, margin), (-dy, -dx), axis=(0, 1))


def pad_kernel(kernel: np.ndarray, size: int) -> np.ndarray:
    """Zero-pad an odd kernel to a larger odd size, keeping it centred."""
    size = _check_size(size)
    k = kernel.shape[0]
    if k > size:
        raise ValueError(f"cannot pad a {k}x{k} kernel to {size}x{size}")
    p = (size - k) // 2
    return np.pad(kernel, p)
