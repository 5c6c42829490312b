"""The ``deblur-tf`` command line: demo, blur, train, evaluate, deblur, inpaint, batch, export, models, app.

Expected failures (missing files, bad images, bad config keys, outputs that would overwrite
something) print one line on stderr and exit non-zero; set DEBLUR_TF_DEBUG=1 for tracebacks.
"""

from __future__ import annotations

import contextlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported anywhere

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import click  # noqa: E402

from deblur_tf import import_tensorflow_quietly  # noqa: E402
from deblur_tf.paths import (default_inpaint_model_path, default_model_path,  # noqa: E402  (no TF import)
                             given_or_shipped, lfw_test_split)


class _Group(click.Group):
    """Turns exceptions into one clear line and a non-zero exit, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Error: interrupted", err=True)
            raise SystemExit(130) from None  # the shell's code for Ctrl-C
        except Exception as e:  # noqa: BLE001 - the CLI boundary
            if os.environ.get("DEBLUR_TF_DEBUG"):
                raise
            from deblur_tf.errors import format_error
            raise click.ClickException(format_error(e)) from None


MIRROR_HELP = ("Also restore the mirror image (left-right) and average the two: +0.07 to +0.19 dB "
               "PSNR and fewer changes to sharp faces, but a little softer (LPIPS worse), at twice "
               "the time.")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="deblur-tf")
def cli():
    """Restore blurred face photos with DeblurGAN-style models (Keras 3 / TensorFlow)."""


# --- demo ----------------------------------------------------------------------------------------

@cli.command()
@click.option("-o", "--output", default="demo_before_after.png", show_default=True,
              help="Before/after picture to write.")
@click.option("--model", "model_path", type=click.Path(), default=None,
              help="Generator .keras file (default: the shipped model in exported/).")
@click.option("--train-seconds", default=60, show_default=True,
              help="Without a model: train a tiny one for about this long first.")
@click.option("--train-tiny", is_flag=True, help="Ignore the shipped model: train a tiny one first.")
def demo(output, model_path, train_seconds, train_tiny):
    """Blur a face (scikit-image's astronaut), deblur it, write blurred | restored | sharp.

    The demo's own picture is replaced on each run (it reads no input file).
    """
    from deblur_tf.demo import run_demo
    path = None if train_tiny else (model_path or default_model_path())
    summary = run_demo(output, model_path=path, train_seconds=train_seconds,
                       log=lambda m: click.echo(m, err=True))
    click.echo(summary)


# --- blur ----------------------------------------------------------------------------------------

@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(), help="Output folder.")
@click.option("--config", "config_path", type=click.Path(), default=None,
              help="YAML/JSON with a 'degradations:' list (default: trajectory blur + noise).")
@click.option("--seed", default=0, show_default=True)
@click.option("--kernels/--no-kernels", default=True, show_default=True,
              help="Also write a picture of each image's kernel.")
@click.option("--max-pixels", default=50_000_000, show_default=True, type=click.IntRange(min=1),
              help="Refuse images with more pixels (decompression-bomb guard).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
def blur(inputs, output, config_path, seed, kernels, max_pixels, overwrite):
    """Write degraded copies of images (and pictures of their kernels) into OUTPUT."""
    import numpy as np

    from deblur_tf.config import load_degradations
    from deblur_tf.degrade import DEFAULT_DEGRADATIONS, Degradation, degrade_photo, kernel_picture
    from deblur_tf.io import collect_images, plan_outputs, read_rgb, to_uint8, write_image

    chain = Degradation(load_degradations(config_path) if config_path else DEFAULT_DEGRADATIONS,
                        bank_seed=seed)
    out_root = Path(output)
    items = collect_images(inputs, exclude=out_root)
    jobs = [(path, [out_root / rel.with_suffix(".png")]
             + ([out_root / "kernels" / rel.with_suffix(".png")] if kernels else []))
            for path, rel in items]
    plan_outputs(jobs, [f for f, _ in items], overwrite)
    failures = 0
    for i, (path, targets) in enumerate(jobs):
        try:
            image = read_rgb(path, max_pixels).astype(np.float32) / 255.0
        except ValueError as e:
            click.echo(f"skipped: {e}", err=True)
            failures += 1
            continue
        degraded, kernel = degrade_photo(chain, image, [seed, i])
        write_image(targets[0], to_uint8(degraded))
        if kernels:
            write_image(targets[1], kernel_picture(kernel))
    click.echo(f"wrote {len(items) - failures} degraded image(s) to {out_root}"
               + (f"; {failures} failed" if failures else ""))
    if failures:
        sys.exit(1)


# --- train ---------------------------------------------------------------------------------------

@cli.command()
@click.option("--experiment", default=None, help="A registered experiment (see 'deblur-tf experiments').")
@click.option("--config", "config_path", type=click.Path(), default=None,
              help="YAML/JSON config file, applied over the experiment.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config value, e.g. --set train.steps=500 (repeatable).")
@click.option("--run-dir", required=True, type=click.Path(),
              help="Run folder (resumed when it holds checkpoints).")
@click.option("--strategy", type=click.Choice(["default", "mirrored", "multiworker"]), default=None,
              help="Distribute training (sets train.strategy): mirrored = every local GPU; "
                   "multiworker = the cluster in TF_CONFIG (docs/scaling.md).")
@click.option("--cpu-devices", type=click.IntRange(1, 64), default=None,
              help="Split the CPU into N logical devices (to try --strategy mirrored without GPUs).")
def train(experiment, config_path, overrides, run_dir, strategy, cpu_devices):
    """Train (or resume) a deblurring GAN; checkpoints, TensorBoard logs and sample grids in RUN_DIR."""
    from deblur_tf.config import (ExperimentConfig, apply_overrides, get_experiment, load_config_file,
                                  parse_overrides)
    from deblur_tf.train import run, split_cpu
    if cpu_devices:
        split_cpu(cpu_devices)  # first: TensorFlow must not have run anything yet
    cfg = get_experiment(experiment) if experiment else ExperimentConfig()
    if config_path:
        cfg = apply_overrides(cfg, load_config_file(config_path))
    cfg = apply_overrides(cfg, parse_overrides(list(overrides)))
    if strategy:
        cfg = apply_overrides(cfg, {"train": {"strategy": strategy}})
    result = run(cfg, run_dir)
    click.echo(f"steps {result.start_step} -> {result.end_step}; run folder {result.run_dir}"
               + (f"; generator {result.generator_path}" if result.generator_path else ""))
    if result.stopped_by_signal:
        click.echo(f"stopped by a signal at step {result.end_step} (checkpoint saved); run the same "
                   "command again to resume", err=True)
        sys.exit(128 + result.stopped_by_signal)


@contextlib.contextmanager
def _keras_output(output: str, inputs: list, overwrite: bool):
    """Check a .keras output before any work (suffix, collisions with the inputs, --overwrite),
    then yield a temporary path that becomes ``output`` only if the block succeeds."""
    from deblur_tf.io import OutputError, atomic_path, check_output
    if not output.endswith(".keras"):
        raise OutputError(f"the output must end in .keras, got {output}")
    check_output(output, inputs, overwrite)
    with atomic_path(output) as tmp:
        yield tmp


@cli.command("extract")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--step", type=int, default=None, help="Checkpoint step (default: the latest).")
@click.option("-o", "--output", required=True, type=click.Path(), help="The .keras file to write.")
@click.option("--overwrite", is_flag=True)
def extract(run_dir, step, output, overwrite):
    """Write a run's generator at one of its checkpoints as a .keras file."""
    from deblur_tf.runs import generator_from_checkpoint
    with _keras_output(output, [], overwrite) as tmp:
        generator_from_checkpoint(run_dir, step).save(tmp)
    click.echo(f"wrote {output}")


@cli.command()
@click.argument("content_model", type=click.Path(exists=True, dir_okay=False))
@click.argument("adversarial_model", type=click.Path(exists=True, dir_okay=False))
@click.option("--alpha", type=click.FloatRange(0, 1), required=True,
              help="Weight of ADVERSARIAL_MODEL: 0 gives CONTENT_MODEL, 1 ADVERSARIAL_MODEL.")
@click.option("--base", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The generator ADVERSARIAL_MODEL was fine-tuned from, when CONTENT_MODEL was "
                   "trained further from it: writes CONTENT + alpha x (ADVERSARIAL - BASE).")
@click.option("-o", "--output", required=True, type=click.Path(), help="The .keras file to write.")
@click.option("--overwrite", is_flag=True)
def interpolate(content_model, adversarial_model, alpha, base, output, overwrite):
    """Blend two generators of one architecture weight by weight (network interpolation): e.g. a
    content-only run and its adversarial fine-tune, for a chosen fidelity / sharpness trade-off."""
    from deblur_tf.inference import load_keras_model
    from deblur_tf.train import interpolate_generators
    inputs = [content_model, adversarial_model] + ([base] if base else [])
    with _keras_output(output, inputs, overwrite) as tmp:
        interpolate_generators(load_keras_model(content_model), load_keras_model(adversarial_model),
                               alpha, load_keras_model(base) if base else None).save(tmp)
    formula = (f"{content_model} + {alpha:g} × ({adversarial_model} − {base})" if base else
               f"{1 - alpha:g} × {content_model} + {alpha:g} × {adversarial_model}")
    click.echo(f"wrote {output} ({formula})")


@cli.command()
def experiments():
    """List the registered experiments."""
    from deblur_tf.config import EXPERIMENTS
    width = max(len(n) for n in EXPERIMENTS) + 2
    for name, fn in sorted(EXPERIMENTS.items()):
        click.echo(f"{name:{width}s}{(fn.__doc__ or '').strip().splitlines()[0]}")


# --- evaluate ------------------------------------------------------------------------------------

@cli.command()
@click.option("--model", "models", multiple=True, type=click.Path(),
              help="Generator .keras file(s) to evaluate (repeatable; default: the shipped model).")
@click.option("--images", default=None,
              help="Folder or file list of sharp images (default: LFW test split in ../shared).")
@click.option("--root", default=None, help="Base folder for relative paths in a file list.")
# 150 = data.LFW_FACE_CROP (not imported here: deblur_tf.data imports TensorFlow)
@click.option("--center-crop", default=150, show_default=True, help="Central px taken as the face (0: none).")
@click.option("--image-size", default=128, show_default=True)
@click.option("--sizes", default=",".join(str(s) for s in range(13, 28, 2)), show_default=True,
              help="Comma-separated kernel sizes.")
@click.option("--noise", default=0.01, show_default=True, help="Gaussian noise std.")
@click.option("--limit", default=None, type=int, help="Use only the first N images.")
@click.option("--seed", default=0, show_default=True)
@click.option("--oracles/--no-oracles", default=True, show_default=True,
              help="Also run Wiener and Richardson-Lucy deconvolution given the TRUE kernel.")
@click.option("--lpips/--no-lpips", "use_lpips", default=None,
              help="LPIPS-VGG (default: on when ../shared/weights has the VGG16 and LPIPS weights).")
@click.option("--suite", is_flag=True,
              help="The generalization suite instead of one protocol: shen, levin (real camera "
                   "shake), mild, tight, loose, jpeg and sharp (do no harm), one column each; "
                   "also a real-blur grid when ../shared has Shen's 20 faces.")
@click.option("--conditions", default=None,
              help="With --suite: comma-separated conditions (default: the suite; also levin_centred, "
                   "the Levin kernels without their off-centre shift).")
@click.option("--lpips-every", default=None, type=click.IntRange(min=1),
              help="LPIPS on every N-th face only (default: 4 with --suite, else 1); PSNR and "
                   "SSIM always use every face.")
@click.option("--levin-kernels", default=None, type=click.Path(dir_okay=False),
              help="With --suite: the real kernels .npz (default: ../shared/data/kernels/...).")
@click.option("--inpaint", is_flag=True,
              help="The inpainting protocol instead: --model gives inpainting models, scored with "
                   "OpenCV Telea / Navier-Stokes and the surroundings pre-fill on damaged faces, "
                   "one column per kind of damage (eyes, nose, mouth, strokes, rectangle).")
@click.option("--kinds", default=None,
              help="With --inpaint: comma-separated subset of the kinds of damage (default: all).")
@click.option("-o", "--output", default="evaluation.json", show_default=True, type=click.Path(),
              help="JSON results; a Markdown table, a PNG plot and the kernels (.npz) are written beside it.")
@click.option("--mirror", is_flag=True, help="Deblurring models only. " + MIRROR_HELP)
@click.option("--overwrite", is_flag=True)
def evaluate(models, images, root, center_crop, image_size, sizes, noise, limit, seed, oracles,
             use_lpips, suite, conditions, lpips_every, levin_kernels, inpaint, kinds, mirror, output,
             overwrite):
    """PSNR / SSIM / LPIPS of the blurred input and each model: per kernel size on the protocol,
    per condition with --suite, or per kind of damage with --inpaint (JSON + Markdown + figure)."""
    from deblur_tf.evaluate import SUITE_FILES, RESULT_FILES, oracle_baselines, save_results
    from deblur_tf.evaluate import evaluate as run_eval
    from deblur_tf.inference import Deblurrer
    from deblur_tf.io import check_output
    from deblur_tf.metrics import optional_lpips

    from deblur_tf.evaluate_inpainting import RESULT_FILES as INPAINT_FILES

    if suite and inpaint:
        raise click.BadParameter("--suite and --inpaint are two different protocols: pick one")
    if mirror and inpaint:
        raise click.BadParameter("--mirror is for deblurring models, not --inpaint")
    out = Path(output)
    files = SUITE_FILES if suite else INPAINT_FILES if inpaint else RESULT_FILES
    for suffix in files:  # never replace any of them silently
        check_output(out.with_suffix(suffix), [], overwrite)
    if inpaint:
        return _evaluate_inpainting(models, images, root, center_crop, limit, seed, use_lpips, kinds,
                                    lpips_every or 4, out)
    if suite:
        return _evaluate_suite(models, images, root, limit, seed, oracles, use_lpips, conditions,
                               lpips_every or 4, levin_kernels, mirror, out)
    images, root = lfw_test_split(images, root)
    try:
        size_list = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError:
        raise click.BadParameter(f"--sizes must be comma-separated integers, got {sizes!r}") from None
    paths = given_or_shipped(models, default_model_path())
    restorers = {_method_name(p, mirror): Deblurrer.load(p, mirror=mirror).restore_float for p in paths}
    lpips = optional_lpips(use_lpips)
    from tqdm import tqdm
    bar = tqdm(total=len(size_list), desc="evaluate", unit="size", file=sys.stderr)
    results = run_eval(restorers, images, root=root, sizes=size_list, noise_sigma=noise,
                       image_size=image_size, center_crop=center_crop or None, limit=limit, seed=seed,
                       oracles=oracle_baselines() if oracles else None, lpips=lpips,
                       lpips_every=lpips_every or 1,
                       progress=lambda done, total, label: (bar.set_postfix_str(label), bar.update(1)))
    bar.close()
    results["models"] = paths
    save_results(results, out)
    for name, r in results["overall"].items():
        click.echo(f"{name:24s} PSNR {r['psnr']:6.2f} dB  SSIM {r['ssim']:.4f}  "
                   + (f"LPIPS {r['lpips']:.4f}  " if "lpips" in r else "")
                   + f"{1000 * r['seconds_per_image']:.1f} ms/image")
    click.echo(f"wrote {out}")


def _choose_by_name(option: str | None, items, hint: str, default=None) -> list:
    """The named subset (comma-separated) of ``items`` (each with a ``name``), or ``default`` (all
    of them when None)."""
    if not option:
        return list(items if default is None else default)
    names = [n.strip() for n in option.split(",") if n.strip()]
    known = {item.name: item for item in items}
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise click.BadParameter(f"unknown name(s) {unknown}; choose from {', '.join(known)}",
                                 param_hint=hint)
    return [known[n] for n in names]


def _method_name(path, mirror: bool) -> str:
    """A model's row name in the results: its file name, marked when mirror-averaged."""
    return Path(path).stem + ("+mirror" if mirror else "")


def _evaluate_suite(models, images, root, limit, seed, oracles, use_lpips, conditions, lpips_every,
                    levin_kernels, mirror: bool, out: Path):
    from tqdm import tqdm

    from deblur_tf.evaluate import (CONDITIONS, SUITE, evaluate_suite, oracle_baselines, save_suite,
                                    suite_gains)
    from deblur_tf.inference import Deblurrer
    from deblur_tf.metrics import optional_lpips
    from deblur_tf.paths import shared_file

    chosen = _choose_by_name(conditions, CONDITIONS, "--conditions", default=SUITE)
    images, root = lfw_test_split(images, root)
    paths = given_or_shipped(models, default_model_path())
    deblurrers = {_method_name(p, mirror): Deblurrer.load(p, mirror=mirror) for p in paths}
    # bf16 VGG: 2.7x faster, within 0.002 of float32 LPIPS (tests/test_losses.py); the suite scores
    # ~16k images per model, where float32 LPIPS alone would take most of an hour here.
    lpips = optional_lpips(use_lpips, "bfloat16")
    bars = []  # made at the first finished pass, so an early error stays a single line

    def progress(done, total, label):
        if not bars:
            bars.append(tqdm(total=total, desc="suite", unit="pass", file=sys.stderr))
        bars[0].set_postfix_str(label)
        bars[0].update(1)

    results = evaluate_suite({n: d.restore_float for n, d in deblurrers.items()}, images, root=root,
                             conditions=chosen, limit=limit, seed=seed,
                             oracles=oracle_baselines() if oracles else None, lpips=lpips,
                             lpips_every=lpips_every, levin_path=levin_kernels, progress=progress)
    for bar in bars:
        bar.close()
    results["models"] = paths
    results["lpips_precision"] = "bfloat16" if lpips is not None else None
    real = shared_file("data", "real_blur", "shen2018")
    save_suite(results, out, deblurrers if real is not None else None, real)
    for cname, gains in suite_gains(results).items():
        click.echo(f"{cname:6s} " + "  ".join(f"{m} {g:+.2f}" if cname != "sharp" else f"{m} {g:.2f}"
                                                for m, g in gains.items()))
    click.echo(f"wrote {out}")


def _evaluate_inpainting(models, images, root, center_crop, limit, seed, use_lpips, kinds,
                         lpips_every, out: Path):
    from tqdm import tqdm

    from deblur_tf.evaluate_inpainting import INPAINT_KINDS, evaluate_inpainting, save_inpainting
    from deblur_tf.inpainting import BASELINES, Inpainter
    from deblur_tf.metrics import optional_lpips

    chosen = _choose_by_name(kinds, INPAINT_KINDS, "--kinds")
    images, root = lfw_test_split(images, root)
    paths = given_or_shipped(models, default_inpaint_model_path())
    methods = {name: Inpainter.load(name).restore_float for name in BASELINES}
    for p in paths:
        methods[Path(p).stem if p not in BASELINES else p] = Inpainter.load(p).restore_float
    lpips = optional_lpips(use_lpips, "bfloat16")
    bar = tqdm(total=len(chosen), desc="inpainting", unit="kind", file=sys.stderr)
    results = evaluate_inpainting(methods, images, root=root, kinds=chosen,
                                  center_crop=center_crop or None, limit=limit, seed=seed,
                                  lpips=lpips, lpips_every=lpips_every,
                                  progress=lambda done, total, label: (bar.set_postfix_str(label),
                                                                       bar.update(1)))
    bar.close()
    results["models"] = paths
    save_inpainting(results, out)
    for kind, r in results["kinds"].items():
        click.echo(f"{kind:12s} " + "  ".join(f"{m} {v['psnr']:.2f}" for m, v in r["methods"].items()))
    click.echo(f"wrote {out}")


# --- deblur --------------------------------------------------------------------------------------

# No model-specific figure here: the shipped model's int8 parity is measured at each release and
# lives in exported/README.md (Export parity), so this text does not go stale.
INT8_NOTE = ("full-integer int8 TFLite models lose quality (the shipped one's PSNR from the Keras "
             "model is in exported/README.md, Export parity; instance-norm models lose far more); "
             "prefer fp16 where the phone allows it.")


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", required=True,
              help="Output file (one input), folder (several or a folder), or - for stdout (PNG).")
