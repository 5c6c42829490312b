"""``deblur-tf batch``: restore many photos on Apache Beam (DirectRunner here; Dataflow, Flink or
Spark at scale), with ``RunInference`` and a model handler around ``Deblurrer``.

The pipeline::

    pattern ─ MatchAll ─ Plan ──────────────── skipped (output exists) ─┐
                           └─ Decode ───────── failed (bad file) ───────┤
                                └─ RunInference(Deblurrer) ─ Write ─────┴─ manifest.jsonl

- Files are matched and read through Beam's ``FileSystems``: local paths here; ``gs://``, ``s3://``
  and ``hdfs://`` work with the matching Beam extras (``apache-beam[gcp]`` …; not tested here).
- Beam's stock TensorFlow handler loads models with ``tf.keras.models.load_model``, which under
  Keras 3 refuses a SavedModel folder; ``DeblurrerHandler`` loads any of our formats through
  ``Deblurrer.load`` instead, once per worker process (``RunInference`` shares it between threads).
  With ``faces="off"`` photos of the same size are restored as one batch.
- Each output is written to a temporary name and renamed (atomic on local disks and HDFS; on object
  stores a reader never sees a partial object either). Every input gets one manifest line:
  ``{"input", "status": ok|error|skipped, "message", "output", "seconds"}``. A bad file is an
  ``error`` line (a dead letter), never a failed pipeline; a rerun skips inputs whose output exists,
  so a crashed run resumes where it stopped.
"""

import json
import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath

import apache_beam as beam
import numpy as np
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.ml.inference.base import KeyedModelHandler, ModelHandler, PredictionResult, RunInference

from deblur_tf.errors import DeblurTFError, format_error
from deblur_tf.io import DEFAULT_MAX_PIXELS

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
GLOB_CHARS = "*?["
MANIFEST = "manifest.jsonl"


def pattern_root(pattern: str) -> str:
    """The folder outputs are made relative to: the pattern up to the last '/' before its first
    glob character (``photos/**/*.jpg`` -> ``photos/``; ``gs://b/in/a.png`` -> ``gs://b/in/``)."""
    globs = [i for i, c in enumerate(pattern) if c in GLOB_CHARS]
    head = pattern[:globs[0]] if globs else pattern
    return head[:head.rfind("/") + 1]


def output_for(path: str, root: str, output_dir: str, suffix: str = ".png") -> str:
    rel = path[len(root):].lstrip("/") if root and path.startswith(root) else path.rsplit("/", 1)[-1]
    return FileSystems.join(output_dir.rstrip("/"), str(PurePosixPath(rel).with_suffix(suffix)))


class BatchError(DeblurTFError, ValueError):
    """A batch run that cannot start (nothing matches, a bad option)."""


@dataclass
class Photo:
    """A decoded input on its way through the pipeline (``started``: when decoding began)."""
    image: np.ndarray
    output: str
    started: float


@dataclass
class Failure:
    message: str


def record(path: str, status: str, message: str = "", output: str = "", seconds: float = 0.0) -> dict:
    return {"input": path, "status": status, "message": message, "output": output,
            "seconds": round(seconds, 4)}


class PlanOutputs(beam.DoFn):
    """Match results -> inputs to restore (main) or ``skipped`` manifest records."""

    def __init__(self, root: str, output_dir: str, overwrite: bool):
        self.root, self.output_dir, self.overwrite = root, output_dir, overwrite

    def process(self, metadata):
        path = metadata.path
        name = path.rsplit("/", 1)[-1]
        out_prefix = self.output_dir.rstrip("/") + "/"
        if (path.startswith(out_prefix) or name.startswith(".")
                or not name.lower().endswith(IMAGE_SUFFIXES)):
            return  # outputs of an earlier run, temporary files, and non-images are not inputs
        output = output_for(path, self.root, self.output_dir)
        if not self.overwrite and FileSystems.exists(output):
            yield beam.pvalue.TaggedOutput("skipped", record(path, "skipped", "output exists", output))
            return
        yield path, output


