"""tf.data pipelines yielding (blurred, sharp) float32 pairs in [0, 1], shape [B, S, S, 3].

Three sources of blurred pairs, and one of damaged faces (``damaged_dataset``: ((damaged, mask),
clean) for inpainting):
- ``sharp_dataset``: folders / file lists of sharp images; degradation synthesised per sample.
- ``paired_dataset``: GoPro-style ``blur/`` + ``sharp/`` folders matched by file name.
- ``video_dataset``: ordered video frames; the mean of L consecutive frames is the blurred image
  and the middle frame the sharp one (how GoPro/REDS-style blur data is made).

All randomness is stateless and keyed by (seed, sample index), so a pipeline is deterministic for a
given seed regardless of parallelism.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Iterable, Sequence

import tensorflow as tf

from deblur_tf.degrade import Degradation
from deblur_tf.degrade.masks import HOLE_FILLS, MaskSampler, fill_holes
from deblur_tf.errors import DeblurTFError
from deblur_tf.io import is_image_file

# LFW's face region: the central 150 px of its 250 px deep-funneled images, resized to the model's
# 128 px (the face-deblurring protocol of Shen et al. 2018). Every default face crop uses this.
LFW_FACE_CROP = 150

AUTOTUNE = tf.data.AUTOTUNE


class DataError(DeblurTFError, ValueError):
    """A data source is missing, empty or inconsistent."""


def list_images(source: str | os.PathLike | Sequence[str], root: str | os.PathLike | None = None) -> list[str]:
    """Image paths from a folder (recursive, sorted), a text file list, or a list of paths.

    A file list holds one path per line (``#`` comments allowed); relative paths are resolved
    against ``root`` (e.g. LFW's ``images/`` folder for its ``splits/*.txt``) or the list's folder.
    """
    if isinstance(source, (list, tuple)):
        files = [str(p) for p in source]
    else:
        source = Path(source)
        if source.is_dir():
            files = sorted(str(p) for p in source.rglob("*") if p.is_file() and is_image_file(p))
        elif source.is_file() and not is_image_file(source):
            base = Path(root) if root is not None else source.parent
            try:
                lines = source.read_text().splitlines()
            except (UnicodeDecodeError, OSError) as e:
                raise DataError(f"cannot read file list {source}: {e}") from None
            files = [str(base / ln.strip()) for ln in lines if ln.strip() and not ln.startswith("#")]
        elif source.is_file():
            files = [str(source)]
        else:
            raise DataError(f"no such folder or file list: {source}")
    if not files:
        raise DataError(f"no images found in {source}")
    missing = [f for f in files[:50] if not os.path.exists(f)]
    if missing:
        raise DataError(f"{len(missing)} listed image(s) do not exist, e.g. {missing[0]}")
    return files


def decode_image(path: tf.Tensor) -> tf.Tensor:
    """Read and decode an image file to float32 RGB in [0, 1] (grey and RGBA become RGB)."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image = tf.image.convert_image_dtype(image, tf.float32)
    return tf.ensure_shape(image, [None, None, 3])


def _pad_to_at_least(image: tf.Tensor, size) -> tf.Tensor:
    """Pad an image smaller than ``size`` in either dimension (symmetric mirror, centred)."""
    h, w = tf.shape(image)[0], tf.shape(image)[1]
    ph, pw = tf.maximum(size - h, 0), tf.maximum(size - w, 0)
    # SYMMETRIC allows padding up to the image size; loop for images under half the window.
    for _ in range(4):
        ph_now = tf.minimum(ph, tf.shape(image)[0])
        pw_now = tf.minimum(pw, tf.shape(image)[1])
        image = tf.pad(image, [[ph_now // 2, ph_now - ph_now // 2],
                               [pw_now // 2, pw_now - pw_now // 2], [0, 0]], mode="SYMMETRIC")
        ph, pw = ph - ph_now, pw - pw_now
    return image


def crop_window(image: tf.Tensor, size: int, *, random_position: bool = False, jitter: int = 0,
                seed=(0, 0)) -> tf.Tensor:
    """Cut a ``size`` x ``size`` window at native resolution (padding images that are smaller):
    centred, shifted by up to ``jitter`` px, or anywhere (``random_position``)."""
    seed = tf.cast(seed, tf.int64)
    image = _pad_to_at_least(image, size)
    h, w = tf.shape(image)[0], tf.shape(image)[1]
    if random_position:
        y = tf.random.stateless_uniform([], seed, 0, h - size + 1, dtype=tf.int32)
        x = tf.random.stateless_uniform([], seed + 1, 0, w - size + 1, dtype=tf.int32)
    else:
        offset = tf.zeros([2], tf.int32)
        if jitter:
            offset = tf.random.stateless_uniform([2], seed, -jitter, jitter + 1, dtype=tf.int32)
        y = tf.clip_by_value((h - size) // 2 + offset[0], 0, h - size)
        x = tf.clip_by_value((w - size) // 2 + offset[1], 0, w - size)
    return image[y:y + size, x:x + size]


def face_crop_window(image: tf.Tensor, face_size: int, margin: int, center_crop: int,
                     jitter: int = 0, seed=(0, 0)) -> tf.Tensor:
    """The central ``center_crop`` px resized to ``face_size``, plus ``margin`` px of real context.

    LFW protocol: central 150 px resized to 128. The context (for 'valid' blurring) comes from the
    photo around the crop at the same scale, so the blurred border is genuine.
    """
    out = face_size + 2 * margin
    src = int(round(out * center_crop / face_size))
    src_jitter = int(round(jitter * center_crop / face_size))
    window = crop_window(image, src, jitter=src_jitter, seed=seed)
    return tf.image.resize(window, [out, out], method="area" if src > out else "bilinear")


@dataclasses.dataclass
class FaceAugment:
    """Training-time variation of the sharp face itself (before any degradation), so a model sees
    faces framed, lit and tilted as real photos are, not only LFW's fixed crop. All off by default.

    crop: [low, high] source px taken as the face (drawn per sample; LFW's protocol fixes 150).
        Needs images of faces centred as in LFW; replaces ``center_crop`` / ``jitter`` in training.
    shift: largest shift of the face centre, as a fraction of the output size.
    rotation: largest in-plane rotation, degrees (either way).
    brightness: largest additive change; contrast: largest relative change about the mean;
    gamma: largest factor of the gamma change (0.2 -> gamma in [1/1.2, 1.2]).
    """
    crop: list | None = None
    shift: float = 0.0
    rotation: float = 0.0
    brightness: float = 0.0
    contrast: float = 0.0
    gamma: float = 0.0

    def validate(self) -> None:
        if self.crop is not None:
            if (not isinstance(self.crop, (list, tuple)) or len(self.crop) != 2
                    or not 0 < float(self.crop[0]) <= float(self.crop[1])):
                raise DataError(f"augment.crop must be [low, high] with 0 < low <= high, got {self.crop!r}")
        for name in ("shift", "rotation", "brightness", "contrast", "gamma"):
            if getattr(self, name) < 0:
                raise DataError(f"augment.{name} must be >= 0, got {getattr(self, name)}")

    @property
    def photometric(self) -> bool:
        return bool(self.brightness or self.contrast or self.gamma)


def augmented_face_window(image: tf.Tensor, face_size: int, margin: int, augment: FaceAugment,
                          seed) -> tf.Tensor:
    """A face window with ``margin`` px of context at a random scale, position and tilt.

    The whole photo is first resized so that a crop of side U(augment.crop) becomes ``face_size``
    (area averaging when shrinking: no aliasing in the sharp target), then one bilinear
    rotation + shift cuts the window; what falls outside the photo is mirrored.
    """
    out = face_size + 2 * margin
    u = tf.random.stateless_uniform([4], seed)
    lo, hi = float(augment.crop[0]), float(augment.crop[1])
    scale = face_size / (lo + (hi - lo) * u[0])
    hw = tf.cast(tf.shape(image)[:2], tf.float32)
    new_hw = tf.maximum(tf.cast(tf.round(hw * scale), tf.int32), 1)
    resized = tf.cond(scale < 1, lambda: tf.image.resize(image, new_hw, method="area"),
                      lambda: tf.image.resize(image, new_hw, method="bilinear"))
    angle = (2 * u[1] - 1) * augment.rotation * math.pi / 180
    shift = (2 * u[2:] - 1) * augment.shift * face_size
    centre = (tf.cast(new_hw, tf.float32) - 1) / 2 + shift          # (y, x) in the resized photo
    c, s_, oc = tf.cos(angle), tf.sin(angle), (out - 1) / 2
    # Output pixel (x, y) samples input (x', y') = centre + R(angle) (x - oc, y - oc).
    transform = tf.stack([c, -s_, centre[1] - c * oc + s_ * oc,
                          s_, c, centre[0] - s_ * oc - c * oc, 0.0, 0.0])
    window = tf.raw_ops.ImageProjectiveTransformV3(
        images=resized[None], transforms=transform[None], output_shape=[out, out],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="REFLECT")[0]
    return tf.reshape(window, [out, out, 3])


def photometric_jitter(image: tf.Tensor, augment: FaceAugment, seed) -> tf.Tensor:
    """Mild gamma, contrast and brightness changes of a [H, W, 3] image in [0, 1]."""
    u = 2 * tf.random.stateless_uniform([3], seed) - 1
    image = tf.maximum(image, 0.0) ** tf.exp(u[0] * math.log1p(augment.gamma))
    mean = tf.reduce_mean(image)
    image = (image - mean) * (1 + u[1] * augment.contrast) + mean + u[2] * augment.brightness
    return tf.clip_by_value(image, 0.0, 1.0)


def _sample_seed(seed: int, index) -> tf.Tensor:
    return tf.stack([tf.constant(seed, tf.int64), tf.cast(index, tf.int64)])


def _training_window(image, s, image_size: int, margin: int, *, training: bool, center_crop,
                     jitter: int, augment: FaceAugment | None):
    """The sharp face window of one sample (``margin`` px of context each side): augmented
    (scale, shift, tilt), a jittered face crop, or a random window; flipped and re-lit in training."""
    if augment is not None and augment.crop:
        window = augmented_face_window(image, image_size, margin, augment, s + 4)
    elif center_crop:
        window = face_crop_window(image, image_size, margin, center_crop,
                                  jitter=jitter if training else 0, seed=s)
    else:
        window = crop_window(image, image_size + 2 * margin, random_position=training, seed=s)
    if training:
        window = _random_flip(window, s)
    if augment is not None and augment.photometric:
        window = photometric_jitter(window, augment, s + 5)
    return window


def _random_flip(image: tf.Tensor, s: tf.Tensor) -> tf.Tensor:
    """A horizontal flip half the time, keyed by the sample's seed (channels stacked in ``image``
    flip together)."""
    return tf.image.stateless_random_flip_left_right(image, s + 2)


def _indexed(elements, training: bool, repeat: bool, seed: int, start_index: int,
             shuffle_buffer: int) -> tf.data.Dataset:
    """(index, element) pairs: shuffled and repeated in training, indices from ``start_index``
    (each sample's randomness is keyed by its index, see ``_sample_seed``)."""
    ds = tf.data.Dataset.from_tensor_slices(elements)
    if training:
        count = len(elements[0]) if isinstance(elements, tuple) else len(elements)
        ds = ds.shuffle(min(count, shuffle_buffer), seed=seed + start_index,
                        reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    return ds.enumerate(start=start_index)


def _batched(ds: tf.data.Dataset, make_sample, batch_size: int, training: bool) -> tf.data.Dataset:
    """Every pipeline's tail: samples made in parallel (in order), batched, prefetched."""
    ds = ds.map(make_sample, num_parallel_calls=AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=training).prefetch(AUTOTUNE)


def sharp_dataset(
    source: str | os.PathLike | Sequence[str],
    degradation: Degradation,
    *,
    image_size: int = 128,
    batch_size: int = 8,
    center_crop: int | None = None,
    root: str | os.PathLike | None = None,
    training: bool = True,
    jitter: int = 0,
    seed: int = 0,
    repeat: bool | None = None,
    shuffle_buffer: int = 4096,
    with_kernel_index: bool = False,
    augment: FaceAugment | None = None,
    start_index: int = 0,
) -> tf.data.Dataset:
    """Pairs synthesised on the fly from sharp images.

    Training mode: shuffled, repeated forever, random window position (or jittered face crop) and
    horizontal flip, plus ``augment`` (random face scale, shift, tilt and photometry) if given.
    Evaluation mode: one pass, centred windows, no flip, no augmentation — and with
    ``with_kernel_index`` the bank index of each sample's kernel is yielded as a third element.
    ``start_index``: the first sample's index (a resumed run passes steps done x batch size, so
    it goes on with new samples instead of replaying the ones it has seen).
    """
    files = list_images(source, root)
    if augment is not None:
        augment.validate()
    augment = augment if training else None
    repeat = training if repeat is None else repeat
    margin = degradation.margin
    ds = _indexed(files, training, repeat, seed, start_index, shuffle_buffer)

    def make_pair(index, path):
        s = _sample_seed(seed, index)
        window = _training_window(decode_image(path), s, image_size, margin, training=training,
                                  center_crop=center_crop, jitter=jitter, augment=augment)
        blurred, sharp, kernel_index = degradation(window, s + 3)
        blurred = tf.ensure_shape(blurred, [image_size, image_size, 3])
        sharp = tf.ensure_shape(sharp, [image_size, image_size, 3])
        return (blurred, sharp, kernel_index) if with_kernel_index else (blurred, sharp)

    return _batched(ds, make_pair, batch_size, training)


def damaged_dataset(
    source: str | os.PathLike | Sequence[str],
    masks: MaskSampler,
    *,
    fills: Sequence[str] = HOLE_FILLS,
    image_size: int = 128,
    batch_size: int = 8,
    center_crop: int | None = None,
    root: str | os.PathLike | None = None,
    training: bool = True,
    jitter: int = 0,
    seed: int = 0,
    repeat: bool | None = None,
    shuffle_buffer: int = 4096,
    augment: FaceAugment | None = None,
    start_index: int = 0,
) -> tf.data.Dataset:
    """((damaged, mask), clean) samples for inpainting, from sharp faces.

    The face window is cut as in ``sharp_dataset`` (same crop, flip and ``augment`` options);
    ``masks`` draws the hole (1 = damaged, [S, S, 1]) per sample, and the hole is filled with one
    of ``fills`` (black, noise, colour), drawn per sample.
    """
    files = list_images(source, root)
    if masks.size != image_size:
        raise DataError(f"the mask sampler makes {masks.size} px masks, the data is {image_size} px")
    unknown = [f for f in fills if f not in HOLE_FILLS]
    if unknown or not fills:
        raise DataError(f"hole fills must be among {list(HOLE_FILLS)}, got {list(fills)}")
    fill_ids = tf.constant([HOLE_FILLS.index(f) for f in fills], tf.int32)
    if augment is not None:
        augment.validate()
    augment = augment if training else None
    repeat = training if repeat is None else repeat
    ds = _indexed(files, training, repeat, seed, start_index, shuffle_buffer)

    def make_sample(index, path):
        s = _sample_seed(seed, index)
        clean = _training_window(decode_image(path), s, image_size, 0, training=training,
                                 center_crop=center_crop, jitter=jitter, augment=augment)
        clean = tf.ensure_shape(clean, [image_size, image_size, 3])
        mask = masks(s + 6)
        pick = tf.random.stateless_uniform([], s + 7, 0, tf.size(fill_ids), dtype=tf.int32)
        damaged = fill_holes(clean, mask, fill_ids[pick], s + 8)
        return (damaged, mask), clean

    return _batched(ds, make_sample, batch_size, training)


def _relative_image_paths(folder: Path) -> dict[str, Path]:
    return {str(p.relative_to(folder).with_suffix("")): p
            for p in folder.rglob("*") if p.is_file() and is_image_file(p)}


def find_pairs(root: str | os.PathLike, strict: bool = True) -> tuple[list[str], list[str]]:
    """Match ``blur/`` and ``sharp/`` images under ``root`` by relative path (extension ignored).

    Works for one ``root/blur`` + ``root/sharp`` pair and for GoPro's layout of many scenes
    (``root/<scene>/blur``, ``root/<scene>/sharp``). Unmatched files are reported: an error listing
    them when ``strict``, else a warning and the matched pairs only.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"no such folder: {root}")
    blur_dirs = sorted(d for d in [root / "blur", *root.rglob("blur")] if d.is_dir())
    blur_dirs = sorted(set(blur_dirs))
    if not blur_dirs:
        raise DataError(f"no 'blur/' folder under {root} (expected blur/ and sharp/ side by side)")
    blurred, sharp, unmatched = [], [], []
    for bdir in blur_dirs:
        sdir = bdir.parent / "sharp"
        if not sdir.is_dir():
            unmatched.append(f"{sdir} (missing folder)")
            continue
        b, s = _relative_image_paths(bdir), _relative_image_paths(sdir)
        for key in sorted(b.keys() & s.keys()):
            blurred.append(str(b[key]))
            sharp.append(str(s[key]))
        unmatched += [str(b[k]) for k in sorted(b.keys() - s.keys())]
        unmatched += [str(s[k]) for k in sorted(s.keys() - b.keys())]
    if unmatched:
        msg = (f"{len(unmatched)} file(s) under {root} have no partner, e.g. {unmatched[0]}"
               + (f" and {unmatched[1]}" if len(unmatched) > 1 else ""))
        if strict or not blurred:
            raise DataError(msg)
        tf.get_logger().warning(msg + "; using the %d matched pairs", len(blurred))
    if not blurred:
        raise DataError(f"no blurred/sharp pairs found under {root}")
    return blurred, sharp


def paired_dataset(
    root: str | os.PathLike,
    *,
    image_size: int = 128,
    batch_size: int = 8,
    training: bool = True,
    seed: int = 0,
    strict: bool = True,
    shuffle_buffer: int = 4096,
    start_index: int = 0,
) -> tf.data.Dataset:
    """Real blurred/sharp pairs; the same random crop and flip are applied to both images.
    ``start_index`` as in ``sharp_dataset``."""
    blurred, sharp = find_pairs(root, strict)
    ds = _indexed((blurred, sharp), training, training, seed, start_index, shuffle_buffer)

    def load(index, paths):
        s = _sample_seed(seed, index)
        pair = tf.concat([decode_image(paths[0]), decode_image(paths[1])], axis=-1)
        pair = crop_window(pair, image_size, random_position=training, seed=s)
        if training:
            pair = _random_flip(pair, s)  # blurred and sharp stacked: the same flip
        pair = tf.ensure_shape(pair, [image_size, image_size, 6])
        return pair[..., :3], pair[..., 3:]

    return _batched(ds, load, batch_size, training)


def frame_windows(folders: Iterable[str | os.PathLike], frames_per_blur: int, stride: int | None = None) -> list[list[str]]:
    """Groups of ``frames_per_blur`` consecutive frames (sorted by name) within each video folder."""
    if frames_per_blur < 1:
        raise DataError(f"frames_per_blur must be >= 1, got {frames_per_blur}")
    stride = stride or frames_per_blur
    groups = []
    for folder in folders:
        frames = sorted(str(p) for p in Path(folder).iterdir() if p.is_file() and is_image_file(p))
        for start in range(0, len(frames) - frames_per_blur + 1, stride):
            groups.append(frames[start:start + frames_per_blur])
    if not groups:
        raise DataError(f"no folder has {frames_per_blur} or more frames")
    return groups


def video_dataset(
    folders: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    frames_per_blur: int = 7,
    stride: int | None = None,
    gamma: float = 1.0,
    image_size: int = 128,
    batch_size: int = 8,
    training: bool = True,
    seed: int = 0,
    shuffle_buffer: int = 4096,
    start_index: int = 0,
) -> tf.data.Dataset:
    """Blur from video: mean of ``frames_per_blur`` consecutive frames vs. the middle frame.

    ``gamma`` > 1 averages in linear light (frames ** gamma, mean, ** 1/gamma), which is closer to
    what a sensor integrates than averaging gamma-encoded pixels (GoPro used a camera response
    curve). A folder holding frames directly is one video; a folder of folders is many videos.
    """
    if isinstance(folders, (str, os.PathLike)):
        folder = Path(folders)
        if not folder.is_dir():
            raise DataError(f"no such folder: {folder}")
        subdirs = sorted(d for d in folder.iterdir() if d.is_dir())
        folders = subdirs or [folder]
    groups = frame_windows(folders, frames_per_blur, stride)
    ds = _indexed(groups, training, training, seed, start_index, shuffle_buffer)
    middle = frames_per_blur // 2

    def load(index, paths):
        s = _sample_seed(seed, index)
        frames = tf.map_fn(decode_image, paths, fn_output_signature=tf.TensorSpec([None, None, 3], tf.float32))
        stack = tf.concat(tf.unstack(frames, num=frames_per_blur), axis=-1)  # [H, W, 3L]
        stack = crop_window(stack, image_size, random_position=training, seed=s)
        if training:
            stack = _random_flip(stack, s)  # all frames stacked: the same flip
        frames = tf.reshape(stack, [image_size, image_size, frames_per_blur, 3])
        blurred = tf.reduce_mean(frames ** gamma, axis=2) ** (1.0 / gamma)
        return blurred, frames[:, :, middle]

    return _batched(ds, load, batch_size, training)
