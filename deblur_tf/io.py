"""Image and file I/O with clear errors and atomic writes (no half-written outputs)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np


class ImageReadError(ValueError):
    """A file is missing, unreadable or not an image."""


class OutputError(ValueError):
    """An output cannot be written (exists, equals an input, or the folder is not writable)."""


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as uint8 RGB [H, W, 3] (grey and alpha dropped to RGB)."""
    path = Path(path)
    if not path.exists():
        raise ImageReadError(f"no such file: {path}")
    if path.is_dir():
        raise ImageReadError(f"is a folder, not an image: {path}")
    data = np.fromfile(str(path), np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None  # BGR, EXIF-rotated
    if image is None:
        raise ImageReadError(f"not a readable image: {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str | None = None):
    """Yield a temporary path beside ``target``; on success it replaces ``target`` in one rename."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=suffix or target.suffix,
                               dir=target.parent)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_rgb(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write uint8 RGB atomically; the format follows the extension (.png, .jpg, ...)."""
    path = Path(path)
    ok, encoded = cv2.imencode(path.suffix or ".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OutputError(f"cannot encode an image as '{path.suffix}': {path}")
    try:
        with atomic_path(path) as tmp:
            encoded.tofile(tmp)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror}") from None


def check_output(output: str | os.PathLike, inputs: list[str | os.PathLike], overwrite: bool) -> Path:
    """Refuse to write over an input, or over an existing file unless ``overwrite``."""
    output = Path(output)
    resolved = output.resolve()
    for inp in inputs:
        if Path(inp).resolve() == resolved:
            raise OutputError(f"output would overwrite the input {inp}; choose another path")
    if output.exists() and not overwrite:
        raise OutputError(f"output exists: {output} (pass --overwrite to replace it)")
    return output


def to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(image, np.float32) * 255.0), 0, 255).astype(np.uint8)
