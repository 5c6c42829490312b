"""Faces in whole photos: detect (box + 5 landmarks), align like the training crops, paste back.

The face model was trained on LFW's central 150 px resized to 128 px. An in-the-wild face is framed
the same way by a similarity transform from its 5 detected landmarks to the mean landmark positions
measured on those very training crops (``face_template.json``, written by
``scripts/measure_face_template.py``). Blur makes landmarks noisy, so when the landmark transform
disagrees with the detector's box (scale or centre) the box alone sets the transform.

The restored face goes back as a *residual* — restored minus aligned input — warped by the inverse
transform and weighted by a feathered mask. Where the model changes nothing the photo keeps its own
pixels exactly; there is no double-interpolation blur and no square frame around the face.

Detection uses the ``mtcnn`` package (P/R/O-Net weights ship inside its wheel; it runs on
TensorFlow), chosen over OpenCV's Haar cascade by ``scripts/bench_face_detection.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from deblur_tf.errors import DeblurTFError

TEMPLATE_FILE = Path(__file__).with_name("face_template.json")
LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")  # as seen in the image

# The landmark transform is rejected in favour of the box when its scale differs from the box's by
# more than this factor, or when it puts the box centre further than this fraction of the template
# box size from where training faces have it.
MAX_SCALE_DISAGREEMENT = 1.3
MAX_CENTRE_DISAGREEMENT = 0.15


class FaceError(DeblurTFError, ValueError):
    """Face detection or alignment cannot run (missing template, bad arguments)."""


@dataclass
class Face:
    """One detected face. Coordinates are photo pixels (x right, y down).

    ``box``: [x0, y0, x1, y1]; ``landmarks``: [5, 2] (x, y) in ``LANDMARK_NAMES`` order, or None when
    the detector gives none; ``transform``: 2x3 similarity from the photo to the aligned crop;
    ``aligned_by``: "landmarks" or "box"; ``crop`` / ``restored_crop``: the aligned float RGB model
    input and output, once restored.
    """

    box: np.ndarray
    landmarks: np.ndarray | None
    score: float
    transform: np.ndarray | None = field(default=None, repr=False)
    aligned_by: str | None = None
    crop: np.ndarray | None = field(default=None, repr=False)
    restored_crop: np.ndarray | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        return {"box": [round(float(v), 1) for v in self.box], "score": round(float(self.score), 4),
                "landmarks": None if self.landmarks is None else np.round(self.landmarks, 1).tolist(),
                "aligned_by": self.aligned_by}


# --- template ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FaceTemplate:
    """Where a training crop of ``size`` px has its landmarks and its detector box, on average."""

    size: int
    landmarks: np.ndarray  # [5, 2]
    box: np.ndarray  # [4]

    @property
    def box_centre(self) -> np.ndarray:
        return np.array([(self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2])

    @property
    def box_size(self) -> float:
        return float((self.box[2] - self.box[0] + self.box[3] - self.box[1]) / 2)

    def scaled(self, size: int) -> "FaceTemplate":
        """The same framing for a crop of ``size`` px."""
        k = size / self.size
        return FaceTemplate(int(size), self.landmarks * k, self.box * k)


@lru_cache(maxsize=1)
def default_template() -> FaceTemplate:
    if not TEMPLATE_FILE.is_file():
        raise FaceError(f"{TEMPLATE_FILE} is missing: run scripts/measure_face_template.py")
    data = json.loads(TEMPLATE_FILE.read_text())
    return FaceTemplate(int(data["size"]), np.array(data["landmarks"], np.float64),
                        np.array(data["box"], np.float64))


# --- detectors: uint8 RGB [H, W, 3] -> list[Face] ------------------------------------------------

class MTCNNDetector:
    """MTCNN (Zhang et al. 2016) from the ``mtcnn`` package: boxes, scores and 5 landmarks.

    ``pad``: a replicated border of this fraction of the short side is added before detection, so
    faces that fill the frame (tight crops) are still found. ``max_side``: larger photos are
    detected at this long side and the results scaled back (P-Net's pyramid costs grow with area).
    """

    name = "mtcnn"

    # Thresholds: the MTCNN paper's stage thresholds (0.6, 0.7, 0.7); the package's 0.8 for O-Net
    # missed more blurred faces in scripts/bench_face_detection.py.
    def __init__(self, min_face_size: int = 20, min_score: float = 0.8, pad: float = 0.25,
                 max_side: int = 1600, thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)):
        from mtcnn import MTCNN
        self._mtcnn = MTCNN()
        self.min_face_size, self.min_score, self.pad = int(min_face_size), float(min_score), float(pad)
        self.max_side, self.thresholds = int(max_side), tuple(thresholds)

    def __call__(self, rgb: np.ndarray) -> list[Face]:
        h, w = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        image = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) \
            if scale < 1 else rgb
        p = int(round(self.pad * min(image.shape[:2])))
        if p:
            image = cv2.copyMakeBorder(image, p, p, p, p, cv2.BORDER_REPLICATE)
        if min(image.shape[:2]) < 12:
            return []
        rows = self._mtcnn.detect_faces(
            np.ascontiguousarray(image), output_type="numpy", box_format="xyxy",
            min_face_size=max(int(self.min_face_size * scale), 12), threshold_pnet=self.thresholds[0],
            threshold_rnet=self.thresholds[1], threshold_onet=self.thresholds[2])
        faces = []
        for row in np.asarray(rows, np.float64).reshape(-1, 16):
            if row[5] < self.min_score:
                continue
            box = (row[1:5] - p) / scale
            landmarks = (np.stack([row[6:11], row[11:16]], axis=1) - p) / scale
            faces.append(Face(box=_clip_box(box, w, h), landmarks=landmarks, score=float(row[5])))
        return sorted(faces, key=lambda f: -f.score)


class HaarDetector:
    """OpenCV's frontal-face Haar cascade (ships with opencv): boxes only, no landmarks."""

    name = "haar"

    def __init__(self, min_face_size: int = 20, pad: float = 0.25, min_neighbors: int = 5):
        path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        if not hasattr(cv2, "CascadeClassifier") or not path.is_file():
            raise FaceError(f"OpenCV {cv2.__version__} has no Haar cascades (OpenCV 5 moved them to "
                            "opencv-contrib); install opencv-python-headless<5 to use the haar detector")
        self._cascade = cv2.CascadeClassifier(str(path))
        self.min_face_size, self.pad, self.min_neighbors = int(min_face_size), float(pad), int(min_neighbors)

    def __call__(self, rgb: np.ndarray) -> list[Face]:
        h, w = rgb.shape[:2]
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        p = int(round(self.pad * min(h, w)))
        if p:
            grey = cv2.copyMakeBorder(grey, p, p, p, p, cv2.BORDER_REPLICATE)
        boxes, _, weights = self._cascade.detectMultiScale3(
            grey, scaleFactor=1.1, minNeighbors=self.min_neighbors,
            minSize=(self.min_face_size, self.min_face_size), outputRejectLevels=True)
        faces = []
        for (x, y, bw, bh), score in zip(np.reshape(boxes, (-1, 4)), np.ravel(weights)):
            box = np.array([x - p, y - p, x - p + bw, y - p + bh], np.float64)
            faces.append(Face(box=_clip_box(box, w, h), landmarks=None, score=float(score)))
        return sorted(faces, key=lambda f: -f.score)


class SensitiveMTCNNDetector(MTCNNDetector):
    """MTCNN with lower thresholds: finds more heavily blurred faces, and more false ones."""

    name = "mtcnn_sensitive"

    def __init__(self, **kwargs):
        super().__init__(**{"min_score": 0.7, "thresholds": (0.5, 0.6, 0.6), **kwargs})


DETECTORS = {"mtcnn": MTCNNDetector, "mtcnn_sensitive": SensitiveMTCNNDetector, "haar": HaarDetector}


def make_detector(name: str = "mtcnn", **kwargs):
    if name not in DETECTORS:
        raise FaceError(f"unknown face detector {name!r}: choose one of {sorted(DETECTORS)}")
    return DETECTORS[name](**kwargs)


def _clip_box(box: np.ndarray, w: int, h: int) -> np.ndarray:
    return np.clip(np.asarray(box, np.float64), 0, [w, h, w, h])


# --- alignment -----------------------------------------------------------------------------------

def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation; no reflection) mapping
    ``src`` [N, 2] onto ``dst`` [N, 2] (Umeyama 1991), as a 2x3 matrix."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    var = (s ** 2).sum() / len(src)
    if var <= 1e-12:
        raise FaceError("degenerate landmarks (all at one point)")
    u, sigma, vt = np.linalg.svd(d.T @ s / len(src))
    sign = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(sigma) @ sign) / var
    a = scale * rotation
    return np.hstack([a, (mu_d - a @ mu_s)[:, None]])


