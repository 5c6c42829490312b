"""Which face detector finds blurred faces: detection rate, landmark stability and time per photo.

For each detector (MTCNN from the ``mtcnn`` package, OpenCV's Haar cascade):
- LFW *test* frames at their full 250x250, sharp and blurred with the evaluation protocol's
  camera-shake kernels (sizes 13..27, the same seeded kernels as ``deblur-tf evaluate``) plus
  Gaussian noise sigma 0.01. A face counts as found when a detection overlaps the expected face
  box (the face template's box mapped back into the frame) with IoU >= 0.4.
- The 20 real blurred faces of ../shared/data/real_blur/shen2018 (tight 128x128 crops): found
  when any face is detected.
- Landmark drift: distance between the landmarks found on the blurred and on the sharp frame,
  over the inter-ocular distance; and how often alignment falls back to the box.
- Time per photo: mean over the LFW frames, and on a 1024x768 photo.

    python scripts/bench_face_detection.py --limit 150 --out scripts/results/bench_face_detection.json
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
from bench_report import machine_info  # noqa: E402

from deblur_tf.data import list_images  # noqa: E402
from deblur_tf.degrade import LITERATURE_KERNEL_SIZES, build_kernel_bank  # noqa: E402
from deblur_tf.faces import align, default_template, make_detector  # noqa: E402
from deblur_tf.paths import shared_file  # noqa: E402


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def blur(frame: np.ndarray, kernel: np.ndarray, sigma: float, rng) -> np.ndarray:
    x = frame.astype(np.float32) / 255.0
    # filter2D correlates; flipping the kernel makes it a convolution
    x = cv2.filter2D(x, -1, kernel[::-1, ::-1].astype(np.float32), borderType=cv2.BORDER_REFLECT)
    x = x + rng.normal(0, sigma, x.shape).astype(np.float32)
    return np.clip(np.round(x * 255), 0, 255).astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=150)
    ap.add_argument("--detectors", default="mtcnn,haar")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--noise", type=float, default=0.01)
    ap.add_argument("--out", default="scripts/results/bench_face_detection.json")
    ap.add_argument("--merge", action="store_true",
                    help="Add these detectors to an existing report (e.g. haar, run where OpenCV < 5)")
    args = ap.parse_args()

    files = list_images(str(shared_file("data", "lfw", "splits", "test.txt")),
                        str(shared_file("data", "lfw", "images")))[: args.limit]
    real = sorted(Path(shared_file("data", "real_blur", "shen2018")).glob("*.png"))
    frames = [cv2.cvtColor(cv2.imread(f), cv2.COLOR_BGR2RGB) for f in files]
    rng = np.random.default_rng(args.seed)
    conditions = {"sharp": frames}
    for size in LITERATURE_KERNEL_SIZES:
        bank = build_kernel_bank([{"type": "trajectory", "sizes": [int(size)]}], count=len(files),
                                 seed=args.seed * 1000 + int(size))
        conditions[f"{size}px"] = [blur(f, k, args.noise, rng) for f, k in zip(frames, bank.kernels)]
    template = default_template()
    crop, size = 150, template.size
    h, w = frames[0].shape[:2]
    expected = template.box * crop / size + np.array([(w - crop) / 2, (h - crop) / 2] * 2)
    photo = cv2.resize(frames[0], (1024, 768))

    report = {"images": len(files), "real_blur_images": len(real), "noise_sigma": args.noise,
              "iou_threshold": 0.4, "detectors": {}}
    if args.merge and Path(args.out).is_file():
        report["detectors"] = json.loads(Path(args.out).read_text())["detectors"]
    for name in args.detectors.split(","):
        detector = make_detector(name)
        detector(frames[0])  # build the networks outside the timings
        rates, seconds, found_sharp, extra = {}, [], {}, 0
        drift, box_fallback, aligned = [], 0, 0
        for cond, images in conditions.items():
            hits = 0
            for i, image in enumerate(images):
                t = time.perf_counter()
                faces = detector(image)
                seconds.append(time.perf_counter() - t)
                extra += sum(iou(f.box, expected) < 0.4 for f in faces)
                match = max(faces, key=lambda f: iou(f.box, expected), default=None)
                if match is None or iou(match.box, expected) < 0.4:
                    continue
                hits += 1
                if cond == "sharp":
                    found_sharp[i] = match
                else:
                    aligned += 1
                    box_fallback += align(match, template)[1] == "box"
                    ref = found_sharp.get(i)
                    if ref is not None and ref.landmarks is not None and match.landmarks is not None:
                        iod = np.linalg.norm(ref.landmarks[1] - ref.landmarks[0])
                        drift.append(float(np.linalg.norm(match.landmarks - ref.landmarks, axis=1).mean() / iod))
            rates[cond] = hits / len(images)
        real_found = sum(bool(detector(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB))) for p in real)
        t = time.perf_counter()
        for _ in range(3):
            detector(photo)
        blurred_rates = [v for k, v in rates.items() if k != "sharp"]
        report["detectors"][name] = {
            "detection_rate": rates,
            "detection_rate_blurred_mean": float(np.mean(blurred_rates)),
            "real_blur_found": real_found,
            "real_blur_rate": real_found / max(len(real), 1),
            "landmarks": name != "haar",
            "landmark_drift_over_iod_mean": float(np.mean(drift)) if drift else None,
            "landmark_drift_over_iod_p90": float(np.percentile(drift, 90)) if drift else None,
            "alignment_box_fallback_rate": box_fallback / max(aligned, 1),
            "other_detections_per_frame": extra / sum(len(v) for v in conditions.values()),
            "opencv": cv2.__version__,
            "ms_per_250px_frame": 1000 * float(np.mean(seconds)),
            "ms_per_1024x768_photo": 1000 * (time.perf_counter() - t) / 3,
        }
        print(name, report["detectors"][name])
    report.update(machine_info())
    write(report, args.out)


def write(report: dict, out: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(report, indent=2) + "\n")
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    for name, r in report["detectors"].items():
        conds = list(r["detection_rate"])
        ax.plot(range(len(conds)), [100 * r["detection_rate"][c] for c in conds], "o-",
                label=f"{name} (real blur: {r['real_blur_found']}/{report['real_blur_images']}, "
                      f"{r['ms_per_1024x768_photo']:.0f} ms @1024x768)")
        ax.set_xticks(range(len(conds)), conds, fontsize=8)
    ax.set_ylabel("faces found (%)")
    ax.set_xlabel("LFW test frames: sharp, then blur kernel size")
    lowest = min(min(r["detection_rate"].values()) for r in report["detectors"].values())
    ax.set_ylim(max(0, 100 * lowest - 10), 101)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title(f"{report['images']} LFW test frames (250x250), noise σ={report['noise_sigma']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(str(Path(out).with_suffix(".png")), dpi=100)
    print("wrote", out)


if __name__ == "__main__":
    main()
