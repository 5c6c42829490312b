"""Quality per kernel size: PSNR / SSIM (tf.image) of the blurred input and of each model.

Protocol (Shen et al. 2018 / UMSN for faces): each image (central ``center_crop`` px resized to
``image_size``) is blurred with a camera-shake kernel of each size in ``sizes`` plus Gaussian noise
of std ``noise_sigma``. Kernels and noise come from ``seed``, so the blurred set is identical across
runs; the kernels are returned (and saved by the CLI) with the results.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import tensorflow as tf

from deblur_tf.data import LFW_FACE_CROP, list_images, sharp_dataset
from deblur_tf.degrade import (LITERATURE_KERNEL_SIZES, Degradation, KernelBank, build_kernel_bank,
                              centre_of_mass_centred)


def oracle_baselines(wiener_nsr: float = 0.03, rl_iterations: int = 20) -> dict:
    """Wiener and Richardson–Lucy given each image's true kernel (see deblur_tf.baselines).

    Defaults chosen on the LFW val split by scripts/tune_oracles.py (results in scripts/results).
    """
    from deblur_tf import baselines
    return {  # batched: one kernel per image, [N, H, W, 3] with [N, k, k]
        "wiener_oracle": lambda images, kernels: baselines.wiener(images, kernels, wiener_nsr),
        "richardson_lucy_oracle": lambda images, kernels: baselines.richardson_lucy(
            images, kernels, rl_iterations),
    }


PSNR_CAP = 100.0


@tf.function(reduce_retracing=True)
def _clipped_psnr_ssim(out, sharp):
    """The output clipped to [0, 1], and its per-image PSNR and SSIM against ``sharp``; one graph
    (SSIM is dozens of ops: run eagerly they took twice as long)."""
    out = tf.clip_by_value(tf.cast(out, tf.float32), 0.0, 1.0)
    return out, tf.image.psnr(out, sharp, 1.0), tf.image.ssim(out, sharp, 1.0)


def _empty_scores(metric_names) -> dict:
    return {**{m: [] for m in metric_names}, "seconds": 0.0}


def _score_pass(methods: dict, oracles: dict, ds, bank, lpips, metric_names, lpips_every: int = 1) -> dict:
    """Run every method on one pass over ``ds`` (blurred, sharp, kernel index) and collect
    per-image scores. ``methods``: name -> None (the blurred input itself) or a restorer.
    LPIPS is scored on every ``lpips_every``-th face of the pass (the same faces for all methods)."""
    scores = {m: _empty_scores(metric_names) for m in methods}
    seen = 0
    for blurred, sharp, index in ds:
        keep = np.flatnonzero((np.arange(seen, seen + len(sharp)) % lpips_every) == 0)
        seen += len(sharp)
        reference = (lpips.reference(tf.gather(sharp, keep)) if lpips is not None and len(keep)
                     else None)
        for name, fn in methods.items():
            t = time.perf_counter()
            if fn is None:
                out = blurred
            elif name in oracles:
                out = fn(blurred.numpy(), bank.kernels[index.numpy()])
            else:
                out = fn(blurred.numpy())
            scores[name]["seconds"] += time.perf_counter() - t
            out, psnr, ssim = _clipped_psnr_ssim(tf.convert_to_tensor(out, tf.float32), sharp)
            # Capped at 100 dB: an unchanged image (the 'sharp' condition) would be +inf.
            scores[name]["psnr"] += np.minimum(psnr.numpy(), PSNR_CAP).tolist()
            scores[name]["ssim"] += ssim.numpy().tolist()
            if reference is not None:
                scores[name]["lpips"] += lpips.distance_to(tf.gather(out, keep), reference).numpy().tolist()
    return scores


def _protocol_bank(size: int, count: int, seed: int):
    """The protocol's camera-shake kernels of one size (Boracchi–Foi trajectories, seeded)."""
    return build_kernel_bank([{"type": "trajectory", "sizes": [int(size)]}], count=count,
                             seed=seed * 1000 + int(size))


