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


class LPIPS:
    """LPIPS-VGG v0.1 distance between float images in [0, 1]; lower is more similar.

    Features relu1_2 … relu5_3 of torchvision's VGG16 fed ``(x - shift) / scale`` with x in [-1, 1];
    each feature vector is unit-normalised over channels, the squared difference is weighted per
    channel by the learned ``lin`` weights, summed over channels, averaged over space and summed
    over the five layers.
    """

    def __init__(self, vgg_weights: str | None = None, lin_weights: str | None = None,
                 precision: str = "float32"):
        """``precision="bfloat16"`` runs VGG in bf16 (2.7x faster on this CPU, features cast back
        to float32 before normalising; within 0.002 of the official triplet distances, tested)."""
        if precision not in ("float32", "bfloat16"):
            raise ValueError(f"precision must be float32 or bfloat16, got {precision!r}")
        vgg_weights = vgg_weights or _shared("vgg16_imagenet_notop.weights.h5")
        lin_weights = lin_weights or _shared("lpips_vgg16_linear_v0.1.npz")
        policy = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")
        try:
            vgg = keras.applications.VGG16(weights=None, include_top=False, input_shape=(None, None, 3))
        finally:
            keras.mixed_precision.set_global_policy(policy)
        vgg.load_weights(vgg_weights)
        self.features = keras.Model(vgg.input, [vgg.get_layer(n).output for n in LPIPS_LAYERS])
        lins = np.load(lin_weights)
        self.lins = [tf.constant(lins[f"lin{i}"], tf.float32) for i in range(len(LPIPS_LAYERS))]
        self._distance = tf.function(self._compute, reduce_retracing=True)

        self._normalised = tf.function(self._normalised_features, reduce_retracing=True)
        self._distance_to = tf.function(self._compute_to, reduce_retracing=True)

    def _normalised_features(self, x):
        shift, scale = tf.constant(LPIPS_SHIFT), tf.constant(LPIPS_SCALE)
        feats = self.features((tf.cast(x, tf.float32) * 2.0 - 1.0 - shift) / scale, training=False)
        feats = [tf.cast(f, tf.float32) for f in feats]
        return [f / (tf.sqrt(tf.reduce_sum(f**2, axis=-1, keepdims=True)) + 1e-10) for f in feats]

    def _compute_to(self, a, reference):
        total = 0.0
        for na, nb, lin in zip(self._normalised_features(a), reference, self.lins):
            total += tf.reduce_mean(tf.reduce_sum((na - nb) ** 2 * lin, axis=-1), axis=[1, 2])
        return total

    def _compute(self, a, b):
        return self._compute_to(a, self._normalised_features(b))

    def __call__(self, a, b) -> tf.Tensor:
        """Per-image distances [N] for two [N, H, W, 3] batches in [0, 1]."""
        return self._distance(tf.convert_to_tensor(a, tf.float32), tf.convert_to_tensor(b, tf.float32))

    def reference(self, b) -> list:
        """``b``'s normalised features, to score several images against it (``distance_to``)
        without running VGG on ``b`` again — half the work when many methods share a target."""
        return self._normalised(tf.convert_to_tensor(b, tf.float32))

    def distance_to(self, a, reference) -> tf.Tensor:
        """Per-image distances [N] of ``a`` to the images whose ``reference()`` is given."""
        return self._distance_to(tf.convert_to_tensor(a, tf.float32), reference)


def _shared(name: str) -> str:
    path = shared_file("weights", name)
    if path is None:
        raise FileNotFoundError(f"LPIPS needs ../shared/weights/{name} (set DEBLUR_TF_SHARED or pass a path)")
    return str(path)


def lpips_available() -> bool:
    return all(shared_file("weights", n) is not None
               for n in ("vgg16_imagenet_notop.weights.h5", "lpips_vgg16_linear_v0.1.npz")) and \
        not os.environ.get("DEBLUR_TF_NO_LPIPS")


def optional_lpips(wanted: bool | None = None, precision: str = "float32") -> LPIPS | None:
    """An ``LPIPS`` when ``wanted`` (None: whenever its weights are in ../shared), else None."""
    return LPIPS(precision=precision) if (lpips_available() if wanted is None else wanted) else None