@click.option("--model", "model_path", type=click.Path(), default=None,
              help="A .keras generator, SavedModel folder or .tflite file (default: the shipped "
                   "model in exported/). " + INT8_NOTE)
@click.option("--tile", default=1024, show_default=True, type=click.IntRange(min=32),
              help="Tile size for large photos (px, at least 32).")
@click.option("--overlap", default=None, type=click.IntRange(min=0),
              help="Overlap between tiles (px, under half the tile), feathered (default: 496, or just "
                   "under half of a smaller --tile: enough context for the whole-image pixels).")
@click.option("--compare", is_flag=True, help="Write input | output side by side.")
@click.option("--mirror", is_flag=True, help=MIRROR_HELP)
@click.option("--faces", "face_mode", type=click.Choice(["auto", "only", "off"]), default="auto",
              show_default=True,
              help="auto: restore the faces found (detected, aligned like training faces, pasted "
                   "back), else the whole image; only: faces only, a photo without faces is left "
                   "unchanged; off: the whole image.")
@click.option("--background", is_flag=True,
              help="With faces: also restore the rest of the photo by the whole-image (tiled) path.")
@click.option("--face-detector", type=click.Choice(["mtcnn", "mtcnn_sensitive", "haar"]), default="mtcnn",
              show_default=True, help="mtcnn_sensitive finds more heavily blurred faces (and more false "
                                      "ones, 2x slower); haar needs OpenCV < 5 and has no landmarks.")