def evaluate(restorers: dict, source, *, root=None, sizes=LITERATURE_KERNEL_SIZES,
             noise_sigma: float = 0.01, image_size: int = 128, center_crop: int | None = LFW_FACE_CROP,
             limit: int | None = None, seed: int = 0, batch_size: int = 8,
             oracles: dict | None = None, lpips=None, lpips_every: int = 1, progress=None) -> dict:
    """``restorers``: name -> callable mapping a float [N, H, W, 3] batch in [0, 1] to the same.
    ``oracles``: name -> callable(batch, true kernels) (see ``oracle_baselines``).
    ``lpips``: a ``metrics.LPIPS`` to add LPIPS-VGG, or None.

    Returns {"per_size": {size: {method: {psnr, ssim, [lpips], seconds_per_image}}}, "overall":
    {...}, "kernels": {size: array}, "count": n}.
    """
    files = list_images(source, root)[:limit]
    oracles = oracles or {}
    methods = {"blurred": None, **oracles, **restorers}
    per_size, kernels = {}, {}
    metric_names = ["psnr", "ssim"] + (["lpips"] if lpips is not None else [])
    sums = {m: _empty_scores(metric_names) for m in methods}
    for size in sizes:
        bank = _protocol_bank(size, len(files), seed)
        kernels[int(size)] = bank.kernels
        noise = [{"op": "gaussian_noise", "sigma": noise_sigma}] if noise_sigma else []
        chain = Degradation.from_kernel_bank(bank, noise)
        ds = sharp_dataset(files, chain, image_size=image_size, batch_size=batch_size,
                           center_crop=center_crop, training=False, seed=seed + int(size),
                           with_kernel_index=True)
        scores = _score_pass(methods, oracles, ds, bank, lpips, metric_names, lpips_every)
        per_size[int(size)] = {name: _summary(s, metric_names, len(files)) for name, s in scores.items()}
        if progress is not None:
            progress(len(per_size), len(sizes), f"{size} px")
        for name, s in scores.items():
            for k in metric_names:
                sums[name][k] += s[k]
            sums[name]["seconds"] += s["seconds"]
    overall = {name: _summary(s, metric_names, len(files) * len(sizes)) for name, s in sums.items()}
    return {"count": len(files), "sizes": [int(s) for s in sizes], "noise_sigma": noise_sigma,
            "image_size": image_size, "center_crop": center_crop, "seed": seed,
            "per_size": per_size, "overall": overall, "kernels": kernels}


# --- the generalization suite --------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Condition:
    """One column of the suite: how each test face is degraded.

    kernels: ``"sizes"`` (camera shake of each size in ``sizes`` × each face, as the protocol),
    ``"mixed"`` (one protocol-size camera-shake kernel per face), ``"levin"`` (each of the real
    kernels × each face) or ``"none"`` (no blur).
    """
    name: str
    description: str
    kernels: str
    sizes: tuple = LITERATURE_KERNEL_SIZES
    center_crop: int = LFW_FACE_CROP
    noise_sigma: float = 0.01
    jpeg_quality: int | None = None
    oracles: bool = False
    centre_kernels: bool = False  # move each kernel's centre of mass to its centre (levin)


SUITE = (
    Condition("shen", "the protocol: camera shake 13–27 px, each size × each face, σ 0.01",
              "sizes", oracles=True),
    Condition("levin", "the 8 real camera-shake kernels of Levin et al. 2009 × each face, σ 0.01",
              "levin", oracles=True),
    Condition("mild", "camera shake 3–9 px, each size × each face, σ 0.01", "sizes", sizes=(3, 5, 7, 9)),
    Condition("tight", "crop 110 px → 128 (a tighter face), one protocol kernel per face, σ 0.01",
              "mixed", center_crop=110),
    Condition("loose", "crop 200 px → 128 (a looser face), one protocol kernel per face, σ 0.01",
              "mixed", center_crop=200),
    Condition("jpeg", "one protocol kernel per face, σ 0.01, then JPEG quality 60", "mixed",
              jpeg_quality=60),
    Condition("sharp", "no blur, no noise: each output against its own (sharp) input — do no harm",
              "none", noise_sigma=0.0),
)

