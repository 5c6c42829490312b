"""Run a restoration model on photos: any size, grey / RGB / RGBA, 8 or 16 bit.

``Deblurrer.load(path)`` picks the backend from the path — a ``.keras`` generator, a SavedModel
folder (its ``serving_default`` uint8 signature) or a ``.tflite`` file (LiteRT interpreter) — and
``deblurrer(image)`` returns an image of the same shape and dtype. Photos larger than ``tile`` are
restored in overlapping tiles blended with feathered weights, so memory stays bounded.
"""

from __future__ import annotations

import os
from pathlib import Path
import numpy as np
import tensorflow as tf

from deblur_tf import native_stderr_muted
from deblur_tf.errors import DeblurTFError, format_error
from deblur_tf.io import to_uint8
from deblur_tf.models import inference_form  # (importing it registers the architectures for load_model)

# Tiles of 1024 px sharing 496 px, feathered: the shipped NAFNet has no whole-image statistic, but
# its 1/16-resolution blocks reach hundreds of px since their branches learned to carry signal
# (v7, checkpoints/README.md), and how far changes with training. v7: 512 / 192 px left up to 5 grey
# levels from the one-pass output, 1024 / 448 px 1. v9: 1024 / 448 px 2 on a 1536² photo (1.57
# levels before rounding), 480 px 1 (0.94), 496 px 1 (0.67; also 1 on a 2048² photo). v11: 448 px
# 2 (1.27), 496 px 1 (0.39). v12: 448 px 1 (1.15), 496 px 1 (0.86). v13: 448 px 1 (0.81), 496
# px 1 (0.59). v14: 448 px 1 (0.68), 496 px 1 (0.62). A 4000 x 3000 photo is 35 tiles either
# way (512 / 192 px: 108).
DEFAULT_TILE = 1024
DEFAULT_OVERLAP = 496
FACE_MODES = ("auto", "only", "off")  # see Deblurrer.restore


def tile_overlap(tile: int, overlap: int | None = None) -> int:
    """The overlap given, or the default: ``DEFAULT_OVERLAP``, or for a ``tile`` too small for it
    the most a tile can share (just under half of itself: the most context a small tile can
    give, at the cost of more tiles). Raises ValueError when tiles would share half of themselves
    or more."""
    if overlap is None:
        overlap = min(DEFAULT_OVERLAP, (int(tile) - 1) // 2)
    overlap = int(overlap)
    if overlap < 0 or 2 * overlap >= tile:
        raise ValueError(f"the tile overlap must be under half of the tile ({tile} px), got {overlap}")
    return overlap


class ModelLoadError(DeblurTFError, ValueError):
    """A model file is missing or not a deblur-tf generator / export."""


# --- backends: float32 [1, h, w, 3] in [0, 1] -> same --------------------------------------------

class KerasBackend:
    name = "keras"
    max_batch = 16

    def __init__(self, generator):
        # The architecture's inference form (NAFNet: norms folded into convs, 12–15 % faster): a copy
        # of the weights as they are now, so make the backend after training, not before.
        self.generator = generator = inference_form(generator)
        # One tf.function: eager calls in a loop are ~8x slower on CPU.
        self._restore = tf.function(lambda x: generator(x, training=False), reduce_retracing=True,
                                    input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])

    @classmethod
    def load(cls, path: Path) -> "KerasBackend":
        model = load_keras_model(path)
        check_image_to_image(model, path)
        return cls(model)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._restore(tf.convert_to_tensor(x, tf.float32)).numpy()


def load_keras_model(path):
    """A ``.keras`` file as a Keras model, with one-line errors (any kind of generator)."""
    import zipfile

    import keras
    if not zipfile.is_zipfile(path):  # Keras would say "File not found" for a corrupt file
        raise ModelLoadError(f"cannot load {path}: not a .keras file (not a zip archive; "
                             "truncated or corrupt?)")
    try:
        return keras.saving.load_model(str(path), compile=False)
    except Exception as e:  # noqa: BLE001 - foreign model, missing layer classes, ...
        raise ModelLoadError(f"cannot load {path}: {format_error(e)}") from None


