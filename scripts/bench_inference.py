"""Inference latency per backend and size (median of repeats after warm-up, 2 threads; several
models are timed round-robin, one call of each in turn, so load changes hit them alike).

    python scripts/bench_inference.py exported/deblur_tf_face.keras checkpoints/v1/deblur_tf_face_v1.keras \
        --out scripts/results/bench_inference.json

Backends: Keras eager (model(x) each call), Keras tf.function (both run the architecture's
inference form, as ``Deblurrer`` does: NAFNet folded), SavedModel, TFLite fp32 / fp16 /
dynamic / int8 (LiteRT). Sizes 128², 256², 512², and a 1536² photo restored in the default tiles
(``DEFAULT_TILE`` px sharing ``DEFAULT_OVERLAP``: 2 x 2 of them), and tiled vs whole-image pixels
there. Prints each backend's speed-up
over Keras eager and, with several models, each one's time relative to the first, all measured in
this one run, interleaved.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(2)
tf.config.threading.set_inter_op_parallelism_threads(1)

from bench_report import write_report  # noqa: E402
from tile_overlap import astronaut, tiled_vs_whole  # noqa: E402
from deblur_tf.export import export_variants, representative_faces  # noqa: E402
from deblur_tf.io import to_uint8  # noqa: E402
from deblur_tf.models import inference_form  # noqa: E402
from deblur_tf.inference import (DEFAULT_OVERLAP, DEFAULT_TILE, KerasBackend, load_backend, load_generator,
                                  restore_tiled)  # noqa: E402


class EagerBackend:
    def __init__(self, generator):
        self.generator = generator

    def __call__(self, x):
        return self.generator(tf.constant(x), training=False).numpy()


def interleaved_median_seconds(fns: list, repeats: int, warmup: int = 2) -> list[float]:
    """Median seconds of each function, timed round-robin (one call of each per round): a change
    in the machine's load during the run hits every model alike, so their ratios stay fair."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, t in zip(fns, times):
            start = time.perf_counter()
            fn()
            t.append(time.perf_counter() - start)
    return [float(np.median(t)) for t in times]


def prepare_backends(path: str, wanted_backends) -> tuple[dict, int]:
    """One model's backends (Keras eager and tf.function, and its exports) and parameter count."""
    generator = load_generator(path)
    rng = np.random.default_rng(0)
    tmp = tempfile.mkdtemp(prefix="bench_inference_")  # the exports must outlive this call
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    calib = representative_faces([to_uint8(rng.random((128, 128, 3), dtype=np.float32))] * 4)
    folded = inference_form(generator)  # once: what the Keras backend and the exports run
    backends = {"keras_eager": EagerBackend(folded), "keras_tf_function": KerasBackend(folded)}
    backends.update({name: load_backend(p, num_threads=2)
                     for name, p in export_variants(folded, tmp, calib).items()})
    return ({k: b for k, b in backends.items() if wanted_backends is None or k in wanted_backends},
            int(generator.count_params()))