# Not in the default suite; chosen by name (``--conditions levin_centred``).
# The Levin kernels' centres of mass sit up to 3.3 px off their centre (levin6: 3.3, 2.9), so
# blurring with them also moves the face by that much. The training kernels (and the protocol's)
# are centred, and a blind method cannot know the shift: the kernel and the image are only defined
# up to a translation. This column keeps the real kernels' shapes and removes the shift (to the
# nearest pixel), separating "cannot deblur this shape" from "cannot undo an unknown translation".
EXTRA_CONDITIONS = (
    Condition("levin_centred", "the 8 Levin kernels, each moved (to the nearest px) so its centre of "
              "mass is its centre, × each face, σ 0.01", "levin", oracles=True, centre_kernels=True),
)
CONDITIONS = SUITE + EXTRA_CONDITIONS


def levin_kernels(path=None) -> dict[str, np.ndarray]:
    """The 8 real camera-shake kernels (../shared/data/kernels) — for evaluation only."""
    from deblur_tf.paths import shared_file
    path = path or shared_file("data", "kernels", "levin2009_real_camera_shake.npz")
    if path is None:
        raise FileNotFoundError("the levin condition needs ../shared/data/kernels/"
                                "levin2009_real_camera_shake.npz (or --levin-kernels PATH)")
    with np.load(path) as data:
        return {k: np.asarray(data[k], np.float32) for k in sorted(data.files, key=lambda k: (len(k), k))}


