"""How much tile overlap a model needs: the largest difference between a photo restored in tiles
and the same photo restored in one pass, for each overlap.

    python scripts/tile_overlap.py exported/deblur_tf_face.keras --out scripts/results/tile_overlap.json

The photo is scikit-image's astronaut resized to ``--side`` px (default 1536: 2 x 2 tiles of the
default 1024 px). Reported per overlap: the largest difference in grey levels after rounding to
8 bits (the bar is 1), the largest before rounding, and how many values are off by more than 1.
Use it to choose ``--overlap`` for a model of your own: its reach, not the shipped model's, sets
what it needs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_report import write_report  # noqa: E402

from deblur_tf.errors import DeblurTFError  # noqa: E402
from deblur_tf.inference import DEFAULT_OVERLAP, DEFAULT_TILE, Deblurrer, restore_tiled, tile_overlap  # noqa: E402
from deblur_tf.io import to_uint8  # noqa: E402
from deblur_tf.paths import default_model_path  # noqa: E402


def astronaut(side: int) -> np.ndarray:
    """scikit-image's astronaut (512 px) resized to ``side``, float32 in [0, 1]."""
    import cv2
    import skimage.data
    photo = cv2.resize(skimage.data.astronaut(), (side, side), interpolation=cv2.INTER_CUBIC)
    return photo.astype(np.float32) / 255


def tiled_vs_whole(run, photo: np.ndarray, tile: int, overlap: int, whole: np.ndarray) -> dict:
    """How far ``photo`` restored by ``run`` in tiles is from ``whole``, its one-pass output, in
    grey levels: after rounding both to 8 bits (max, mean, 99th percentile, values off by more
    than 1) and before (max)."""
    tiled = restore_tiled(run, photo, tile, overlap)
    diff = np.abs(to_uint8(tiled).astype(int) - to_uint8(whole).astype(int))
    return {"tile": tile, "overlap": overlap, "max_abs_diff": float(diff.max()),
            "mean_abs_diff": float(diff.mean()), "p99_abs_diff": float(np.percentile(diff, 99)),
            "values_off_by_more_than_1": int((diff > 1).sum()),
            "max_abs_diff_unrounded": float(np.abs(tiled - whole).max() * 255)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default=None, help="default: the shipped model")
    ap.add_argument("--tile", type=int, default=DEFAULT_TILE)
    ap.add_argument("--overlaps", default=f"32,256,384,448,{DEFAULT_OVERLAP},510",
                    help="comma-separated overlaps (px), each under half the tile")
    ap.add_argument("--side", type=int, default=1536, help="photo side (px), larger than --tile")
    ap.add_argument("--out", default="scripts/results/tile_overlap.json")
    args = ap.parse_args()

    try:
        overlaps = [tile_overlap(args.tile, int(v)) for v in args.overlaps.split(",")]
    except ValueError as e:
        raise SystemExit(f"error: --overlaps: {e}") from None
    if args.side <= args.tile:
        raise SystemExit(f"error: --side ({args.side}) must be larger than --tile ({args.tile}) to make tiles")
    model = args.model or default_model_path()
    if model is None:
        raise SystemExit("error: no model given and no shipped model in exported/")
    try:
        deblurrer = Deblurrer.load(model, tile=args.side)
    except DeblurTFError as e:
        raise SystemExit(f"error: {e}") from None
    photo = astronaut(args.side)
    whole = deblurrer.restore_float(photo[None])[0]
    rows = {}
    for overlap in overlaps:
        r = rows[str(overlap)] = tiled_vs_whole(deblurrer.backend, photo, args.tile, overlap, whole)
        print(f"overlap {overlap:4d} px: max {r['max_abs_diff']:.0f} grey levels "
              f"({r['max_abs_diff_unrounded']:.2f} before rounding), "
              f"{r['values_off_by_more_than_1']} values off by more than 1", flush=True)
    report = {"what": "tiled vs one-pass output, by tile overlap", "model": str(model), "tile": args.tile,
              "photo": f"skimage astronaut resized to {args.side}x{args.side}", "overlaps": rows}
    write_report(report, args.out, {f"{k} px": v["max_abs_diff_unrounded"] for k, v in rows.items()},
                 "largest tiled vs one-pass difference before rounding (grey levels)")


if __name__ == "__main__":
    main()
