"""``deblur-tf app``: a local web page (Gradio) to restore and repair photos without a terminal.

Three tabs — Restore, Repair damage, About — over the same ``Deblurrer`` / ``Inpainter`` calls as
the CLI (``restore`` / ``restore(image, mask)``): the page adds uploads, a before/after slider and
downloads, never a second implementation.

What the page promises, and how:
- **Local by default.** It binds to 127.0.0.1; another host prints a warning and may take
  ``auth=(user, password)`` (Gradio's login). No share link, Gradio's analytics off, no API page
  (the queue is closed to direct API calls), no server-side rendering process.
- **Uploads are guarded before decoding.** Photos arrive as files (Gradio's ``max_file_size`` caps
  their bytes) and are decoded by ``io.load_image``, whose pixel guard reads the header first; the
  image editor only ever receives a photo that passed it.
- **Nothing stays on disk.** Gradio's upload cache and the downloads live in one private temporary
  folder made for this server: each browser session has its own sub-folder (named by a hash, never by
  anything the user typed), deleted with that session's uploads when the tab closes; Gradio's cache is
  swept of files older than ``CACHE_MAX_AGE`` and the whole folder is removed when the server stops.
  Download names keep only a sanitised stem of the upload's name.
- **Bad input is one line in the page** (``gr.Error``), and the server keeps serving.
- **Two cores are not overrun.** All model work (both tabs, all users) shares one queue slot
  (``concurrency_id="model"``); at most ``QUEUE_SIZE`` requests wait.
"""


import hashlib
import os
import re
import shutil
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deblur_tf.errors import DeblurTFError, format_error
from deblur_tf.io import DEFAULT_MAX_PIXELS, as_rgb8, encode_image, load_image

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
DISPLAY_MAX_SIDE = 1600  # the slider shows at most this; downloads are full size
EDITOR_MAX_SIDE = 2048  # the brush canvas works on at most this; the mask is scaled back up
QUEUE_SIZE = 16
CACHE_MAX_AGE = 900  # seconds: Gradio's own cached uploads / outputs older than this are deleted
DEFAULT_MAX_UPLOAD_MB = 60
# Formats a download can keep ("same as the upload"); others come back as PNG.
KEEPABLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


class AppError(DeblurTFError, ValueError):
    """A problem with what a user gave the page (shown as one line in the page)."""


# --- what the handlers do, without Gradio (tested directly) -------------------------------------

def safe_stem(name: str | None) -> str:
    """A file-name stem made only of letters, digits, '-' and '_' from an upload's name (its last
    path component only): what the user's browser sent never becomes a path on the server."""
    stem = Path(str(name or "")).stem if name else ""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:60]
    return stem or "photo"


def download_suffix(name: str | None, keep_format: bool) -> str:
    suffix = Path(str(name or "")).suffix.lower()
    return suffix if keep_format and suffix in KEEPABLE_SUFFIXES else ".png"


def for_display(image: np.ndarray, max_side: int = DISPLAY_MAX_SIDE) -> np.ndarray:
    """uint8 RGB no larger than ``max_side`` (the browser shows it; the download is full size)."""
    import cv2
    rgb = as_rgb8(image)
    scale = max_side / max(rgb.shape[:2])
    if scale < 1:
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return rgb


@dataclass
class Restored:
    """One photo through the Restore tab."""
    name: str  # the upload's file name (display only)
    image: np.ndarray | None = None  # as decoded (any dtype / channels ``load_image`` gives)
    restored: np.ndarray | None = None
    faces: list = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    def summary(self, face_mode: str) -> str:
        if self.error:
            return f"{self.name}: failed — {self.error}"
        n = len(self.faces)
        if face_mode == "off":
            what = "restored as one picture"
        elif n:
            what = f"{n} face{'s' if n != 1 else ''} restored"
        elif face_mode == "only":
            what = "no face found; left unchanged"
        else:
            what = "no face found; restored the whole picture"
        return f"{self.name}: {what}, {self.seconds:.1f} s"


