"""Where the shared data and weights live (never copied into the repository)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """``$DEBLUR_TF_SHARED`` if set, else ``../shared`` beside the project root (may not exist)."""
    env = os.environ.get("DEBLUR_TF_SHARED")
    return Path(env) if env else PROJECT_ROOT.parent / "shared"


def shared_file(*parts: str) -> Path | None:
    """A file under the shared folder, or None when it is absent (fresh machine, CI without it)."""
    path = shared_dir().joinpath(*parts)
    return path if path.exists() else None


def default_model_path() -> Path | None:
    """The shipped model in ``exported/`` when present."""
    path = PROJECT_ROOT / "exported" / "deblur_tf_face.keras"
    return path if path.is_file() else None


def default_inpaint_model_path() -> Path | None:
    """The shipped inpainting model in ``exported/`` when present."""
    path = PROJECT_ROOT / "exported" / "deblur_tf_inpaint.keras"
    return path if path.is_file() else None


# How a shipped model's formats are named after it (e.g. deblur_tf_face.keras,
# deblur_tf_face_savedmodel/, deblur_tf_face_fp16.tflite): scripts/ship_*.py write these.
EXPORT_SUFFIXES = {"keras": ".keras", "savedmodel": "_savedmodel", "tflite_fp16": "_fp16.tflite",
                   "tflite_int8": "_int8.tflite"}


def export_name(path: str | os.PathLike) -> str:
    """The name a model file is exported under: ``deblur_tf_face`` for any of its formats."""
    name = Path(path).name
    for suffix in sorted(EXPORT_SUFFIXES.values(), key=len, reverse=True):
        if name.endswith(suffix):
            return name[:-len(suffix)]
    return Path(name).stem


def given_or_shipped(given, shipped: Path | None) -> list[str]:
    """The models a user named, or else the shipped one (none when it is absent): what every
    command that compares models starts from."""
    given = [str(p) for p in given]
    return given or ([str(shipped)] if shipped is not None else [])


def lfw_test_split(images: str | None = None, root: str | None = None) -> tuple[str, str | None]:
    """(images, root) as given, or the LFW test split in ../shared (FileNotFoundError without it)."""
    if images is not None:
        return images, root
    split = shared_file("data", "lfw", "splits", "test.txt")
    if split is None:
        raise FileNotFoundError("no --images given and ../shared/data/lfw is absent")
    return str(split), str(shared_file("data", "lfw", "images"))
