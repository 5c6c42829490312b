"""Training step time: content-only (n_critic=0) vs WGAN-GP (n_critic=5), same model and batch.

    python scripts/bench_train_step.py --out scripts/results/bench_train_step.json

Measures the median wall time of a train_step after the first (traced) steps, on random data so
the input pipeline is not in the way. Writes JSON + a bar plot.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from deblur_tf.gan import DeblurGAN, adam  # noqa: E402
from deblur_tf.losses import PerceptualLoss, default_vgg_weights  # noqa: E402
from deblur_tf.models import build_critic, build_generator  # noqa: E402
from bench_report import write_report  # noqa: E402


class StepTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_begin(self, batch, logs=None):
        self.t = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self.t)


def time_mode(generator, critic, n_critic, perceptual, batch, size, steps, warmup):
    rng = np.random.default_rng(0)
    x = rng.random((batch, size, size, 3), dtype=np.float32)
    ds = tf.data.Dataset.from_tensors((x, x)).repeat()
    gan = DeblurGAN(generator, critic, n_critic=n_critic, adversarial="wgan-gp" if n_critic else "none",
                    l1_weight=1.0, perceptual_weight=0.01 if perceptual else 0.0, perceptual=perceptual)
    gan.compile(g_optimizer=adam(1e-4), d_optimizer=adam(1e-4))
    timer = StepTimer()
    t = time.perf_counter()
    gan.fit(ds, steps_per_epoch=warmup + steps, epochs=1, verbose=0, callbacks=[timer])
    first = timer.times[0]
    return {"median_step_seconds": float(np.median(timer.times[warmup:])),
            "first_step_seconds_incl_tracing": first, "steps_timed": steps,
            "total_seconds": time.perf_counter() - t}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generator", default="deblurgan_resnet_compact")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--image-size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--mixed-precision", action="store_true",
                    help="bfloat16 compute (train.mixed_precision); float32 otherwise")
    ap.add_argument("--out", default="scripts/results/bench_train_step.json")
    args = ap.parse_args()
    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")

    weights = default_vgg_weights()
    perceptual = PerceptualLoss(weights)  # random init when ../shared is absent: same cost
    generator = build_generator(args.generator)
    critic = build_critic("patchgan")
    results = {}
    for name, n_critic in (("content-only (n_critic=0)", 0), ("WGAN-GP (n_critic=5)", 5)):
        steps = args.steps if n_critic else 3 * args.steps
        results[name] = time_mode(generator, critic, n_critic, perceptual, args.batch_size,
                                  args.image_size, steps, warmup=2)
        print(f"{name:28s} {results[name]['median_step_seconds']:.3f} s/step "
              f"(first step incl. tracing {results[name]['first_step_seconds_incl_tracing']:.1f} s)")
    ratio = (results["WGAN-GP (n_critic=5)"]["median_step_seconds"]
             / results["content-only (n_critic=0)"]["median_step_seconds"])
    print(f"WGAN-GP step / content-only step = {ratio:.2f}x (same run)")
    report = {"generator": args.generator, "precision": "mixed_bfloat16" if args.mixed_precision else "float32", "generator_params": generator.count_params(),
              "critic_params": critic.count_params(), "batch_size": args.batch_size,
              "image_size": args.image_size, "losses": "L1 + 0.01 perceptual (VGG16 relu3_3), + WGAN-GP",
              "vgg_weights": weights or "random init (../shared absent)",
              "results": results, "wgan_over_content_ratio": ratio}
    write_report(report, args.out, {k: r["median_step_seconds"] for k, r in results.items()},
                 f"seconds per train_step ({args.generator}, batch {args.batch_size}, "
                 f"{args.image_size}², {os.cpu_count()} cores)")

if __name__ == "__main__":
    main()
