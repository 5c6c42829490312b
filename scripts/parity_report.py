"""Parity of every export against the Keras generator, on real faces.

    python scripts/parity_report.py exported/deblur_tf_face.keras --out exported/parity.json
    python scripts/parity_report.py exported/deblur_tf_face.keras --shipped   # the files beside it

Exports SavedModel and TFLite fp32 / fp16 / dynamic / int8 (int8 calibrated on LFW *train* faces),
or with ``--shipped`` takes the exports already beside the model (``<name>_savedmodel/``,
``<name>_fp16.tflite``, ``<name>_int8.tflite``: what `deblur-tf export` wrote and users get), runs
each on LFW *test* faces (central 150 px -> 128, blurred like the evaluation protocol) and
reports max / mean absolute pixel difference and PSNR against the Keras output, plus int8 vs fp32.
Without ../shared it uses synthetic smooth images (say so in any report). Writes JSON + Markdown.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from bench_report import psnr_db, write_report  # noqa: E402
from deblur_tf.data import sharp_dataset  # noqa: E402
from deblur_tf.degrade import Degradation  # noqa: E402
from deblur_tf.export import calibration_faces, export_variants, representative_faces  # noqa: E402
from deblur_tf.errors import DeblurTFError  # noqa: E402
from deblur_tf.io import to_uint8  # noqa: E402
from deblur_tf.inference import KerasBackend, load_backend, load_generator  # noqa: E402
from deblur_tf.paths import EXPORT_SUFFIXES, export_name, shared_file  # noqa: E402


def fmt_db(value) -> str:
    return "identical" if value is None else f"{value:.2f}"


def test_faces(count: int) -> tuple[np.ndarray, str]:
    split = shared_file("data", "lfw", "splits", "test.txt")
    if split is None:
        rng = np.random.default_rng(0)
        import cv2
        imgs = [cv2.GaussianBlur(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8), (0, 0), 3)
                for _ in range(count)]
        return np.stack(imgs), "synthetic smooth images (../shared absent)"
    chain = Degradation([{"op": "blur", "bank_size": 64, "kernels": [{"type": "trajectory"}]},
                         {"op": "gaussian_noise", "sigma": 0.01}])
    ds = sharp_dataset(str(split), chain, root=str(shared_file("data", "lfw", "images")), center_crop=150,
                       image_size=128, batch_size=count, training=False, seed=0)
    blurred, _ = next(iter(ds))
    return np.round(blurred.numpy() * 255).astype(np.uint8), f"{count} blurred LFW test faces"


def calibration(count: int):
    if shared_file("data", "lfw", "splits", "train.txt") is None:
        faces, _ = test_faces(count)
        return representative_faces(list(faces))
    return calibration_faces(count=count)


def shipped_exports(model: str) -> dict[str, Path]:
    """The exports beside ``model`` (named as `deblur-tf export` names them), those that exist."""
    folder, name = Path(model).parent, export_name(model)
    found = {kind: folder / (name + suffix) for kind, suffix in EXPORT_SUFFIXES.items() if kind != "keras"}
    found = {kind: path for kind, path in found.items() if path.exists()}
    if not found:
        raise SystemExit(f"error: no exports beside {model} (expected e.g. {name}_savedmodel/)")
    return found


def restore_uint8(backend, faces: np.ndarray) -> np.ndarray:
    """Run a backend on uint8 faces one at a time, as an app would; uint8 out."""
    return np.stack([to_uint8(backend(f[None].astype(np.float32) / 255)[0]) for f in faces])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--faces", type=int, default=32)
    ap.add_argument("--out", default="parity.json")
    ap.add_argument("--shipped", action="store_true",
                    help="check the exports beside MODEL instead of re-making every variant")
    args = ap.parse_args()

    try:
        generator = load_generator(args.model)
    except DeblurTFError as e:
        raise SystemExit(f"error: {e}") from None
    faces, source = test_faces(args.faces)
    keras_out = restore_uint8(KerasBackend(generator), faces)
    rows, outputs = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        variants = shipped_exports(args.model) if args.shipped else export_variants(generator, tmp, calibration(100))
        for name, path in variants.items():
            out = outputs[name] = restore_uint8(load_backend(path), faces)
            diff = np.abs(out.astype(int) - keras_out)
            rows[name] = {"max_abs_diff": int(diff.max()), "mean_abs_diff": float(diff.mean()),
                          "psnr_vs_keras_db": psnr_db(out, keras_out),
                          "size_mb": round(sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())
                                           / 1e6 if Path(path).is_dir() else Path(path).stat().st_size / 1e6, 2)}
            print(f"{name:16s} max {rows[name]['max_abs_diff']:4d}  mean {rows[name]['mean_abs_diff']:.3f}  "
                  f"PSNR {fmt_db(rows[name]['psnr_vs_keras_db'])} dB  {rows[name]['size_mb']} MB")
    int8_vs_fp32 = None  # the shipped files have no fp32 TFLite to compare with
    if "tflite_fp32" in outputs and "tflite_int8" in outputs:
        int8_vs_fp32 = psnr_db(outputs["tflite_int8"], outputs["tflite_fp32"])
        print(f"int8 vs fp32 TFLite PSNR: {fmt_db(int8_vs_fp32)} dB")
    report = {"model": args.model, "faces": source, "results": rows, "int8_vs_fp32_psnr_db": int8_vs_fp32}
    write_report(report, args.out, {k: min(v["psnr_vs_keras_db"] or 99.0, 99.0) for k, v in rows.items()},
                 "PSNR vs the Keras output (dB; 99 = identical)")
    md = ["| export | max abs diff | mean abs diff | PSNR vs Keras (dB) | size (MB) |",
          "| --- | --- | --- | --- | --- |"]
    md += [f"| {k} | {v['max_abs_diff']} | {v['mean_abs_diff']:.3f} | {fmt_db(v['psnr_vs_keras_db'])} | {v['size_mb']} |"
           for k, v in rows.items()]
    md.append((f"\nint8 vs fp32 TFLite: {fmt_db(int8_vs_fp32)} dB PSNR. " if int8_vs_fp32 is not None
               else "\nThe shipped files. ") + f"Faces: {source}.")
    Path(args.out).with_suffix(".md").write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
