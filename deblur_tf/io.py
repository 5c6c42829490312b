"""Image and file I/O with clear errors and atomic writes (no half-written outputs)."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from deblur_tf import native_stderr_muted
from deblur_tf.errors import DeblurTFError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def is_image_file(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(IMAGE_EXTENSIONS)


class ImageReadError(DeblurTFError, ValueError):
    """A file is missing, unreadable or not an image."""


class OutputError(DeblurTFError, ValueError):
    """An output cannot be written (exists, equals an input, or the folder is not writable)."""


DEFAULT_MAX_PIXELS = 50_000_000  # decompression-bomb guard: a 50 MP photo is already very large


def _is_16bit_png(data: bytes) -> bool:
    # PNG signature, then the IHDR chunk: bit depth is byte 24.
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 24 and data[24] == 16


def load_image(source: str | os.PathLike | bytes, max_pixels: int | None = DEFAULT_MAX_PIXELS,
               name: str | None = None) -> np.ndarray:
    """Decode an image file (or its bytes) to uint8 / uint16 [H, W], [H, W, 3] or [H, W, 4] RGB(A).

    EXIF orientation is applied; palette, CMYK and other modes become RGB (RGBA when there is
    transparency); 16-bit PNGs stay 16-bit. The pixel count is checked from the header before
    decoding (``max_pixels``); truncated and corrupt files are errors, not half images.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError
    if isinstance(source, (bytes, bytearray)):
        data, label = bytes(source), name or "<stdin>"
    else:
        path = Path(source)
        label = name or str(path)
        if not path.exists():
            raise ImageReadError(f"no such file: {path}")
        if path.is_dir():
            raise ImageReadError(f"is a folder, not an image: {path}")
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ImageReadError(f"cannot read {path}: {e.strerror}") from None
    if not data:
        raise ImageReadError(f"empty file: {label}")
    Image.MAX_IMAGE_PIXELS = None  # checked below, with a clearer message than Pillow's
    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError):
        raise ImageReadError(f"not a readable image: {label}") from None
    w, h = image.size
    if max_pixels and w * h > max_pixels:
        raise ImageReadError(f"{label} is {w}x{h} = {w * h / 1e6:.1f} MP, over the limit of "
                             f"{max_pixels / 1e6:.1f} MP (a decompression-bomb guard; --max-pixels raises it)")
    if image.mode.startswith("I;16") or _is_16bit_png(data):
        with native_stderr_muted():  # libpng prints its own line for a corrupt file
            array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if array is None:
            raise ImageReadError(f"corrupt 16-bit image: {label}")
        if array.ndim == 3:
            array = cv2.cvtColor(array, cv2.COLOR_BGRA2RGBA if array.shape[2] == 4 else cv2.COLOR_BGR2RGB)
        return array
    try:
        image = ImageOps.exif_transpose(image)  # decodes: a truncated file fails here
        image.load()
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageReadError(f"truncated or corrupt image: {label} ({str(e).splitlines()[0]})") from None
    if image.mode in ("I", "F"):
        raise ImageReadError(f"unsupported 32-bit image mode {image.mode}: {label}")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if image.mode != "L" or has_alpha:
        image = image.convert("RGBA" if has_alpha else "RGB")
    return np.asarray(image)


