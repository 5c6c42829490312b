"""The local web app (``deblur-tf app``): its helpers directly, and the page in a real browser.

The browser tests drive Debian's headless Chromium with Playwright against the page served on a free
localhost port, with the shipped models. They skip (with the reason, shown by ``-ra``) when Gradio,
Playwright or Chromium is missing; ``.ci/run`` installs Chromium and sets
DEBLUR_TF_REQUIRE_BROWSER=1, which turns such a skip into a failure. Set
DEBLUR_TF_SCREENSHOT_DIR=docs to refresh the README's screenshots.
"""

import os
import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pytest

gr = pytest.importorskip("gradio", reason='the web app needs Gradio: pip install -e ".[app]"')

from deblur_tf import app as A  # noqa: E402
from deblur_tf.io import load_image, write_image  # noqa: E402
from deblur_tf.paths import PROJECT_ROOT, default_inpaint_model_path, default_model_path  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying this closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def psnr(a, b):
    err = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0 ** 2 / err)


# --- helpers, without a browser -----------------------------------------------------------------

def test_download_names_never_carry_a_path():
    assert A.safe_stem("../../etc/passwd") == "passwd"
    assert A.safe_stem("/tmp/x/My photo (1).JPG") == "My_photo_1"
    assert A.safe_stem("....") == "photo" and A.safe_stem(None) == "photo"
    assert len(A.safe_stem("a" * 500 + ".png")) == 60
    assert A.download_suffix("x.JPG", keep_format=True) == ".jpg"
    assert A.download_suffix("x.JPG", keep_format=False) == ".png"
    assert A.download_suffix("x.gif", keep_format=True) == ".png"  # not one we write


def test_painted_mask_unites_layers_scales_up_and_refuses_nothing():
    layer = np.zeros((50, 40, 4), np.uint8)
    layer[10:20, 5:15, 3] = 255
    other = np.zeros_like(layer)
    other[30:32, 30:35, 3] = 10
    mask = A.painted_mask({"layers": [layer, other]}, (50, 40))
    assert mask.sum() == 100 + 10
    big = A.painted_mask({"layers": [layer]}, (100, 80))  # the editor worked on a half-size copy
    assert big.shape == (100, 80) and big[20:40, 10:30].all() and not big[60:, :].any()
    for empty in (None, {"layers": []}, {"layers": [np.zeros((50, 40, 4), np.uint8)]}):
        with pytest.raises(A.AppError, match="nothing painted"):
            A.painted_mask(empty, (50, 40))


def test_editor_gets_a_scaled_copy_of_a_large_photo():
    value = A.editor_background(np.zeros((3000, 1000, 3), np.uint8), max_side=1500)
    assert value["background"].shape == (1500, 500, 3) and value["layers"] == []


def test_restore_files_isolates_a_bad_upload(tmp_path, tiny_generator):
    from deblur_tf.inference import Deblurrer
    rng = np.random.default_rng(0)
    good = tmp_path / "good.png"
    write_image(good, rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
    bad = tmp_path / "bad.png"
    bad.write_bytes(good.read_bytes()[:60])  # truncated
    huge = tmp_path / "huge.png"
    write_image(huge, np.zeros((100, 100, 3), np.uint8))
    seen = []
    results = A.restore_files(Deblurrer(tiny_generator), [(str(bad), "bad.png"), (str(good), "good.png"),
                                                          (str(huge), "huge.png")],
                              faces="off", max_pixels=5000, progress=lambda f, t: seen.append(f))
    assert [r.error is None for r in results] == [False, True, False]
    assert "truncated or corrupt" in results[0].error and "\n" not in results[0].error
    assert "over the limit" in results[2].error  # the pixel guard, from the header
    assert results[1].restored.shape == (40, 48, 3) and results[1].restored.dtype == np.uint8
    assert "restored as one picture" in results[1].summary("off")
    assert seen and max(seen) <= 1.0


def test_session_files_are_deleted_when_the_session_ends(tmp_path):
    files = A.SessionFiles(tmp_path / "work")
    upload = tmp_path / "work" / "gradio" / "abc" / "photo.png"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"x")
    outside = tmp_path / "mine.png"
    outside.write_bytes(b"keep")
    files.remember_upload("session-1", upload)
    files.remember_upload("session-1", outside)  # not ours: never deleted
    first = files.new_result("session-1", "restore")
    repair = files.new_result("session-1", "repair")
    second = files.new_result("session-1", "restore")
    A.write_preview(second, "after.png", np.zeros((4000, 10, 3), np.uint8))
    assert load_image(second / "after.png").shape == (A.DISPLAY_MAX_SIDE, 4, 3)
    assert not first.exists() and repair.exists()  # one result kept per tab and session
    assert files.folder("../../x").parent == tmp_path / "work" / "sessions"  # hashed, not a path
    files.end("session-1")
    assert not upload.exists() and not second.exists() and not repair.exists() and outside.exists()


