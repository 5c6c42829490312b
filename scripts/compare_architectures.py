"""Train every seed generator with its paper's recipe under the same budget, then compare them.

Budget: the same number of images seen by each generator (``--steps`` generator updates of batch
8; adversarial recipes also run 5 critic updates per step, so they cost more CPU, which is
reported). Each run lives in ``--runs/<experiment>`` and resumes if killed; the training CPU time
is accumulated in ``cpu_seconds.json`` there. Then one evaluation of all generators with the
quality protocol of ``deblur-tf evaluate`` (LFW test split, camera-shake kernels 13..27 px, noise
0.01, PSNR / SSIM / LPIPS per kernel size), plus params, FLOPs at 128x128 and time to deblur one
128x128 face and one 512x512 image — written as JSON + Markdown table + plot.

    python scripts/compare_architectures.py --steps 1500 --limit 100 --runs ~/deblur-runs/compare \\
        --out docs/comparison.json

Times measured while something else shares the cores are worthless; ``--retime`` re-measures the
two time columns of an existing comparison on an idle machine (time does not depend on the weights,
so each registered architecture is rebuilt untrained; references are loaded from their files) and
rewrites the JSON, table and plot:

    python scripts/compare_architectures.py --retime --out docs/comparison.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from deblur_tf.config import apply_overrides, get_experiment  # noqa: E402

EXPERIMENTS = ("lfw_compact_warmup", "lfw_unet_res_murugan", "lfw_ird_chen", "lfw_unet_enhance_qi",
               "lfw_fpn_mobilenet", "lfw_inception_deepdeblur")


def train_all(experiments, steps: int, runs: Path) -> dict:
    from deblur_tf.train import run
    cpu = {}
    for name in experiments:
        cfg = apply_overrides(get_experiment(name), {"train": {
            "steps": steps, "steps_per_epoch": min(100, steps), "checkpoint_every": min(100, steps),
            "verbose": 2}})
        run_dir = runs / name
        run_dir.mkdir(parents=True, exist_ok=True)
        ledger = run_dir / "cpu_seconds.json"
        spent = json.loads(ledger.read_text())["seconds"] if ledger.is_file() else 0.0
        t0 = time.process_time()
        result = run(cfg, run_dir)
        spent += time.process_time() - t0
        ledger.write_text(json.dumps({"seconds": spent}))
        if result.stopped_by_signal is not None:
            sys.exit(f"stopped by a signal during {name}; run the same command again to resume")
        cpu[name] = {"generator": cfg.model.generator, "cpu_seconds": spent,
                     "path": str(run_dir / "generator.keras"), "adversarial": cfg.loss.adversarial,
                     "loss": {k: v for k, v in vars(cfg.loss).items() if k.endswith("_weight") or k == "adversarial"}}
    return cpu


def times_ms(deblurrer) -> dict:
    """The two time columns: ms to deblur one 128x128 face and one 512x512 image."""
    return {"ms_128": 1000 * time_per_image(deblurrer, 128), "ms_512": 1000 * time_per_image(deblurrer, 512)}


def time_per_image(deblurrer, size: int, repeats: int = 5) -> float:
    x = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    deblurrer(x)
    t = time.perf_counter()
    for _ in range(repeats):
        deblurrer(x)
    return (time.perf_counter() - t) / repeats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1500, help="generator updates per architecture")
    ap.add_argument("--limit", type=int, default=100, help="LFW test images in the evaluation")
    ap.add_argument("--runs", type=Path, default=Path.home() / "deblur-runs" / "compare")
    ap.add_argument("--experiments", default=",".join(EXPERIMENTS))
    ap.add_argument("--out", default="docs/comparison.json")
    ap.add_argument("--retime", action="store_true",
                    help="only re-measure ms @128 / @512 of the comparison in --out, then rewrite it")
    ap.add_argument("--reference", action="append", default=[], metavar="NAME=MODEL",
                    help="also evaluate an already trained model (e.g. the shipped one), reported "
                         "apart because it did not get the same budget; repeatable")
    args = ap.parse_args()
    references = {}
    for item in args.reference:
        name, sep, path = item.partition("=")
        if not sep or not Path(path).expanduser().exists():
            sys.exit(f"error: --reference wants NAME=MODEL with an existing model, got {item!r}")
        references[name] = str(Path(path).expanduser())

    from deblur_tf.evaluate import evaluate, oracle_baselines
    from deblur_tf.inference import Deblurrer, load_generator
    from deblur_tf.metrics import optional_lpips
    from deblur_tf.models.flops import count_flops
    from deblur_tf.paths import lfw_test_split

    out = Path(args.out)
    if args.retime:
        if not out.is_file():
            sys.exit(f"error: --retime needs an existing comparison, {out} not found")
        results = json.loads(out.read_text())
        results["per_size"] = {int(k): v for k, v in results["per_size"].items()}  # JSON keys are str
        retime(results["architectures"])
        results["timing"] = "re-measured alone with `--retime`"
        write_report(results, out)
        return

    trained = train_all(args.experiments.split(","), args.steps, args.runs.expanduser())
    for name, path in references.items():
        trained[name] = {"path": path, "reference": True}
    # Parameters and FLOPs of the trained form; the Deblurrer's Keras backend may run a folded copy.
    generators = {name: load_generator(info["path"]) for name, info in trained.items()}
    deblurrers = {name: Deblurrer(g) for name, g in generators.items()}
    for name, g in generators.items():
        if name in references:
            trained[name]["generator"] = g.name
        trained[name].update(params=int(g.count_params()), gflops_128=count_flops(g, 128, 128) / 1e9,
                             **times_ms(deblurrers[name]))
    images, root = lfw_test_split()
    results = evaluate({name: d.restore_float for name, d in deblurrers.items()}, images, root=root,
                       limit=args.limit,
                       oracles=oracle_baselines(), lpips=optional_lpips())
    results.pop("kernels")
    results.update(architectures=trained, steps=args.steps, images_seen=args.steps * 8,
                   timing="measured in the same run as the evaluation",
                   command=" ".join(["python scripts/compare_architectures.py", *sys.argv[1:]]))
    out.parent.mkdir(parents=True, exist_ok=True)
    write_report(results, out)


def retime(architectures: dict) -> None:
    """Re-measure ms_128 / ms_512 in place, one architecture at a time."""
    from deblur_tf.inference import Deblurrer
    from deblur_tf.models import build_generator
    for name, a in architectures.items():
        if a.get("reference"):
            d = Deblurrer.load(a["path"])
        else:
            d = Deblurrer(build_generator(a["generator"]))
        a.update(times_ms(d))
        print(f"{name}: {a['ms_128']:.0f} ms @128, {a['ms_512']:.0f} ms @512", flush=True)


def write_report(results: dict, out: Path) -> None:
    """JSON, Markdown table and plot, each written atomically."""
    from deblur_tf.evaluate import markdown_table
    from deblur_tf.io import atomic_path
    with atomic_path(out) as tmp:
        Path(tmp).write_text(json.dumps(results, indent=2) + "\n")
    plot_comparison(results, str(out.with_suffix(".png")))
    rows = ["| generator | experiment | params | GFLOPs @128² | ms @128² | ms @512² | training CPU h |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, a in results["architectures"].items():
        cpu = "reference" if a.get("reference") else f"{a['cpu_seconds'] / 3600:.2f}"
        rows.append(f"| {a['generator']} | {name} | {a['params'] / 1e6:.2f} M | {a['gflops_128']:.2f} | "
                    f"{a['ms_128']:.0f} | {a['ms_512']:.0f} | {cpu} |")
    steps = results["steps"]
    budget = (f"Budget: {steps} generator updates of batch 8 = {results['images_seen']} training "
              f"images seen per architecture; {results['count']} LFW test images x "
              f"{len(results['sizes'])} kernel sizes. The quality table's \"ms / image\" was measured "
              f"during the evaluation; the ms columns below were {results.get('timing', 'measured in the same run')} "
              f"(2 CPU threads, Keras backend, one image per call).\n\n"
              f"Made by `{results.get('command', 'scripts/compare_architectures.py')}`.\n\n")
    with atomic_path(out.with_suffix(".md")) as tmp:
        Path(tmp).write_text(budget + markdown_table(results) + "\n" + "\n".join(rows) + "\n")
    print(out.with_suffix(".md").read_text())


def plot_comparison(results: dict, path: str) -> None:
    """PSNR by kernel size (left) and LPIPS against time per 512x512 image (right)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from deblur_tf.io import atomic_path
    sizes = results["sizes"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    colour = {}
    for name in results["overall"]:
        line, = axes[0].plot(sizes, [results["per_size"][s][name]["psnr"] for s in sizes], "o-", label=name)
        colour[name] = line.get_color()
    axes[0].set_xlabel("kernel size (px)")
    axes[0].set_ylabel("PSNR (dB)")
    axes[0].grid(alpha=0.3)
    metric = "lpips" if "lpips" in next(iter(results["overall"].values())) else "psnr"
    for name, a in results["architectures"].items():
        axes[1].scatter(a["ms_512"], results["overall"][name][metric], color=colour[name],
                        marker="s" if a.get("reference") else "o")
        axes[1].annotate(name, (a["ms_512"], results["overall"][name][metric]), fontsize=7)
    axes[1].axhline(results["overall"]["blurred"][metric], color=colour["blurred"], ls="--", lw=1)
    axes[1].annotate("blurred input", (0.01, results["overall"]["blurred"][metric]), fontsize=7,
                     xycoords=("axes fraction", "data"))
    axes[1].set_xscale("log")
    axes[1].set_xlabel("ms per 512x512 image (CPU, 2 cores)")
    axes[1].set_ylabel(metric.upper() + (" (lower is better)" if metric == "lpips" else ""))
    axes[1].grid(alpha=0.3)
    fig.suptitle(f"{results['steps']} generator updates ({results['images_seen']} images) each")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=5, fontsize=8)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
