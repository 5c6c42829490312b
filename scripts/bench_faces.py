"""Whole-photo face restoration: time per 1024x768 photo vs number of faces, and a docs picture.

Photos are collages of two public-domain portraits that ship with the installed packages
(scikit-image's ``astronaut``, matplotlib's ``grace_hopper``) at 1, 4 and 16 faces, blurred with
a camera-shake kernel. Times (median of ``--repeats``) are split into detection and
align + restore + paste-back, with the shipped model through the chosen backend.

    python scripts/bench_faces.py --out scripts/results/bench_faces.json --picture docs/faces_before_after.jpg
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_face_detection import blur as blur_with_kernel  # noqa: E402
from bench_report import write_report  # noqa: E402

from deblur_tf.degrade import trajectory_kernels  # noqa: E402
from deblur_tf.paths import default_model_path  # noqa: E402
from deblur_tf.inference import Deblurrer  # noqa: E402


def portraits() -> list[np.ndarray]:
    import matplotlib.cbook
    from skimage import data
    hopper = cv2.imread(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    return [data.astronaut(), cv2.cvtColor(hopper, cv2.COLOR_BGR2RGB)]


def collage(n_faces: int, size=(768, 1024), rotate: bool = False) -> np.ndarray:
    """``n_faces`` portraits on a square-ish grid filling a ``size`` canvas."""
    h, w = size
    cols = int(np.ceil(np.sqrt(n_faces * w / h)))
    rows = int(np.ceil(n_faces / cols))
    canvas = np.full((h, w, 3), 96, np.uint8)
    cell_h, cell_w = h // rows, w // cols
    people = portraits()
    for i in range(n_faces):
        p = people[i % 2]
        s = min(cell_h / p.shape[0], cell_w / p.shape[1])
        small = cv2.resize(p, (int(p.shape[1] * s), int(p.shape[0] * s)), interpolation=cv2.INTER_AREA)
        if rotate and i % 2:
            m = cv2.getRotationMatrix2D((small.shape[1] / 2, small.shape[0] / 2), 12, 1.0)
            small = cv2.warpAffine(small, m, small.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
        r, c = divmod(i, cols)
        y, x = r * cell_h + (cell_h - small.shape[0]) // 2, c * cell_w + (cell_w - small.shape[1]) // 2
        canvas[y:y + small.shape[0], x:x + small.shape[1]] = small
    return canvas


def blur(image: np.ndarray, kernel_size: int, seed: int = 1, noise: float = 0.01) -> np.ndarray:
    """A camera-shake kernel of ``kernel_size`` px drawn from ``seed``, applied as in the detection benchmark."""
    kernel = trajectory_kernels(kernel_size, 1, np.random.default_rng(seed))[0]
    return blur_with_kernel(image, kernel, noise, np.random.default_rng(seed))


def picture(deblurrer: Deblurrer, out: str, kernel_size: int) -> None:
    """Blurred | restored for a 2-face collage (one face tilted), with the faces enlarged underneath."""
    from deblur_tf.faces import draw_faces
    from deblur_tf.io import write_image
    photo = blur(collage(2, rotate=True), kernel_size)
    restored, faces = deblurrer.restore_faces(photo)
    half = lambda im: cv2.resize(im, (im.shape[1] // 2, im.shape[0] // 2), interpolation=cv2.INTER_AREA)  # noqa: E731
    top = np.concatenate([half(draw_faces(photo, faces)), half(restored)], axis=1)
    zooms = []
    for face in sorted(faces, key=lambda f: f.box[0]):
        x0, y0, x1, y1 = np.round(face.box).astype(int)
        pad = (x1 - x0) // 4
        x0, y0 = max(x0 - pad, 0), max(y0 - pad, 0)
        x1, y1 = min(x1 + pad, photo.shape[1]), min(y1 + pad, photo.shape[0])
        pair = [cv2.resize(im[y0:y1, x0:x1], (256, 300), interpolation=cv2.INTER_CUBIC) for im in (photo, restored)]
        zooms.append(np.concatenate(pair, axis=1))
    bottom = np.concatenate(zooms, axis=1) if zooms else np.zeros((0, top.shape[1], 3), np.uint8)
    width = max(top.shape[1], bottom.shape[1])
    pad_to = lambda im: np.pad(im, ((0, 0), (0, width - im.shape[1]), (0, 0)), constant_values=255)  # noqa: E731
    write_image(out, np.concatenate([pad_to(top), np.full((8, width, 3), 255, np.uint8), pad_to(bottom)]))
    print(f"wrote {out}: {len(faces)} faces ({', '.join(f.aligned_by for f in faces)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(default_model_path()))
    ap.add_argument("--faces", default="1,4,16")
    ap.add_argument("--kernel-size", type=int, default=11)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="scripts/results/bench_faces.json")
    ap.add_argument("--picture", default=None, help="Also write a before/after picture here.")
    args = ap.parse_args()

    deblurrer = Deblurrer.load(args.model)
    detector = deblurrer.face_detector()
    rows, bars = {}, {}
    for n in [int(v) for v in args.faces.split(",")]:
        photo = blur(collage(n), args.kernel_size)
        deblurrer.restore_faces(photo)  # warm-up: graph tracing for this crop batch size
        detect, total = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            faces = detector(photo)
            t1 = time.perf_counter()
            deblurrer.restore_faces(photo, faces=faces)
            t2 = time.perf_counter()
            detect.append(t1 - t0)
            total.append(t2 - t0)
        whole = time.perf_counter()
        deblurrer(photo)
        whole = time.perf_counter() - whole
        rows[n] = {"faces_detected": len(faces), "detect_ms": 1000 * float(np.median(detect)),
                   "restore_and_paste_ms": 1000 * float(np.median(total) - np.median(detect)),
                   "total_ms": 1000 * float(np.median(total)), "whole_image_tiled_ms": 1000 * whole}
        bars[f"{n} faces ({len(faces)} found): total"] = rows[n]["total_ms"]
        bars[f"{n} faces: detection"] = rows[n]["detect_ms"]
        print(n, rows[n])
    bars["whole image, tiled (no faces)"] = rows[max(rows)]["whole_image_tiled_ms"]
    report = {"photo": "1024x768 collage of public-domain portraits, camera-shake blur "
                       f"{args.kernel_size} px + noise 0.01", "model": args.model,
              "backend": deblurrer.backend.name, "repeats": args.repeats, "by_faces": rows}
    write_report(report, args.out, bars, "ms per 1024x768 photo (median)")
    if args.picture:
        picture(deblurrer, args.picture, args.kernel_size)


if __name__ == "__main__":
    main()
