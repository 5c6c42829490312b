"""Every figure the project draws (matplotlib, off-screen), written atomically as PNG.

Callers pass plain numbers and images; what the numbers mean (gains, protocols) stays with the
module that computed them.
"""

import os
from contextlib import contextmanager

import numpy as np


@contextmanager
def figure(path: str | os.PathLike, *args, dpi: int = 100, **kwargs):
    """``plt.subplots(*args, **kwargs)`` for the block, then a tight layout saved atomically to
    ``path`` (a reader never sees half a PNG) and the figure closed."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from deblur_tf.io import atomic_path
    fig, axes = plt.subplots(*args, **kwargs)
    try:
        yield fig, axes
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi)
    finally:
        plt.close(fig)


def grouped_bars(ax, groups: list[str], series: dict[str, list[float]]) -> None:
    """One bar per (group, series), the series side by side within each group."""
    width = 0.8 / max(len(series), 1)
    for i, (label, values) in enumerate(series.items()):
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(groups))]
        ax.bar(xs, values, width, label=label)
    ax.set_xticks(range(len(groups)), groups, fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def comparison_grid(columns: tuple, path: str | os.PathLike, names: tuple[str, ...], title: str = "",
                    psnr_against_last: bool = True) -> None:
    """One row per image, one column per array in ``columns`` (e.g. blurred | restored | sharp);
    every column but the last gets its PSNR against the last in its title."""
    import tensorflow as tf
    rows = len(columns[0])
    with figure(path, rows, len(columns), figsize=(2.5 * len(columns), 2.5 * rows + 0.3),
                squeeze=False, dpi=80) as (fig, axes):
        for r in range(rows):
            reference = np.asarray(columns[-1][r], np.float32)
            for c, (images, name) in enumerate(zip(columns, names)):
                img = np.clip(np.asarray(images[r], np.float32), 0, 1)
                ax = axes[r, c]
                ax.imshow(img)
                ax.set_axis_off()
                label = name
                if psnr_against_last and c < len(columns) - 1:
                    label += f"  {float(tf.image.psnr(img, reference, max_val=1.0)):.2f} dB"
                ax.set_title(label, fontsize=9)
        if title:
            fig.suptitle(title, fontsize=10)


def suite_bars(gains: dict[str, dict[str, float]], count: int, path: str | os.PathLike) -> None:
    """The generalization suite: PSNR gain per condition and method, and 'sharp' beside it
    (output against its own input, with the 40 dB do-no-harm line)."""
    conds = [c for c in gains if c != "sharp"]
    methods = list(dict.fromkeys(m for c in conds for m in gains[c]))
    with figure(path, 1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [5, 1]}) as (fig, (ax, ax2)):
        grouped_bars(ax, conds, {m: [gains[c].get(m, np.nan) for c in conds] for m in methods})
        ax.axhline(0, color="k", lw=0.8)
        ax.set_ylabel("PSNR gain over blurred input (dB)")
        ax.legend(fontsize=7, ncol=2)
        if "sharp" in gains:
            ms = list(gains["sharp"])
            ax2.bar(range(len(ms)), [gains["sharp"][m] for m in ms],
                    color=[f"C{methods.index(m)}" if m in methods else "grey" for m in ms])
            ax2.axhline(40, color="r", lw=0.8, ls="--")
            ax2.set_xticks(range(len(ms)), ms, rotation=30, ha="right", fontsize=7)
            ax2.set_title("sharp: output vs input (dB)", fontsize=9)
        fig.suptitle(f"generalization suite, {count} faces", fontsize=10)


def metric_by_size(sizes: list, curves: dict[str, dict[str, list[float]]], title: str,
                   path: str | os.PathLike) -> None:
    """PSNR and SSIM against kernel size, one line per method: ``curves[metric][method]``."""
    with figure(path, 1, 2, figsize=(9, 3.4)) as (fig, axes):
        for ax, metric in zip(axes, ("psnr", "ssim")):
            for name, values in curves[metric].items():
                ax.plot(sizes, values, "o-", label=name)
            ax.set_xlabel("kernel size (px)")
            ax.set_ylabel(metric.upper())
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=8)
        fig.suptitle(title, fontsize=10)


def inpainting_bars(kinds: list[str], values: dict[str, dict[str, list[float]]], count: int,
                    path: str | os.PathLike) -> None:
    """Inpainting: PSNR and hole L1 per kind of damage and method (``values[metric][method]``)."""
    with figure(path, 1, 2, figsize=(11, 3.8)) as (fig, axes):
        for ax, metric, label in ((axes[0], "psnr", "PSNR, whole face (dB)"),
                                  (axes[1], "hole_l1", "L1 in the hole (grey levels)")):
            grouped_bars(ax, kinds, values[metric])
            ax.set_ylabel(label)
        axes[0].legend(fontsize=7)
        lo = min(min(v) for v in values["psnr"].values())
        axes[0].set_ylim(max(lo - 3, 0), None)
        fig.suptitle(f"inpainting, {count} LFW test faces", fontsize=10)