def box_transform(box: np.ndarray, template: FaceTemplate) -> np.ndarray:
    """Scale + translation taking the detector box onto the template's box (no rotation)."""
    size = (box[2] - box[0] + box[3] - box[1]) / 2
    if size <= 0:
        raise FaceError(f"empty face box {box}")
    a = template.box_size / size
    centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    t = template.box_centre - a * centre
    return np.array([[a, 0.0, t[0]], [0.0, a, t[1]]])


def transform_scale(m: np.ndarray) -> float:
    return float(np.sqrt(abs(np.linalg.det(m[:, :2]))))


def align(face: Face, template: FaceTemplate) -> tuple[np.ndarray, str]:
    """The photo -> crop transform for ``face`` and what set it ("landmarks" or "box")."""
    by_box = box_transform(face.box, template)
    if face.landmarks is None:
        return by_box, "box"
    by_landmarks = similarity_transform(face.landmarks, template.landmarks)
    ratio = transform_scale(by_landmarks) / transform_scale(by_box)
    centre = np.array([(face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2, 1.0])
    offset = np.linalg.norm(by_landmarks @ centre - template.box_centre) / template.box_size
    if not (1 / MAX_SCALE_DISAGREEMENT <= ratio <= MAX_SCALE_DISAGREEMENT) or offset > MAX_CENTRE_DISAGREEMENT:
        return by_box, "box"
    return by_landmarks, "landmarks"


def _footprint(m: np.ndarray, size: int, h: int, w: int, margin: int = 2):
    """Integer photo rectangle (x0, y0, x1, y1) covering the crop's footprint, clipped; None if empty."""
    inverse = cv2.invertAffineTransform(m)
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64) @ inverse.T
    x0, y0 = np.floor(corners.min(0)).astype(int) - margin
    x1, y1 = np.ceil(corners.max(0)).astype(int) + margin
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    return None if x1 <= x0 or y1 <= y0 else (x0, y0, x1, y1)


