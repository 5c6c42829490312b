"""Image quality metrics: PSNR and SSIM (tf.image) and LPIPS-VGG (Zhang et al. 2018) in TF.

LPIPS needs the ImageNet VGG16 weights and the LPIPS v0.1 linear calibration weights from
../shared/weights (VGG16 by Simonyan & Zisserman, CC BY 4.0; LPIPS weights from the lpips project).
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from deblur_tf.paths import shared_file

LPIPS_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3")
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)


def psnr(a, b) -> tf.Tensor:
    """Per-image PSNR (dB) of float images in [0, 1]."""
    return tf.image.psnr(tf.cast(a, tf.float32), tf.cast(b, tf.float32), max_val=1.0)


def ssim(a, b) -> tf.Tensor:
    return tf.image.ssim(tf.cast(a, tf.float32), tf.cast(b, tf.float32), max_val=1.0)


class LPIPS:
    """LPIPS-VGG v0.1 distance between float images in [0, 1]; lower is more similar.

    Features relu1_2 … relu5_3 of torchvision's VGG16 fed ``(x - shift) / scale`` with x in [-1, 1];
    each feature vector is unit-normalised over channels, the squared difference is weighted per
    channel by the learned ``lin`` weights, summed over channels, averaged over space and summed
    over the five layers.
    """

    def __init__(self, vgg_weights: str | None = None, lin_weights: str | None = None):
        vgg_weights = vgg_weights or _shared("vgg16_imagenet_notop.weights.h5")
        lin_weights = lin_weights or _shared("lpips_vgg16_linear_v0.1.npz")
        vgg = keras.applications.VGG16(weights=None, include_top=False, input_shape=(None, None, 3))
        vgg.load_weights(vgg_weights)
        self.features = keras.Model(vgg.input, [vgg.get_layer(n).output for n in LPIPS_LAYERS])
        lins = np.load(lin_weights)
        self.lins = [tf.constant(lins[f"lin{i}"], tf.float32) for i in range(len(LPIPS_LAYERS))]
        self._distance = tf.function(self._compute, reduce_retracing=True)

    def _compute(self, a, b):
        shift, scale = tf.constant(LPIPS_SHIFT), tf.constant(LPIPS_SCALE)
        prep = lambda x: (tf.cast(x, tf.float32) * 2.0 - 1.0 - shift) / scale  # noqa: E731
        fa, fb = self.features(prep(a), training=False), self.features(prep(b), training=False)
        total = 0.0
        for xa, xb, lin in zip(fa, fb, self.lins):
            na = xa / (tf.sqrt(tf.reduce_sum(xa**2, axis=-1, keepdims=True)) + 1e-10)
            nb = xb / (tf.sqrt(tf.reduce_sum(xb**2, axis=-1, keepdims=True)) + 1e-10)
            total += tf.reduce_mean(tf.reduce_sum((na - nb) ** 2 * lin, axis=-1), axis=[1, 2])
        return total

    def __call__(self, a, b) -> tf.Tensor:
        """Per-image distances [N] for two [N, H, W, 3] batches in [0, 1]."""
        return self._distance(tf.convert_to_tensor(a, tf.float32), tf.convert_to_tensor(b, tf.float32))


def _shared(name: str) -> str:
    path = shared_file("weights", name)
    if path is None:
        raise FileNotFoundError(f"LPIPS needs ../shared/weights/{name} (set DEBLUR_TF_SHARED or pass a path)")
    return str(path)


def lpips_available() -> bool:
    return all(shared_file("weights", n) is not None
               for n in ("vgg16_imagenet_notop.weights.h5", "lpips_vgg16_linear_v0.1.npz")) and \
        not os.environ.get("DEBLUR_TF_NO_LPIPS")