def restore_files(deblurrer, files: list[tuple[str, str]], *, faces: str = "auto",
                  background: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS,
                  progress=None) -> list[Restored]:
    """Restore uploaded files ``[(path, name)]`` with ``Deblurrer.restore``; a bad file gets its
    one-line error and the others go on. ``progress(fraction, text)`` reports along the way."""
    results = []
    for i, (path, name) in enumerate(files):
        item = Restored(name=name)
        start = time.perf_counter()

        def tiles(done, total, i=i):
            if progress is not None:
                progress((i + done / total) / len(files), f"{name}: tile {done} of {total}")
        try:
            if progress is not None:
                progress(i / len(files), f"{name}: finding faces" if faces != "off" else name)
            item.image = load_image(path, max_pixels, name=name)
            item.restored, item.faces = deblurrer.restore(item.image, faces=faces,
                                                          background=background, progress=tiles)
        except Exception as e:  # noqa: BLE001 - one bad upload must not stop the others
            item.error = format_error(e)
        item.seconds = time.perf_counter() - start
        results.append(item)
    return results


def painted_mask(editor_value: dict | None, shape: tuple[int, int]) -> np.ndarray:
    """The brush strokes of a Gradio image-editor value as a bool [H, W] mask at ``shape`` (the
    photo's size; the editor may have worked on a smaller copy). Any painted pixel is damage."""
    import cv2
    layers = (editor_value or {}).get("layers") or []
    painted = None
    for layer in layers:
        layer = np.asarray(layer)
        if layer.ndim != 3 or layer.shape[2] != 4:
            continue
        alpha = layer[..., 3] > 0
        painted = alpha if painted is None else painted | alpha
    if painted is None or not painted.any():
        raise AppError("nothing painted: paint over the damaged parts with the brush, then press Repair")
    if painted.shape != tuple(shape):
        painted = cv2.resize(painted.astype(np.uint8) * 255, (shape[1], shape[0]),
                             interpolation=cv2.INTER_LINEAR) > 0
    return painted


def editor_background(image: np.ndarray, max_side: int = EDITOR_MAX_SIDE) -> dict:
    """The image-editor value for a freshly loaded photo: the photo (scaled down to ``max_side``
    for the browser's canvas), no strokes yet."""
    shown = for_display(image, max_side)
    return {"background": shown, "layers": [], "composite": shown}


# --- the model cards, for the About tab ---------------------------------------------------------

def _strip_links(text: str) -> str:
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)  # pictures
    return re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # links -> their text


def _sections(text: str, level: int) -> dict[str, str]:
    marker = "#" * level + " "
    out, title, lines = {}, None, []
    for line in text.splitlines():
        if line.startswith(marker):
            if title is not None:
                out[title] = "\n".join(lines).strip()
            title, lines = line[len(marker):].strip(), []
        elif title is not None:
            lines.append(line)
    if title is not None:
        out[title] = "\n".join(lines).strip()
    return out


def model_card_summary(card: str, file_stem: str) -> str | None:
    """Status, training data, quality table and limitations of the model whose files start with
    ``file_stem``, from the model cards in ``exported/README.md`` (links removed), or None."""
    for title, body in _sections(card, 2).items():
        if f"`{file_stem}" not in title:
            continue
        parts = [f"### {title}"]
        status = next((p for p in body.split("\n\n") if p.startswith("**Status:**")), None)
        if status:
            parts.append(status)
        subs = _sections(body, 3)
        data = next((v for k, v in subs.items() if k.startswith("Data")), "")
        first_bullet = re.split(r"\n- ", "\n" + data)[1:2]
        if first_bullet:
            parts.append("**Trained on:** " + " ".join(first_bullet[0].split()))
        quality_title = next((k for k in subs if k.startswith("Quality")), None)
        if quality_title:
            table = []  # the section's first table only
            for ln in subs[quality_title].splitlines():
                if ln.startswith("|"):
                    table.append(ln)
                elif table:
                    break
            if table:
                parts += [f"**{quality_title}**", "\n".join(table)]
        if "Limitations" in subs:
            parts += ["**Limitations**", subs["Limitations"]]
        return _strip_links("\n\n".join(parts))
    return None


