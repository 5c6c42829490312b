"""Export a trained generator for TF Serving (SavedModel) and phones (TFLite).

Both take uint8 RGB of any H x W and return uint8 of the same shape; the generator's in-graph
padding to its size multiple (mirror padding) and the crop back travel with it. The graph is traced
with ``training=False``: dropout off, instance norm over each image itself. Both export the
architecture's inference form (``ArchModel.for_inference``: NAFNet's norms folded into its convs).
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterable

import keras
import numpy as np
import tensorflow as tf

from deblur_tf import __version__, native_stderr_muted
from deblur_tf.io import OutputError, atomic_path, umask
from deblur_tf.models import inference_form

SIGNATURE_UINT8 = "serving_default"
SIGNATURE_BYTES = "deblur_image_bytes"
METADATA_FILE = "deblur_tf_export.json"
QUANTIZATIONS = ("none", "fp16", "dynamic", "int8")


def _check_parent(path: Path) -> None:
    """A clear error when the output's folder cannot exist (a file is in the way)."""
    for folder in (path.parent, *path.parent.parents):
        if folder.exists():
            if not folder.is_dir():
                raise OutputError(f"cannot write {path}: {folder} is a file, not a folder")
            return


def _restore_uint8(generator: keras.Model, images: tf.Tensor, masks: tf.Tensor | None = None) -> tf.Tensor:
    """uint8 in, uint8 out; ``masks`` (uint8, > 127 = damaged) for an inpainting generator."""
    x = tf.cast(images, tf.float32) / 255.0
    if masks is not None:
        x = [x, tf.cast(masks, tf.float32) / 255.0]  # the model binarises at 0.5
    y = generator(x, training=False)
    return tf.cast(tf.clip_by_value(tf.round(y * 255.0), 0.0, 255.0), tf.uint8)


def _inpainting(generator) -> bool:
    return len(getattr(generator, "inputs", None) or []) == 2


def export_metadata(generator: keras.Model, training_config: dict | None = None) -> dict:
    if _inpainting(generator):
        signatures = {
            SIGNATURE_UINT8: {"inputs": {"images": "uint8 [N, H, W, 3] RGB, any H and W",
                                         "masks": "uint8 [N, H, W, 1], > 127 = damaged"},
                              "outputs": {"restored": "uint8 [N, H, W, 3] RGB"}},
            SIGNATURE_BYTES: {"inputs": {"image_bytes": "string [N]: encoded image",
                                         "mask_bytes": "string [N]: encoded mask of the same size "
                                                       "(grey > 127 = damaged)"},
                              "outputs": {"png_bytes": "string [N]: PNG of the repaired image"}}}
    else:
        signatures = {
            SIGNATURE_UINT8: {"inputs": {"images": "uint8 [N, H, W, 3] RGB, any H and W"},
                              "outputs": {"restored": "uint8 [N, H, W, 3] RGB"}},
            SIGNATURE_BYTES: {"inputs": {"image_bytes": "string [N]: encoded JPEG/PNG/BMP/GIF "
                                                        "(REST: {\"b64\": ...})"},
                              "outputs": {"png_bytes": "string [N]: PNG of the restored image"}}}
    return {
        "format_version": 1,
        "deblur_tf_version": __version__,
        "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "model": getattr(generator, "registered_name", type(generator).__name__),
        "architecture": generator.get_config(),
        "parameters": int(generator.count_params()),
        "size_multiple": int(getattr(generator, "size_multiple", 1)),
        "task": "inpainting" if _inpainting(generator) else "deblurring",
        "training_config": training_config,
        "signatures": signatures,
    }


class _InpaintingServingModule(tf.Module):
    """An inpainting generator behind (images, masks) uint8 and encoded-bytes endpoints."""

    def __init__(self, generator: keras.Model):
        super().__init__()
        self.generator = generator
        self.restore = tf.function(self._restore, input_signature=[
            tf.TensorSpec([None, None, None, 3], tf.uint8, name="images"),
            tf.TensorSpec([None, None, None, 1], tf.uint8, name="masks")])
        self.restore_bytes = tf.function(self._restore_bytes, input_signature=[
            tf.TensorSpec([None], tf.string, name="image_bytes"),
            tf.TensorSpec([None], tf.string, name="mask_bytes")])

    def _restore(self, images, masks):
        return {"restored": _restore_uint8(self.generator, images, masks)}

    def _restore_bytes(self, image_bytes, mask_bytes):
        def one(pair):
            image = tf.io.decode_image(pair[0], channels=3, expand_animations=False)
            mask = tf.io.decode_image(pair[1], channels=1, expand_animations=False)
            image.set_shape([None, None, 3])
            mask.set_shape([None, None, 1])
            tf.debugging.assert_equal(tf.shape(image)[:2], tf.shape(mask)[:2],
                                      message="the mask must have the image's height and width")
            return tf.io.encode_png(_restore_uint8(self.generator, image[None], mask[None])[0])
        return {"png_bytes": tf.map_fn(one, (image_bytes, mask_bytes), fn_output_signature=tf.string)}


