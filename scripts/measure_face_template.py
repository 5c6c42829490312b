"""Measure where the face model's training crops have their landmarks: deblur_tf/face_template.json.

Runs the face detector over LFW *train* images (the identities the model was trained on), takes the
face nearest the frame centre, maps its box and 5 landmarks into the training crop (central
``--center-crop`` px resized to ``--size``) and averages them. Alignment maps every in-the-wild face
onto these positions, so it is framed exactly like a training face.

    python scripts/measure_face_template.py --limit 1000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from deblur_tf.data import list_images  # noqa: E402
from deblur_tf.faces import LANDMARK_NAMES, TEMPLATE_FILE, make_detector  # noqa: E402
from deblur_tf.paths import shared_file  # noqa: E402


def central_face(faces, w: int, h: int):
    """The detection whose box centre is nearest the frame centre (LFW centres its subject)."""
    if not faces:
        return None
    centre = np.array([w / 2, h / 2])
    return min(faces, key=lambda f: np.linalg.norm(
        np.array([(f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2]) - centre))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", default=str(shared_file("data", "lfw", "splits", "train.txt")))
    ap.add_argument("--root", default=str(shared_file("data", "lfw", "images")))
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--center-crop", type=int, default=150)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--detector", default="mtcnn")
    ap.add_argument("--out", default=str(TEMPLATE_FILE))
    args = ap.parse_args()

    detector = make_detector(args.detector)
    files = list_images(args.images, args.root)[: args.limit]
    boxes, landmarks, missed = [], [], 0
    t0 = time.perf_counter()
    for path in files:
        rgb = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        face = central_face(detector(rgb), w, h)
        if face is None or face.landmarks is None:
            missed += 1
            continue
        # frame -> training crop: subtract the crop's corner, then resize center_crop -> size
        offset = np.array([(w - args.center_crop) / 2, (h - args.center_crop) / 2])
        k = args.size / args.center_crop
        boxes.append((face.box.reshape(2, 2) - offset).reshape(4) * k)
        landmarks.append((face.landmarks - offset) * k)
    boxes, landmarks = np.array(boxes), np.array(landmarks)
    template = {
        "size": args.size,
        "landmark_names": list(LANDMARK_NAMES),
        "landmarks": np.round(np.median(landmarks, 0), 3).tolist(),
        "box": np.round(np.median(boxes, 0), 3).tolist(),
        "landmark_std_px": np.round(landmarks.std(0), 3).tolist(),
        "box_std_px": np.round(boxes.std(0), 3).tolist(),
        "measured_on": f"{len(landmarks)} of {len(files)} LFW train images (central face), "
                       f"{args.center_crop} px crop resized to {args.size}",
        "statistic": "median over images",
        "detector": args.detector,
        "command": "python scripts/measure_face_template.py " + " ".join(sys.argv[1:]),
    }
    Path(args.out).write_text(json.dumps(template, indent=2) + "\n")
    print(json.dumps(template, indent=2))
    print(f"missed {missed}; {time.perf_counter() - t0:.0f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
