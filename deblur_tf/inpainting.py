"""Repair the damaged regions a person marks: ``Inpainter.load(path)(image, mask)``.

A mask is an image of the photo's size whose damaged pixels are > 127 (grey; colour masks are
averaged to grey), or a boolean / float array (True / > 0.5 = damaged). Pixels outside the mask are
kept as they are, except for a blend of ``SEAM`` px around each hole.

Backends: an inpainting ``.keras`` generator, its SavedModel (``images`` + ``masks`` uint8
signature) or ``.tflite`` export, and three baselines that need no model file: ``opencv-telea`` and
``opencv-ns`` (OpenCV's Telea and Navier-Stokes inpainting) and ``prefill`` (the push-pull fill from
the surroundings that the generators start from).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import tensorflow as tf

from deblur_tf import native_stderr_muted
from deblur_tf.errors import DeblurTFError, format_error
from deblur_tf.inference import (DEFAULT_TILE, FACE_MODES, FaceDetection, ModelLoadError,
                                 load_keras_model, restore_tiled, run_padded, split_channels,
                                 tile_overlap)
from deblur_tf.io import to_uint8

BASELINES = ("opencv-telea", "opencv-ns", "prefill")
SEAM = 2  # px: the generators' SeamComposite default, used for pasting back into photos too


class MaskError(DeblurTFError, ValueError):
    """A mask does not fit its image or cannot be read as a mask."""


def as_mask(mask, shape: tuple[int, int], name: str = "mask") -> np.ndarray:
    """A float32 [H, W] array of 0 / 1 (1 = damaged) from a uint8 / uint16 grey or colour image
    (> half of full scale is damaged), a bool array or a float array in [0, 1] (> 0.5)."""
    mask = np.asarray(mask)
    if mask.dtype == bool:
        threshold = 0.5
    elif np.issubdtype(mask.dtype, np.integer):
        threshold = (65535.0 if mask.dtype == np.uint16 else 255.0) / 2
    else:
        threshold = 0.5
    if mask.ndim == 3 and mask.shape[2] in (1, 3, 4):
        mask = mask[..., :3].astype(np.float32).mean(axis=2) if mask.shape[2] >= 3 else mask[..., 0]
    if mask.ndim != 2:
        raise MaskError(f"{name} must be [H, W] or [H, W, 1 | 3 | 4], got shape {mask.shape}")
    if mask.shape != tuple(shape):
        raise MaskError(f"{name} is {mask.shape[1]}x{mask.shape[0]} but the image is "
                        f"{shape[1]}x{shape[0]} (width x height): they must match")
    return (mask.astype(np.float32) > threshold).astype(np.float32)


def seam_alpha(hole: np.ndarray, seam: int = SEAM) -> np.ndarray:
    """[H, W, 1] blend weight: 1 on the hole, a ramp to 0 over ``2 * seam`` px outside it (the
    same dilation + box blur as the generators' SeamComposite)."""
    if seam <= 0:
        return hole[..., None]
    k = 2 * seam + 1
    grown = cv2.dilate(hole.astype(np.float32), np.ones((k, k), np.uint8))
    return cv2.blur(grown, (k, k), borderType=cv2.BORDER_REPLICATE)[..., None]


# --- backends: (float32 [N, h, w, 3], float32 [N, h, w, 1] of 0 / 1) -> float32 [N, h, w, 3] ------

class KerasInpaintBackend:
    name = "keras"
    max_batch = 16

    def __init__(self, generator):
        self.generator = generator
        self._run = tf.function(lambda x, m: generator([x, m], training=False), reduce_retracing=True,
                                input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32),
                                                 tf.TensorSpec([None, None, None, 1], tf.float32)])

    @classmethod
    def load(cls, path: Path) -> "KerasInpaintBackend":
        model = load_keras_model(path)
        check_inpainting_model(model, path)
        return cls(model)

    def __call__(self, images, masks):
        return self._run(tf.constant(images, tf.float32), tf.constant(masks, tf.float32)).numpy()


class SavedModelInpaintBackend:
    name = "savedmodel"
    max_batch = 16

    def __init__(self, path: Path):
        try:
            self._loaded = tf.saved_model.load(str(path))
            self._fn = self._loaded.signatures["serving_default"]
        except Exception as e:  # noqa: BLE001
            raise ModelLoadError(f"cannot load SavedModel {path}: {format_error(e)}") from None
        if "masks" not in self._fn.structured_input_signature[1]:
            raise ModelLoadError(f"{path} is not an inpainting SavedModel (its signature takes no "
                                 "masks): use it with deblur-tf deblur")

    def __call__(self, images, masks):
        out = self._fn(images=tf.constant(to_uint8(images)),
                       masks=tf.constant((np.asarray(masks) > 0.5).astype(np.uint8) * 255))["restored"]
        return out.numpy().astype(np.float32) / 255.0


