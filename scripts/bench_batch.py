"""Images per second: ``deblur-tf batch`` on Beam's DirectRunner against ``deblur-tf deblur`` on a
folder, on the same images, in one run.

The images are ``--count`` 128x128 face crops made from scikit-image's astronaut (public domain)
with jittered crops and camera-shake blur, restored with ``--faces off`` (aligned crops: the case
where the batch pipeline stacks same-size images). Each command runs as a user runs it (a new
process: TensorFlow import and model load included) into an empty output folder; the table gives
wall time and images / s for the whole command.

    python scripts/bench_batch.py --out scripts/results/bench_batch.json
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_report import write_report  # noqa: E402


def make_faces(folder: Path, count: int) -> None:
    import cv2
    import skimage.data

    from deblur_tf.degrade import trajectory_kernels
    from deblur_tf.io import write_image
    photo = skimage.data.astronaut()
    rng = np.random.default_rng(0)
    kernels = trajectory_kernels(15, count, rng)
    for i in range(count):
        side = int(rng.integers(140, 180))
        x, y = 225 - side // 2 + int(rng.integers(-8, 9)), 110 - side // 2 + int(rng.integers(-8, 9))
        crop = cv2.resize(photo[max(y, 0):y + side, max(x, 0):x + side], (128, 128),
                          interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        blurred = cv2.filter2D(crop, -1, kernels[i], borderType=cv2.BORDER_REFLECT)
        write_image(folder / f"face_{i:04d}.png", np.clip(np.round(blurred * 255), 0, 255).astype(np.uint8))


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=96)
    ap.add_argument("--model", default=None, help="Default: the shipped model.")
    ap.add_argument("--out", default="scripts/results/bench_batch.json")
    args = ap.parse_args()
    from deblur_tf.paths import default_model_path
    model = args.model or str(default_model_path())
    work = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    make_faces(work / "in", args.count)
    runs = {
        "deblur-tf deblur (folder)": ["deblur-tf", "deblur", str(work / "in"), "-o", "{out}",
                                      "--faces", "off", "--model", model],
        "deblur-tf batch (DirectRunner, in-memory)": ["deblur-tf", "batch", str(work / "in"), "-o", "{out}",
                                                      "--faces", "off", "--model", model],
        "deblur-tf batch (DirectRunner, 2 worker processes)": [
            "deblur-tf", "batch", str(work / "in"), "-o", "{out}", "--faces", "off", "--model", model,
            "--direct_num_workers", "2", "--direct_running_mode", "multi_processing"],
    }
    results = {}
    for i, (name, cmd) in enumerate(runs.items()):
        seconds = timed([c.replace("{out}", str(work / f"out_{i}")) for c in cmd])
        results[name] = {"seconds": seconds, "images_per_second": args.count / seconds}
        print(f"{name}: {seconds:.1f} s, {args.count / seconds:.2f} images/s")
    report = {"images": f"{args.count} blurred 128x128 face crops (PNG), --faces off",
              "model": model, "commands": {k: " ".join(v) for k, v in runs.items()},
              "results": results}
    write_report(report, args.out, {k: v["images_per_second"] for k, v in results.items()},
                 f"images / s ({args.count} face crops, whole command)")


if __name__ == "__main__":
    main()