def bench_models(paths: list[str], wanted_backends, wanted_sizes, repeats: int) -> tuple[dict, dict]:
    """Median seconds per model, backend and size, the models timed interleaved; also each
    model's backends and parameter count."""
    prepared = {path: prepare_backends(path, wanted_backends) for path in paths}
    rng = np.random.default_rng(0)
    sizes = {k: s for k, s in SIZES.items() if wanted_sizes is None or k in wanted_sizes}
    images = {k: rng.random((1, s, s, 3), dtype=np.float32) for k, s in sizes.items()}
    results = {path: {} for path in paths}
    for name in prepared[paths[0]][0]:
        for key, image in images.items():
            fns = []
            for path in paths:
                backend = prepared[path][0][name]
                if key == TILED_KEY:
                    fns.append(lambda b=backend, x=image: restore_tiled(b, x[0], DEFAULT_TILE,
                                                                        DEFAULT_OVERLAP))
                else:
                    fns.append(lambda b=backend, x=image: b(x))
            n = repeats if key != TILED_KEY else max(repeats // 4, 2)
            for path, seconds in zip(paths, interleaved_median_seconds(fns, n)):
                results[path].setdefault(name, {})[key] = seconds
        for path in paths:
            print(" ", Path(path).name[:24].ljust(24), name.ljust(18),
                  "  ".join(f"{k}: {1000 * v:8.1f} ms" for k, v in results[path][name].items()))
    return results, prepared


def tiling_check(keras_fn) -> dict:
    """Tiled (default tile and overlap) vs whole-image output on a real photo (the astronaut,
    512 -> 1536): measured rather than assumed (an instance-norm model normalises each tile)."""
    photo = astronaut(TILED_SIDE)
    tiling = tiled_vs_whole(keras_fn, photo, DEFAULT_TILE, DEFAULT_OVERLAP, keras_fn(photo[None])[0])
    print(f"tiled ({DEFAULT_TILE}/{DEFAULT_OVERLAP}) vs whole {TILED_SIDE}² astronaut: "
          f"max {tiling['max_abs_diff']:.0f}, mean {tiling['mean_abs_diff']:.3f}, "
          f"99th percentile {tiling['p99_abs_diff']:.0f} grey levels")
    return tiling


# A photo larger than one default tile (2 x 2 tiles), for the tiled timing and the pixel check.
TILED_SIDE = DEFAULT_TILE * 3 // 2
TILED_KEY = f"{TILED_SIDE}_tiled"
SIZES = {"128": 128, "256": 256, "512": 512, TILED_KEY: TILED_SIDE}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="+", help="one or more .keras generators, timed in the same run")
    ap.add_argument("--backends", default=None, help="comma-separated subset (default: all)")
    ap.add_argument("--sizes", default=None, help="comma-separated subset of " + ",".join(SIZES))
    ap.add_argument("--repeats", type=int, default=15,
                    help="timed calls per model, backend and size (a quarter for the tiled photo)")
    ap.add_argument("--out", default="scripts/results/bench_inference.json")
    ap.add_argument("--no-tiling-check", action="store_true",
                    help=f"skip the tiled-vs-whole pixel check on the {TILED_SIDE}² photo (one whole and "
                         "one tiled restore per model, about a minute), e.g. for a 128²-only timing")
    args = ap.parse_args()
    wanted_backends = args.backends.split(",") if args.backends else None
    wanted_sizes = args.sizes.split(",") if args.sizes else None

    models, bars = {}, {}
    all_results, prepared = bench_models(args.model, wanted_backends, wanted_sizes, args.repeats)
    for path in args.model:
        results, (backends, params) = all_results[path], prepared[path]
        models[path] = {"parameters": params, "seconds_median": results}
        if "keras_eager" in results:
            models[path]["speedup_over_keras_eager"] = {
                name: {k: results["keras_eager"][k] / v for k, v in r.items()} for name, r in results.items()}
        if "keras_tf_function" in backends and not args.no_tiling_check:
            models[path][f"tiled_vs_whole_{TILED_SIDE}"] = tiling_check(backends["keras_tf_function"])
        size = "512" if wanted_sizes is None else wanted_sizes[0]
        bars.update({f"{Path(path).name}: {n} @{size}": r[size] * 1000 for n, r in results.items()})
    if len(models) > 1:
        first, *others = args.model
        for other in others:
            ratio = {n: {k: models[other]["seconds_median"][n][k] / v for k, v in r.items()}
                     for n, r in models[first]["seconds_median"].items()}
            models[other]["time_ratio_to_first"] = ratio
            print(f"\n{other} time / {first} time (same run):")
            for n, r in ratio.items():
                print(" ", n.ljust(18), "  ".join(f"{k}: {v:5.2f}x" for k, v in r.items()))
    write_report({"threads": 2, "models": models}, args.out, bars, "median latency (ms, 2 threads)")


if __name__ == "__main__":
    main()
