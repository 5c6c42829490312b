"""Restore the 20 real blurred faces of Shen et al. 2018 and save an input | output grid.

    python scripts/real_blur_grid.py exported/deblur_tf_face.keras --out docs/real_blur_grid.png

The faces are in ../shared/data/real_blur/shen2018 (no ground truth: a visual check only; the
pictures are read from there and only the grid is written).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from deblur_tf.inference import Deblurrer  # noqa: E402
from deblur_tf.io import read_rgb, write_image  # noqa: E402
from deblur_tf.paths import shared_file  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--folder", default=None, help="default: ../shared/data/real_blur/shen2018")
    ap.add_argument("--columns", type=int, default=4, help="input|output pairs per row")
    ap.add_argument("--out", default="docs/real_blur_grid.png")
    args = ap.parse_args()
    folder = args.folder or shared_file("data", "real_blur", "shen2018")
    if folder is None:
        raise SystemExit("error: no --folder and ../shared/data/real_blur/shen2018 is absent")
    files = sorted((f for f in os.listdir(folder) if f.endswith(".png")), key=lambda f: int(f.split(".")[0]))
    deblurrer = Deblurrer.load(args.model)
    pairs = []
    for name in files:
        image = read_rgb(os.path.join(folder, name))
        gap = np.full((image.shape[0], 2, 3), 255, np.uint8)
        pairs.append(np.concatenate([image, gap, deblurrer(image), np.full((image.shape[0], 8, 3), 255, np.uint8)], 1))
    rows = [np.concatenate(pairs[i:i + args.columns], axis=1) for i in range(0, len(pairs), args.columns)]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 8), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    write_image(args.out, np.concatenate(rows, axis=0))
    print(f"wrote {args.out} ({len(files)} faces: input | restored)")


if __name__ == "__main__":
    main()
