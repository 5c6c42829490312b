"""Shared output of the benchmark scripts: a JSON report and a horizontal bar plot beside it."""

from __future__ import annotations

import json
import os
import platform


def psnr_db(a, b, cap: float | None = None) -> float | None:
    """PSNR in dB of two 8-bit images (any shape). Identical images have no finite PSNR: None, or
    ``cap`` when given (for scores that are averaged, e.g. a photo left exactly as it was)."""
    import numpy as np
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    if mse == 0:
        return cap
    value = 10 * np.log10(255.0**2 / mse)
    return value if cap is None else min(cap, value)


def machine_info() -> dict:
    import tensorflow as tf
    return {"cpu_count": os.cpu_count(), "machine": platform.machine(), "tensorflow": tf.__version__}


def write_report(report: dict, out: str, bars: dict[str, float], xlabel: str) -> None:
    """Write ``report`` as JSON to ``out`` and ``bars`` (label -> value) as ``out`` with .png."""
    from deblur_tf.plots import figure
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        json.dump({**report, **machine_info()}, f, indent=2)
    with figure(os.path.splitext(out)[0] + ".png", figsize=(7, 0.5 * len(bars) + 1.4)) as (fig, ax):
        ax.barh(list(bars), list(bars.values()))
        for y, value in enumerate(bars.values()):
            ax.text(value, y, f" {value:.3g}", va="center", fontsize=8)
        ax.set_xlabel(xlabel)
    print("wrote", out)