@click.option("--face-size", default=128, show_default=True,
              help="Side of the aligned face crop the model sees (it was trained at 128).")
@click.option("--save-crops", type=click.Path(file_okay=False), default=None,
              help="Folder for each face's aligned input and restored output.")
@click.option("--debug", is_flag=True,
              help="Also write <output>.faces.png: the input with face boxes, landmarks and scores.")
@click.option("--max-pixels", default=50_000_000, show_default=True, type=click.IntRange(min=1),
              help="Refuse images with more pixels (decompression-bomb guard).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs (never inputs).")
@click.option("--skip-existing", is_flag=True,
              help="Leave inputs whose output already exists (resume an interrupted folder run).")
def deblur(inputs, output, model_path, tile, overlap, compare, mirror, face_mode, background,
           face_detector, face_size, save_crops, debug, max_pixels, overwrite, skip_existing):
    """Deblur image files, folders (recursive), or - (stdin).

    Faces are found and restored one by one by default (--faces auto); --faces off restores
    the whole image, which suits photos that are already aligned face crops.
    """
    import numpy as np

    from deblur_tf.errors import format_error
    from deblur_tf.inference import Deblurrer, deblur_model_path, tile_overlap
    from deblur_tf.io import check_output, collect_images, encode_image, load_image, output_path, write_image

    try:
        overlap = tile_overlap(tile, overlap)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--overlap") from None
    stdin = inputs == ("-",)
    if "-" in inputs and not stdin:
        raise click.BadParameter("'-' (stdin) cannot be mixed with other inputs")
    items = [(None, Path("stdin.png"))] if stdin else collect_images(
        inputs, exclude=None if output == "-" else Path(output))
    deblurrer = Deblurrer.load(deblur_model_path(model_path), tile=tile, overlap=overlap, mirror=mirror)
    to_stdout = output == "-"
    if to_stdout and len(items) != 1:
        raise click.BadParameter("-o - (stdout) takes exactly one input")
    if to_stdout and debug:
        raise click.BadParameter("--debug writes a file beside the output: not with -o -")
    if not 16 <= face_size <= 1024:
        raise click.BadParameter(f"--face-size must be in [16, 1024], got {face_size}")
    if face_mode != "off":
        from deblur_tf.faces import DETECTORS, default_template
        default_template()  # fail now, not per image, if the face template is missing
        assert face_detector in DETECTORS
        deblurrer.detector_name = face_detector  # built once, on the first photo that needs it
    single = len(items) == 1 and (stdin or not Path(inputs[0]).is_dir())
    if not single and not to_stdout and Path(output).suffix and not Path(output).is_dir():
        raise click.BadParameter(f"{len(items)} inputs need an output folder, not a file name "
                                 f"({output})", param_hint="-o/--output")
    out_root = Path(output)
    all_inputs = [p for p, _ in items if p is not None]
    if overwrite and skip_existing:
        raise click.BadParameter("--overwrite and --skip-existing contradict each other")
    failures, skipped = [], 0
    progress = len(items) > 1 and not to_stdout
    from tqdm import tqdm
    for src, rel in tqdm(items, desc="deblur", unit="image", disable=not progress, file=sys.stderr):
        label = "<stdin>" if src is None else str(src)
        if skip_existing and not to_stdout and output_path(rel, out_root, single).exists():
            skipped += 1
            continue
        try:
            target = None if to_stdout else check_output(output_path(rel, out_root, single), all_inputs, overwrite)
            image = load_image(sys.stdin.buffer.read() if src is None else src, max_pixels, name=label)
            with _tile_progress(label, enabled=not progress) as on_tile:
                restored, faces = deblurrer.restore(image, faces=face_mode, background=background,
                                                    face_size=face_size, progress=on_tile)
            if face_mode == "only" and not faces:
                tqdm.write(f"note: no face found in {label}; left unchanged", file=sys.stderr)
            elif face_mode != "off":
                tqdm.write(f"{label}: {len(faces)} face(s) restored" if faces else
                           f"{label}: no face found; restored the whole image", file=sys.stderr)
            if save_crops and faces:
                _save_face_crops(faces, Path(save_crops), rel, all_inputs, overwrite)
            if debug:
                _write_debug(image, faces, target, all_inputs, overwrite)
            result = np.concatenate([image, restored], axis=1) if compare else restored
            if to_stdout:
                sys.stdout.buffer.write(encode_image(result, ".png"))
                sys.stdout.buffer.flush()
            else:
                write_image(target, result)
        except Exception as e:  # noqa: BLE001 - one bad file must not stop a folder run
            if single:
                raise
            message = format_error(e)
            failures.append(f"{label}: {message}")
            tqdm.write(f"failed: {label}: {message}", file=sys.stderr)
    if not to_stdout:
        click.echo(f"deblurred {len(items) - len(failures) - skipped} of {len(items)} image(s) -> {out_root}"
                   + (f" ({skipped} skipped: output exists)" if skipped else ""), err=True)
    if failures:
        for line in failures:
            click.echo(f"  {line}", err=True)
        raise click.ClickException(f"{len(failures)} of {len(items)} input(s) failed: {failures[0]}")


