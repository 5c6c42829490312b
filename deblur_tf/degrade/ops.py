"""Degradation operators on float32 images in [0, 1], written as TF ops for tf.data.

Randomness is stateless (``tf.random.stateless_*`` keyed by a [2] int seed) so a pipeline gives the
same samples for the same seed however many threads map over it.
"""

from __future__ import annotations

import tensorflow as tf


def convolve_valid(window: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """Blur an [H+K-1, W+K-1, C] window with a [K, K] kernel, giving [H, W, C].

    'valid' convolution over a window that carries K//2 pixels of real context on each side: the
    blurred border is made of true image content, not of padding artefacts.
    """
    kernel = tf.reverse(tf.cast(kernel, window.dtype), axis=[0, 1])  # convolution, not correlation
    channels_as_batch = tf.transpose(window, [2, 0, 1])[..., None]
    blurred = tf.nn.conv2d(channels_as_batch, kernel[:, :, None, None], strides=1, padding="VALID")
    return tf.transpose(blurred[..., 0], [1, 2, 0])


def convolve_same(image: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """Blur an [H, W, C] image with a [K, K] kernel, reflect-padding the border; same size out."""
    r = tf.shape(kernel)[0] // 2
    padded = tf.pad(image, [[r, r], [r, r], [0, 0]], mode="REFLECT")
    return convolve_valid(padded, kernel)


def center_crop(image: tf.Tensor, margin) -> tf.Tensor:
    """Remove ``margin`` pixels from each side of an [H, W, C] image."""
    h, w = tf.shape(image)[0], tf.shape(image)[1]
    return image[margin: h - margin, margin: w - margin]


def gaussian_noise(image: tf.Tensor, sigma, seed) -> tf.Tensor:
    return image + sigma * tf.random.stateless_normal(tf.shape(image), seed, dtype=image.dtype)


def poisson_noise(image: tf.Tensor, peak, seed) -> tf.Tensor:
    """Shot noise: a pixel of value x collects Poisson(x * peak) photons (peak = photons at white)."""
    peak = tf.cast(peak, image.dtype)
    counts = tf.random.stateless_poisson(tf.shape(image), seed, lam=tf.maximum(image, 0.0) * peak,
                                         dtype=image.dtype)
    return counts / peak


def impulse_noise(image: tf.Tensor, amount, seed) -> tf.Tensor:
    """Salt-and-pepper: a fraction ``amount`` of pixels (all channels) set to black or white."""
    shape = tf.shape(image)[:2]
    u = tf.random.stateless_uniform(tf.concat([shape, [2]], 0), seed)
    hit = (u[..., :1] < amount)
    salt = tf.cast(u[..., 1:] < 0.5, image.dtype)
    return tf.where(hit, salt, image)


def jpeg(image: tf.Tensor, quality) -> tf.Tensor:
    """JPEG re-compression at an integer quality in [0, 100]."""
    image = tf.clip_by_value(image, 0.0, 1.0)
    out = tf.image.adjust_jpeg_quality(image, tf.cast(quality, tf.int32))
    return tf.reshape(out, tf.shape(image))
