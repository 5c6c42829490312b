"""The README's main job: blur a face, deblur it with a model, write a before/after picture.

The face is scikit-image's ``astronaut`` (public domain, NASA), so the demo needs nothing from
../shared. Without a model file it first trains a tiny one for about a minute — on LFW when
../shared is present, else on scikit-image's other sample photos — and says so.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from deblur_tf.data import LFW_FACE_CROP
from deblur_tf.degrade import ops, trajectory_kernels
from deblur_tf.inference import Deblurrer
from deblur_tf.paths import shared_file

FACE_CENTER_XY = (225, 110)  # the astronaut's face in skimage.data.astronaut() (512x512)


def blurred_astronaut(size: int = 128, kernel_size: int = 19, noise: float = 0.01, seed: int = 3):
    """(blurred, sharp) float32 [size, size, 3] in [0, 1]: the face with camera-shake blur + noise."""
    import skimage.data
    image = skimage.data.astronaut().astype(np.float32) / 255.0
    kernel = trajectory_kernels(kernel_size, 1, np.random.default_rng(seed))[0]
    margin = kernel_size // 2
    src = int(round((size + 2 * margin) * LFW_FACE_CROP / size))
    x0, y0 = FACE_CENTER_XY[0] - src // 2, FACE_CENTER_XY[1] - src // 2
    window = tf.image.resize(image[y0:y0 + src, x0:x0 + src], [size + 2 * margin] * 2, method="area")
    blurred = ops.convolve_valid(window, kernel)
    sharp = ops.center_crop(window, margin)
    blurred = blurred + noise * tf.random.stateless_normal(tf.shape(blurred), [seed, 0])
    return np.clip(blurred.numpy(), 0, 1), np.clip(sharp.numpy(), 0, 1)


def _sample_photo_folder() -> str:
    """scikit-image's sample photos other than the astronaut, as a training folder."""
    import skimage.data
    from deblur_tf.io import write_image
    folder = Path(tempfile.mkdtemp(prefix="deblur_tf_demo_"))
    for name in ("chelsea", "coffee", "rocket", "cat", "immunohistochemistry", "retina"):
        if hasattr(skimage.data, name):
            try:
                image = getattr(skimage.data, name)()
            except Exception:  # noqa: BLE001 - some samples need a download; skip those
                continue
            if image.ndim == 3 and image.shape[2] == 3:
                write_image(folder / f"{name}.png", image)
    return str(folder)


class _TimeLimit(keras.callbacks.Callback):
    def __init__(self, seconds: float):
        super().__init__()
        self.seconds, self.start = seconds, time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True


def train_tiny_model(seconds: float, log: Callable[[str], None]) -> keras.Model:
    """A small generator trained content-only (L1) for about ``seconds`` seconds."""
    from deblur_tf.config import apply_overrides, get_experiment
    from deblur_tf.train import build_datasets, build_gan
    lfw = shared_file("data", "lfw", "splits", "train.txt")
    if lfw is not None:
        data = {"train": str(lfw), "root": str(shared_file("data", "lfw", "images")), "center_crop": LFW_FACE_CROP}
        log(f"no model given: training a tiny model for ~{seconds:.0f} s on LFW faces")
    else:
        data = {"train": _sample_photo_folder()}
        log(f"no model given: training a tiny model for ~{seconds:.0f} s on scikit-image sample "
            "photos (expect a modest result; the shipped model does better)")
    cfg = apply_overrides(get_experiment("tiny_cpu"), {
        "data": {**data, "image_size": 96, "batch_size": 8},
        "model": {"generator_args": {"filters": 16, "num_blocks": 3, "dropout": 0.0}},
        "train": {"steps": 100000}, "optim": {"g_learning_rate": 5e-4}})
    train_ds, _ = build_datasets(cfg)
    gan = build_gan(cfg)
    gan.fit(train_ds, steps_per_epoch=100000, epochs=1, verbose=0, callbacks=[_TimeLimit(seconds)],
            shuffle=False)  # the tf.data pipeline shuffles; Keras would warn it ignores shuffle=True
    log(f"trained {int(gan.g_optimizer.iterations.numpy())} steps")
    return gan.generator


def run_demo(output: str, model_path: str | Path | None = None, train_seconds: float = 60,
             log: Callable[[str], None] = print) -> str:
    from deblur_tf.train import save_comparison_grid
    blurred, sharp = blurred_astronaut()
    if model_path is not None:
        deblurrer = Deblurrer.load(model_path)
        source = str(model_path)
    else:
        deblurrer = Deblurrer(train_tiny_model(train_seconds, log))
        source = f"a tiny model trained for {train_seconds:.0f} s"
    restored = deblurrer.restore_float(blurred[None])[0]
    save_comparison_grid(blurred[None], restored[None], sharp[None], output,
                         title=f"deblur-tf demo ({Path(source).name})")
    p_in = float(tf.image.psnr(blurred, sharp, 1.0))
    p_out = float(tf.image.psnr(restored, sharp, 1.0))
    return f"wrote {output}: PSNR blurred {p_in:.2f} dB -> restored {p_out:.2f} dB (model: {source})"
