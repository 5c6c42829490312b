"""The README's damaged-face picture: the astronaut photo with an eye and a scratch painted out,
repaired by an inpainting model (whole photo, faces found and pasted back) and by OpenCV Telea.

    python scripts/inpaint_picture.py exported/deblur_tf_inpaint.keras -o docs/inpaint_astronaut.jpg

Columns: mask | damaged | the model | OpenCV Telea | original, cropped to the face, with PSNR of the
face region against the original.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import skimage.data  # noqa: E402

from bench_report import psnr_db  # noqa: E402

from deblur_tf.inpainting import Inpainter  # noqa: E402
from deblur_tf.io import write_image  # noqa: E402

FACE = (slice(40, 220), slice(140, 290))  # rows, columns of the astronaut's face


def damaged_astronaut():
    photo = skimage.data.astronaut()
    mask = np.zeros(photo.shape[:2], np.uint8)
    cv2.ellipse(mask, (204, 98), (20, 13), 0, 0, 360, 255, thickness=-1)  # an eye
    cv2.line(mask, (185, 150), (240, 175), 255, thickness=6)              # a scratch
    damaged = photo.copy()
    damaged[mask > 127] = 0
    return photo, damaged, mask


def label(image: np.ndarray, text: str) -> np.ndarray:
    out = np.pad(image, ((22, 0), (2, 2), (0, 0)), constant_values=255)
    cv2.putText(out, text, (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("-o", "--output", default="inpaint_astronaut.jpg")
    args = ap.parse_args()
    photo, damaged, mask = damaged_astronaut()
    columns = [label(np.repeat(mask[FACE][..., None], 3, axis=2), "mask"),
               label(damaged[FACE], f"damaged {psnr_db(damaged[FACE], photo[FACE]):.1f} dB")]
    for name, path in (("ours", args.model), ("OpenCV Telea", "opencv-telea")):
        out, faces = Inpainter.load(path).restore(damaged, mask, faces="auto")
        print(f"{name}: {len(faces)} face(s) repaired, face PSNR {psnr_db(out[FACE], photo[FACE]):.2f} dB")
        columns.append(label(out[FACE], f"{name} {psnr_db(out[FACE], photo[FACE]):.1f} dB"))
    columns.append(label(photo[FACE], "original"))
    picture = np.concatenate(columns, axis=1)
    picture = cv2.resize(picture, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)
    write_image(args.output, picture)
    print("wrote", args.output)


if __name__ == "__main__":
    main()
