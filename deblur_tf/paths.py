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