# --- batch ---------------------------------------------------------------------------------------

@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("pattern")
@click.option("-o", "--output", required=True, help="Output folder (local, gs://, s3://, hdfs://).")
@click.option("--model", "model_path", type=click.Path(), default=None,
              help="Generator (.keras, SavedModel or .tflite; default: the shipped model).")
@click.option("--faces", "face_mode", type=click.Choice(["auto", "only", "off"]), default="auto",
              show_default=True, help="As for 'deblur'; 'off' batches same-size face crops.")
@click.option("--background", is_flag=True, help="Also restore the rest of each photo.")
@click.option("--max-pixels", default=50_000_000, show_default=True, type=click.IntRange(min=1),
              help="Refuse images with more pixels (decompression-bomb guard).")
@click.option("--overwrite", is_flag=True, help="Restore again inputs whose output exists.")
@click.option("--mirror", is_flag=True, help=MIRROR_HELP)
@click.pass_context
def batch(ctx, pattern, output, model_path, face_mode, background, max_pixels, overwrite, mirror):
    """Restore every image matching PATTERN on Apache Beam (e.g. 'photos/**' or a folder).

    Other options go to Beam, e.g. --runner DirectRunner --direct_num_workers 2
    --direct_running_mode multi_processing, or a Dataflow / Flink / Spark runner's options.
    Writes OUTPUT/manifest.jsonl (one line per input); a rerun skips finished inputs. Exits 1 when
    any input failed (listed).
    """
    try:
        import apache_beam  # noqa: F401
    except ImportError:
        raise click.ClickException('deblur-tf batch needs Apache Beam: pip install -e ".[beam]"') from None
    from deblur_tf.batch import run_batch
    from deblur_tf.inference import deblur_model_path
    if Path(pattern).is_dir():
        pattern = pattern.rstrip("/") + "/**"
    path = deblur_model_path(model_path)
    if ctx.args and not ctx.args[0].startswith("-"):
        raise click.UsageError(f"one PATTERN only (quote it so the shell does not expand it): "
                               f"got also {ctx.args[0]!r}")
    summary = run_batch(pattern, output, str(path), faces=face_mode, background=background,
                        max_pixels=max_pixels, overwrite=overwrite, beam_args=list(ctx.args),
                        mirror=mirror)
    click.echo(f"restored {summary.ok} of {summary.total} input(s) -> {output}"
               + (f" ({summary.skipped} skipped: output exists)" if summary.skipped else "")
               + f"; manifest: {summary.manifest}", err=True)
    if summary.failures:
        for r in summary.failures:
            click.echo(f"  {r['input']}: {r['message']}", err=True)
        raise click.ClickException(f"{len(summary.failures)} of {summary.total} input(s) failed")