def about_markdown(deblur_model: str, inpaint_label: str, inpaint_model: str | None,
                   mirror: bool = False) -> str:
    from deblur_tf.paths import PROJECT_ROOT, export_name
    card_path = PROJECT_ROOT / "exported" / "README.md"
    card = card_path.read_text(encoding="utf-8") if card_path.is_file() else ""
    lines = ["## About these models",
             "Everything runs on this computer: photos are not sent anywhere, and the page keeps "
             "no copy of them after you close it. The models were trained on public photos of "
             "celebrities' faces (LFW) with synthetic blur and damage; they work best on faces and "
             "may change a face's fine details. Check what matters before you rely on a result."]
    for label, path in (("Restore", deblur_model), ("Repair damage", inpaint_model)):
        if path is None:
            continue
        summary = model_card_summary(card, export_name(path)) if card else None
        how = (", on each photo and its mirror image, averaged (`--mirror`)"
               if mirror and label == "Restore" else "")
        lines.append(f"**{label}** uses `{Path(path).name}`{how}.")
        lines.append(summary or "No model card for this model (it is not one of the shipped models).")
    if inpaint_model is None:
        lines.append(f"**Repair damage** uses {inpaint_label}.")
    return "\n\n".join(lines)


# --- per-session files --------------------------------------------------------------------------

