"""Classical non-blind deconvolution given the TRUE kernel: the oracle baselines a user would
otherwise reach for. FFT-based (circular convolution); the blurred image is mirror-padded by twice
the kernel radius first so the periodic assumption does not ring at the borders.

Both take one image [H, W, C] with its kernel [k, k], or a batch [N, H, W, C] with one kernel per
image [N, k, k]. A batch runs as one FFT per step over all its images — about 3x faster per image
than a loop on this CPU: small FFTs are dominated by call overhead, and a batch can use every core.
"""

from __future__ import annotations

import numpy as np
import scipy.fft


def _as_batch(blurred, kernel) -> tuple[np.ndarray, np.ndarray, bool]:
    images, kernels = np.asarray(blurred, np.float32), np.asarray(kernel, np.float32)
    single = images.ndim == 3
    if single:
        images, kernels = images[None], kernels[None]
    if images.ndim != 4 or kernels.ndim != 3 or len(kernels) != len(images):
        raise ValueError(f"expected [H, W, C] with [k, k] or [N, H, W, C] with [N, k, k], got "
                         f"{np.shape(blurred)} and {np.shape(kernel)}")
    return images, kernels, single


def _otf(kernels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Optical transfer functions [N, H, W//2 + 1] (real FFT half-plane): each kernel zero-padded
    to ``shape`` with its centre at (0, 0)."""
    k = kernels.shape[-1]
    padded = np.zeros((len(kernels), *shape), np.float32)
    padded[:, :k, :k] = kernels
    padded = np.roll(padded, (-(k // 2), -(k // 2)), axis=(1, 2))
    return scipy.fft.rfft2(padded, axes=(1, 2), workers=-1)


def _padded(images: np.ndarray, kernels: np.ndarray):
    pad = 2 * (kernels.shape[-1] // 2)
    return np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="symmetric"), pad


def _filter(images: np.ndarray, transfer: np.ndarray) -> np.ndarray:
    # Real-input FFTs in single precision: the same result as complex double ones to ~1e-6
    # (far below one grey level), about 9x faster (RL runs 40 per image).
    spectrum = scipy.fft.rfft2(images, axes=(1, 2), workers=-1) * transfer[..., None]
    return scipy.fft.irfft2(spectrum, s=images.shape[1:3], axes=(1, 2), workers=-1)


def _cropped(images: np.ndarray, pad: int, single: bool) -> np.ndarray:
    out = np.clip(images[:, pad:-pad or None, pad:-pad or None], 0, 1).astype(np.float32)
    return out[0] if single else out


def wiener(blurred: np.ndarray, kernel: np.ndarray, nsr: float = 0.03) -> np.ndarray:
    """Wiener deconvolution X = conj(H) Y / (|H|² + nsr) of float images in [0, 1]."""
    images, kernels, single = _as_batch(blurred, kernel)
    images, pad = _padded(images, kernels)
    h = _otf(kernels, images.shape[1:3])
    return _cropped(_filter(images, np.conj(h) / (np.abs(h) ** 2 + nsr)), pad, single)


def richardson_lucy(blurred: np.ndarray, kernel: np.ndarray, iterations: int = 10) -> np.ndarray:
    """Richardson–Lucy deconvolution (Poisson maximum likelihood), started from the blurred image."""
    images, kernels, single = _as_batch(blurred, kernel)
    images, pad = _padded(np.clip(images, 0, 1), kernels)
    h = _otf(kernels, images.shape[1:3])
    h_conj = np.conj(h)
    estimate = images.copy()
    for _ in range(iterations):
        ratio = images / np.maximum(_filter(estimate, h), 1e-6)
        estimate *= _filter(ratio, h_conj)
    return _cropped(estimate, pad, single)
