"""Damage masks for face inpainting: facial parts, free-form brush strokes, rectangles.

A mask is a float32 [S, S] array, 1 = damaged (the hole), 0 = known. Masks are drawn with OpenCV
in numpy from a seeded generator, so a sample's mask is a pure function of its seed, and wrapped
into tf.data by ``MaskSampler`` (as ``KernelSampler`` does for blur kernels).

- ``part``: an ellipse over the left eye, right eye, both eyes, the nose or the mouth, at the
  landmarks of the face template (``deblur_tf/face_template.json``: where aligned training crops
  have them), jittered in position, size and angle. The damage of the seed paper (Bidari &
  Nyaupane): a person marks the eye, nose or lips that are damaged.
- ``brush``: free-form strokes, random walks of thick lines with round joints (the free-form
  inpainting masks of Yu et al. 2019, DeepFill v2), drawn until the hole covers the target area.
- ``rect``: one axis-aligned rectangle (torn corners, stickers, tape).

Every mask's hole covers a fraction of the image drawn from ``area`` (default 3–40 %).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import tensorflow as tf

from deblur_tf.errors import DeblurTFError

MASK_KINDS = ("part", "brush", "rect")
FACE_PARTS = ("left_eye", "right_eye", "eyes", "nose", "mouth")
DEFAULT_AREA = (0.03, 0.40)
TEMPLATE_FILE = Path(__file__).resolve().parent.parent / "face_template.json"

# Half-axes (x, y) of each part's ellipse, as a fraction of the crop side, before jitter; chosen
# on the template so a part mask covers the whole part (an eye with its brow's lower edge, the nose
# from bridge to nostrils, the lips with their corners).
_PART_AXES = {"eye": (0.105, 0.075), "nose": (0.085, 0.13), "mouth": (0.165, 0.085)}


class MaskConfigError(DeblurTFError, ValueError):
    """A mask spec is malformed."""


@lru_cache(maxsize=1)
def template_landmarks() -> dict[str, np.ndarray]:
    """Landmark name -> (x, y) as a fraction of the crop side, from the face template."""
    data = json.loads(TEMPLATE_FILE.read_text())
    size = float(data["size"])
    return {name: np.asarray(xy, np.float64) / size
            for name, xy in zip(data["landmark_names"], data["landmarks"])}


def _part_ellipses(part: str) -> list[tuple[np.ndarray, tuple[float, float]]]:
    """(centre, half-axes) of each ellipse of a part, in crop fractions."""
    lm = template_landmarks()
    if part in ("left_eye", "right_eye"):
        return [(lm[part] + [0.0, -0.01], _PART_AXES["eye"])]
    if part == "eyes":
        return [(lm["left_eye"] + [0.0, -0.01], _PART_AXES["eye"]),
                (lm["right_eye"] + [0.0, -0.01], _PART_AXES["eye"])]
    if part == "nose":
        return [(lm["nose"] + [0.0, -0.035], _PART_AXES["nose"])]
    if part == "mouth":
        return [((lm["mouth_left"] + lm["mouth_right"]) / 2, _PART_AXES["mouth"])]
    raise MaskConfigError(f"unknown face part {part!r}; choose from {', '.join(FACE_PARTS)}")


def part_mask(size: int, part: str, rng: np.random.Generator, jitter: float = 0.03,
              scale: tuple[float, float] = (0.9, 1.5), min_area: float = 0.0) -> np.ndarray:
    """An ellipse (two for ``eyes``) over a facial part of an aligned face crop of ``size`` px.

    ``jitter``: largest shift of each centre, fraction of the side; ``scale``: range of the axes'
    factor; ``min_area``: the axes grow (same shape) until the hole covers at least this fraction.
    """
    mask = np.zeros((size, size), np.uint8)
    factor = rng.uniform(*scale)
    ellipses = _part_ellipses(part)
    nominal = sum(np.pi * a[0] * a[1] for _, a in ellipses) * factor ** 2
    if min_area and nominal < min_area:
        factor *= np.sqrt(min_area / nominal)
    for centre, axes in ellipses:
        c = (centre + rng.uniform(-jitter, jitter, 2)) * size
        ax = np.asarray(axes) * factor * rng.uniform(0.9, 1.1, 2) * size
        # OpenCV draws on the integer grid: shift=4 gives it 1/16 px precision.
        cv2.ellipse(mask, (int(round(c[0] * 16)), int(round(c[1] * 16))),
                    (int(round(ax[0] * 16)), int(round(ax[1] * 16))), float(rng.uniform(-15, 15)),
                    0, 360, 1, thickness=-1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(np.float32)


def brush_mask(size: int, rng: np.random.Generator, area: tuple[float, float] = DEFAULT_AREA,
               max_strokes: int = 12) -> np.ndarray:
    """Free-form strokes: each a random walk of 4–12 segments with a width of 4–12 % of the side,
    round caps; strokes are added until the hole reaches an area drawn from ``area``."""
    mask = np.zeros((size, size), np.uint8)
    target = rng.uniform(*area)
    for _ in range(max_strokes):
        width = max(int(round(rng.uniform(0.04, 0.12) * size)), 1)
        x, y = rng.uniform(0.1, 0.9, 2) * size
        angle = rng.uniform(0, 2 * np.pi)
        for _ in range(int(rng.integers(4, 13))):
            angle += rng.uniform(-0.7, 0.7) * np.pi / 2
            length = rng.uniform(0.05, 0.2) * size
            nx = float(np.clip(x + length * np.cos(angle), 0, size - 1))
            ny = float(np.clip(y + length * np.sin(angle), 0, size - 1))
            cv2.line(mask, (int(x), int(y)), (int(nx), int(ny)), 1, width, lineType=cv2.LINE_8)
            cv2.circle(mask, (int(nx), int(ny)), width // 2, 1, -1)
            x, y = nx, ny
            if mask.mean() >= target:
                return mask.astype(np.float32)
    return mask.astype(np.float32)


def rect_mask(size: int, rng: np.random.Generator, area: tuple[float, float] = DEFAULT_AREA) -> np.ndarray:
    """One rectangle of area U(``area``) and aspect ratio in [1/2, 2], anywhere in the image."""
    target = rng.uniform(*area) * size * size
    aspect = np.exp(rng.uniform(np.log(0.5), np.log(2.0)))
    h = int(round(min(np.sqrt(target / aspect), size)))
    w = int(round(min(target / max(h, 1), size)))
    h, w = max(h, 1), max(w, 1)
    y, x = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
    mask = np.zeros((size, size), np.float32)
    mask[y:y + h, x:x + w] = 1
    return mask


def draw_mask(kind: str, size: int, rng: np.random.Generator, *, area=DEFAULT_AREA,
              parts=FACE_PARTS, tries: int = 20) -> np.ndarray:
    """One mask of ``kind`` whose hole covers a fraction in ``area`` (redrawn up to ``tries`` times;
    a part mask grows to the lower bound). ``parts``: the facial parts a ``part`` mask picks from."""
    lo, hi = area
    for _ in range(tries):
        if kind == "part":
            mask = part_mask(size, parts[int(rng.integers(len(parts)))], rng, min_area=lo)
        elif kind == "brush":
            mask = brush_mask(size, rng, (lo, hi))
        elif kind == "rect":
            mask = rect_mask(size, rng, (lo, hi))
        else:
            raise MaskConfigError(f"unknown mask kind {kind!r}; choose from {', '.join(MASK_KINDS)}")
        if lo <= mask.mean() <= hi:
            return mask
    return mask


class MaskSampler:
    """Masks drawn per sample in tf.data, a pure function of the sample's seed.

    ``kinds``: list of ``{type: part|brush|rect, weight: w, area: [lo, hi], parts: [...]}``
    (area defaults to the sampler's ``area``; ``parts`` applies to ``part`` masks).
    """

    def __init__(self, kinds: list[dict] | None = None, size: int = 128, area=DEFAULT_AREA):
        kinds = kinds or [{"type": "part", "weight": 0.4}, {"type": "brush", "weight": 0.4},
                          {"type": "rect", "weight": 0.2}]
        self.size = int(size)
        self.specs, weights = [], []
        for spec in kinds:
            if not isinstance(spec, dict) or spec.get("type") not in MASK_KINDS:
                raise MaskConfigError(f"each mask kind needs type: one of {list(MASK_KINDS)}, got {spec!r}")
            unknown = set(spec) - {"type", "weight", "area", "parts"}
            if unknown:
                raise MaskConfigError(f"mask kind {spec['type']!r}: unknown key(s) {sorted(unknown)}")
            lo, hi = (float(v) for v in spec.get("area", area))
            if not 0 < lo <= hi < 1:
                raise MaskConfigError(f"mask area must be [low, high] within (0, 1), got {[lo, hi]}")
            parts = tuple(spec.get("parts", FACE_PARTS))
            for p in parts:
                _part_ellipses(p)  # raises on an unknown part
            self.specs.append((spec["type"], (lo, hi), parts))
            weights.append(float(spec.get("weight", 1.0)))
        if min(weights) < 0 or sum(weights) <= 0:
            raise MaskConfigError(f"mask weights must be >= 0 and not all 0, got {weights}")
        self.weights = np.asarray(weights) / sum(weights)

    def sample(self, seed) -> np.ndarray:
        rng = np.random.default_rng([int(v) & 0x7FFFFFFFFFFFFFFF for v in np.ravel(seed)])
        kind, area, parts = self.specs[rng.choice(len(self.specs), p=self.weights)]
        return draw_mask(kind, self.size, rng, area=area, parts=parts)

    def __call__(self, seed: tf.Tensor) -> tf.Tensor:
        """[S, S, 1] float32 mask for a [2] int seed tensor."""
        mask = tf.numpy_function(lambda s: self.sample(s), [seed], tf.float32, stateful=False)
        return tf.ensure_shape(mask, [self.size, self.size])[..., None]


HOLE_FILLS = ("black", "noise", "colour")


def fill_holes(image: tf.Tensor, mask: tf.Tensor, fill: tf.Tensor, seed) -> tf.Tensor:
    """The damaged input: holes of an [H, W, 3] image replaced by black (``fill`` 0), uniform noise
    (1) or one random colour (2). Models must not rely on what the hole holds."""
    noise = tf.random.stateless_uniform(tf.shape(image), seed, dtype=image.dtype)
    colour = tf.zeros_like(image) + tf.random.stateless_uniform([3], seed + 1, dtype=image.dtype)
    value = tf.switch_case(tf.cast(fill, tf.int32), [lambda: tf.zeros_like(image), lambda: noise,
                                                     lambda: colour])
    return image * (1 - mask) + value * mask