# --- app -----------------------------------------------------------------------------------------

@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to serve on; anything but localhost lets other machines in (a warning).")
@click.option("--port", default=7860, show_default=True, type=click.IntRange(1, 65535))
@click.option("--model", "model_path", type=click.Path(), default=None,
              help="Deblurring model (default: the shipped model in exported/).")
@click.option("--inpaint-model", type=click.Path(), default=None,
              help="Inpainting model, or opencv-telea / opencv-ns (default: the shipped model).")
@click.option("--auth", default=None, metavar="USER:PASSWORD",
              help="Ask for this login (for a --host other than localhost).")
@click.option("--max-pixels", default=50_000_000, show_default=True, type=click.IntRange(min=1),
              help="Refuse uploaded photos with more pixels (checked before decoding).")
@click.option("--max-upload-mb", default=60, show_default=True, type=click.IntRange(min=1),
              help="Refuse uploaded files larger than this.")
@click.option("--mirror", is_flag=True, help="Restore tab. " + MIRROR_HELP)
def app(host, port, model_path, inpaint_model, auth, max_pixels, max_upload_mb, mirror):
    """Serve a local web page to restore and repair photos (needs: pip install -e ".[app]")."""
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise click.ClickException('the web app needs Gradio: pip install -e ".[app]"') from None
    from deblur_tf.app import AppSettings, serve
    serve(host=host, port=port, model=model_path, inpaint_model=inpaint_model, auth=auth,
          settings=AppSettings(max_pixels=max_pixels, max_upload_mb=max_upload_mb), mirror=mirror,
          echo=lambda text: click.echo(text, err=True))


