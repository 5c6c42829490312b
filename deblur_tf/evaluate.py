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


def evaluate(restorers: dict, source, *, root=None, sizes=LITERATURE_KERNEL_SIZES,
             noise_sigma: float = 0.01, image_size: int = 128, center_crop: int | None = 150,
             limit: int | None = None, seed: int = 0, batch_size: int = 8) -> dict:
    """``restorers``: name -> callable mapping a float [N, H, W, 3] batch in [0, 1] to the same.

    Returns {"per_size": {size: {method: {psnr, ssim, seconds_per_image}}}, "overall": {...},
    "kernels": {size: array}, "count": n}.
    """
    files = list_images(source, root)[:limit]
    methods = {"blurred": None, **restorers}
    per_size, kernels = {}, {}
    sums = {m: {"psnr": [], "ssim": [], "seconds": 0.0} for m in methods}
    for size in sizes:
        bank = build_kernel_bank([{"type": "trajectory", "sizes": [int(size)]}],
                                 count=len(files), seed=seed * 1000 + int(size))
        kernels[int(size)] = bank.kernels
        noise = [{"op": "gaussian_noise", "sigma": noise_sigma}] if noise_sigma else []
        chain = Degradation.from_kernel_bank(bank, noise)
        ds = sharp_dataset(files, chain, image_size=image_size, batch_size=batch_size,
                           center_crop=center_crop, training=False, seed=seed + int(size))
        scores = {m: {"psnr": [], "ssim": [], "seconds": 0.0} for m in methods}
        for blurred, sharp in ds:
            for name, fn in methods.items():
                t = time.perf_counter()
                out = blurred if fn is None else tf.convert_to_tensor(fn(blurred.numpy()), tf.float32)
                scores[name]["seconds"] += time.perf_counter() - t
                out = tf.clip_by_value(out, 0.0, 1.0)
                scores[name]["psnr"] += tf.image.psnr(out, sharp, 1.0).numpy().tolist()
                scores[name]["ssim"] += tf.image.ssim(out, sharp, 1.0).numpy().tolist()
        per_size[int(size)] = {}
        for name, s in scores.items():
            per_size[int(size)][name] = {"psnr": float(np.mean(s["psnr"])), "ssim": float(np.mean(s["ssim"])),
                                         "seconds_per_image": s["seconds"] / len(files)}
            for k in ("psnr", "ssim"):
                sums[name][k] += s[k]
            sums[name]["seconds"] += s["seconds"]
    overall = {name: {"psnr": float(np.mean(s["psnr"])), "ssim": float(np.mean(s["ssim"])),
                      "seconds_per_image": s["seconds"] / (len(files) * len(sizes))}
               for name, s in sums.items()}
    return {"count": len(files), "sizes": [int(s) for s in sizes], "noise_sigma": noise_sigma,
            "image_size": image_size, "center_crop": center_crop, "seed": seed,
            "per_size": per_size, "overall": overall, "kernels": kernels}


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
