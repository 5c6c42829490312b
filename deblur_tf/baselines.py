"""Classical non-blind deconvolution given the TRUE kernel: the oracle baselines a user would
otherwise reach for. FFT-based (circular convolution); the blurred image is mirror-padded by twice
the kernel radius first so the periodic assumption does not ring at the borders.
"""

from __future__ import annotations

import numpy as np
import scipy.fft


def _otf(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Optical transfer function (real FFT half-plane): the kernel zero-padded to ``shape`` with its
    centre at (0, 0)."""
    k = kernel.shape[0]
    padded = np.zeros(shape, np.float32)
    padded[:k, :k] = kernel
    return scipy.fft.rfft2(np.roll(padded, (-(k // 2), -(k // 2)), axis=(0, 1)))


def _padded(image: np.ndarray, kernel: np.ndarray):
    pad = 2 * (kernel.shape[0] // 2)
    return np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="symmetric"), pad


def _filter(image: np.ndarray, transfer: np.ndarray) -> np.ndarray:
    # Real-input FFTs in single precision: the same result as complex double ones to ~1e-6
    # (far below one grey level), about 9x faster (RL runs 40 per image).
    spectrum = scipy.fft.rfft2(image, axes=(0, 1), workers=-1) * transfer[..., None]
    return scipy.fft.irfft2(spectrum, s=image.shape[:2], axes=(0, 1), workers=-1)


def wiener(blurred: np.ndarray, kernel: np.ndarray, nsr: float = 0.03) -> np.ndarray:
    """Wiener deconvolution X = conj(H) Y / (|H|² + nsr) of a float [H, W, C] image in [0, 1]."""
    image, pad = _padded(np.asarray(blurred, np.float32), kernel)
    h = _otf(kernel, image.shape[:2])
    out = _filter(image, np.conj(h) / (np.abs(h) ** 2 + nsr))
    return np.clip(out[pad:-pad or None, pad:-pad or None], 0, 1).astype(np.float32)


def richardson_lucy(blurred: np.ndarray, kernel: np.ndarray, iterations: int = 10) -> np.ndarray:
    """Richardson–Lucy deconvolution (Poisson maximum likelihood), started from the blurred image."""
    image, pad = _padded(np.clip(np.asarray(blurred, np.float32), 0, 1), kernel)
    h = _otf(kernel, image.shape[:2])
    estimate = image.copy()
    for _ in range(iterations):
        ratio = image / np.maximum(_filter(estimate, h), 1e-6)
        estimate = estimate * _filter(ratio, np.conj(h))
    return np.clip(estimate[pad:-pad or None, pad:-pad or None], 0, 1).astype(np.float32)