class DecodeImages(beam.DoFn):
    """(path, output) -> (path, Photo), or a ``failed`` manifest record with the one-line reason."""

    def __init__(self, max_pixels: int):
        self.max_pixels = max_pixels

    def process(self, item):
        from deblur_tf.io import load_image
        path, output = item
        started = time.time()
        try:
            with FileSystems.open(path) as f:
                data = f.read()
            image = load_image(data, self.max_pixels, name=path)
        except Exception as e:  # noqa: BLE001 - a bad file is a manifest line, not a failed pipeline
            yield beam.pvalue.TaggedOutput("failed", record(path, "error", format_error(e), output,
                                                            time.time() - started))
            return
        yield path, Photo(image, output, started)


class DeblurrerHandler(ModelHandler):
    """``RunInference`` model handler: a ``Deblurrer`` (.keras, SavedModel or .tflite) loaded once
    per worker; each example's inference is the restored image, or a ``Failure``."""

    def __init__(self, model_path: str, faces: str = "auto", background: bool = False,
                 max_batch_size: int = 8, mirror: bool = False):
        super().__init__()
        self.model_path, self.faces, self.background = str(model_path), faces, background
        self.max_batch_size, self.mirror = max_batch_size, bool(mirror)

    def load_model(self):
        from deblur_tf import import_tensorflow_quietly
        from deblur_tf.inference import Deblurrer
        import_tensorflow_quietly()
        return Deblurrer.load(self.model_path, mirror=self.mirror)

    def run_inference(self, batch, model, inference_args=None):
        outputs = [None] * len(batch)
        if self.faces == "off":
            # Same-size photos as one batch (a face-crop archive is mostly one size).
            by_shape = {}
            for i, photo in enumerate(batch):
                by_shape.setdefault((photo.image.shape, photo.image.dtype.str), []).append(i)
            for indices in by_shape.values():
                try:
                    outputs_for = _restore_same_size(model, [batch[i].image for i in indices])
                except Exception:  # noqa: BLE001 - retry one by one to isolate the bad one
                    outputs_for = [self._one(model, batch[i].image) for i in indices]
                for i, out in zip(indices, outputs_for):
                    outputs[i] = out
        else:
            outputs = [self._one(model, photo.image) for photo in batch]
        return [PredictionResult(photo, out) for photo, out in zip(batch, outputs)]

    def _one(self, model, image):
        try:
            return model.restore(image, faces=self.faces, background=self.background)[0]
        except Exception as e:  # noqa: BLE001
            return Failure(format_error(e))

    def batch_elements_kwargs(self):
        return {"max_batch_size": self.max_batch_size}

    def get_num_bytes(self, batch):
        return sum(photo.image.nbytes for photo in batch)

    def get_metrics_namespace(self):
        return "deblur_tf"


def _restore_same_size(deblurrer, images: list[np.ndarray]) -> list[np.ndarray]:
    """``Deblurrer(image)`` for each of several images of one shape and dtype, as one batch."""
    from deblur_tf.inference import split_channels
    parts = [split_channels(im) for im in images]
    restored = deblurrer.restore_float(np.stack([rgb for rgb, _ in parts]))
    return [merge(out) for (_, merge), out in zip(parts, restored)]