def read_rgb(path: str | os.PathLike, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file as uint8 RGB [H, W, 3] (grey replicated, alpha dropped, 16 bit scaled)."""
    return as_rgb8(load_image(path, max_pixels))


def as_rgb8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


def encode_image(image: np.ndarray, suffix: str = ".png") -> bytes:
    """Encode RGB(A) / grey, 8 or 16 bit; formats without alpha or 16 bit get RGB 8 bit."""
    suffix = suffix.lower()
    if suffix not in (".png", ".tif", ".tiff"):
        image = as_rgb8(image) if (image.dtype == np.uint16 or image.ndim == 3 and image.shape[2] == 4) else image
    if image.ndim == 3:
        code = cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR
        image = cv2.cvtColor(image, code)
    try:
        ok, encoded = cv2.imencode(suffix, image)
    except cv2.error:
        ok = False
    if not ok:
        raise OutputError(f"cannot encode an image as '{suffix}'")
    return encoded.tobytes()


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
        # mkstemp creates 0600 files; give the output the permissions a plain open() would.
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_image(path: str | os.PathLike, image: np.ndarray) -> None:
    """Encode by the file's extension and write atomically (a reader never sees half a file)."""
    path = Path(path)
    encoded = encode_image(image, path.suffix or ".png")
    try:
        with atomic_path(path) as tmp:
            Path(tmp).write_bytes(encoded)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror}") from None



# --- planning a run over files and folders ------------------------------------------------------

def collect_images(inputs: tuple[str, ...], exclude: Path | None = None) -> list[tuple[Path, Path]]:
    """(file, path relative to its input root) for files and folders (recursive). Files under
    ``exclude`` (the output folder, when it lies inside an input folder) and hidden temporary
    files of interrupted atomic writes (``.name.xxxx.png``) are skipped."""
    skip = exclude.resolve() if exclude is not None else None

    def wanted(f: Path) -> bool:
        if not f.is_file() or not is_image_file(f) or f.name.startswith("."):
            return False
        return skip is None or not f.resolve().is_relative_to(skip)
    out = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            try:
                files = sorted(f for f in p.rglob("*") if wanted(f))
            except PermissionError as e:
                raise ImageReadError(f"cannot read folder {p}: {e.strerror}") from None
            if not files:
                raise ImageReadError(f"no images in folder {p}")
            out += [(f, f.relative_to(p)) for f in files]
        elif p.exists():
            out.append((p, Path(p.name)))
        else:
            raise ImageReadError(f"no such file or folder: {p}")
    return out


def output_path(rel: Path, output: Path, single: bool, suffix: str = ".png") -> Path:
    """Where an input's result goes: ``output`` itself for one input named as a file, else
    ``output/rel`` with ``suffix``."""
    if single and output.suffix:
        return output
    return output / rel.with_suffix(suffix)


def matching_masks(items: list[tuple[Path, Path]], mask: str, single: bool) -> list[Path]:
    """The mask of each input: the one --mask file, or the file with the same relative path under
    the --mask folder (any image extension, e.g. photo.jpg + photo.png)."""
    root = Path(mask)
    if not root.exists():
        raise ImageReadError(f"no such mask file or folder: {root}")
    if root.is_file():
        if not single:
            raise ImageReadError("several inputs need a mask folder (with the same relative "
                                 "names), not one mask file")
        return [root]
    found = {}
    for f in root.rglob("*"):
        if f.is_file() and is_image_file(f) and not f.name.startswith("."):
            found.setdefault(str(f.relative_to(root).with_suffix("")), []).append(f)
    masks = []
    for src, rel in items:
        exact = root / rel
        candidates = [exact] if exact.is_file() else sorted(found.get(str(rel.with_suffix("")), []))
        if len(candidates) > 1:
            raise ImageReadError(f"several masks for {src} in {root}: "
                                 + ", ".join(str(c) for c in candidates))
        masks.append(candidates[0] if candidates else None)
    return masks


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


def plan_outputs(jobs: list[tuple[Path, list[Path]]], inputs: list, overwrite: bool) -> None:
    """Check every output of a run before anything is written: never an input, never an existing
    file without ``overwrite``, never two outputs on one path. ``jobs``: (input, its outputs)."""
    seen: dict[Path, Path] = {}
    for source, targets in jobs:
        for target in targets:
            check_output(target, inputs, overwrite)
            key = Path(target).resolve()
            if key in seen:
                raise OutputError(f"{source} and {seen[key]} would both write {target}; "
                                  "rename one or use another output folder")
            seen[key] = source


def to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(image, np.float32) * 255.0), 0, 255).astype(np.uint8)