def test_zip_keeps_same_named_results_apart():
    import io
    import zipfile
    data = A.zip_bytes([("a.png", b"1"), ("a.png", b"2"), ("b.jpg", b"3")])
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names == ["a.png", "a_2.png", "b.jpg"]


def test_about_summarises_the_shipped_model_cards():
    card = (PROJECT_ROOT / "exported" / "README.md").read_text(encoding="utf-8")
    for stem in ("deblur_tf_face", "deblur_tf_inpaint"):
        text = A.model_card_summary(card, stem)
        assert text is not None and "**Status:**" in text and "**Trained on:**" in text
        assert "| method |" in text and "**Limitations**" in text
        assert "](" not in text  # link-free
    assert A.model_card_summary(card, "someone_elses_model") is None
    about = A.about_markdown("/x/mine.keras", "OpenCV's Telea inpainting", None)
    assert "No model card" in about and "OpenCV's Telea inpainting" in about
    # Any exported format of a shipped model finds its card.
    for served in ("exported/deblur_tf_face_fp16.tflite", "exported/deblur_tf_face_savedmodel"):
        about = A.about_markdown(served, "OpenCV's Telea inpainting", "exported/deblur_tf_inpaint.keras")
        assert "No model card" not in about and about.count("**Status:**") == 2


def test_mirror_option_reaches_the_deblurrer_and_the_about_tab(tiny_generator, tmp_path):
    path = tmp_path / "mine.keras"
    tiny_generator.save(path)
    deblurrer, _, dpath, ipath, label = A.load_models(str(path), "opencv-telea", mirror=True)
    assert deblurrer.mirror and ipath is None
    about = A.about_markdown(dpath, label, ipath, mirror=deblurrer.mirror)
    assert "its mirror image, averaged" in about
    assert "mirror" not in A.about_markdown(dpath, label, ipath)


def test_auth_must_be_user_colon_password():
    assert A.parse_auth("ann:secret:2") == ("ann", "secret:2")
    assert A.parse_auth(None) is None
    for bad in ("ann", ":x", "ann:"):
        with pytest.raises(A.AppError, match="USER:PASSWORD"):
            A.parse_auth(bad)


def test_cli_app_errors_are_one_line(monkeypatch):
    from click.testing import CliRunner

    from deblur_tf.cli import cli
    runner = CliRunner()
    result = runner.invoke(cli, ["app", "--auth", "nopassword"])
    assert result.exit_code == 1 and result.output.strip().count("\n") == 0
    assert "USER:PASSWORD" in result.output
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(cli, ["app", "--port", str(port)])
        assert result.exit_code == 1 and f"cannot serve on 127.0.0.1:{port}" in result.output
        assert "choose another --port" in result.output
        # another host: a warning first (the port is busy there too, so nothing is served)
        result = runner.invoke(cli, ["app", "--host", "0.0.0.0", "--port", str(port)])
    assert result.output.startswith("warning: serving on 0.0.0.0: other machines can reach this page")
    assert "--auth USER:PASSWORD" in result.output and result.exit_code == 1