class SessionFiles:
    """One private folder per browser session under ``root``, deleted when the session ends.

    Gradio's session hash comes from the browser, so the folder is named by its SHA-256 only.
    The uploads Gradio cached for a session are remembered and deleted with it.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self._uploads: dict[str, set[Path]] = {}
        self._lock = threading.Lock()

    def key(self, session_hash: str | None) -> str:
        return hashlib.sha256(str(session_hash).encode()).hexdigest()[:24]

    def folder(self, session_hash: str | None) -> Path:
        path = self.root / "sessions" / self.key(session_hash)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def remember_upload(self, session_hash: str | None, path: str | os.PathLike) -> None:
        with self._lock:
            self._uploads.setdefault(self.key(session_hash), set()).add(Path(path))

    def end(self, session_hash: str | None) -> None:
        key = self.key(session_hash)
        with self._lock:
            uploads = self._uploads.pop(key, set())
        for path in uploads:
            # only files inside our own root: never anything else on the machine
            if path.resolve().is_relative_to(self.root.resolve()):
                path.unlink(missing_ok=True)
        shutil.rmtree(self.root / "sessions" / key, ignore_errors=True)

    def new_result(self, session_hash: str | None, tab: str) -> Path:
        """A fresh folder for one result of ``tab`` (its download and previews); the tab's earlier
        results go (Gradio has copied what the page shows into its own cache by then)."""
        folder = self.folder(session_hash)
        for old in folder.glob(f"{tab}-*"):
            shutil.rmtree(old, ignore_errors=True)
        return Path(tempfile.mkdtemp(prefix=f"{tab}-", dir=folder))


def write_preview(folder: Path, name: str, image: np.ndarray) -> str:
    """A display copy as a fast lossless PNG (OpenCV's encoder is ~10x faster than the one Gradio
    would use on an array), returned as a path for the slider / gallery."""
    path = folder / name
    path.write_bytes(encode_image(for_display(image), ".png"))
    return str(path)


def zip_bytes(entries: list[tuple[str, bytes]]) -> bytes:
    import io
    buffer = io.BytesIO()
    used = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:  # images are compressed already
        for name, data in entries:
            stem, suffix = Path(name).stem, Path(name).suffix
            unique, k = name, 1
            while unique in used:
                k += 1
                unique = f"{stem}_{k}{suffix}"
            used.add(unique)
            zf.writestr(unique, data)
    return buffer.getvalue()


# --- the page -----------------------------------------------------------------------------------

@dataclass
class AppSettings:
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB


def build_app(deblurrer, inpainter, *, workdir: str | os.PathLike, deblur_model: str = "model",
              inpaint_model: str | None = None, inpaint_label: str = "the inpainting model",
              settings: AppSettings | None = None):
    """The Gradio Blocks of the page (not launched). ``inpaint_model`` None means ``inpainter`` is a
    baseline (OpenCV), named by ``inpaint_label`` in the page."""
    import gradio as gr

    settings = settings or AppSettings()
    sessions = SessionFiles(Path(workdir))

    def fail(e: Exception):
        raise gr.Error(format_error(e), print_exception=False) from None

    def upload_paths(files, request):
        paths = []
        for f in files or []:
            path = f if isinstance(f, str) else getattr(f, "name", None) or str(f)
            sessions.remember_upload(request.session_hash, path)
            # Gradio keeps the browser's file name as the cached file's name.
            paths.append((path, Path(path).name))
        return paths

    def on_restore(files, face_mode, background, show_faces, keep_format, request: gr.Request,
                   progress=gr.Progress()):
        items = upload_paths(files, request)
        if not items:
            raise gr.Error("no photo: upload one or more photos first", print_exception=False)
        started = time.perf_counter()
        results = restore_files(deblurrer, items, faces=face_mode, background=background,
                                max_pixels=settings.max_pixels,
                                progress=lambda frac, text: progress(frac, desc=text))
        good = [r for r in results if r.error is None]
        if not good:
            raise gr.Error(results[0].summary(face_mode), print_exception=False)
        progress(1.0, desc="encoding the download")
        entries = []
        for r in good:
            suffix = download_suffix(r.name, keep_format == "same as the upload")
            try:
                entries.append((f"{safe_stem(r.name)}_restored{suffix}", encode_image(r.restored, suffix)))
            except Exception as e:  # noqa: BLE001
                fail(e)
        folder = sessions.new_result(request.session_hash, "restore")
        name, data = entries[0] if len(entries) == 1 else ("restored_photos.zip", zip_bytes(entries))
        download = folder / name
        download.write_bytes(data)

        def shown(i, r):
            out = r.restored
            if show_faces and r.faces:
                from deblur_tf.faces import draw_faces
                out = for_display(out)
                scale = out.shape[0] / r.restored.shape[0]
                out = draw_faces(out, [_scaled_face(f, scale) for f in r.faces])
            return write_preview(folder, f"after_{i}.png", out)
        first = good[0]
        gallery = [(shown(i, r), r.name) for i, r in enumerate(good)] if len(good) > 1 else None
        lines = [r.summary(face_mode) for r in results]
        total = time.perf_counter() - started
        status = "\n".join(f"- {line}" for line in lines)
        if len(results) > 1:
            status += f"\n\n{len(good)} of {len(results)} photos restored in {total:.1f} s"
        before = write_preview(folder, "before.png", first.image)
        after = gallery[0][0] if gallery else shown(0, first)
        return ((before, after),
                gr.update(value=gallery, visible=gallery is not None),
                status,
                gr.update(value=str(download), visible=True, label=f"Download {download.name}"))

    def on_photo_for_repair(file, request: gr.Request):
        if not file:
            return None, None, ""
        (path, name), = upload_paths([file], request)
        try:
            image = load_image(path, settings.max_pixels, name=name)
        except Exception as e:  # noqa: BLE001
            fail(e)
        h, w = image.shape[:2]
        return editor_background(image), {"path": path, "name": name}, (
            f"{name}: {w}×{h}. Paint over the damaged parts, then press Repair.")

    def on_repair(editor_value, photo, face_mode, keep_format, request: gr.Request,
                  progress=gr.Progress()):
        if not photo:
            raise gr.Error("no photo: upload the photo to repair first", print_exception=False)
        started = time.perf_counter()
        try:
            image = load_image(photo["path"], settings.max_pixels, name=photo["name"])
            mask = painted_mask(editor_value, image.shape[:2])
            progress(0.1, desc="repairing")
            repaired, faces = inpainter.restore(
                image, mask, faces=face_mode,
                progress=lambda done, total: progress(0.1 + 0.9 * done / total,
                                                      desc=f"tile {done} of {total}"))
            suffix = download_suffix(photo["name"], keep_format == "same as the upload")
            data = encode_image(repaired, suffix)
        except gr.Error:
            raise
        except Exception as e:  # noqa: BLE001
            fail(e)
        folder = sessions.new_result(request.session_hash, "repair")
        download = folder / f"{safe_stem(photo['name'])}_repaired{suffix}"
        download.write_bytes(data)
        seconds = time.perf_counter() - started
        where = (f"{len(faces)} face{'s' if len(faces) != 1 else ''} repaired" if faces
                 else "repaired as one picture" if face_mode == "off" else "repaired")
        painted = editor_value.get("composite")  # the photo with the strokes, as the editor shows it
        painted = np.asarray(painted)[..., :3] if painted is not None and np.ndim(painted) == 3 else image
        return ((write_preview(folder, "before.png", painted), write_preview(folder, "after.png", repaired)),
                f"{photo['name']}: {int(mask.sum()):,} pixels painted; {where} with {inpaint_label}, "
                f"{seconds:.1f} s",
                gr.update(value=str(download), visible=True, label=f"Download {download.name}"))

    def on_unload(request: gr.Request):
        sessions.end(request.session_hash)

    face_choices = [("faces found (recommended)", "auto"), ("only faces", "only"),
                    ("whole picture (for face close-ups)", "off")]
    formats = ["PNG", "same as the upload"]
    with gr.Blocks(title="deblur-tf", analytics_enabled=False,
                   delete_cache=(60, CACHE_MAX_AGE)) as demo:
        gr.Markdown("# deblur-tf\nRestore blurred face photos and repair damaged ones — "
                    "on this computer, nothing is uploaded anywhere.")
        with gr.Tab("Restore", id="restore"):
            with gr.Row():
                with gr.Column(scale=1):
                    files = gr.File(label="Photos (one or several)", file_count="multiple",
                                    file_types=["image"], type="filepath", elem_id="restore-files")
                    face_mode = gr.Radio(face_choices, value="auto", label="What to restore",
                                         elem_id="restore-faces")
                    background = gr.Checkbox(label="Also restore the background (slower)",
                                             elem_id="restore-background")
                    show_faces = gr.Checkbox(label="Draw the faces found on the result",
                                             elem_id="restore-show-faces")
                    keep = gr.Radio(formats, value="PNG", label="Download as", elem_id="restore-format")
                    run = gr.Button("Restore", variant="primary", elem_id="restore-run")
                with gr.Column(scale=2):
                    slider = gr.ImageSlider(label="Before / after (drag the handle)", type="filepath",
                                            interactive=False, buttons=["fullscreen"],
                                            elem_id="restore-slider")
                    status = gr.Markdown(elem_id="restore-status")
                    gallery = gr.Gallery(label="All restored photos", visible=False,
                                         elem_id="restore-gallery")
                    download = gr.DownloadButton("Download", visible=False, elem_id="restore-download")
            run.click(on_restore, [files, face_mode, background, show_faces, keep],
                      [slider, gallery, status, download], concurrency_id="model",
                      concurrency_limit=1, api_visibility="private")
        with gr.Tab("Repair damage", id="repair"):
            if inpaint_model is None:
                gr.Markdown(f"No inpainting model is loaded: this tab uses **{inpaint_label}**.")
            photo = gr.State(None)
            with gr.Row():
                with gr.Column(scale=1):
                    repair_file = gr.File(label="Photo to repair", file_count="single",
                                          file_types=["image"], type="filepath", elem_id="repair-file")
                    repair_faces = gr.Radio(face_choices, value="auto", label="Where to repair",
                                            elem_id="repair-faces")
                    repair_keep = gr.Radio(formats, value="PNG", label="Download as",
                                           elem_id="repair-format")
                    repair_run = gr.Button("Repair", variant="primary", elem_id="repair-run")
                    repair_status = gr.Markdown(elem_id="repair-status")
                with gr.Column(scale=2):
                    editor = gr.ImageEditor(
                        label="Paint over the damaged parts", type="numpy", sources=(),
                        transforms=(), layers=False, elem_id="repair-editor",
                        brush=gr.Brush(colors=["#ff00ff"], color_mode="fixed", default_size=16))
            with gr.Row():
                repair_slider = gr.ImageSlider(label="Before / after", type="filepath",
                                               interactive=False, buttons=["fullscreen"],
                                               elem_id="repair-slider")
            repair_download = gr.DownloadButton("Download", visible=False, elem_id="repair-download")
            repair_file.change(on_photo_for_repair, [repair_file], [editor, photo, repair_status],
                               api_visibility="private")
            repair_run.click(on_repair, [editor, photo, repair_faces, repair_keep],
                             [repair_slider, repair_status, repair_download], concurrency_id="model",
                             concurrency_limit=1, api_visibility="private")
        with gr.Tab("About", id="about"):
            gr.Markdown(about_markdown(deblur_model, inpaint_label, inpaint_model,
                                       getattr(deblurrer, "mirror", False)), elem_id="about")
        demo.unload(on_unload)
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1, api_open=False)
    return demo


def _scaled_face(face, scale: float):
    """A shallow copy of a ``Face`` with its box and landmarks scaled (for drawing on a preview)."""
    import copy
    f = copy.copy(face)
    f.box = np.asarray(face.box, np.float32) * scale
    f.landmarks = None if face.landmarks is None else np.asarray(face.landmarks, np.float32) * scale
    return f


# --- serving ------------------------------------------------------------------------------------

def parse_auth(auth: str | None) -> tuple[str, str] | None:
    if auth is None:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise AppError("--auth must be USER:PASSWORD (both non-empty)")
    return user, password


def load_models(model: str | None, inpaint_model: str | None, mirror: bool = False):
    """(deblurrer, inpainter, deblur path, inpaint path or None, inpaint label) as the CLI loads
    them (``mirror``: as ``Deblurrer.load``'s)."""
    from deblur_tf.inference import Deblurrer, deblur_model_path
    from deblur_tf.inpainting import BASELINES, Inpainter
    from deblur_tf.paths import default_inpaint_model_path
    path = deblur_model_path(model)
    deblurrer = Deblurrer.load(path, mirror=mirror)
    ipath = inpaint_model or default_inpaint_model_path()
    if ipath is None or str(ipath) in BASELINES:
        name = str(ipath) if ipath is not None else "opencv-telea"
        label = {"opencv-telea": "OpenCV's Telea inpainting", "opencv-ns": "OpenCV's Navier–Stokes inpainting",
                 "prefill": "a fill from the surroundings"}.get(name, name)
        return deblurrer, Inpainter.load(name), str(path), None, label
    return deblurrer, Inpainter.load(ipath), str(path), str(ipath), f"`{Path(ipath).name}`"


def serve(*, host: str = "127.0.0.1", port: int = 7860, model: str | None = None,
          inpaint_model: str | None = None, auth: str | None = None,
          settings: AppSettings | None = None, block: bool = True, echo=print, mirror: bool = False):
    """Load the models and serve the page; returns (demo, url, workdir) when ``block`` is False."""
    credentials = parse_auth(auth)
    if host not in LOOPBACK_HOSTS:
        echo(f"warning: serving on {host}: other machines can reach this page"
             + ("" if credentials else "; consider --auth USER:PASSWORD"))
    elif credentials:
        echo("note: --auth on a local-only page")
    settings = settings or AppSettings()
    _check_port_free(host, port)
    workdir = Path(tempfile.mkdtemp(prefix="deblur-tf-app-"))
    # Gradio reads these when it is imported or first caches a file: everything it writes goes to
    # our private folder, and it phones nowhere.
    os.environ["GRADIO_TEMP_DIR"] = str(workdir / "gradio")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    try:
        deblurrer, inpainter, dpath, ipath, label = load_models(model, inpaint_model, mirror)
        demo = build_app(deblurrer, inpainter, workdir=workdir, deblur_model=dpath,
                         inpaint_model=ipath, inpaint_label=label, settings=settings)
        _, url, _ = demo.launch(server_name=host, server_port=port, share=False, auth=credentials,
                                max_file_size=f"{settings.max_upload_mb}mb", ssr_mode=False,
                                quiet=True, prevent_thread_lock=True, show_error=False,
                                footer_links=[], mcp_server=False, inbrowser=False)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    if not block:
        return demo, url, workdir
    echo(f"deblur-tf app: serving on {url} (Ctrl-C stops it)")
    try:
        while True:
            time.sleep(3600)
    finally:
        demo.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _check_port_free(host: str, port: int) -> None:
    import socket
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError as e:
            raise AppError(f"cannot serve on {host}:{port}: {e.strerror} (choose another --port)") from None