# --- inpaint -------------------------------------------------------------------------------------

@contextlib.contextmanager
def _tile_progress(label: str, enabled: bool):
    """A progress bar over the tiles of one large photo (a 12 MP photo is ~48 tiles, ~30 s); it
    appears only when there are several tiles, and not inside a folder run's own bar."""
    from tqdm import tqdm
    bar = None

    def on_tile(done: int, total: int) -> None:
        nonlocal bar
        if not enabled or total < 2:
            return
        if bar is None:
            bar = tqdm(total=total, desc=f"{Path(label).name}: tiles", unit="tile", file=sys.stderr,
                       leave=False)
        bar.update(done - bar.n)
    try:
        yield on_tile
    finally:
        if bar is not None:
            bar.close()


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--mask", "mask", required=True,
              help="Mask image (same size, grey > 127 = damaged) or, for a folder input, a folder "
                   "of masks with the same relative names.")
@click.option("-o", "--output", required=True, help="Output file (one input) or folder.")
@click.option("--model", "model_path", default=None,
              help="An inpainting .keras generator, SavedModel folder or .tflite file (default: the "
                   "shipped one in exported/), or a baseline: opencv-telea, opencv-ns, prefill.")
@click.option("--faces", "face_mode", type=click.Choice(["auto", "only", "off"]), default="auto",
              show_default=True,
              help="auto: repair each face the mask touches in an aligned crop and paste it back, "
                   "the rest of the mask on the whole image; only: inside faces only; off: the "
                   "input is one aligned face crop.")
