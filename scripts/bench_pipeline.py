"""Throughput of the synthetic-pair pipeline (pairs per second at 128x128).

    python scripts/bench_pipeline.py --source ../shared/data/lfw/splits/train.txt \
        --root ../shared/data/lfw/images --center-crop 150 --out scripts/results/bench_pipeline.json

Without ../shared it makes its own images (--source synthetic). Writes JSON + a bar plot.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from deblur_tf.data import sharp_dataset  # noqa: E402
from deblur_tf.degrade import DEFAULT_DEGRADATIONS, Degradation  # noqa: E402
from bench_report import write_report  # noqa: E402


def synthetic_folder(n: int = 64) -> str:
    import cv2
    folder = tempfile.mkdtemp(prefix="bench_pipeline_")
    rng = np.random.default_rng(0)
    for i in range(n):
        img = cv2.GaussianBlur(rng.integers(0, 256, (250, 250, 3), dtype=np.uint8), (0, 0), 3)
        cv2.imwrite(os.path.join(folder, f"{i:03d}.jpg"), img)
    return folder


def measure(ds: tf.data.Dataset, batches: int, batch_size: int) -> float:
    it = iter(ds)
    for _ in range(5):  # warm-up: autotune, file cache
        next(it)
    t = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches * batch_size / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default="synthetic")
    ap.add_argument("--root", default=None)
    ap.add_argument("--center-crop", type=int, default=None)
    ap.add_argument("--image-size", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--batches", type=int, default=100)
    ap.add_argument("--out", default="scripts/results/bench_pipeline.json")
    args = ap.parse_args()

    source = synthetic_folder() if args.source == "synthetic" else args.source
    chains = {
        "blur (trajectory bank)": DEFAULT_DEGRADATIONS[:1],
        "blur + gaussian noise (default)": DEFAULT_DEGRADATIONS,
        "blur + noise + jpeg": DEFAULT_DEGRADATIONS + [{"op": "jpeg", "quality": [50, 95]}],
    }
    results = {}
    for name, steps in chains.items():
        t = time.perf_counter()
        chain = Degradation(steps)
        bank_s = time.perf_counter() - t
        ds = sharp_dataset(source, chain, image_size=args.image_size, batch_size=args.batch_size,
                           center_crop=args.center_crop, root=args.root, training=True)
        rate = measure(ds, args.batches, args.batch_size)
        results[name] = {"pairs_per_second": round(rate, 1), "kernel_bank_seconds": round(bank_s, 2)}
        print(f"{name:34s} {rate:8.1f} pairs/s  (kernel bank built in {bank_s:.2f} s)")

    report = {"image_size": args.image_size, "batch_size": args.batch_size, "source": args.source,
              "results": results}
    write_report(report, args.out, {k: r["pairs_per_second"] for k, r in results.items()},
                 f"pairs / second at {args.image_size}x{args.image_size} ({os.cpu_count()} CPU cores)")

if __name__ == "__main__":
    main()
