"""Ship an inpainting generator: .keras, SavedModel and TFLite fp16 in exported/, with a parity
report of each export against the Keras model on damaged LFW test faces.

    python scripts/ship_inpainter.py RUN/generator.keras --out-dir exported

Parity: the same faces and masks as the inpainting protocol (the first ``--faces`` LFW test faces,
one mask of each kind), restored one at a time as an app would. Reports the max / mean absolute
difference in grey levels against the Keras output, and checks that no pixel farther than the seam
(4 px) from a hole changed. Without ../shared it uses synthetic smooth images (and says so).
Writes ``inpaint_parity.json`` / ``.md`` / ``.png`` beside the exports.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench_report import write_report  # noqa: E402
from deblur_tf.export import export_savedmodel, export_tflite  # noqa: E402
from deblur_tf.inference import load_generator  # noqa: E402
from deblur_tf.paths import EXPORT_SUFFIXES  # noqa: E402
from deblur_tf.inpainting import Inpainter  # noqa: E402
from deblur_tf.paths import shared_file  # noqa: E402


def damaged_faces(count: int) -> tuple[np.ndarray, np.ndarray, str]:
    """uint8 faces [N, 128, 128, 3] and masks [N, 128, 128] (255 = hole), and where they came from."""
    from deblur_tf.data import damaged_dataset
    from deblur_tf.degrade.masks import MaskSampler
    from deblur_tf.evaluate_inpainting import INPAINT_KINDS
    split = shared_file("data", "lfw", "splits", "test.txt")
    if split is None:
        rng = np.random.default_rng(0)
        folder = Path(os.environ.get("TMPDIR", "/tmp")) / "ship_inpainter_faces"
        folder.mkdir(exist_ok=True)
        for i in range(count):
            cv2.imwrite(str(folder / f"{i}.png"),
                        cv2.GaussianBlur(rng.integers(0, 256, (250, 250, 3), dtype=np.uint8), (0, 0), 3))
        source, root, label = str(folder), None, "synthetic smooth images (../shared absent)"
    else:
        source, root = str(split), str(shared_file("data", "lfw", "images"))
        label = f"the first {count} LFW test faces"
    faces, masks = [], []
    for k, kind in enumerate(INPAINT_KINDS):
        ds = damaged_dataset(source, MaskSampler([kind.spec], 128), fills=["black"], root=root,
                             center_crop=150, batch_size=count, training=False, seed=100 * k)
        (damaged, mask), _ = next(iter(ds))
        faces.append(np.round(damaged.numpy()[:count] * 255).astype(np.uint8))
        masks.append((mask.numpy()[:count, ..., 0] * 255).astype(np.uint8))
    return np.concatenate(faces), np.concatenate(masks), f"{label}, one mask of each of the {len(INPAINT_KINDS)} kinds"


def size_mb(path: Path) -> float:
    files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
    return round(sum(p.stat().st_size for p in files) / 1e6, 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="the inpainting generator (.keras) to ship")
    ap.add_argument("--out-dir", default="exported")
    ap.add_argument("--name", default="deblur_tf_inpaint")
    ap.add_argument("--faces", type=int, default=16, help="faces per mask kind for the parity check")
    args = ap.parse_args()

    out = Path(args.out_dir)
    generator = load_generator(args.model)
    keras_path = out / f"{args.name}.keras"
    if Path(args.model).resolve() != keras_path.resolve():
        shutil.copyfile(args.model, keras_path)
    paths = {"keras": keras_path,
             "savedmodel": export_savedmodel(generator, out / (args.name + EXPORT_SUFFIXES["savedmodel"])),
             "tflite_fp16": export_tflite(generator, out / (args.name + EXPORT_SUFFIXES["tflite_fp16"]),
                                          "fp16")}
    faces, masks, source = damaged_faces(args.faces)
    keep = np.stack([cv2.dilate(m, np.ones((9, 9), np.uint8)) == 0 for m in masks])
    outputs = {}
    for name, path in paths.items():
        inpainter = Inpainter.load(path)
        outputs[name] = np.stack([inpainter(f, m) for f, m in zip(faces, masks)]).astype(int)
    rows = {}
    for name, out_images in outputs.items():
        diff = np.abs(out_images - outputs["keras"])
        rows[name] = {"max_abs_diff": int(diff.max()), "mean_abs_diff": float(diff.mean()),
                      "changed_far_from_holes": int((out_images != faces)[keep].sum()),
                      "size_mb": size_mb(Path(paths[name]))}
        print(f"{name:12s} max {rows[name]['max_abs_diff']:3d}  mean {rows[name]['mean_abs_diff']:.4f}  "
              f"changed outside holes {rows[name]['changed_far_from_holes']}  {rows[name]['size_mb']} MB")
    report = {"model": args.model, "faces": source, "images": len(faces),
              "bounds": {"savedmodel": 1, "tflite_fp16": 2}, "results": rows}
    write_report(report, str(out / "inpaint_parity.json"),
                 {k: v["max_abs_diff"] for k, v in rows.items()}, "max |export - keras| (grey levels)")
    md = ["| export | max abs diff | mean abs diff | pixels changed > 4 px from a hole | size (MB) |",
          "| --- | --- | --- | --- | --- |"]
    md += [f"| {k} | {v['max_abs_diff']} | {v['mean_abs_diff']:.4f} | {v['changed_far_from_holes']} | "
           f"{v['size_mb']} |" for k, v in rows.items()]
    md.append(f"\n{len(faces)} damaged faces: {source}. Bounds: SavedModel ≤ 1, TFLite fp16 ≤ 2 grey levels.")
    (out / "inpaint_parity.md").write_text("\n".join(md) + "\n")
    bad = [k for k, bound in report["bounds"].items() if rows[k]["max_abs_diff"] > bound]
    if bad:
        raise SystemExit(f"parity bound exceeded: {bad}")


if __name__ == "__main__":
    main()