@click.option("--face-detector", type=click.Choice(["mtcnn", "mtcnn_sensitive", "haar"]), default="mtcnn",
              show_default=True)
@click.option("--face-size", default=128, show_default=True, type=click.IntRange(16, 1024),
              help="Side of the aligned face crop the model sees (it was trained at 128).")
@click.option("--compare", is_flag=True, help="Write damaged | repaired side by side.")
@click.option("--tile", default=1024, show_default=True, type=click.IntRange(min=32),
              help="Tile size for large photos (px, at least 32).")
@click.option("--overlap", default=None, type=click.IntRange(min=0),
              help="Overlap between tiles (px, under half the tile; default: 496, or just under "
                   "half of a smaller --tile).")
@click.option("--max-pixels", default=50_000_000, show_default=True, type=click.IntRange(min=1),
              help="Refuse images with more pixels (decompression-bomb guard).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs (never inputs).")
@click.option("--skip-existing", is_flag=True, help="Leave inputs whose output already exists.")
def inpaint(inputs, mask, output, model_path, face_mode, face_detector, face_size, compare, tile,
            overlap, max_pixels, overwrite, skip_existing):
    """Repair the damaged regions of photos: each input's --mask marks them (> 127 = damaged).

    Faces the mask touches are found, aligned and repaired like the training faces, then pasted
    back (--faces auto); pixels outside the mask are kept as they were.
    """
    import numpy as np
    from tqdm import tqdm

    from deblur_tf.errors import format_error
    from deblur_tf.inference import ModelLoadError, tile_overlap
    from deblur_tf.inpainting import Inpainter
    from deblur_tf.io import (ImageReadError, check_output, collect_images, load_image,
                              matching_masks, output_path, write_image)

    try:
        overlap = tile_overlap(tile, overlap)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--overlap") from None
    if overwrite and skip_existing:
        raise click.BadParameter("--overwrite and --skip-existing contradict each other")
    out_root = Path(output)
    items = collect_images(inputs, exclude=out_root)
    single = len(items) == 1 and not Path(inputs[0]).is_dir()
    if not single and Path(output).suffix and not Path(output).is_dir():
        raise click.BadParameter(f"{len(items)} inputs need an output folder, not a file name "
                                 f"({output})", param_hint="-o/--output")
    mask_paths = matching_masks(items, mask, single)
    path = model_path or default_inpaint_model_path()
    if path is None:
        raise ModelLoadError("no inpainting model shipped in exported/ yet: pass --model PATH, or a "
                             "baseline: --model opencv-telea")
    inpainter = Inpainter.load(path, tile=tile, overlap=overlap)
    if face_mode != "off":
        from deblur_tf.faces import default_template
        default_template()
        inpainter.detector_name = face_detector
    protected = [p for p, _ in items] + [m for m in mask_paths if m is not None]
    failures, skipped = [], 0
    for (src, rel), mask_path in tqdm(list(zip(items, mask_paths)), desc="inpaint", unit="image",
                                      disable=single, file=sys.stderr):
        target_path = output_path(rel, out_root, single)
        if skip_existing and target_path.exists():
            skipped += 1
            continue
        try:
            if mask_path is None:
                raise ImageReadError(f"no mask for {rel} in {mask}")
            target = check_output(target_path, protected, overwrite)
            image = load_image(src, max_pixels)
            mask_image = load_image(mask_path, max_pixels)
            repaired, faces = inpainter.restore(image, mask_image, faces=face_mode, face_size=face_size)
            if face_mode != "off":
                tqdm.write(f"{src}: {len(faces)} face(s) repaired" if faces else
                           (f"{src}: no face under the mask; left unchanged" if face_mode == "only"
                            else f"{src}: no face under the mask; repaired as a whole image"),
                           file=sys.stderr)
            write_image(target, np.concatenate([image, repaired], axis=1) if compare else repaired)
        except Exception as e:  # noqa: BLE001 - one bad file must not stop a folder run
            if single:
                raise
            failures.append(f"{src}: {format_error(e)}")
            tqdm.write(f"failed: {failures[-1]}", file=sys.stderr)
    click.echo(f"inpainted {len(items) - len(failures) - skipped} of {len(items)} image(s) -> {out_root}"
               + (f" ({skipped} skipped: output exists)" if skipped else ""), err=True)
    if failures:
        for line in failures:
            click.echo(f"  {line}", err=True)
        raise click.ClickException(f"{len(failures)} of {len(items)} input(s) failed: {failures[0]}")


