"""Small faces in whole photos: is a face better restored through its aligned crop (enlarged to the
model's 128 px, as ``--faces auto`` does) or at the photo's own scale (``--faces off``)?

    python scripts/face_size.py --limit 30 --out scripts/results/face_size.json

Whole LFW *validation* photos are shrunk by 1–5× (faces from about 90 px down to about 18 px), then
scored twice in each face's detected box (found on the sharp photo): sharp (output vs input, do no
harm) and blurred in the photo's pixels (a 9 px camera-shake kernel, σ 0.01; output vs the sharp
photo). Rows: untouched, aligned crop (auto), whole image (off). Without ../shared: exits with a
message (it needs whole photos with known faces).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_report import psnr_db, write_report  # noqa: E402

from deblur_tf.degrade.kernels import shake_kernel  # noqa: E402
from deblur_tf.degrade.ops import convolve_valid  # noqa: E402
from deblur_tf.errors import DeblurTFError  # noqa: E402
from deblur_tf.faces import align_faces, transform_scale  # noqa: E402
from deblur_tf.inference import Deblurrer  # noqa: E402
from deblur_tf.io import read_rgb  # noqa: E402
from deblur_tf.paths import default_model_path, shared_file  # noqa: E402

SHRINK = (1, 1.5, 2, 3, 4, 5)
PSNR_CAP = 99.0


def blur_photo(image: np.ndarray, kernel: np.ndarray, sigma: float, rng) -> np.ndarray:
    """uint8 photo convolved with ``kernel`` (mirrored borders), plus Gaussian noise, back to uint8."""
    m = kernel.shape[0] // 2
    window = np.pad(image.astype(np.float32) / 255, ((m, m), (m, m), (0, 0)), mode="symmetric")
    y = convolve_valid(window, kernel).numpy()  # as in training: mirrored context, 'valid' blur
    y = y + rng.normal(0, sigma, y.shape)
    return np.round(np.clip(y, 0, 1) * 255).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="default: the shipped model")
    ap.add_argument("--limit", type=int, default=30, help="LFW validation photos")
    ap.add_argument("--kernel", type=int, default=9, help="camera-shake kernel size in photo pixels (odd)")
    ap.add_argument("--out", default="scripts/results/face_size.json")
    args = ap.parse_args()
    if args.limit < 1 or args.kernel < 1 or args.kernel % 2 == 0:
        raise SystemExit("error: --limit must be at least 1 and --kernel a positive odd size")

    split, root = shared_file("data", "lfw", "splits", "val.txt"), shared_file("data", "lfw", "images")
    if split is None or root is None:
        raise SystemExit("error: needs ../shared/data/lfw (whole photos); set DEBLUR_TF_SHARED")
    model = args.model or default_model_path()
    if model is None:
        raise SystemExit("error: no --model and no shipped model in exported/")
    try:
        deblurrer = Deblurrer.load(model)
    except DeblurTFError as e:
        raise SystemExit(f"error: {e}") from None
    detector = deblurrer.face_detector()
    names = [line.strip() for line in split.read_text().splitlines() if line.strip()][:args.limit]
    rng = np.random.default_rng(0)
    rows = {}
    for shrink in SHRINK:
        scores = {k: [] for k in ("face_px", "enlargement", "sharp_auto", "sharp_off",
                                  "blurred_untouched", "blurred_auto", "blurred_off")}
        for name in names:
            image = read_rgb(str(root / name))
            h, w = image.shape[:2]
            if shrink != 1:
                image = cv2.resize(image, (round(w / shrink), round(h / shrink)), interpolation=cv2.INTER_AREA)
            faces = detector(image)
            if not faces:
                continue
            face = faces[0]
            align_faces([face], 128)
            x0, y0, x1, y1 = (int(round(v)) for v in face.box)
            box = (slice(y0, y1), slice(x0, x1))
            blurred = blur_photo(image, shake_kernel(rng, args.kernel), 0.01, rng)
            scores["face_px"].append(x1 - x0)
            scores["enlargement"].append(transform_scale(face.transform))
            for label, photo in (("sharp", image), ("blurred", blurred)):
                for mode in ("auto", "off"):
                    out, _ = deblurrer.restore(photo, faces=mode)
                    scores[f"{label}_{mode}"].append(psnr_db(out[box], image[box], PSNR_CAP))
            scores["blurred_untouched"].append(psnr_db(blurred[box], image[box], PSNR_CAP))
        if not scores["face_px"]:
            print(f"shrink {shrink}: no face found in {len(names)} photos")
            continue
        row = {k: float(np.mean(v)) for k, v in scores.items()}
        row["sharp_auto_min"] = float(np.min(scores["sharp_auto"]))
        row["faces"] = len(scores["face_px"])
        rows[f"shrink {shrink}"] = row
        print(f"shrink {shrink}: face {row['face_px']:.0f} px (enlarged {row['enlargement']:.2f}x); sharp: "
              f"auto {row['sharp_auto']:.2f} (min {row['sharp_auto_min']:.2f}) off {row['sharp_off']:.2f}; "
              f"blurred: untouched {row['blurred_untouched']:.2f} auto {row['blurred_auto']:.2f} "
              f"off {row['blurred_off']:.2f} dB ({row['faces']} faces)", flush=True)
    report = {"what": "PSNR in each face's box vs the sharp photo, by face size: aligned crop (faces auto) "
                      "vs whole image (faces off) vs untouched",
              "photos": f"first {len(names)} LFW validation photos, shrunk by {list(SHRINK)}",
              "blur": f"camera shake {args.kernel} px in photo pixels, sigma 0.01", "model": str(model),
              "results": rows}
    bars = {}
    for label, row in rows.items():
        for kind in ("blurred", "sharp"):
            bars[f"{row['face_px']:.0f} px face, {kind}"] = row[f"{kind}_auto"] - row[f"{kind}_off"]
    write_report(report, args.out, bars, "face-box PSNR, aligned crop (auto) minus whole image (off), dB")


if __name__ == "__main__":
    main()
