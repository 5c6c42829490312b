"""Quality per kernel size: PSNR / SSIM (tf.image) of the blurred input and of each model.

Protocol (Shen et al. 2018 / UMSN for faces): each image (central ``center_crop`` px resized to
``image_size``) is blurred with a camera-shake kernel of each size in ``sizes`` plus Gaussian noise
of std ``noise_sigma``. Kernels and noise come from ``seed``, so the blurred set is identical across
runs; the kernels are returned (and saved by the CLI) with the results.
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from deblur_tf.data import list_images, sharp_dataset
from deblur_tf.degrade import LITERATURE_KERNEL_SIZES, Degradation, build_kernel_bank


def oracle_baselines(wiener_nsr: float = 0.03, rl_iterations: int = 20) -> dict:
    """Wiener and Richardson–Lucy given each image's true kernel (see deblur_tf.baselines).

    Defaults chosen on the LFW val split by scripts/tune_oracles.py (results in scripts/results).
    """
    from deblur_tf import baselines
    return {
        "wiener_oracle": lambda images, kernels: np.stack(
            [baselines.wiener(im, k, wiener_nsr) for im, k in zip(images, kernels)]),
        "richardson_lucy_oracle": lambda images, kernels: np.stack(
            [baselines.richardson_lucy(im, k, rl_iterations) for im, k in zip(images, kernels)]),
    }


def evaluate(restorers: dict, source, *, root=None, sizes=LITERATURE_KERNEL_SIZES,
             noise_sigma: float = 0.01, image_size: int = 128, center_crop: int | None = 150,
             limit: int | None = None, seed: int = 0, batch_size: int = 8,
             oracles: dict | None = None, lpips=None) -> dict:
    """``restorers``: name -> callable mapping a float [N, H, W, 3] batch in [0, 1] to the same.
    ``oracles``: name -> callable(batch, true kernels) (see ``oracle_baselines``).
    ``lpips``: a ``metrics.LPIPS`` to add LPIPS-VGG, or None.

    Returns {"per_size": {size: {method: {psnr, ssim, [lpips], seconds_per_image}}}, "overall":
    {...}, "kernels": {size: array}, "count": n}.
    """
    files = list_images(source, root)[:limit]
    methods = {"blurred": None, **(oracles or {}), **restorers}
    per_size, kernels = {}, {}
    metric_names = ["psnr", "ssim"] + (["lpips"] if lpips is not None else [])
    empty = lambda: {**{m: [] for m in metric_names}, "seconds": 0.0}  # noqa: E731
    sums = {m: empty() for m in methods}
    for size in sizes:
        bank = build_kernel_bank([{"type": "trajectory", "sizes": [int(size)]}],
                                 count=len(files), seed=seed * 1000 + int(size))
        kernels[int(size)] = bank.kernels
        noise = [{"op": "gaussian_noise", "sigma": noise_sigma}] if noise_sigma else []
        chain = Degradation.from_kernel_bank(bank, noise)
        ds = sharp_dataset(files, chain, image_size=image_size, batch_size=batch_size,
                           center_crop=center_crop, training=False, seed=seed + int(size),
                           with_kernel_index=True)
        scores = {m: empty() for m in methods}
        for blurred, sharp, index in ds:
            batch_kernels = bank.kernels[index.numpy()]
            for name, fn in methods.items():
                t = time.perf_counter()
                if fn is None:
                    out = blurred
                elif name in (oracles or {}):
                    out = fn(blurred.numpy(), batch_kernels)
                else:
                    out = fn(blurred.numpy())
                scores[name]["seconds"] += time.perf_counter() - t
                out = tf.clip_by_value(tf.convert_to_tensor(out, tf.float32), 0.0, 1.0)
                scores[name]["psnr"] += tf.image.psnr(out, sharp, 1.0).numpy().tolist()
                scores[name]["ssim"] += tf.image.ssim(out, sharp, 1.0).numpy().tolist()
                if lpips is not None:
                    scores[name]["lpips"] += lpips(out, sharp).numpy().tolist()
        per_size[int(size)] = {name: _summary(s, metric_names, len(files)) for name, s in scores.items()}
        for name, s in scores.items():
            for k in metric_names:
                sums[name][k] += s[k]
            sums[name]["seconds"] += s["seconds"]
    overall = {name: _summary(s, metric_names, len(files) * len(sizes)) for name, s in sums.items()}
    return {"count": len(files), "sizes": [int(s) for s in sizes], "noise_sigma": noise_sigma,
            "image_size": image_size, "center_crop": center_crop, "seed": seed,
            "per_size": per_size, "overall": overall, "kernels": kernels}


def _summary(scores: dict, metric_names, count: int) -> dict:
    return {**{k: float(np.mean(scores[k])) for k in metric_names},
            "seconds_per_image": scores["seconds"] / count}


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
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from deblur_tf.io import atomic_path
    sizes = results["sizes"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for name in results["overall"]:
        for ax, metric in zip(axes, ("psnr", "ssim")):
            ax.plot(sizes, [results["per_size"][s][name][metric] for s in sizes], "o-", label=name)
            ax.set_xlabel("kernel size (px)")
            ax.set_ylabel(metric.upper())
            ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{results['count']} images, noise σ={results['noise_sigma']}", fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