def _condition_passes(cond: Condition, count: int, seed: int, levin: dict | None):
    """(bank or None, dataset seed) for each pass of a condition over all the faces."""
    if cond.kernels == "sizes":
        # For 'shen' this is exactly the single-protocol evaluation (same kernels, same noise).
        return [(_protocol_bank(s, count, seed), seed + int(s)) for s in cond.sizes]
    if cond.kernels == "mixed":
        offset = 100 + sum(map(ord, cond.name))  # each condition its own kernels, fixed by name
        bank = build_kernel_bank([{"type": "trajectory", "sizes": list(cond.sizes)}], count=count,
                                 seed=seed * 1000 + offset)
        return [(bank, seed + offset)]
    if cond.kernels == "levin":
        kernels = [centre_of_mass_centred(k) if cond.centre_kernels else k for k in levin.values()]
        side = max(k.shape[0] for k in kernels)
        passes = []
        for i, k in enumerate(kernels):
            padded = np.pad(k, (side - k.shape[0]) // 2)
            bank = KernelBank(padded[None], np.asarray([k.shape[0]], np.int32), np.asarray(["levin"]))
            passes.append((bank, seed + 500 + i))
        return passes
    if cond.kernels == "none":
        return [(None, seed)]
    raise ValueError(f"unknown kernel setting {cond.kernels!r}")


def evaluate_suite(restorers: dict, source, *, root=None, conditions=SUITE, image_size: int = 128,
                   limit: int | None = None, seed: int = 0, batch_size: int = 16,
                   oracles: dict | None = None, lpips=None, lpips_every: int = 1, levin_path=None,
                   progress=None) -> dict:
    """Every restorer on every condition of ``conditions`` (default: the whole suite).

    Oracles run on the conditions that ask for them (given the true kernel). The ``sharp``
    condition has no 'blurred' row: its input is the target. LPIPS (VGG16, the slow part) is
    scored on every ``lpips_every``-th face. ``progress(done, total, label)`` is called after
    each pass. Returns {"count", "conditions": {name: {"description", "images",
    "methods": {method: {psnr, ssim, [lpips], seconds_per_image}}}}}.
    """
    files = list_images(source, root)[:limit]
    oracles = oracles or {}
    levin = levin_kernels(levin_path) if any(c.kernels == "levin" for c in conditions) else None
    metric_names = ["psnr", "ssim"] + (["lpips"] if lpips is not None else [])
    plan = [(c, _condition_passes(c, len(files), seed, levin)) for c in conditions]
    total, done = sum(len(p) for _, p in plan), 0
    results = {}
    for cond, passes in plan:
        methods = {**({} if cond.kernels == "none" else {"blurred": None}),
                   **(oracles if cond.oracles else {}), **restorers}
        sums = {m: _empty_scores(metric_names) for m in methods}
        for bank, pass_seed in passes:
            steps = [{"op": "gaussian_noise", "sigma": cond.noise_sigma}] if cond.noise_sigma else []
            if cond.jpeg_quality is not None:
                steps.append({"op": "jpeg", "quality": cond.jpeg_quality})
            chain = (Degradation.from_kernel_bank(bank, steps) if bank is not None
                     else Degradation(steps))
            ds = sharp_dataset(files, chain, image_size=image_size, batch_size=batch_size,
                               center_crop=cond.center_crop, training=False, seed=pass_seed,
                               with_kernel_index=True)
            scores = _score_pass(methods, oracles if cond.oracles else {}, ds, bank, lpips,
                                 metric_names, lpips_every)
            for name, sc in scores.items():
                for k in metric_names:
                    sums[name][k] += sc[k]
                sums[name]["seconds"] += sc["seconds"]
            done += 1
            if progress is not None:
                progress(done, total, cond.name)
        n = len(files) * len(passes)
        results[cond.name] = {"description": cond.description, "images": n,
                              "methods": {m: _summary(sc, metric_names, n) for m, sc in sums.items()}}
    return {"count": len(files), "image_size": image_size, "seed": seed, "lpips_every": lpips_every,
            "metrics": metric_names, "conditions": results}


def suite_gains(results: dict) -> dict:
    """PSNR gain over the blurred input per condition and method (the 'sharp' column: PSNR of
    the output against its input, which is the score itself)."""
    gains = {}
    for cname, cond in results["conditions"].items():
        base = cond["methods"].get("blurred", {}).get("psnr")
        gains[cname] = {m: (r["psnr"] - base if base is not None else r["psnr"])
                        for m, r in cond["methods"].items() if m != "blurred"}
    return gains


def suite_markdown(results: dict) -> str:
    """One table per metric: methods as rows, conditions as columns (PSNR: value and gain)."""
    conds = list(results["conditions"])
    methods = list(dict.fromkeys(m for c in results["conditions"].values() for m in c["methods"]))
    gains = suite_gains(results)
    out = [f"{results['count']} faces; images per condition: "
           + ", ".join(f"{c} {results['conditions'][c]['images']}" for c in conds)
           + (f"; LPIPS on every {results['lpips_every']}th face"
              if results.get("lpips_every", 1) > 1 and "lpips" in results["metrics"] else "") + "\n"]
    for metric in results["metrics"]:
        out.append(f"**{metric.upper()}**" + (" (gain over the blurred input; `sharp`: output vs "
                                               "its own input)" if metric == "psnr" else "") + "\n")
        out.append("| method | " + " | ".join(conds) + " |")
        out.append("| --- |" + " --- |" * len(conds))
        for m in methods:
            cells = []
            for c in conds:
                r = results["conditions"][c]["methods"].get(m)
                if r is None:
                    cells.append("")
                elif metric == "psnr":
                    g = gains[c].get(m)
                    cells.append(f"{r['psnr']:.2f}" + (f" ({g:+.2f})" if g is not None and c != "sharp"
                                                         and m != "blurred" else ""))
                else:
                    cells.append(f"{r[metric]:.4f}")
            out.append(f"| {m} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def plot_suite(results: dict, path: str) -> None:
    """Grouped bars: PSNR gain per condition (and output-vs-input PSNR for 'sharp')."""
    from deblur_tf.plots import suite_bars
    suite_bars(suite_gains(results), results["count"], path)


def _summary(scores: dict, metric_names, count: int) -> dict:
    return {**{k: float(np.mean(scores[k])) for k in metric_names},
            "seconds_per_image": scores["seconds"] / count}


RESULT_FILES = (".json", ".md", ".png", ".kernels.npz")   # what save_results writes
SUITE_FILES = (".json", ".md", ".png", ".real_blur.png")   # what save_suite writes


def save_results(results: dict, path) -> None:
    """The protocol's results beside ``path``: JSON, Markdown table, plot, and the kernels (.npz),
    each written atomically. Pops ``results["kernels"]`` (arrays do not go into the JSON)."""
    import json
    from pathlib import Path

    from deblur_tf.io import atomic_path
    path = Path(path)
    kernels = results.pop("kernels")
    with atomic_path(path.with_suffix(".json")) as tmp:
        Path(tmp).write_text(json.dumps(results, indent=2))
    with atomic_path(path.with_suffix(".kernels.npz")) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **{f"size_{k}": v for k, v in kernels.items()})
    plot_psnr_by_size(results, str(path.with_suffix(".png")))
    with atomic_path(path.with_suffix(".md")) as tmp:
        Path(tmp).write_text(markdown_table(results))


def save_suite(results: dict, path, deblurrers: dict | None = None, real_blur_folder=None) -> None:
    """The suite's results beside ``path``: JSON, Markdown, bar plot, and (with ``deblurrers`` and
    a folder of real blurred faces) the real-blur grid; each written atomically."""
    import json
    from pathlib import Path

    from deblur_tf.io import atomic_path, write_image
    path = Path(path)
    with atomic_path(path.with_suffix(".json")) as tmp:
        Path(tmp).write_text(json.dumps(results, indent=2))
    with atomic_path(path.with_suffix(".md")) as tmp:
        Path(tmp).write_text(suite_markdown(results))
    plot_suite(results, str(path.with_suffix(".png")))
    if deblurrers and real_blur_folder is not None:
        write_image(path.with_suffix(".real_blur.png"), real_blur_grid(deblurrers, real_blur_folder))


def markdown_table(results: dict) -> str:
    """Methods as rows; PSNR / SSIM (/ LPIPS) overall, then PSNR per kernel size."""
    metrics = [m for m in ("psnr", "ssim", "lpips") if m in next(iter(results["overall"].values()))]
    sizes = results["sizes"]
    head = ["method", *[m.upper() for m in metrics], "ms / image", *[f"PSNR {s}px" for s in sizes]]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, r in results["overall"].items():
        cells = [name, *[f"{r[m]:.4f}" if m != "psnr" else f"{r[m]:.2f}" for m in metrics],
                 f"{1000 * r['seconds_per_image']:.1f}",
                 *[f"{results['per_size'][s][name]['psnr']:.2f}" for s in sizes]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_psnr_by_size(results: dict, path: str) -> None:
    from deblur_tf.plots import metric_by_size
    sizes = results["sizes"]
    curves = {metric: {name: [results["per_size"][s][name][metric] for s in sizes]
                       for name in results["overall"]} for metric in ("psnr", "ssim")}
    metric_by_size(sizes, curves, f"{results['count']} images, noise σ={results['noise_sigma']}", path)


def real_blur_grid(deblurrers: dict, folder, columns: int = 2) -> np.ndarray:
    """A uint8 picture of the real blurred faces in ``folder`` (Shen et al.'s 20, no ground truth),
    each as input | one output per deblurrer, ``columns`` faces per row, 8 px white gaps."""
    from pathlib import Path

    from deblur_tf.io import read_rgb
    files = sorted((p for p in Path(folder).iterdir() if p.suffix.lower() == ".png"),
                   key=lambda p: (len(p.stem), p.stem))
    cells = []
    for path in files:
        image = read_rgb(str(path))
        row = [image] + [d(image) for d in deblurrers.values()]
        gap = np.full((image.shape[0], 2, 3), 255, np.uint8)
        parts = [x for im in row for x in (im, gap)][:-1]
        cells.append(np.concatenate(parts + [np.full((image.shape[0], 8, 3), 255, np.uint8)], axis=1))
    rows = [np.concatenate(cells[i:i + columns], axis=1) for i in range(0, len(cells), columns)]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 8), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return np.concatenate(rows, axis=0)