def _save_face_crops(faces, folder: Path, rel: Path, inputs, overwrite: bool) -> None:
    from deblur_tf.io import check_output, to_uint8, write_image
    stem = rel.with_suffix("")
    for i, face in enumerate(faces):
        for kind, crop in (("input", face.crop), ("restored", face.restored_crop)):
            target = check_output(folder / f"{stem}_face{i}_{kind}.png", inputs, overwrite)
            write_image(target, to_uint8(crop))


def _write_debug(image, faces, target: Path, inputs, overwrite: bool) -> None:
    from deblur_tf.faces import draw_faces
    from deblur_tf.inference import split_channels
    from deblur_tf.io import check_output, to_uint8, write_image
    rgb, _ = split_channels(image)
    path = check_output(target.with_name(target.stem + ".faces.png"), inputs, overwrite)
    write_image(path, draw_faces(to_uint8(rgb), faces))


@cli.command("export")
@click.argument("model_path", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(),
              help="SavedModel folder, or .tflite file.")
@click.option("--format", "fmt", type=click.Choice(["savedmodel", "tflite"]), required=True)
@click.option("--quantize", type=click.Choice(["none", "fp16", "dynamic", "int8"]), default="none",
              show_default=True, help="TFLite only. " + INT8_NOTE)
@click.option("--calibration-images", default=None,
              help="Folder or file list of sharp training faces for int8 calibration, degraded "
                   "by the robust training chain as the model's inputs are (default: 200 LFW "
                   "train faces from ../shared).")
@click.option("--root", default=None, help="Base folder for a calibration file list.")
@click.option("--overwrite", is_flag=True)
def export(model_path, output, fmt, quantize, calibration_images, root, overwrite):
    """Export a .keras generator for TF Serving (SavedModel) or phones (TFLite)."""
    from deblur_tf.export import calibration_faces, export_savedmodel, export_tflite
    from deblur_tf.inference import load_generator
    from deblur_tf.io import check_output
    from deblur_tf.runs import training_config_beside

    out = check_output(output, [model_path], overwrite)
    generator = load_generator(model_path)
    if fmt == "savedmodel":
        if quantize != "none":
            raise click.BadParameter("--quantize applies to --format tflite only")
        training_config = training_config_beside(model_path)
        export_savedmodel(generator, out, training_config)
    else:
        representative = calibration_faces(calibration_images, root) if quantize == "int8" else None
        if quantize == "int8":
            click.echo("warning: " + INT8_NOTE, err=True)
        export_tflite(generator, out, quantize, representative)
    click.echo(f"wrote {out}")


@cli.command()
@click.option("--flops", is_flag=True, help="Also count FLOPs (traces every model: about 30 s).")
@click.option("--size", default=128, show_default=True, type=click.IntRange(min=16),
              help="Input size for the FLOPs column.")
@click.option("--only", default=None, metavar="NAME[,NAME…]", help="List only these models.")
def models(flops, size, only):
    """List the registered generators, critics and presets with their parameters (and FLOPs)."""
    from deblur_tf.models import CRITICS, GENERATORS, PRESETS, build_critic, build_generator
    from deblur_tf.models.flops import count_flops
    from collections import namedtuple
    Row = namedtuple("Row", "name kind build")
    rows = [Row(n, "generator", lambda n=n: build_generator(n)) for n in sorted(GENERATORS)]
    rows += [Row(n, f"preset of {PRESETS[n][0]}", lambda n=n: build_generator(n)) for n in sorted(PRESETS)]
    rows += [Row(n, "critic", lambda n=n: build_critic(n)) for n in sorted(CRITICS)]
    if only:
        rows = _choose_by_name(only, rows, "see 'deblur-tf models'")
    click.echo(f"{'name':28s} {'kind':30s} {'params':>9s}" + (f" {f'GFLOPs @{size}²':>14s}" if flops else ""))
    for name, kind, build in rows:
        model = build()
        click.echo(f"{name:28s} {kind:30s} {model.count_params() / 1e6:8.2f}M"
                   + (f" {count_flops(model, size, size) / 1e9:14.2f}" if flops else ""))


def _exit_on_sigterm(signum, frame) -> None:
    # SystemExit unwinds the stack, so atomic writes remove their temporary files (the default
    # action would kill the process and leave them behind). `train` installs its own handler,
    # which saves a checkpoint first.
    raise SystemExit(128 + signum)


def main() -> None:
    import signal
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if not {"-h", "--help", "--version"} & set(sys.argv[1:]):
        import_tensorflow_quietly()
    cli(prog_name="deblur-tf")


if __name__ == "__main__":
    main()
