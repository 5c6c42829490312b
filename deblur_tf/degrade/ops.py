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


def down_up(image: tf.Tensor, factor, method) -> tf.Tensor:
    """Down-scale an [H, W, C] image by ``factor`` (>= 1) and back up: a small sensor or a photo
    that was shared at low resolution. ``method`` (0, 1, 2) picks area / bilinear / bicubic
    down-scaling; up-scaling is bilinear or bicubic (area cannot up-scale)."""
    shape = tf.shape(image)
    small = tf.maximum(tf.cast(tf.round(tf.cast(shape[:2], tf.float32) / factor), tf.int32), 1)
    down = tf.switch_case(method, [
        lambda: tf.image.resize(image, small, method="area"),
        lambda: tf.image.resize(image, small, method="bilinear", antialias=True),
        lambda: tf.image.resize(image, small, method="bicubic", antialias=True)])
    up = tf.cond(method > 1, lambda: tf.image.resize(down, shape[:2], method="bicubic"),
                 lambda: tf.image.resize(down, shape[:2], method="bilinear"))
    return tf.reshape(up, shape)


DAMAGE_FILLS = ("noise", "black", "colour")


def damage_mask(shape, regions, max_regions: int, size, seed) -> tf.Tensor:
    """[H, W, 1] float mask (1 = damaged) of ``regions`` random axis-aligned rectangles.

    Each rectangle's sides are a fraction ``size`` (a [2] tensor: low, high) of the image's; they may
    overlap. ``max_regions`` is a Python int so the loop is unrolled in the graph; rectangles past
    ``regions`` (a scalar tensor) are switched off.
    """
    h, w = shape[0], shape[1]
    ys = tf.range(h, dtype=tf.float32)[:, None]
    xs = tf.range(w, dtype=tf.float32)[None, :]
    hw = tf.cast(tf.stack([h, w]), tf.float32)
    mask = tf.zeros([h, w], tf.float32)
    for i in range(max_regions):
        u = tf.random.stateless_uniform([4], tf.random.experimental.stateless_fold_in(seed, i))
        side = (size[0] + (size[1] - size[0]) * u[:2]) * hw        # rectangle height, width
        corner = u[2:] * (hw - side)                               # top-left inside the image
        inside = ((ys >= corner[0]) & (ys < corner[0] + side[0])
                  & (xs >= corner[1]) & (xs < corner[1] + side[1]))
        on = tf.cast(inside, tf.float32) * tf.cast(i < regions, tf.float32)
        mask = tf.maximum(mask, on)
    return mask[..., None]


def damage_regions(image: tf.Tensor, regions, max_regions: int, size, fill: str, seed) -> tf.Tensor:
    """Occlude random rectangles (scratches, stickers, torn corners) — the model must inpaint them.

    ``fill``: "noise" (uniform per pixel), "black", or "colour" (one random colour per image).
    """
    mask = damage_mask(tf.shape(image), regions, max_regions, tf.cast(size, tf.float32),
                       tf.random.experimental.stateless_fold_in(seed, 1))
    fill_seed = tf.random.experimental.stateless_fold_in(seed, 2)
    if fill == "noise":
        value = tf.random.stateless_uniform(tf.shape(image), fill_seed, dtype=image.dtype)
    elif fill == "black":
        value = tf.zeros_like(image)
    elif fill == "colour":
        value = tf.zeros_like(image) + tf.random.stateless_uniform([3], fill_seed, dtype=image.dtype)
    else:
        raise ValueError(f"damage fill must be one of {DAMAGE_FILLS}, got {fill!r}")
    mask = tf.cast(mask, image.dtype)
    return image * (1 - mask) + value * mask