class SavedModelBackend:
    """The exported SavedModel's uint8 ``serving_default`` signature (what TF Serving runs)."""

    name = "savedmodel"
    max_batch = 16

    def __init__(self, path: Path):
        try:
            loaded = tf.saved_model.load(str(path))
            self._fn = loaded.signatures["serving_default"]
        except Exception as e:  # noqa: BLE001
            raise ModelLoadError(f"cannot load SavedModel {path}: {format_error(e)}") from None
        if "masks" in self._fn.structured_input_signature[1]:
            raise ModelLoadError(f"{path} is an inpainting SavedModel (it takes images and masks): "
                                 "use it with deblur-tf inpaint")
        self._loaded = loaded  # keep the variables alive

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = self._fn(images=tf.constant(to_uint8(x)))["restored"]
        return out.numpy().astype(np.float32) / 255.0


class TFLiteBackend:
    """A ``.tflite`` model run by the LiteRT interpreter, resized to each input's H x W."""

    name = "tflite"

    def __init__(self, path: Path, num_threads: int = 2):
        from ai_edge_litert.interpreter import Interpreter
        try:
            self._interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        except Exception as e:  # noqa: BLE001
            raise ModelLoadError(f"cannot load TFLite model {path}: {format_error(e)}") from None
        if len(self._interpreter.get_input_details()) != 1:
            raise ModelLoadError(f"{path} is an inpainting model (it takes an image and a mask): "
                                 "use it with deblur-tf inpaint")
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        self._shape = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        it = self._interpreter
        if self._shape != x.shape:
            it.resize_tensor_input(self._input["index"], list(x.shape), strict=False)
            with native_stderr_muted():  # LiteRT's "Created TensorFlow Lite XNNPACK delegate" line
                it.allocate_tensors()
            self._shape = x.shape
        it.set_tensor(self._input["index"], to_uint8(x))
        it.invoke()
        return it.get_tensor(self._output["index"]).astype(np.float32) / 255.0


class MirrorAveraged:
    """A backend run on each input and on its mirror image (left-right), the mirrored output
    flipped back and the two averaged: the geometric self-ensemble of Lim et al. 2017 (EDSR+)
    with the one flip that keeps a face a face. Twice the time; on the 656 LFW test faces it gave
    v10 (shipped before v11) +0.07 to +0.19 dB PSNR per condition and more SSIM, but a worse LPIPS (the
    average of two views is a little softer; exported/README.md, Mirror averaging). For whole
    inputs only: a tile mirrored by itself would sit on another pixel grid than in the mirrored
    photo (``Deblurrer`` mirrors whole photos before tiling instead)."""

    def __init__(self, backend):
        self.backend = backend
        self.name = f"{getattr(backend, 'name', 'model')}+mirror"
        self.max_batch = getattr(backend, "max_batch", 1)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        mirrored = self.backend(np.ascontiguousarray(x[:, :, ::-1]))[:, :, ::-1]
        return 0.5 * (self.backend(x) + mirrored)


def check_image_to_image(model, path) -> None:
    """Refuse a model that does not map [N, H, W, 3] to the same shape (e.g. a critic, whose
    patch scores would be written as a tiny picture)."""
    if len(getattr(model, "inputs", None) or []) == 2:
        raise ModelLoadError(f"{path} is an inpainting model (it takes an image and a mask): "
                             "use it with deblur-tf inpaint / deblur_tf.inpainting.Inpainter")
    try:
        out_shape = tuple(model.compute_output_shape((1, 40, 44, 3)))
    except Exception:  # noqa: BLE001 - fixed-size or multi-input models
        out_shape = None
    if out_shape != (1, 40, 44, 3):
        raise ModelLoadError(f"{path} is not an image restoration model: it maps a 40x44x3 image "
                             f"to {out_shape} (a critic or classifier?); pass a generator")


def deblur_model_path(path: str | os.PathLike | None) -> str:
    """``path``, or the shipped model when it is None; a one-line error when there is neither."""
    from deblur_tf.paths import default_model_path
    path = path or default_model_path()
    if path is None:
        raise ModelLoadError("no model: pass --model (no shipped model in exported/ yet)")
    return str(path)


def load_backend(path: str | os.PathLike, num_threads: int = 2):
    path = Path(path)
    if not path.exists():
        raise ModelLoadError(f"no such model: {path}")
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise ModelLoadError(f"{path} is a folder but not a SavedModel (no saved_model.pb)")
        return SavedModelBackend(path)
    if path.suffix == ".keras":
        return KerasBackend.load(path)
    if path.suffix == ".tflite":
        return TFLiteBackend(path, num_threads)
    raise ModelLoadError(f"unknown model type {path.name}: expected .keras, .tflite or a SavedModel folder")