class TFLiteInpaintBackend:
    name = "tflite"

    def __init__(self, path: Path, num_threads: int = 2):
        from ai_edge_litert.interpreter import Interpreter
        try:
            self._it = Interpreter(model_path=str(path), num_threads=num_threads)
        except Exception as e:  # noqa: BLE001
            raise ModelLoadError(f"cannot load TFLite model {path}: {format_error(e)}") from None
        inputs = self._it.get_input_details()
        if len(inputs) != 2:
            raise ModelLoadError(f"{path} is not an inpainting model (it takes {len(inputs)} input): "
                                 "use it with deblur-tf deblur")
        by_channels = {int(d["shape"][-1]): d for d in inputs}
        self._image, self._mask = by_channels[3], by_channels[1]
        self._output = self._it.get_output_details()[0]
        self._shape = None

    def __call__(self, images, masks):
        outs = []
        for image, mask in zip(images, masks):
            if self._shape != image.shape:
                self._it.resize_tensor_input(self._image["index"], [1, *image.shape], strict=False)
                self._it.resize_tensor_input(self._mask["index"], [1, *image.shape[:2], 1], strict=False)
                with native_stderr_muted():
                    self._it.allocate_tensors()
                self._shape = image.shape
            self._it.set_tensor(self._image["index"], to_uint8(image[None]))
            self._it.set_tensor(self._mask["index"], ((mask[None] > 0.5) * 255).astype(np.uint8))
            self._it.invoke()
            outs.append(self._it.get_tensor(self._output["index"])[0].astype(np.float32) / 255.0)
        return np.stack(outs)


class OpenCVInpaintBackend:
    """OpenCV's classical inpainting (``telea``: fast marching, Telea 2004; ``ns``: Navier-Stokes,
    Bertalmio et al. 2001) on uint8 images, radius ``radius`` px — a baseline, not a model."""

    max_batch = 1

    def __init__(self, method: str = "telea", radius: int = 5):
        flags = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}
        if method not in flags:
            raise ValueError(f"OpenCV inpainting method must be telea or ns, got {method!r}")
        self.name, self._flag, self.radius = f"opencv-{method}", flags[method], int(radius)

    def __call__(self, images, masks):
        outs = []
        for image, mask in zip(images, masks):
            hole = (mask[..., 0] > 0.5).astype(np.uint8)
            out = cv2.inpaint(to_uint8(image), hole, self.radius, self._flag)
            outs.append(out.astype(np.float32) / 255.0)
        return np.stack(outs)


class PrefillBackend:
    """The push-pull fill from the surroundings alone (what the generators refine)."""

    name = "prefill"
    max_batch = 16

    _shared = None

    def __init__(self, levels: int = 8):
        from deblur_tf.models.inpainting import PushPullFill
        layer = PushPullFill(levels)
        self._run = tf.function(lambda x, m: layer(x, m), reduce_retracing=True)

    @classmethod
    def shared(cls) -> "PrefillBackend":
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared

    def __call__(self, images, masks):
        return self._run(tf.constant(images, tf.float32),
                         tf.cast(tf.constant(masks) > 0.5, tf.float32)).numpy()


