"""Restore the 20 real blurred faces of Shen et al. 2018 and save an input | output grid.

    python scripts/real_blur_grid.py exported/deblur_tf_face.keras --out docs/real_blur_grid.png

The faces are in ../shared/data/real_blur/shen2018 (no ground truth: a visual check only; the
pictures are read from there and only the grid is written).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from deblur_tf.evaluate import real_blur_grid  # noqa: E402
from deblur_tf.inference import Deblurrer  # noqa: E402
from deblur_tf.io import write_image  # noqa: E402
from deblur_tf.paths import shared_file  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="+", help="one or more models: one output column each")
    ap.add_argument("--folder", default=None, help="default: ../shared/data/real_blur/shen2018")
    ap.add_argument("--columns", type=int, default=4, help="faces per row")
    ap.add_argument("--out", default="docs/real_blur_grid.png")
    args = ap.parse_args()
    folder = args.folder or shared_file("data", "real_blur", "shen2018")
    if folder is None:
        raise SystemExit("error: no --folder and ../shared/data/real_blur/shen2018 is absent")
    deblurrers = {m: Deblurrer.load(m) for m in args.model}
    write_image(args.out, real_blur_grid(deblurrers, folder, args.columns))
    print(f"wrote {args.out} (input | " + " | ".join(args.model) + ")")


if __name__ == "__main__":
    main()