def load_generator(path: str | os.PathLike):
    """A ``.keras`` generator as a Keras model (for export and fine-tuning): a deblurring one, or
    an inpainting one (image + mask)."""
    path = Path(path)
    if not path.is_file() or path.suffix != ".keras":
        raise ModelLoadError(f"expected an existing .keras generator file, got {path}")
    model = load_keras_model(path)
    if len(getattr(model, "inputs", None) or []) == 2:
        from deblur_tf.inpainting import check_inpainting_model
        check_inpainting_model(model, path)
    else:
        check_image_to_image(model, path)
    return model


# --- tiling --------------------------------------------------------------------------------------

# Tiles start on multiples of this (when the tile size allows): strided generators (size
# multiples 4–32) then see every tile on the same pixel grid as the whole image, so a tile's
# interior is computed exactly as in the whole image.
TILE_ALIGN = 32


def tile_starts(length: int, tile: int, overlap: int, align: int = TILE_ALIGN) -> list[int]:
    """Start offsets of tiles of ``tile`` px covering ``length`` with at least ``overlap`` px
    shared, on multiples of ``align`` (the last tile then ends at ``length`` and may be shorter)."""
    if length <= tile:
        return [0]
    step = (tile - overlap) // align * align
    if step <= 0:  # tiles too small to align: plain overlapping tiles
        step, align = tile - overlap, 1
    starts = list(range(0, length - tile, step)) + [-(-(length - tile) // align) * align]
    return sorted(set(starts))


def _ramp(size: int, feather_start: bool, feather_end: bool, overlap: int) -> np.ndarray:
    """1-D blend weights: 0 on the outer quarter of an overlap (where the tile's own border padding
    still shows), a linear ramp across its middle, 1 inside. Opposite ramps sum to 1."""
    w = np.ones(size, np.float32)
    margin = overlap // 4
    span = max(overlap - 2 * margin, 1)
    d = np.arange(size, dtype=np.float32) + 0.5
    if feather_start:
        w = np.minimum(w, np.clip((d - margin) / span, 0, 1))
    if feather_end:
        w = np.minimum(w, np.clip((size - d - margin) / span, 0, 1))
    return w


# Images (or tiles) smaller than this are edge-padded before the model sees them: the models'
# in-graph mirror padding to their size multiple cannot pad more than the image's own size.
MIN_MODEL_SIDE = 32


def run_padded(run, batch: np.ndarray) -> np.ndarray:
    """``run`` on an [N, h, w, 3] batch, edge-padding sides below MIN_MODEL_SIDE and cropping back."""
    h, w = batch.shape[1:3]
    if min(h, w) >= MIN_MODEL_SIDE:
        return run(batch)
    ph, pw = max(MIN_MODEL_SIDE - h, 0), max(MIN_MODEL_SIDE - w, 0)
    padded = np.pad(batch, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)), mode="edge")
    return run(padded)[:, ph // 2:ph // 2 + h, pw // 2:pw // 2 + w]


def restore_tiled(run, image: np.ndarray, tile: int, overlap: int, progress=None) -> np.ndarray:
    """Restore a float [H, W, 3] image tile by tile with feathered blending (any H, W >= 1).

    ``progress(done, total)``, when given, is called after each tile (a large photo's only sign
    of life: a 12 MP photo is 35 tiles of 1024 px)."""
    h, w = image.shape[:2]
    if overlap < 0 or overlap * 2 >= tile:
        raise ValueError(f"overlap must be in [0, tile/2), got overlap={overlap}, tile={tile}")
    ys, xs = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    if len(ys) == 1 and len(xs) == 1:
        out = run_padded(run, image[None])[0]
        if progress is not None:
            progress(1, 1)
        return out
    out = np.zeros((h, w, 3), np.float32)
    weight = np.zeros((h, w, 1), np.float32)
    starts = [(y, x) for y in ys for x in xs]
    for i, (y, x) in enumerate(starts):
        th, tw = min(tile, h - y), min(tile, w - x)
        restored = run_padded(run, image[None, y:y + th, x:x + tw])[0]
        wy = _ramp(th, y > 0, y + th < h, overlap)
        wx = _ramp(tw, x > 0, x + tw < w, overlap)
        wt = (wy[:, None] * wx[None, :])[..., None]
        out[y:y + th, x:x + tw] += restored * wt
        weight[y:y + th, x:x + tw] += wt
        if progress is not None:
            progress(i + 1, len(starts))
    return out / np.maximum(weight, 1e-8)


# --- the public API ------------------------------------------------------------------------------

class FaceDetection:
    """The face detector of a restorer (``Deblurrer``, ``Inpainter``): ``detector`` when set (any
    deblur_tf.faces detector), else ``detector_name`` built on first use — MTCNN builds three small
    networks, about a second: a run on photos without faces never pays for it twice."""

    detector = None
    detector_name = "mtcnn"  # which detector to build (deblur_tf.faces.DETECTORS)

    def face_detector(self):
        if self.detector is None:
            from deblur_tf.faces import make_detector
            self.detector = make_detector(self.detector_name)
        return self.detector


class Deblurrer(FaceDetection):
    """``Deblurrer.load(path)(image) -> restored image`` of the same shape and dtype.

    Accepts uint8 or uint16 images, [H, W] grey, [H, W, 3] RGB or [H, W, 4] RGBA (alpha is passed
    through untouched). 16-bit images are restored in float with the Keras backend; the uint8
    backends (SavedModel, TFLite) see them quantised to 8 bits.
    """

    def __init__(self, backend, tile: int = DEFAULT_TILE, overlap: int | None = None,
                 mirror: bool = False):
        if not callable(backend):
            raise TypeError("backend must be callable")
        if hasattr(backend, "count_params"):  # a Keras generator given directly
            backend = KerasBackend(backend)
        self.backend, self.mirror = backend, bool(mirror)
        # What restores whole inputs (face crops, batches of small images); photos in tiles go
        # through restore_whole, which mirrors before tiling.
        self._whole_input = MirrorAveraged(backend) if mirror else backend
        self.tile, self.overlap = int(tile), tile_overlap(tile, overlap)
        # Faces are restored in batches where the backend takes them (TFLite runs one at a time).
        self.face_batch = getattr(backend, "max_batch", 1)

    @classmethod
    def load(cls, path: str | os.PathLike, tile: int = DEFAULT_TILE, overlap: int | None = None,
             num_threads: int = 2, mirror: bool = False) -> "Deblurrer":
        """``mirror``: also restore the mirror image and average (``MirrorAveraged``; 2x the time)."""
        return cls(load_backend(path, num_threads), tile=tile, overlap=overlap, mirror=mirror)

    def restore_float(self, images: np.ndarray) -> np.ndarray:
        """[N, H, W, 3] float32 in [0, 1] -> same: in batches when the images fit one tile and the
        backend takes batches (Keras, SavedModel), else one at a time (tiled when large)."""
        images = np.asarray(images, np.float32)
        batch = getattr(self.backend, "max_batch", 1)
        if batch > 1 and max(images.shape[1:3]) <= self.tile:
            return np.concatenate([run_padded(self._whole_input, images[i:i + batch])
                                   for i in range(0, len(images), batch)])
        return np.stack([self.restore_whole(im) for im in images])

    def restore_whole(self, rgb: np.ndarray, progress=None) -> np.ndarray:
        """One float [H, W, 3] image in tiles (``restore_tiled``); with ``mirror``, also its mirror
        image in tiles, flipped back and averaged (``progress`` then counts both passes' tiles)."""
        if not self.mirror:
            return restore_tiled(self.backend, rgb, self.tile, self.overlap, progress)
        first = second = None
        if progress is not None:
            first = lambda done, total: progress(done, 2 * total)  # noqa: E731
            second = lambda done, total: progress(total + done, 2 * total)  # noqa: E731
        plain = restore_tiled(self.backend, rgb, self.tile, self.overlap, first)
        mirrored = restore_tiled(self.backend, np.ascontiguousarray(rgb[:, ::-1]), self.tile,
                                 self.overlap, second)[:, ::-1]
        return 0.5 * (plain + mirrored)

    def __call__(self, image, progress=None):
        if isinstance(image, (list, tuple)):
            return [self(im) for im in image]
        rgb, merge = split_channels(image)
        return merge(self.restore_whole(rgb, progress))

    def restore(self, image, *, faces: str = "auto", background: bool = False, face_size: int = 128,
                progress=None):
        """One photo, restored the way a user expects; returns (image, faces found).

        ``faces``: ``"auto"`` restores the faces found (see ``restore_faces``) and, when there is
        none, the whole image; ``"only"`` restores faces only (a photo without one comes back
        unchanged); ``"off"`` restores the whole image (right for already-aligned face crops).
        ``background`` also restores the rest of the photo through the tiled whole-image path.
        The CLI, notebooks and any service share this one rule. ``progress(done, total)`` is
        called after each tile of whole-image restoration (see ``restore_tiled``).
        """
        if faces not in FACE_MODES:
            raise ValueError(f"faces must be one of {FACE_MODES}, got {faces!r}")
        if faces == "off":
            return self(image, progress), []
        out, found = self.restore_faces(image, background=background, face_size=face_size,
                                        progress=progress)
        if not found and faces == "auto" and not background:
            out = self(image, progress)
        return out, found

    def restore_faces(self, image, *, detector=None, background: bool = False, face_size: int = 128,
                      faces: list | None = None, progress=None):
        """Restore the faces of a whole photo and paste them back; returns (image, faces).

        Each face found by ``detector`` (default: MTCNN, see deblur_tf.faces) is aligned like a
        training crop at ``face_size`` px, restored, and its change is warped back and blended with
        a feathered mask. The rest of the photo is left as it is, or restored by the whole-image
        (tiled) path when ``background``. ``faces``: skip detection and use these. With no face
        found the photo is returned unchanged (or whole-image restored when ``background``).
        Accepts the same images as ``__call__``; each returned ``Face`` has its box, landmarks,
        score, transform and how it was aligned.
        """
        from deblur_tf import faces as F

        rgb, merge = split_channels(image)
        if faces is None:
            detector = detector or self.face_detector()
            faces = detector(to_uint8(rgb))
        base = self.restore_whole(rgb, progress) if background else rgb
        if not faces:
            return merge(base), []
        F.align_faces(faces, face_size)
        crops = [F.warp_to_crop(rgb, face.transform, face_size) for face in faces]
        # Quantise the crops to the photo's levels: the uint8 backends (SavedModel, TFLite) then see
        # exactly what Keras sees, and the pasted residual is measured against that same input.
        levels = 255.0 if np.asarray(image).dtype == np.uint8 else 65535.0
        crops = np.round(np.stack(crops) * levels) / levels
        restored = np.concatenate([self._whole_input(crops[i:i + self.face_batch])
                                   for i in range(0, len(crops), self.face_batch)])
        for face, crop, out in zip(faces, crops, restored):
            face.crop, face.restored_crop = crop, out
        # The faces' changes are pasted (their crops' own pixels are the photo's already); they
        # cover the base photo in proportion to their feathered mask.
        change, cover = F.paste_layers(rgb.shape, restored - crops, [f.transform for f in faces],
                                       F.feather_mask(face_size))
        return merge(cover * (rgb + change) + (1 - cover) * base), faces


def split_channels(image):
    """(float32 RGB [H, W, 3] in [0, 1], merge) for a uint8/uint16 grey, RGB or RGBA image, where
    ``merge(restored_rgb)`` rebuilds an image of the input's shape and dtype (alpha untouched)."""
    image = np.asarray(image)
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"expected a uint8 or uint16 image, got {image.dtype}")
    scale = 255.0 if image.dtype == np.uint8 else 65535.0
    grey = image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1)
    if grey:
        rgb = np.repeat(image.reshape(image.shape[0], image.shape[1], 1), 3, axis=2)
        alpha = None
    elif image.ndim == 3 and image.shape[2] in (3, 4):
        rgb, alpha = image[..., :3], (image[..., 3:] if image.shape[2] == 4 else None)
    else:
        raise ValueError(f"expected [H, W], [H, W, 1], [H, W, 3] or [H, W, 4], got {image.shape}")

    def merge(restored: np.ndarray) -> np.ndarray:
        if grey:
            restored = restored.mean(axis=2, keepdims=image.ndim == 3)
        out = np.clip(np.round(restored * scale), 0, scale).astype(image.dtype)
        return np.concatenate([out, alpha], axis=2) if alpha is not None else out

    return rgb.astype(np.float32) / scale, merge
