"""Run a trained generator on images: uint8 RGB in, uint8 RGB out, any H x W.

The generators pad to their size multiple inside the graph and crop back, so any size works;
the call goes through one ``tf.function`` (eager calls in a loop are ~8x slower on CPU).
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import deblur_tf.models  # noqa: F401  (registers the architectures for load_model)
from deblur_tf.io import to_uint8


class ModelLoadError(ValueError):
    """A model file is missing or not a deblur-tf generator."""


def load_generator(path: str | os.PathLike) -> keras.Model:
    path = Path(path)
    if not path.exists():
        raise ModelLoadError(f"no such model: {path}")
    if path.suffix != ".keras":
        raise ModelLoadError(f"expected a .keras generator file, got {path}")
    try:
        return keras.saving.load_model(str(path), compile=False)
    except Exception as e:  # corrupt zip, foreign model, ...
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelLoadError(f"cannot load {path}: {first}") from None


class Deblurrer:
    """``Deblurrer.load("model.keras")(image_uint8_hxwx3) -> uint8 image of the same size``."""

    def __init__(self, generator: keras.Model):
        self.generator = generator
        self._restore = tf.function(lambda x: generator(x, training=False), reduce_retracing=True,
                                    input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Deblurrer":
        return cls(load_generator(path))

    def restore_float(self, images: np.ndarray) -> np.ndarray:
        """[N, H, W, 3] float32 in [0, 1] -> same."""
        return self._restore(tf.convert_to_tensor(images, tf.float32)).numpy()

    def __call__(self, image: np.ndarray) -> np.ndarray:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected a uint8 [H, W, 3] RGB image, got {image.dtype} {image.shape}")
        return to_uint8(self.restore_float(image[None].astype(np.float32) / 255.0)[0])
