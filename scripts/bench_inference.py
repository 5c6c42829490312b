"""Inference latency per backend and size (median of repeats after warm-up, 2 threads).

    python scripts/bench_inference.py exported/deblur_tf_face.keras --out scripts/results/bench_inference.json

Backends: Keras eager (model(x) each call), Keras tf.function, SavedModel, TFLite fp32 / fp16 /
dynamic / int8 (LiteRT). Sizes 128², 256², 512², and a 1024² photo restored in 512 px tiles
(overlap 32). Prints each backend's speed-up over Keras eager measured in this run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(2)
tf.config.threading.set_inter_op_parallelism_threads(1)

from bench_report import write_report  # noqa: E402
from deblur_tf.export import export_variants, representative_faces  # noqa: E402
from deblur_tf.io import to_uint8  # noqa: E402
from deblur_tf.inference import KerasBackend, load_backend, load_generator, restore_tiled  # noqa: E402


class EagerBackend:
    def __init__(self, generator):
        self.generator = generator

    def __call__(self, x):
        return self.generator(tf.constant(x), training=False).numpy()


def median_seconds(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="scripts/results/bench_inference.json")
    args = ap.parse_args()

    generator = load_generator(args.model)
    rng = np.random.default_rng(0)
    sizes = {"128": 128, "256": 256, "512": 512, "1024_tiled": 1024}
    images = {k: rng.random((1, s, s, 3), dtype=np.float32) for k, s in sizes.items()}
    with tempfile.TemporaryDirectory() as tmp:
        calib = representative_faces([to_uint8(images["128"][0])] * 4)
        backends = {"keras_eager": EagerBackend(generator), "keras_tf_function": KerasBackend(generator)}
        backends.update({name: load_backend(path, num_threads=2)
                         for name, path in export_variants(generator, tmp, calib).items()})
        results = {}
        for name, backend in backends.items():
            results[name] = {}
            for key, image in images.items():
                if key == "1024_tiled":
                    fn = lambda b=backend, x=image: restore_tiled(b, x[0], 512, 32)  # noqa: E731
                else:
                    fn = lambda b=backend, x=image: b(x)  # noqa: E731
                results[name][key] = median_seconds(fn, args.repeats if key != "1024_tiled" else max(args.repeats // 2, 2))
            print(name.ljust(18), "  ".join(f"{k}: {1000 * v:8.1f} ms" for k, v in results[name].items()))
    # Tiling changes the output of an instance-norm model (each tile normalises itself): measure
    # it on a real photo (the astronaut, 512 -> 1024) rather than assume it.
    import cv2
    import skimage.data
    photo = cv2.resize(skimage.data.astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC)
    photo = photo.astype(np.float32) / 255
    keras_fn = backends["keras_tf_function"]
    whole = to_uint8(keras_fn(photo[None])[0]).astype(int)
    tiled = to_uint8(restore_tiled(keras_fn, photo, 512, 32)).astype(int)
    diff = np.abs(whole - tiled)[32:-32, 32:-32]
    tiling = {"max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()),
              "p99_abs_diff": float(np.percentile(diff, 99))}
    print(f"tiled (512/32) vs whole 1024² astronaut, away from the border: max {tiling['max_abs_diff']:.0f}, "
          f"mean {tiling['mean_abs_diff']:.2f}, 99th percentile {tiling['p99_abs_diff']:.0f} grey levels")
    speedups = {name: {k: results["keras_eager"][k] / v for k, v in r.items()} for name, r in results.items()}
    print("\nspeed-up over Keras eager (same run):")
    for name, s in speedups.items():
        print(name.ljust(18), "  ".join(f"{k}: {v:5.2f}x" for k, v in s.items()))
    report = {"model": args.model, "parameters": int(generator.count_params()), "threads": 2,
              "seconds_median": results, "speedup_over_keras_eager": speedups,
              "tiled_vs_whole_1024": tiling}
    write_report(report, args.out, {f"{n} @512": r["512"] * 1000 for n, r in results.items()},
                 "median latency at 512x512 (ms, 2 threads)")


if __name__ == "__main__":
    main()
