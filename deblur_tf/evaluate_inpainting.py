"""The inpainting protocol: damaged LFW test faces, one column per kind of damage.

Each face (LFW's central 150 px resized to 128, as for deblurring) gets one mask per kind — eyes,
nose, mouth (facial-part ellipses at the face template's landmarks), free-form strokes small
(3–15 % of the face) and large (15–40 %), and a rectangle — drawn from ``seed``, so every method
sees the same holes. The holes are filled with black. Scores on the whole face (PSNR, SSIM, LPIPS)
and the mean absolute error inside the hole (``hole_l1``, 0–255 grey levels).

Methods are callables (images [N, H, W, 3], masks [N, H, W, 1]) -> images, e.g.
``Inpainter.restore_float``; the baselines are OpenCV's Telea and Navier-Stokes inpainting and the
surroundings pre-fill alone (``deblur_tf.inpainting.BASELINES``).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from deblur_tf.data import LFW_FACE_CROP, damaged_dataset, list_images
from deblur_tf.degrade.masks import MaskSampler


@dataclasses.dataclass(frozen=True)
class MaskKind:
    name: str
    spec: dict
    description: str


INPAINT_KINDS = (
    MaskKind("eyes", {"type": "part", "parts": ["left_eye", "right_eye", "eyes"], "area": [0.03, 0.4]},
             "one eye or both (ellipses at the template's eyes)"),
    MaskKind("nose", {"type": "part", "parts": ["nose"], "area": [0.03, 0.4]}, "the nose"),
    MaskKind("mouth", {"type": "part", "parts": ["mouth"], "area": [0.03, 0.4]}, "the mouth"),
    MaskKind("brush_small", {"type": "brush", "area": [0.03, 0.15]}, "free-form strokes, 3–15 % of the face"),
    MaskKind("brush_large", {"type": "brush", "area": [0.15, 0.40]}, "free-form strokes, 15–40 %"),
    MaskKind("rect", {"type": "rect", "area": [0.03, 0.40]}, "one rectangle, 3–40 %"),
)
PART_KINDS = ("eyes", "nose", "mouth")
RESULT_FILES = (".json", ".md", ".png", ".grid.jpg")  # what save_inpainting writes (JPEG grid: ~10x smaller)


def evaluate_inpainting(methods: dict, source, *, root=None, kinds=INPAINT_KINDS, image_size: int = 128,
                        center_crop: int | None = LFW_FACE_CROP, limit: int | None = None, seed: int = 0,
                        batch_size: int = 16, lpips=None, lpips_every: int = 1, grid_faces: int = 2,
                        progress=None) -> dict:
    """Every method on every kind of damage. Returns {"count", "kinds": {kind: {"description",
    "hole_fraction", "methods": {method: {psnr, ssim, [lpips], hole_l1, seconds_per_image}}}},
    "grid": {kind: [damaged, *methods, clean] uint8 rows of the first ``grid_faces`` faces}}."""
    files = list_images(source, root)[:limit]
    metric_names = ["psnr", "ssim", "hole_l1"] + (["lpips"] if lpips is not None else [])
    results, grid = {}, {}
    for k, kind in enumerate(kinds):
        sampler = MaskSampler([kind.spec], image_size)
        ds = damaged_dataset(files, sampler, fills=["black"], image_size=image_size,
                             batch_size=batch_size, center_crop=center_crop, training=False,
                             seed=seed + 100 * k)
        scores = {m: {**{n: [] for n in metric_names}, "seconds": 0.0} for m in methods}
        holes, seen, first = [], 0, None
        for (damaged, mask), clean in ds:
            keep = np.flatnonzero((np.arange(seen, seen + len(clean)) % lpips_every) == 0)
            seen += len(clean)
            reference = lpips.reference(tf.gather(clean, keep)) if lpips is not None and len(keep) else None
            holes += tf.reduce_mean(mask, axis=[1, 2, 3]).numpy().tolist()
            outs = {}
            for name, fn in methods.items():
                t = time.perf_counter()
                out = fn(damaged.numpy(), mask.numpy())
                scores[name]["seconds"] += time.perf_counter() - t
                out = tf.clip_by_value(tf.convert_to_tensor(out, tf.float32), 0.0, 1.0)
                s = scores[name]
                s["psnr"] += tf.image.psnr(out, clean, 1.0).numpy().tolist()
                s["ssim"] += tf.image.ssim(out, clean, 1.0).numpy().tolist()
                err = tf.reduce_sum(mask * tf.abs(out - clean), axis=[1, 2, 3])
                s["hole_l1"] += (255.0 * err / tf.maximum(3.0 * tf.reduce_sum(mask, axis=[1, 2, 3]), 1.0)
                                 ).numpy().tolist()
                if reference is not None:
                    s["lpips"] += lpips.distance_to(tf.gather(out, keep), reference).numpy().tolist()
                outs[name] = out.numpy()[:grid_faces]
            if first is None:  # the picture grid shows the first faces of each kind
                first = [damaged.numpy()[:grid_faces], *outs.values(), clean.numpy()[:grid_faces]]
        grid[kind.name] = first
        n = len(files)
        results[kind.name] = {
            "description": kind.description, "hole_fraction": float(np.mean(holes)),
            "methods": {m: {**{x: float(np.mean(s[x])) for x in metric_names},
                            "seconds_per_image": s["seconds"] / n} for m, s in scores.items()}}
        if progress is not None:
            progress(k + 1, len(kinds), kind.name)
    return {"count": len(files), "image_size": image_size, "seed": seed, "fill": "black",
            "lpips_every": lpips_every, "metrics": metric_names, "kinds": results,
            "grid_columns": ["damaged", *methods, "clean"], "grid": grid}


def inpainting_markdown(results: dict) -> str:
    """One table per metric: methods as rows, kinds of damage as columns."""
    kinds = list(results["kinds"])
    methods = list(next(iter(results["kinds"].values()))["methods"])
    out = [f"{results['count']} faces, one mask per kind each (holes filled with "
           f"{results['fill']}); mean hole: "
           + ", ".join(f"{k} {100 * results['kinds'][k]['hole_fraction']:.1f} %" for k in kinds)
           + (f"; LPIPS on every {results['lpips_every']}th face" if results.get("lpips_every", 1) > 1
              and "lpips" in results["metrics"] else "") + "\n"]
    labels = {"psnr": "PSNR (dB, whole face)", "ssim": "SSIM (whole face)",
              "lpips": "LPIPS (whole face, lower is better)",
              "hole_l1": "L1 inside the hole (grey levels, lower is better)"}
    for metric in results["metrics"]:
        out.append(f"**{labels[metric]}**\n")
        out.append("| method | " + " | ".join(kinds) + " |")
        out.append("| --- |" + " --- |" * len(kinds))
        for m in methods:
            fmt = "{:.2f}" if metric in ("psnr", "hole_l1") else "{:.4f}"
            out.append(f"| {m} | " + " | ".join(fmt.format(results["kinds"][k]["methods"][m][metric])
                                               for k in kinds) + " |")
        out.append("")
    return "\n".join(out)


def plot_inpainting(results: dict, path: str) -> None:
    """Grouped bars: PSNR per kind of damage and method."""
    from deblur_tf.plots import inpainting_bars
    kinds = list(results["kinds"])
    methods = list(next(iter(results["kinds"].values()))["methods"])
    values = {metric: {m: [results["kinds"][k]["methods"][m][metric] for k in kinds] for m in methods}
              for metric in ("psnr", "hole_l1")}
    inpainting_bars(kinds, values, results["count"], path)


def inpainting_grid(results: dict) -> np.ndarray:
    """A uint8 picture: per kind of damage, its faces as rows of damaged | each method | clean."""
    rows = []
    for images in results["grid"].values():
        for i in range(len(images[0])):
            cells = [np.pad(np.asarray(col[i]), ((2, 2), (2, 2), (0, 0)), constant_values=1.0)
                     for col in images]
            rows.append(np.concatenate(cells, axis=1))
    return np.clip(np.round(np.concatenate(rows, axis=0) * 255), 0, 255).astype(np.uint8)


def save_inpainting(results: dict, path) -> None:
    """JSON, Markdown, plot and picture grid beside ``path``, each written atomically. The grid
    images are taken out of ``results`` (arrays do not go into the JSON)."""
    from deblur_tf.io import atomic_path, write_image
    path = Path(path)
    write_image(path.with_suffix(".grid.jpg"), inpainting_grid(results))
    results = {k: v for k, v in results.items() if k != "grid"}
    with atomic_path(path.with_suffix(".json")) as tmp:
        Path(tmp).write_text(json.dumps(results, indent=2))
    with atomic_path(path.with_suffix(".md")) as tmp:
        Path(tmp).write_text(inpainting_markdown(results) + "\nGrid columns: "
                             + " | ".join(results["grid_columns"]) + "\n")
    plot_inpainting(results, str(path.with_suffix(".png")))