class _ServingModule(tf.Module):
    """The generator behind uint8 and encoded-bytes endpoints, for tf.saved_model.save.

    A plain tf.Module rather than keras.export.ExportArchive: the archive writes every variable
    twice (measured: a 7.9 MB generator became a 15.4 MB SavedModel).
    """

    def __init__(self, generator: keras.Model):
        super().__init__()
        self.generator = generator
        spec = tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")
        self.restore = tf.function(self._restore, input_signature=[spec])
        self.restore_bytes = tf.function(
            self._restore_bytes, input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])

    def _restore(self, images):
        return {"restored": _restore_uint8(self.generator, images)}

    def _restore_bytes(self, image_bytes):
        def one(data):
            image = tf.io.decode_image(data, channels=3, expand_animations=False)
            image.set_shape([None, None, 3])
            return tf.io.encode_png(_restore_uint8(self.generator, image[None])[0])
        return {"png_bytes": tf.map_fn(one, image_bytes, fn_output_signature=tf.string)}


def export_savedmodel(generator: keras.Model, path: str | os.PathLike,
                      training_config: dict | None = None) -> Path:
    """Write a SavedModel with the uint8 and the encoded-bytes signatures, plus metadata JSON.

    Written to a temporary folder beside ``path`` and renamed into place, so a failed export never
    leaves a half-written model where a server would load it.
    """
    path = Path(path)
    generator = inference_form(generator)
    module = _InpaintingServingModule(generator) if _inpainting(generator) else _ServingModule(generator)
    _check_parent(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror}") from None
    try:
        tf.saved_model.save(module, str(tmp), signatures={
            SIGNATURE_UINT8: module.restore.get_concrete_function(),
            SIGNATURE_BYTES: module.restore_bytes.get_concrete_function()})
        (tmp / METADATA_FILE).write_text(json.dumps(export_metadata(generator, training_config), indent=2))
        if path.exists():
            shutil.rmtree(path)
        os.chmod(tmp, 0o777 & ~umask())  # mkdtemp makes 0700 folders
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return path


def representative_faces(images: Iterable[np.ndarray], size: int = 128) -> Callable:
    """A TFLite representative dataset from uint8 face crops (resized to ``size``)."""
    import cv2
    crops = [cv2.resize(np.asarray(img), (size, size), interpolation=cv2.INTER_AREA) for img in images]
    if not crops:
        raise ValueError("int8 quantisation needs representative images")

    def gen():
        for crop in crops:
            yield [crop[None].astype(np.uint8)]
    return gen