class WriteOutputs(beam.DoFn):
    """(path, PredictionResult) -> a manifest record, the image written atomically when restored."""

    def process(self, item):
        from deblur_tf.io import encode_image
        path, result = item
        photo, restored = result.example, result.inference
        if isinstance(restored, Failure):
            yield record(path, "error", restored.message, photo.output, time.time() - photo.started)
            return
        try:
            write_atomically(photo.output, encode_image(restored, ".png"))
        except Exception as e:  # noqa: BLE001
            yield record(path, "error", f"cannot write {photo.output}: {format_error(e)}",
                         photo.output, time.time() - photo.started)
            return
        yield record(path, "ok", "", photo.output, time.time() - photo.started)


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to a temporary name beside ``path``, then rename it into place."""
    folder, name = path.rsplit("/", 1) if "/" in path else ("", path)
    tmp = FileSystems.join(folder, f".{name}.{uuid.uuid4().hex[:8]}.tmp") if folder else f".{name}.tmp"
    if folder and not FileSystems.exists(folder):
        FileSystems.mkdirs(folder)
    with FileSystems.create(tmp) as f:
        f.write(data)
    try:
        if FileSystems.exists(path):
            FileSystems.delete([path])  # rename does not replace on every filesystem
        FileSystems.rename([tmp], [path])
    except Exception:
        FileSystems.delete([tmp])
        raise


def write_manifest(records: list[dict], path: str) -> None:
    records = sorted(records, key=lambda r: r["input"])
    write_atomically(path, "".join(json.dumps(r) + "\n" for r in records).encode())


def build_pipeline(pipeline, pattern: str, output_dir: str, model_path: str, *, faces: str = "auto",
                   background: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS,
                   overwrite: bool = False, max_batch_size: int = 8, mirror: bool = False) -> None:
    """Add the restore-and-manifest steps for ``pattern`` to ``pipeline`` (``mirror``: as
    ``Deblurrer.load``'s)."""
    root = pattern_root(pattern)
    planned = (pipeline
               | "Pattern" >> beam.Create([pattern])
               | "Match" >> fileio.MatchAll()
               | "Plan" >> beam.ParDo(PlanOutputs(root, output_dir, overwrite)).with_outputs(
                   "skipped", main="todo"))
    decoded = planned.todo | "Decode" >> beam.ParDo(DecodeImages(max_pixels)).with_outputs(
        "failed", main="photos")
    handler = KeyedModelHandler(DeblurrerHandler(model_path, faces, background, max_batch_size, mirror))
    written = (decoded.photos
               | "Restore" >> RunInference(handler)
               | "Write" >> beam.ParDo(WriteOutputs()))
    manifest = FileSystems.join(output_dir.rstrip("/"), MANIFEST)
    ((planned.skipped, decoded.failed, written)
     | "Records" >> beam.Flatten()
     | "All" >> beam.combiners.ToList()
     | "Manifest" >> beam.Map(write_manifest, manifest))


def _drop_resource_warning(rec: logging.LogRecord) -> bool:
    # Beam 2.77 imports ``resource`` in the same try block as its torch-only ModelManager, so
    # without torch it warns on every batch that memory "cannot be fetched": noise, not news.
    return "Resource module is not available" not in str(rec.msg)


@dataclass
class BatchSummary:
    manifest: str
    ok: int
    skipped: int
    failures: list[dict]

    @property
    def total(self) -> int:
        return self.ok + self.skipped + len(self.failures)


def run_batch(pattern: str, output_dir: str, model_path: str, *, faces: str = "auto",
              background: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS,
              overwrite: bool = False, beam_args: list[str] | None = None,
              mirror: bool = False) -> BatchSummary:
    """Run the pipeline to the end (``beam_args``: Beam pipeline options, e.g. ``--runner``) and
    summarise its manifest."""
    from apache_beam.options.pipeline_options import PipelineOptions
    from deblur_tf.inference import ModelLoadError
    if faces not in ("auto", "only", "off"):
        raise ValueError(f"faces must be auto, only or off, got {faces!r}")
    if not FileSystems.exists(model_path):
        raise ModelLoadError(f"no such model: {model_path}")
    if not FileSystems.match([pattern])[0].metadata_list:
        raise BatchError(f"no files match {pattern} (a folder tree is 'folder/**')")
    # Fail here, not inside a worker, on a model that cannot load.
    from deblur_tf.inference import load_backend
    load_backend(model_path)
    options = PipelineOptions(beam_args or [])
    root_logger = logging.getLogger()
    root_logger.addFilter(_drop_resource_warning)
    try:
        with beam.Pipeline(options=options) as pipeline:
            build_pipeline(pipeline, pattern, output_dir, model_path, faces=faces,
                           background=background, max_pixels=max_pixels, overwrite=overwrite,
                           mirror=mirror)
    finally:
        root_logger.removeFilter(_drop_resource_warning)
    manifest = FileSystems.join(output_dir.rstrip("/"), MANIFEST)
    with FileSystems.open(manifest) as f:
        records = [json.loads(line) for line in f.read().decode().splitlines() if line.strip()]
    return BatchSummary(manifest, sum(r["status"] == "ok" for r in records),
                        sum(r["status"] == "skipped" for r in records),
                        [r for r in records if r["status"] == "error"])
