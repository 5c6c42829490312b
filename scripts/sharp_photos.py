"""Do no harm on whole photos: sharp photos through ``deblur-tf deblur`` (faces auto) must come back
nearly unchanged. PSNR of each output against its own input, per model, over the whole photo and
over the faces' boxes.

    python scripts/sharp_photos.py --model exported/deblur_tf_face.keras --model v2.keras \
        --limit 100 --out scripts/results/sharp_photos.json

Photos: the first ``--limit`` whole LFW *test* photos (250 x 250, sharp, one face each, found by
the detector as in the CLI) and two public-domain portraits that ship with the installed packages
(scikit-image's ``astronaut``, matplotlib's ``grace_hopper``). Without ../shared only the portraits.
The suite's ``sharp`` column measures the same on aligned crops; this is the user's path: detection,
alignment, restoration, paste-back.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_faces import portraits  # noqa: E402
from bench_report import psnr_db, write_report  # noqa: E402

from deblur_tf.errors import DeblurTFError  # noqa: E402
from deblur_tf.inference import Deblurrer  # noqa: E402
from deblur_tf.io import read_rgb  # noqa: E402
from deblur_tf.paths import default_model_path, given_or_shipped, shared_file  # noqa: E402


PSNR_CAP = 99.0  # a photo left exactly as it was


def sharp_photos(limit: int) -> tuple[list[tuple[str, np.ndarray]], str]:
    photos = [(name, image) for name, image in zip(["astronaut", "grace_hopper"], portraits())]
    split = shared_file("data", "lfw", "splits", "test.txt")
    if split is None:
        return photos, "2 public-domain portraits (../shared absent: no LFW photos)"
    root = shared_file("data", "lfw", "images")
    names = [line.strip() for line in split.read_text().splitlines() if line.strip()][:limit]
    photos += [(name, read_rgb(str(root / name))) for name in names]
    return photos, f"2 public-domain portraits + the first {len(names)} whole LFW test photos (250 x 250)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", default=[], help="repeatable; default: the shipped model")
    ap.add_argument("--limit", type=int, default=100, help="LFW test photos")
    ap.add_argument("--out", default="scripts/results/sharp_photos.json")
    args = ap.parse_args()

    models = given_or_shipped(args.model, default_model_path())
    if not models:
        raise SystemExit("error: no --model and no shipped model in exported/")
    try:  # every model loads before the first photo: a typo fails in a second, not an hour
        deblurrers = {model: Deblurrer.load(model) for model in models}
    except DeblurTFError as e:
        raise SystemExit(f"error: {e}") from None
    photos, source = sharp_photos(args.limit)
    results = {}
    for model, deblurrer in deblurrers.items():
        whole, face, no_face, per_photo = [], [], 0, {}
        for name, image in photos:
            out, faces = deblurrer.restore(image, faces="auto")
            whole.append(psnr_db(out, image, PSNR_CAP))
            if not faces:
                no_face += 1
            for f in faces:
                x0, y0, x1, y1 = (int(round(v)) for v in f.box)
                x0, y0 = max(x0, 0), max(y0, 0)
                face.append(psnr_db(out[y0:y1, x0:x1], image[y0:y1, x0:x1], PSNR_CAP))
            per_photo[name] = round(whole[-1], 2)
        results[model] = {"photos": len(photos), "photos_without_a_face": no_face, "faces": len(face),
                          "psnr_whole_mean_db": float(np.mean(whole)), "psnr_whole_min_db": float(np.min(whole)),
                          "psnr_face_mean_db": float(np.mean(face)) if face else None,
                          "psnr_face_min_db": float(np.min(face)) if face else None,
                          "per_photo_psnr_db": per_photo}
        r = results[model]
        print(f"{model}: whole photo mean {r['psnr_whole_mean_db']:.2f} dB (min {r['psnr_whole_min_db']:.2f}), "
              f"face boxes mean {r['psnr_face_mean_db'] or float('nan'):.2f} dB "
              f"(min {r['psnr_face_min_db'] or float('nan'):.2f}); {no_face} photos without a face")
    report = {"what": "PSNR of deblur-tf deblur --faces auto output vs its own (sharp) input",
              "photos": source, "results": results}
    bars = {f"{Path(m).name}: face boxes": r["psnr_face_mean_db"] or 0.0 for m, r in results.items()}
    write_report(report, args.out, bars, "PSNR output vs input on sharp photos (dB, mean over faces)")


if __name__ == "__main__":
    main()