def warp_to_crop(image: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    """The aligned ``size`` x ``size`` crop of a float [H, W, C] photo under transform ``m``.

    A face shrunk by more than 2x is first area-averaged (bilinear warping alone would alias).
    Outside the photo the crop is filled by reflection, as the model saw at training borders.
    """
    a = transform_scale(m)
    if a < 0.5:
        rect = _footprint(m, size, *image.shape[:2], margin=4)
        if rect is not None:
            x0, y0, x1, y1 = rect
            roi = image[y0:y1, x0:x1]
            sw, sh = max(round((x1 - x0) * a * 2), 1), max(round((y1 - y0) * a * 2), 1)
            small = cv2.resize(roi, (sw, sh), interpolation=cv2.INTER_AREA).reshape(sh, sw, -1)
            kx, ky = sw / (x1 - x0), sh / (y1 - y0)
            # photo p = roi q / k + origin, so crop = m @ (q / k + origin)
            m = np.hstack([m[:, :2] @ np.diag([1 / kx, 1 / ky]), (m[:, :2] @ [x0, y0] + m[:, 2])[:, None]])
            image = small
    out = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    return out.reshape(size, size, -1)


def feather_mask(size: int, feather: float = 0.15) -> np.ndarray:
    """[size, size] weights: 1 inside, a smoothstep to 0 over the outer ``feather`` fraction, where
    the model's output still shows the crop border."""
    d = (np.arange(size, dtype=np.float32) + 0.5) / size
    edge = np.minimum(d, 1 - d) / max(feather, 1e-6)
    ramp = np.clip(edge, 0, 1)
    ramp = ramp * ramp * (3 - 2 * ramp)
    return np.outer(ramp, ramp)


def paste_residual(acc: np.ndarray, weight: np.ndarray, residual: np.ndarray, mask: np.ndarray,
                   m: np.ndarray) -> None:
    """Add ``mask * residual`` (crop coordinates) into ``acc`` and ``mask`` into ``weight`` (photo
    coordinates), in place, through the inverse of ``m``. Only the crop's footprint is touched.

    A face that was enlarged for the model is warped back at the crop's resolution and then
    area-averaged down, so the residual's detail does not alias.
    """
    size = mask.shape[0]
    h, w = acc.shape[:2]
    rect = _footprint(m, size, h, w)
    if rect is None:
        return
    x0, y0, x1, y1 = rect
    up = max(1.0, min(transform_scale(m), 8.0))
    inverse = cv2.invertAffineTransform(m)
    inverse = np.array([[up, 0, -up * x0], [0, up, -up * y0]]) @ np.vstack([inverse, [0, 0, 1]])
    big = (round((x1 - x0) * up), round((y1 - y0) * up))
    layers = np.concatenate([residual * mask[..., None], mask[..., None]], axis=2).astype(np.float32)
    warped = cv2.warpAffine(layers, inverse, big, flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if up > 1:
        warped = cv2.resize(warped, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    warped = warped.reshape(y1 - y0, x1 - x0, -1)
    acc[y0:y1, x0:x1] += warped[..., :-1]
    weight[y0:y1, x0:x1] += warped[..., -1:]


def align_faces(faces: list[Face], face_size: int) -> None:
    """Set each face's photo -> crop ``transform`` (and ``aligned_by``) for ``face_size`` px crops
    laid out like the training faces."""
    template = default_template().scaled(face_size)
    for face in faces:
        face.transform, face.aligned_by = align(face, template)


def paste_layers(shape: tuple, layers, transforms, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Warp each crop-sized layer back into a photo of ``shape`` ([H, W, C]) through its transform,
    weighted by ``mask``; returns (layer, cover): the pasted layer and how much of each pixel the
    faces cover (0…1). Overlapping faces share their pixels (weights normalised where they sum
    above 1)."""
    acc = np.zeros(shape, np.float32)
    weight = np.zeros(tuple(shape[:2]) + (1,), np.float32)
    for layer, m in zip(layers, transforms):
        paste_residual(acc, weight, layer, mask, m)
    return acc / np.maximum(weight, 1e-6), np.minimum(weight, 1.0)


def draw_faces(image: np.ndarray, faces: list[Face]) -> np.ndarray:
    """A uint8 RGB copy with each face's box (green: aligned by landmarks, orange: by box), its
    landmarks and score drawn — for ``deblur-tf deblur --debug``."""
    out = np.ascontiguousarray(image.copy())
    thickness = max(1, round(max(out.shape[:2]) / 500))
    for face in faces:
        colour = (0, 200, 0) if face.aligned_by == "landmarks" else (255, 140, 0)
        x0, y0, x1, y1 = np.round(face.box).astype(int)
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, thickness)
        if face.landmarks is not None:
            for x, y in np.round(face.landmarks).astype(int):
                cv2.circle(out, (x, y), thickness + 1, (255, 0, 0), -1)
        cv2.putText(out, f"{face.score:.2f}", (x0, max(y0 - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * thickness, colour, thickness)
    return out