# --- the page in a real browser -----------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _browser_or_skip():
    reason = None
    try:
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError:
        reason = "Playwright is not installed (pip install -e '.[dev]')"
    if reason is None and not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if reason is not None:
        if os.environ.get("DEBLUR_TF_REQUIRE_BROWSER"):
            pytest.fail(f"browser tests required but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The page with the shipped models on a free localhost port: (url, workdir)."""
    _browser_or_skip()
    if default_model_path() is None or default_inpaint_model_path() is None:
        pytest.skip("the shipped models are not in exported/")
    workdir = tmp_path_factory.mktemp("app")
    os.environ["GRADIO_TEMP_DIR"] = str(workdir / "gradio")
    deblurrer, inpainter, dpath, ipath, label = A.load_models(None, None)
    demo = A.build_app(deblurrer, inpainter, workdir=workdir, deblur_model=dpath,
                       inpaint_model=ipath, inpaint_label=label,
                       settings=A.AppSettings(max_pixels=2_000_000))
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                ssr_mode=False, share=False, footer_links=[], max_file_size="5mb")
    yield f"http://127.0.0.1:{port}", workdir
    demo.close()
    os.environ.pop("GRADIO_TEMP_DIR", None)


@pytest.fixture(scope="module")
def browser(served):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _screenshot(page, name):
    folder = os.environ.get("DEBLUR_TF_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=True, type="jpeg", quality=85)


def _run(page, tab: str, screenshot: str | None = None) -> str:
    """Press the tab's button, wait for its result, return the status text (after a screenshot)."""
    page.click(f"#{tab}-run")
    page.locator(f"#{tab}-download").wait_for(state="visible", timeout=120_000)
    if screenshot:
        _screenshot(page, screenshot)
    return page.locator(f"#{tab}-status").inner_text()


def _download(page, tab: str, folder: Path) -> Path:
    """Click the tab's download button; the saved file keeps the name the page offered."""
    with page.expect_download() as download:
        page.click(f"#{tab}-download")
    path = folder / download.value.suggested_filename
    download.value.save_as(path)
    return path


@pytest.mark.slow
def test_restore_in_the_browser(served, browser, tmp_path):
    """Upload a blurred face, restore it, download it: closer to the sharp face than the input.
    A truncated upload first: a one-line error in the page, and the page keeps working."""
    from deblur_tf.demo import blurred_astronaut
    url, workdir = served
    blurred, sharp = blurred_astronaut(128)
    blurred8, sharp8 = (np.round(blurred * 255).astype(np.uint8), np.round(sharp * 255).astype(np.uint8))
    upload = tmp_path / "blurred face.png"
    write_image(upload, blurred8)
    broken = tmp_path / "broken.png"
    broken.write_bytes(upload.read_bytes()[:100])
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page.goto(url)
    files = page.locator("#restore-files input[type=file]")

    files.set_input_files(str(broken))
    page.click("#restore-run")
    page.get_by_text("truncated or corrupt image: broken.png").first.wait_for(timeout=60_000)

    files.set_input_files(str(upload))
    page.locator("#restore-faces").get_by_label("whole picture (for face close-ups)").check()
    assert "restored as one picture" in _run(page, "restore", "app_restore.jpg")
    got = _download(page, "restore", tmp_path)
    assert got.name == "blurred_face_restored.png"
    restored = load_image(got)
    assert restored.shape == blurred8.shape
    assert psnr(restored, sharp8) > psnr(blurred8, sharp8) + 1.0
    page.close()


@pytest.mark.slow
def test_several_photos_give_a_zip_and_list_each_failure(served, browser, tmp_path):
    """Three uploads, one corrupt: two restored in a gallery and a zip; the third's error listed.
    A file over the upload limit is refused by the page before it reaches the server's decoder."""
    import zipfile

    from playwright.sync_api import expect
    url, _ = served
    rng = np.random.default_rng(1)
    paths = []
    for name in ("one.png", "two.jpg"):
        write_image(tmp_path / name, rng.integers(0, 256, (64, 80, 3), dtype=np.uint8))
        paths.append(str(tmp_path / name))
    (tmp_path / "three.png").write_bytes(b"not an image at all")
    paths.append(str(tmp_path / "three.png"))
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page.goto(url)
    page.locator("#restore-files input[type=file]").set_input_files(paths)
    page.locator("#restore-faces").get_by_label("whole picture (for face close-ups)").check()
    page.locator("#restore-format").get_by_label("same as the upload").check()
    status = _run(page, "restore")
    assert "three.png: failed — not a readable image: three.png" in status
    assert "2 of 3 photos restored" in status
    expect(page.locator("#restore-gallery")).to_be_visible()  # (waits: it may render after the text)
    got = _download(page, "restore", tmp_path)
    assert got.name == "restored_photos.zip"
    names = zipfile.ZipFile(got).namelist()
    assert sorted(names) == ["one_restored.png", "two_restored.jpg"]

    big = tmp_path / "big.png"
    big.write_bytes(os.urandom(6 * 1024 * 1024))  # the fixture's limit is 5 MB
    page.locator("#restore-files input[type=file]").set_input_files(str(big))
    page.get_by_text("exceed", exact=False).first.wait_for(timeout=30_000)
    page.close()


@pytest.mark.slow
def test_repair_paints_a_stroke_and_changes_only_there(served, browser, tmp_path):
    """Paint one horizontal stroke from the canvas centre with the mouse, repair, download: pixels
    changed only in a band around the stroke; the session's files go when the tab closes."""
    import skimage.data
    url, workdir = served
    photo = skimage.data.astronaut()[::2, ::2].copy()  # 256 x 256
    upload = tmp_path / "astronaut.png"
    write_image(upload, photo)
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    page.goto(url)
    page.get_by_role("tab", name="Repair damage").click()
    page.locator("#repair-file input[type=file]").set_input_files(str(upload))
    page.get_by_text("Paint over the damaged parts, then press Repair").wait_for(timeout=60_000)
    page.wait_for_timeout(500)  # the editor draws the photo
    canvas = page.locator("#repair-editor canvas").first.bounding_box()
    # The editor centres the photo in its canvas: the canvas centre is the photo's centre.
    cx, cy = canvas["x"] + canvas["width"] / 2, canvas["y"] + canvas["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    for k in range(1, 16):
        page.mouse.move(cx + 4 * k, cy, steps=2)
    page.mouse.up()
    page.locator("#repair-faces").get_by_label("whole picture (for face close-ups)").check()
    assert "pixels painted" in _run(page, "repair", "app_repair.jpg")
    got = _download(page, "repair", tmp_path)
    repaired = load_image(got)
    changed = np.abs(repaired.astype(int) - photo.astype(int)).max(axis=2) > 0
    ys, xs = np.nonzero(changed)
    assert changed.sum() > 100  # the stroke was repaired ...
    # ... and nothing else: a band of a brush width (16 px at most, scaled up by the editor's zoom
    # of at least 1/2) plus the 4 px seam around the centre row, to the right of the centre.
    h, w = photo.shape[:2]
    assert ys.min() >= h / 2 - 24 and ys.max() <= h / 2 + 24, (ys.min(), ys.max())
    assert xs.min() >= w / 2 - 24, xs.min()
    sessions = workdir / "sessions"
    assert any(sessions.iterdir())  # the download lives in the session's folder ...
    page.close()  # ... which goes when the tab closes (Gradio notices the closed connection at its
    deadline = time.time() + 120  # next heartbeat, ~15 s; longer on a loaded machine)
    while any(sessions.iterdir()) and time.time() < deadline:
        time.sleep(0.5)
    assert not any(sessions.iterdir())


@pytest.mark.slow
def test_about_tab_shows_the_model_cards(served, browser):
    url, _ = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url)
    page.get_by_role("tab", name="About").click()
    about = page.locator("#about")
    about.get_by_text("deblur_tf_face.keras").first.wait_for(timeout=30_000)
    text = about.inner_text()
    assert "deblur_tf_inpaint.keras" in text and "Limitations" in text and "LFW" in text
    _screenshot(page, "app_about.jpg")
    page.close()
