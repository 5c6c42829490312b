"""How much edge contrast a deblurrer puts back: on real blur (no ground truth) and on synthetic
shake beside the sharp faces it came from.

    python scripts/edge_contrast.py exported/deblur_tf_face.keras checkpoints/v1/deblur_tf_face_v1.keras \
        --out scripts/results/edge_contrast.json

Edge contrast = the mean Sobel gradient magnitude of the grey image. Reported per model:
- ``real``: output over input on Shen et al.'s 20 real blurred faces (../shared/data/real_blur),
  and the mean |output - input| in grey levels. The only number there is for real blur — but
  ringing and noise raise it too, so read it with the picture (scripts/real_blur_grid.py).
- ``synthetic``: output over input on ``--faces`` LFW *val* faces blurred by the protocol's camera
  shake (13–27 px, σ 0.01, seeded), beside the same ratio for the sharp faces themselves: how much
  of the lost contrast comes back. A PSNR-trained model that is unsure of the blur stays below it.
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
from bench_report import write_report  # noqa: E402

from deblur_tf.errors import DeblurTFError  # noqa: E402
from deblur_tf.inference import Deblurrer  # noqa: E402
from deblur_tf.io import read_rgb  # noqa: E402
from deblur_tf.paths import shared_file  # noqa: E402


def edge_contrast(image: np.ndarray) -> float:
    grey = cv2.cvtColor(np.asarray(image, np.float32), cv2.COLOR_RGB2GRAY)
    return float(np.mean(np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))))


def ratio(outputs, inputs) -> float:
    return float(np.mean([edge_contrast(o) / edge_contrast(i) for o, i in zip(outputs, inputs)]))


def real_faces() -> np.ndarray | None:
    folder = shared_file("data", "real_blur", "shen2018")
    if folder is None:
        return None
    files = sorted(Path(folder).glob("*.png"))
    return np.stack([read_rgb(f) for f in files]).astype(np.float32) / 255


def shaken_val_faces(count: int, seed: int = 5):
    """(blurred, sharp) float faces: the protocol's shake on the first ``count`` LFW val faces."""
    from deblur_tf.data import list_images, sharp_dataset
    from deblur_tf.degrade import LITERATURE_KERNEL_SIZES, Degradation, build_kernel_bank
    split = shared_file("data", "lfw", "splits", "val.txt")
    if split is None:
        return None
    files = list_images(str(split), str(shared_file("data", "lfw", "images")))[:count]
    bank = build_kernel_bank([{"type": "trajectory", "sizes": list(LITERATURE_KERNEL_SIZES)}],
                             count=len(files), seed=seed)
    chain = Degradation.from_kernel_bank(bank, [{"op": "gaussian_noise", "sigma": 0.01}])
    blurred, sharp = next(iter(sharp_dataset(files, chain, image_size=128, batch_size=len(files),
                                             center_crop=150, training=False, seed=seed)))
    return blurred.numpy(), sharp.numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="+")
    ap.add_argument("--faces", type=int, default=40, help="LFW val faces for the synthetic part (>= 1)")
    ap.add_argument("--out", default="scripts/results/edge_contrast.json")
    args = ap.parse_args()
    if args.faces < 1:
        ap.error(f"--faces must be at least 1, got {args.faces}")
    try:
        deblurrers = {m: Deblurrer.load(m) for m in args.model}
    except DeblurTFError as e:
        raise SystemExit(f"error: {e}") from None
    real, synthetic = real_faces(), shaken_val_faces(args.faces)
    if real is None and synthetic is None:
        raise SystemExit("error: needs ../shared (Shen's real blurred faces or the LFW val split)")
    report = {"what": "mean Sobel gradient magnitude, output over input (edge contrast put back)",
              "real_faces": None if real is None else len(real),
              "synthetic": None if synthetic is None else
              {"faces": len(synthetic[0]), "blur": "protocol camera shake 13–27 px, σ 0.01, LFW val",
               "sharp_over_blurred": ratio(synthetic[1], synthetic[0])},
              "models": {}}
    bars = {}
    if synthetic is not None:
        bars["sharp faces / synthetic blur"] = report["synthetic"]["sharp_over_blurred"]
    for model, deblurrer in deblurrers.items():
        row = {}
        if real is not None:
            out = deblurrer.restore_float(real)
            row["real_ratio"] = ratio(out, real)
            row["real_mean_abs_change_grey"] = float(np.mean(np.abs(out - real)) * 255)
            bars[f"{Path(model).name}: real blur"] = row["real_ratio"]
        if synthetic is not None:
            row["synthetic_ratio"] = ratio(deblurrer.restore_float(synthetic[0]), synthetic[0])
            bars[f"{Path(model).name}: synthetic blur"] = row["synthetic_ratio"]
        report["models"][model] = row
        print(model, " ".join(f"{k} {v:.3f}" for k, v in row.items()))
    if synthetic is not None:
        print(f"sharp faces over their blurred inputs: {report['synthetic']['sharp_over_blurred']:.3f}")
    write_report(report, args.out, bars, "edge contrast, output over input (1 = unchanged)")


if __name__ == "__main__":
    main()