def calibration_faces(source=None, root=None, count: int = 200, degradations: list[dict] | None = None,
                      size: int = 128) -> Callable:
    """int8 calibration data: what a deblurrer is given — ``count`` training faces (central 150 px,
    LFW's face region; by default from the LFW *train* split in ../shared, never the test split),
    each degraded by ``degradations`` (default: the robust training recipe's chain — blur of eight
    families, rescaling, noise, JPEG, some left clean), seeded, so an export is reproducible.

    Why degraded: calibrated on sharp faces, the residual branches' activation ranges were set
    for faces with nothing to restore, and blurred inputs were clipped: the v7 deblurrer's int8
    model was 34.9 dB from fp32 on 32 blurred test faces (up to 75 grey levels off), and 40.1 dB
    (up to 27) calibrated on degraded ones (exported/README.md, Export parity)."""
    import cv2

    from deblur_tf.config import ROBUST_DEGRADATIONS
    from deblur_tf.data import LFW_FACE_CROP, DataError, list_images
    from deblur_tf.degrade import Degradation, degrade_photo
    from deblur_tf.io import read_rgb
    from deblur_tf.paths import shared_file
    if source is None:
        split = shared_file("data", "lfw", "splits", "train.txt")
        if split is None:
            raise DataError("int8 needs calibration images (no ../shared/data/lfw here)")
        source, root = str(split), str(shared_file("data", "lfw", "images"))
    chain = Degradation([dict(d) for d in (ROBUST_DEGRADATIONS if degradations is None else degradations)])
    files = list_images(source, root)
    faces = []
    for i, f in enumerate(files[:: max(len(files) // count, 1)][:count]):
        image = read_rgb(f)
        h, w = image.shape[:2]
        c = min(h, w, LFW_FACE_CROP)
        crop = cv2.resize(image[(h - c) // 2:(h + c) // 2, (w - c) // 2:(w + c) // 2], (size, size),
                          interpolation=cv2.INTER_AREA)
        degraded, _ = degrade_photo(chain, crop.astype(np.float32) / 255.0, [0, i])
        faces.append(np.round(degraded * 255).astype(np.uint8))
    return representative_faces(faces, size)


def export_tflite(generator: keras.Model, path: str | os.PathLike, quantize: str = "none",
                  representative: Callable | None = None) -> Path:
    """Convert to TFLite with a dynamic [1, H, W, 3] uint8 input and uint8 output.

    ``quantize``: ``none`` (fp32), ``fp16`` (float16 weights), ``dynamic`` (int8 weights, float
    activations) or ``int8`` (full integer, calibrated on ``representative`` faces; the uint8 I/O
    stays as it is, the graph inside is int8).
    """
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}, got {quantize!r}")
    if quantize == "int8" and _inpainting(generator):
        raise ValueError("int8 export of inpainting models is not supported (its calibration needs "
                         "masks); use --quantize fp16")
    path = Path(path)
    _check_parent(path)  # before the conversion, which takes a while
    generator = inference_form(generator)

    # Convert through a Keras ExportArchive: from_concrete_functions, and a plain tf.Module
    # SavedModel, leave some Keras 3 variables as resource reads that LiteRT computes garbage
    # from or cannot calibrate (measured); the archive's SavedModel freezes cleanly.
    archive = keras.export.ExportArchive()
    archive.track(generator)
    if _inpainting(generator):  # two inputs: images [1, H, W, 3] and masks [1, H, W, 1], uint8
        archive.add_endpoint(
            "restore", lambda images, masks: {"restored": _restore_uint8(generator, images, masks)},
            input_signature=[tf.TensorSpec([1, None, None, 3], tf.uint8, name="images"),
                             tf.TensorSpec([1, None, None, 1], tf.uint8, name="masks")])
    else:
        archive.add_endpoint("restore", lambda images: {"restored": _restore_uint8(generator, images)},
                             input_signature=[tf.TensorSpec([1, None, None, 3], tf.uint8, name="images")])
    with tempfile.TemporaryDirectory(prefix="deblur_tf_tflite_") as saved:
        archive.write_out(saved, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved, signature_keys=["restore"])
        flatbuffer = _convert(converter, quantize, representative)
    try:
        with atomic_path(path) as tmp:
            Path(tmp).write_bytes(flatbuffer)
    except OSError as e:  # the message would name the hidden temporary file
        raise OutputError(f"cannot write {path}: {e.strerror}") from None
    return path


def export_variants(generator: keras.Model, folder: str | os.PathLike,
                    representative: Callable | None = None) -> dict[str, Path]:
    """Every deployable form of a generator, for parity reports and benchmarks: ``savedmodel`` and
    ``tflite_fp32`` / ``tflite_fp16`` / ``tflite_dynamic`` (+ ``tflite_int8`` when given
    ``representative`` faces). Returns name -> path inside ``folder``."""
    folder = Path(folder)
    generator = inference_form(generator)  # folded once, not once per format
    paths = {"savedmodel": export_savedmodel(generator, folder / "savedmodel")}
    for quantize in QUANTIZATIONS:
        if quantize == "int8" and representative is None:
            continue
        name = "tflite_fp32" if quantize == "none" else f"tflite_{quantize}"
        paths[name] = export_tflite(generator, folder / f"{name}.tflite", quantize, representative)
    return paths


def _convert(converter, quantize: str, representative: Callable | None) -> bytes:
    if quantize == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif quantize == "int8":
        if representative is None:
            raise ValueError("int8 quantisation needs a representative dataset of faces")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
                                               tf.lite.OpsSet.TFLITE_BUILTINS]
    with native_stderr_muted():  # the converter's own log lines (e.g. "fully_quantize: ...")
        return converter.convert()