def prefill(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """A float [H, W, 3] photo with the holes of ``hole`` ([H, W], 1 = hole) filled by push-pull."""
    return PrefillBackend.shared()(rgb[None], hole[None, ..., None])[0]


def check_inpainting_model(model, path) -> None:
    """Refuse a model that does not map (image [N, H, W, 3], mask [N, H, W, 1]) to [N, H, W, 3]."""
    if len(getattr(model, "inputs", None) or []) != 2:
        raise ModelLoadError(f"{path} is not an inpainting model (it takes an image only, no mask): "
                             "use it with deblur-tf deblur")
    try:
        out_shape = tuple(model.compute_output_shape([(1, 40, 44, 3), (1, 40, 44, 1)]))
    except Exception:  # noqa: BLE001
        out_shape = None
    if out_shape != (1, 40, 44, 3):
        raise ModelLoadError(f"{path} is not an inpainting model: it maps a 40x44 image and mask "
                             f"to {out_shape}")


def load_inpaint_backend(path: str | os.PathLike, num_threads: int = 2):
    """A backend from a model path, or one of BASELINES by name."""
    if str(path) in BASELINES:
        return PrefillBackend() if str(path) == "prefill" else OpenCVInpaintBackend(str(path)[7:])
    path = Path(path)
    if not path.exists():
        raise ModelLoadError(f"no such model: {path} (or name a baseline: {', '.join(BASELINES)})")
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise ModelLoadError(f"{path} is a folder but not a SavedModel (no saved_model.pb)")
        return SavedModelInpaintBackend(path)
    if path.suffix == ".keras":
        return KerasInpaintBackend.load(path)
    if path.suffix == ".tflite":
        return TFLiteInpaintBackend(path, num_threads)
    raise ModelLoadError(f"unknown model type {path.name}: expected .keras, .tflite, a SavedModel "
                         f"folder or one of {', '.join(BASELINES)}")


# --- the public API ------------------------------------------------------------------------------

class Inpainter(FaceDetection):
    """``Inpainter.load(path)(image, mask) -> repaired image`` of the image's shape and dtype.

    Images as for ``Deblurrer`` (uint8 / uint16; grey, RGB or RGBA with alpha untouched). An
    all-zero mask returns the image unchanged, without running the model.
    """

    def __init__(self, backend, tile: int = DEFAULT_TILE, overlap: int | None = None):
        if hasattr(backend, "count_params"):  # a Keras generator given directly
            check_inpainting_model(backend, type(backend).__name__)
            backend = KerasInpaintBackend(backend)
        self.backend = backend
        self.tile, self.overlap = int(tile), tile_overlap(tile, overlap)

    @classmethod
    def load(cls, path: str | os.PathLike, tile: int = DEFAULT_TILE, overlap: int | None = None,
             num_threads: int = 2) -> "Inpainter":
        return cls(load_inpaint_backend(path, num_threads), tile=tile, overlap=overlap)

    def restore_float(self, images: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """[N, H, W, 3] float32 in [0, 1] and [N, H, W, 1] masks (1 = hole) -> [N, H, W, 3],
        in batches when the backend takes them and the images fit one tile."""
        images, masks = np.asarray(images, np.float32), np.asarray(masks, np.float32)
        batch = getattr(self.backend, "max_batch", 1)
        if batch > 1 and max(images.shape[1:3]) <= self.tile:
            both = np.concatenate([images, masks], axis=-1)
            return np.concatenate([run_padded(self._run4, both[i:i + batch])
                                   for i in range(0, len(both), batch)])
        return np.stack([self._whole(im, m[..., 0]) for im, m in zip(images, masks)])

    def _run4(self, batch: np.ndarray) -> np.ndarray:
        """The backend on an [N, h, w, 4] (RGB + mask) batch: tiling and padding, written for
        images, then carry the mask along as a fourth channel."""
        return self.backend(batch[..., :3], batch[..., 3:])

    def _whole(self, rgb: np.ndarray, hole: np.ndarray, progress=None) -> np.ndarray:
        both = np.concatenate([rgb, hole[..., None]], axis=2)
        return restore_tiled(self._run4, both, self.tile, self.overlap, progress)

    def __call__(self, image, mask):
        return self.restore(image, mask, faces="off")[0]

    def restore(self, image, mask, *, faces: str = "auto", face_size: int = 128, progress=None):
        """Repair the masked regions of one photo; returns (image, faces repaired).

        ``faces``: ``"auto"`` finds the faces, repairs each face the mask touches in an aligned
        crop (the mask warped with the face), pastes it back, and repairs the rest of the mask
        on the whole image; ``"only"`` repairs inside faces only; ``"off"`` repairs the image as
        one picture (right for aligned face crops). ``progress(done, total)``: called after each
        tile of whole-image repair.
        """
        if faces not in FACE_MODES:
            raise ValueError(f"faces must be one of {FACE_MODES}, got {faces!r}")
        rgb, merge = split_channels(image)
        hole = as_mask(mask, rgb.shape[:2])
        if not hole.any():
            return np.array(image, copy=True), []
        if faces == "off":
            filled, repaired = self._whole(rgb, hole, progress), []
        else:
            filled, repaired = self._repair_faces(rgb, hole, faces, face_size, progress)
        alpha = seam_alpha(hole)
        return merge(alpha * filled + (1 - alpha) * rgb), repaired

    def _repair_faces(self, rgb, hole, faces: str, face_size: int, progress=None):
        from deblur_tf import faces as F
        # Detect on the photo with its holes pre-filled from their surroundings: a face with a
        # black hole over an eye is often missed, the same face with a smooth patch is not.
        found = self.face_detector()(to_uint8(prefill(rgb, hole)))
        F.align_faces(found, face_size)
        crops, crop_masks, repaired = [], [], []
        for face in found:
            # Conservative: a crop pixel touched by any damaged photo pixel is a hole.
            crop_mask = (F.warp_to_crop(hole[..., None], face.transform, face_size)[..., 0] > 0.02)
            if crop_mask.any():
                crops.append(F.warp_to_crop(rgb, face.transform, face_size))
                crop_masks.append(crop_mask.astype(np.float32)[..., None])
                repaired.append(face)
        outs = self.restore_float(np.stack(crops), np.stack(crop_masks)) if crops else []
        for face, crop, out in zip(repaired, crops, outs):
            face.crop, face.restored_crop = crop, out
        # Paste the repaired crop itself (not its change: the hole's old content is garbage), with
        # a thin feather at the crop's border.
        faces_layer, cover = F.paste_layers(rgb.shape, outs, [f.transform for f in repaired],
                                            F.feather_mask(face_size, feather=0.05))
        base = rgb
        if faces == "auto" and (hole * (1 - cover[..., 0]) > 1e-3).any():
            base = self._whole(rgb, hole, progress)  # damage outside the faces (or no face found)
        return cover * faces_layer + (1 - cover) * base, repaired

