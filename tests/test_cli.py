import json

import numpy as np
import pytest
from click.testing import CliRunner

from deblur_tf.cli import cli


@pytest.fixture()
def runner():
    return CliRunner()


def assert_clean_error(result, *fragments):
    """Non-zero exit, one 'Error:' line on stderr naming the problem, no traceback."""
    assert result.exit_code != 0
    assert "Traceback" not in result.output + result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines and lines[-1].startswith("Error:"), result.stderr
    for fragment in fragments:
        assert fragment in lines[-1]


def test_help_lists_the_commands(runner):
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("blur", "train", "evaluate", "deblur", "inpaint", "export", "demo", "models"):
        assert command in result.output


@pytest.mark.slow
def test_blur_writes_degraded_copies_and_kernel_pictures(runner, image_folder, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(cli, ["blur", str(image_folder), "-o", str(out), "--seed", "3"])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in out.glob("*.png"))
    assert written == sorted(p.name for p in image_folder.glob("*.png"))
    assert len(list((out / "kernels").glob("*.png"))) == len(written)
    from deblur_tf.io import read_rgb
    src, dst = read_rgb(image_folder / "img_2.png"), read_rgb(out / "img_2.png")
    assert src.shape == dst.shape and np.abs(src.astype(int) - dst).mean() > 1
    # Running again refuses to overwrite without --overwrite.
    again = runner.invoke(cli, ["blur", str(image_folder), "-o", str(out)])
    assert_clean_error(again, "exists")


def test_blur_with_a_configured_chain(runner, image_folder, tmp_path):
    config = tmp_path / "chain.yaml"
    config.write_text("degradations:\n  - {op: blur, kernels: [{type: disk, radius: 2}], bank_size: 4}\n"
                      "  - {op: impulse_noise, amount: 0.05}\n")
    result = runner.invoke(cli, ["blur", str(image_folder / "img_0.png"), "-o", str(tmp_path / "o"),
                                 "--config", str(config)])
    assert result.exit_code == 0, result.output
    # The configured chain, not the default one: the kernel picture is the radius-2 disk (5 px,
    # 8x enlarged) and about 5% of the pixels are salt or pepper.
    from deblur_tf.io import read_rgb
    assert read_rgb(tmp_path / "o" / "kernels" / "img_0.png").shape == (40, 40, 3)
    out = read_rgb(tmp_path / "o" / "img_0.png")
    extreme = np.mean(np.all(out == 0, axis=2) | np.all(out == 255, axis=2))
    assert 0.02 < extreme < 0.08
    bad = tmp_path / "bad.yaml"
    bad.write_text("degradations:\n  - {op: unsharpen}\n")
    result = runner.invoke(cli, ["blur", str(image_folder), "-o", str(tmp_path / "o2"), "--config", str(bad)])
    assert_clean_error(result, "unknown degradation op")


@pytest.mark.parametrize("args,fragment", [
    (["blur", "missing_dir", "-o", "x"], "no such file or folder"),
    (["train", "--run-dir", "r", "--set", "train.stpes=3"], "unknown config key 'train.stpes'"),
    (["train", "--run-dir", "r", "--config", "nope.yaml"], "config file not found"),
    (["train", "--run-dir", "r", "--experiment", "nope"], "unknown experiment"),
    (["train", "--run-dir", "r", "--set", "data.train=missing_folder"], "no such folder"),
    (["deblur", "x.png", "-o", "y.png", "--model", "missing.keras"], "no such model"),
    (["deblur", "-", "x.png", "-o", "y.png"], "cannot be mixed"),
    (["evaluate", "--images", ".", "--sizes", "13,big", "--no-lpips", "-o", "e.json"], "--sizes"),
    (["evaluate", "--suite", "--images", ".", "--lpips-every", "0", "-o", "e.json"], "--lpips-every"),
    (["blur", "x.png", "-o", "out", "--max-pixels", "0"], "--max-pixels"),
])
def test_bad_input_gives_one_clear_line(runner, tmp_path, monkeypatch, args, fragment):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.png").write_bytes(b"x")
    assert_clean_error(runner.invoke(cli, args), fragment)


@pytest.mark.slow
def test_train_then_deblur_and_evaluate_through_the_cli(runner, image_folder, tmp_path, tiny_run):
    run_dir = tmp_path / "run"
    result = runner.invoke(cli, ["train", "--experiment", "tiny_cpu", "--run-dir", str(run_dir),
                                 "--set", f"data.train={image_folder}", "--set", "data.image_size=16",
                                 "--set", "train.steps=2", "--set", "train.steps_per_epoch=2",
                                 "--set", "train.verbose=0",
                                 "--set", "model.generator_args={filters: 4, num_blocks: 1}"])
    assert result.exit_code == 0, result.output
    assert "steps 0 -> 2" in result.output and (run_dir / "generator.keras").is_file()

    model = str(tiny_run / "generator.keras")
    out = tmp_path / "deblurred"
    result = runner.invoke(cli, ["deblur", str(image_folder), "-o", str(out), "--model", model])
    assert result.exit_code == 0, result.output
    from deblur_tf.io import read_rgb
    assert read_rgb(out / "img_5.png").shape == read_rgb(image_folder / "img_5.png").shape

    single = tmp_path / "one.png"
    result = runner.invoke(cli, ["deblur", str(image_folder / "img_1.png"), "-o", str(single),
                                 "--model", model, "--compare"])
    assert result.exit_code == 0, result.output
    src = read_rgb(image_folder / "img_1.png")
    assert read_rgb(single).shape == (src.shape[0], 2 * src.shape[1], 3)

    report = tmp_path / "eval.json"
    result = runner.invoke(cli, ["evaluate", "--model", model, "--images", str(image_folder),
                                 "--center-crop", "0", "--image-size", "24", "--sizes", "5,9",
                                 "-o", str(report)])
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert set(data["per_size"]) == {"5", "9"} and {"blurred", "generator"} <= set(data["overall"])
    assert data["per_size"]["9"]["blurred"]["psnr"] < data["per_size"]["5"]["blurred"]["psnr"]
    assert report.with_suffix(".png").is_file() and report.with_suffix(".kernels.npz").is_file()


def test_mirror_averaging_through_the_cli(runner, image_folder, tiny_run, tmp_path):
    model = str(tiny_run / "generator.keras")
    plain, mirrored = tmp_path / "plain.png", tmp_path / "mirror.png"
    for out, extra in ((plain, []), (mirrored, ["--mirror"])):
        result = runner.invoke(cli, ["deblur", str(image_folder / "img_1.png"), "-o", str(out),
                                     "--model", model, "--faces", "off", *extra])
        assert result.exit_code == 0, result.output
    from deblur_tf.io import read_rgb
    assert read_rgb(mirrored).shape == read_rgb(plain).shape
    assert np.abs(read_rgb(mirrored).astype(int) - read_rgb(plain)).max() > 0
    report = tmp_path / "eval.json"
    result = runner.invoke(cli, ["evaluate", "--model", model, "--images", str(image_folder), "--mirror",
                                 "--center-crop", "0", "--image-size", "24", "--sizes", "5",
                                 "--no-oracles", "-o", str(report)])
    assert result.exit_code == 0, result.output
    assert "generator+mirror" in json.loads(report.read_text())["overall"]
    result = runner.invoke(cli, ["evaluate", "--inpaint", "--mirror", "-o", str(tmp_path / "i.json")])
    assert result.exit_code == 2 and "--mirror is for deblurring models" in result.output


def test_deblur_never_overwrites_its_input(runner, image_folder, tiny_run, tmp_path):
    import shutil
    src = tmp_path / "face.png"
    shutil.copy(image_folder / "img_0.png", src)
    before = src.read_bytes()
    result = runner.invoke(cli, ["deblur", str(src), "-o", str(src), "--model",
                                 str(tiny_run / "generator.keras"), "--overwrite"])
    assert_clean_error(result, "overwrite the input")
    assert src.read_bytes() == before


def test_deblur_reports_a_non_image_and_processes_the_rest(runner, image_folder, tiny_run, tmp_path):
    import shutil
    folder = tmp_path / "in"
    shutil.copytree(image_folder, folder)
    (folder / "broken.png").write_bytes(b"not a png at all")
    result = runner.invoke(cli, ["deblur", str(folder), "-o", str(tmp_path / "out"), "--model",
                                 str(tiny_run / "generator.keras")])
    assert_clean_error(result, "1 of 9 input(s) failed", "broken.png")
    assert len(list((tmp_path / "out").glob("*.png"))) == 8


def test_a_non_model_file_is_a_clear_error(runner, image_folder, tmp_path):
    fake = tmp_path / "model.keras"
    fake.write_bytes(b"garbage")
    result = runner.invoke(cli, ["deblur", str(image_folder), "-o", str(tmp_path / "o"), "--model", str(fake)])
    assert_clean_error(result, "cannot load")


@pytest.mark.slow
def test_models_lists_the_registry(runner):
    quick = runner.invoke(cli, ["models"])  # without --flops: parameters only, no tracing
    assert quick.exit_code == 0 and "patchgan" in quick.output and "nafnet_compact" in quick.output
    compact = next(ln for ln in quick.output.splitlines() if ln.startswith("deblurgan_resnet_compact"))
    assert compact.split()[-1] == "1.97M"
    # FLOPs trace each model (~30 s for all of them): two here, one of each kind.
    result = runner.invoke(cli, ["models", "--flops", "--only", "deblurgan_resnet_compact,patchgan"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == 3 and lines[2].startswith("patchgan")
    assert lines[1].split()[-2] == "1.97M" and 4.5 < float(lines[1].split()[-1]) < 4.6  # 4.56 GFLOPs
    bad = runner.invoke(cli, ["models", "--only", "nope"])
    assert bad.exit_code == 2 and "unknown name(s) ['nope']" in bad.output


def test_experiments_lists_every_registered_recipe_in_aligned_columns(runner):
    from deblur_tf.config import EXPERIMENTS
    result = runner.invoke(cli, ["experiments"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert sorted(ln.split()[0] for ln in lines) == sorted(EXPERIMENTS)
    starts = {len(ln) - len(ln[len(ln.split()[0]):].lstrip()) for ln in lines}
    assert len(starts) == 1  # every description starts in the same column


def _folder_with_bad_files(src_folder, tmp_path):
    import io
    import shutil

    from PIL import Image
    folder = tmp_path / "photos"
    shutil.copytree(src_folder, folder)
    (folder / "notes.png").write_text("this is text")
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)).save(buf, "JPEG")
    (folder / "truncated.jpg").write_bytes(buf.getvalue()[:800])
    Image.fromarray(np.full((20, 30, 3), 128, np.uint8)).convert("CMYK").save(folder / "cmyk.jpg")
    return folder


@pytest.mark.slow
def test_folder_mode_processes_the_good_files_and_lists_the_bad(runner, image_folder, exported, tmp_path):
    folder = _folder_with_bad_files(image_folder, tmp_path)
    result = runner.invoke(cli, ["deblur", str(folder), "-o", str(tmp_path / "out"),
                                 "--model", str(exported / "g.keras")])
    assert_clean_error(result, "2 of 11 input(s) failed")
    assert "notes.png" in result.stderr and "truncated.jpg" in result.stderr
    assert len(list((tmp_path / "out").glob("*.png"))) == 9  # 8 PNGs + the CMYK JPEG


@pytest.mark.parametrize("make,extra,fragment", [
    (lambda p: p.write_text("text"), [], "not a readable image"),
    (lambda p: p.write_bytes(b""), [], "empty file"),
    (lambda p: __import__("cv2").imwrite(str(p), np.zeros((50, 50, 3), np.uint8)), ["--max-pixels", "100"],
     "over the limit"),
])
def test_single_bad_inputs(runner, exported, tmp_path, make, extra, fragment):
    src = tmp_path / "in.png"
    make(src)
    result = runner.invoke(cli, ["deblur", str(src), "-o", str(tmp_path / "out.png"),
                                 "--model", str(exported / "g.keras"), *extra])
    assert_clean_error(result, fragment)
    assert not (tmp_path / "out.png").exists()


def test_unwritable_output_is_a_clear_error(runner, image_folder, exported, tmp_path):
    (tmp_path / "blocker").write_text("a file where a folder is needed")
    result = runner.invoke(cli, ["deblur", str(image_folder / "img_0.png"), "-o",
                                 str(tmp_path / "blocker" / "out.png"), "--model", str(exported / "g.keras")])
    assert_clean_error(result, "cannot write")


def test_stdin_to_stdout(runner, image_folder, exported):
    import cv2
    data = (image_folder / "img_0.png").read_bytes()
    result = runner.invoke(cli, ["deblur", "-", "-o", "-", "--model", str(exported / "g.keras")], input=data)
    assert result.exit_code == 0, result.stderr
    decoded = cv2.imdecode(np.frombuffer(result.stdout_bytes, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == cv2.imread(str(image_folder / "img_0.png")).shape
    # The same pixels as the file path gives (stdin is just another source).
    from deblur_tf.inference import Deblurrer
    from deblur_tf.io import read_rgb
    expected = Deblurrer.load(exported / "g.keras")(read_rgb(image_folder / "img_0.png"))
    np.testing.assert_array_equal(decoded[..., ::-1], expected)


def test_tiled_cli_run_and_bad_overlap(runner, image_folder, exported, tmp_path):
    result = runner.invoke(cli, ["deblur", str(image_folder / "img_7.png"), "-o", str(tmp_path / "t.png"),
                                 "--model", str(exported / "savedmodel"), "--tile", "32", "--overlap", "8",
                                 "--faces", "off"])
    assert result.exit_code == 0, result.stderr
    # The CLI's tiles are the library's: 61x79 px in 32 px tiles (instance norm per tile makes
    # them differ from the untiled result, so this checks the options reached the tiler).
    from deblur_tf.inference import Deblurrer
    from deblur_tf.io import read_rgb
    image = read_rgb(image_folder / "img_7.png")
    tiled = Deblurrer.load(exported / "savedmodel", tile=32, overlap=8)(image)
    whole = Deblurrer.load(exported / "savedmodel")(image)
    out = read_rgb(tmp_path / "t.png")
    assert np.array_equal(out, tiled) and not np.array_equal(out, whole)
    result = runner.invoke(cli, ["deblur", str(image_folder), "-o", str(tmp_path / "x"),
                                 "--model", str(exported / "g.keras"), "--tile", "32", "--overlap", "16"])
    assert result.exit_code != 0 and "--overlap" in result.stderr


@pytest.mark.slow
def test_export_commands(runner, exported, tmp_path):
    model = str(exported / "g.keras")
    result = runner.invoke(cli, ["export", model, "--format", "savedmodel", "-o", str(tmp_path / "sm")])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "sm" / "saved_model.pb").is_file()
    result = runner.invoke(cli, ["export", model, "--format", "tflite", "--quantize", "fp16",
                                 "-o", str(tmp_path / "m.tflite")])
    assert result.exit_code == 0, result.stderr
    again = runner.invoke(cli, ["export", model, "--format", "tflite", "-o", str(tmp_path / "m.tflite")])
    assert_clean_error(again, "exists")
    result = runner.invoke(cli, ["export", str(tmp_path / "none.keras"), "--format", "tflite",
                                 "-o", str(tmp_path / "n.tflite")])
    assert_clean_error(result, ".keras")
    result = runner.invoke(cli, ["deblur", "--help"])
    assert "int8" in result.output


@pytest.mark.slow
def test_demo_writes_a_before_after_picture(runner, tiny_run, tmp_path):
    out = tmp_path / "demo.png"
    result = runner.invoke(cli, ["demo", "-o", str(out), "--model", str(tiny_run / "generator.keras")])
    assert result.exit_code == 0, result.stderr
    assert "PSNR blurred" in result.output
    from deblur_tf.io import read_rgb
    assert read_rgb(out).shape[1] > 3 * 128  # three panels
    # Without a model it trains a tiny one first (2 s here) and says so.
    result = runner.invoke(cli, ["demo", "-o", str(out), "--train-tiny", "--train-seconds", "2"])
    assert result.exit_code == 0, result.stderr
    assert "training a tiny model" in result.stderr and "trained" in result.stderr


@pytest.fixture()
def group_photo(tmp_path):
    """The astronaut twice in a larger canvas (scikit-image's photo; no ../shared)."""
    import cv2
    from skimage import data
    canvas = np.full((420, 640, 3), 110, np.uint8)
    for x, y, s in ((20, 30, 0.5), (330, 120, 0.55)):
        small = cv2.resize(data.astronaut(), None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        canvas[y:y + small.shape[0], x:x + small.shape[1]] = small
    path = tmp_path / "group.png"
    cv2.imwrite(str(path), canvas[..., ::-1])
    return path


def test_deblur_restores_faces_with_debug_picture_and_crops(runner, exported, group_photo, tmp_path):
    import cv2
    out = tmp_path / "out.png"
    result = runner.invoke(cli, ["deblur", str(group_photo), "-o", str(out), "--model",
                                 str(exported / "g.keras"), "--debug", "--save-crops", str(tmp_path / "crops")])
    assert result.exit_code == 0, result.stderr
    before, after = cv2.imread(str(group_photo)), cv2.imread(str(out))
    changed = np.abs(after.astype(int) - before).max(axis=2) > 0
    assert changed[60:150, 100:150].any() and changed[150:250, 430:480].any()  # both faces
    assert not changed[:, 600:].any() and not changed[380:, :].any()  # background left as it was
    assert (tmp_path / "out.faces.png").is_file()
    assert sorted(p.name for p in (tmp_path / "crops").iterdir()) == [
        "group_face0_input.png", "group_face0_restored.png", "group_face1_input.png", "group_face1_restored.png"]
    assert cv2.imread(str(tmp_path / "crops" / "group_face0_input.png")).shape == (128, 128, 3)


def test_deblur_face_modes_without_a_face(runner, exported, image_folder, tmp_path):
    import cv2
    src = image_folder / "img_3.png"
    only = runner.invoke(cli, ["deblur", str(src), "-o", str(tmp_path / "only.png"), "--faces", "only",
                               "--model", str(exported / "g.keras")])
    assert only.exit_code == 0 and "no face found" in only.stderr
    assert np.array_equal(cv2.imread(str(tmp_path / "only.png")), cv2.imread(str(src)))
    for mode in ("auto", "off"):  # no face: the whole image is restored
        result = runner.invoke(cli, ["deblur", str(src), "-o", str(tmp_path / f"{mode}.png"), "--faces", mode,
                                     "--model", str(exported / "g.keras")])
        assert result.exit_code == 0, result.stderr
    assert np.array_equal(cv2.imread(str(tmp_path / "auto.png")), cv2.imread(str(tmp_path / "off.png")))
    assert not np.array_equal(cv2.imread(str(tmp_path / "auto.png")), cv2.imread(str(src)))


def test_tiny_images_are_restored_and_one_failure_does_not_stop_a_folder(runner, image_folder, exported,
                                                                          tmp_path, monkeypatch):
    # Issue 13, defects 1 and 5: a 1x1 image used to raise a raw TF padding error and stop the
    # folder run. Every size >= 1 px now works; any per-file failure is isolated and listed.
    import cv2
    folder = tmp_path / "in"
    folder.mkdir()
    for side in (1, 2, 4, 5):
        cv2.imwrite(str(folder / f"tiny_{side}.png"), np.full((side, side + 1, 3), 90, np.uint8))
    cv2.imwrite(str(folder / "ok.png"), cv2.imread(str(image_folder / "img_0.png")))
    result = runner.invoke(cli, ["deblur", str(folder), "-o", str(tmp_path / "out"), "--faces", "off",
                                 "--model", str(exported / "g.keras")])
    assert result.exit_code == 0, result.stderr
    for side in (1, 2, 4, 5):
        assert cv2.imread(str(tmp_path / "out" / f"tiny_{side}.png")).shape == (side, side + 1, 3)
    # An unexpected error inside one file (not a read/write error) is listed; the rest still run.
    from deblur_tf import inference
    real = inference.Deblurrer.__call__

    def flaky(self, image, *args, **kwargs):
        if image.shape[0] == 2:
            raise RuntimeError("boom inside the model\nsecond line")
        return real(self, image, *args, **kwargs)
    monkeypatch.setattr(inference.Deblurrer, "__call__", flaky)
    result = runner.invoke(cli, ["deblur", str(folder), "-o", str(tmp_path / "out2"), "--faces", "off",
                                 "--model", str(exported / "g.keras")])
    assert_clean_error(result, "1 of 5 input(s) failed")
    assert "tiny_2.png: RuntimeError: boom inside the model" in result.stderr
    assert "second line" not in result.stderr
    assert len(list((tmp_path / "out2").glob("*.png"))) == 4


@pytest.mark.parametrize("args,option", [(["--tile", "7"], "--tile"), (["--tile", "64", "--overlap", "32"], "--overlap"),
                                         (["--overlap", "-1"], "--overlap")])
def test_bad_tile_options_blame_the_right_option(runner, image_folder, exported, tmp_path, args, option):
    result = runner.invoke(cli, ["deblur", str(image_folder / "img_0.png"), "-o", str(tmp_path / "o.png"),
                                 "--model", str(exported / "g.keras"), *args])
    assert result.exit_code != 0 and option in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o.png").exists()


def test_the_cli_tiles_like_the_library():
    # The CLI keeps its defaults as literals (importing deblur_tf.inference would import TensorFlow
    # for --help): they must not drift from the library's.
    from deblur_tf.inference import DEFAULT_OVERLAP, DEFAULT_TILE
    for command in ("deblur", "inpaint"):
        params = {p.name: p for p in cli.commands[command].params}
        assert params["tile"].default == DEFAULT_TILE, command
        assert f"default: {DEFAULT_OVERLAP}," in params["overlap"].help, command


def test_blur_never_replaces_an_input_and_refuses_colliding_outputs(runner, image_folder, tmp_path):
    # Issue 13, defect 2: with an input inside OUT/kernels/ the input photo was replaced by a
    # kernel picture, and two inputs mapping to one output silently lost one.
    import shutil
    src = tmp_path / "out"
    (src / "kernels").mkdir(parents=True)
    shutil.copy(image_folder / "img_0.png", src / "a.png")
    shutil.copy(image_folder / "img_1.png", src / "kernels" / "a.png")
    before = (src / "kernels" / "a.png").read_bytes()
    result = runner.invoke(cli, ["blur", str(src), "-o", str(src)])
    assert_clean_error(result)
    assert (src / "kernels" / "a.png").read_bytes() == before and len(list(src.rglob("*.png"))) == 2
    # Per-sample kernels (no bank) still get their kernel picture.
    config = tmp_path / "chain.yaml"
    config.write_text("degradations:\n  - {op: blur, per_sample: true, max_size: 15, "
                      "kernels: [{type: spline, sizes: [9, 15]}]}\n")
    out = tmp_path / "blurred"
    result = runner.invoke(cli, ["blur", str(image_folder / "img_3.png"), "-o", str(out), "--config", str(config)])
    assert result.exit_code == 0, result.output
    from deblur_tf.io import read_rgb
    assert read_rgb(out / "kernels" / "img_3.png").shape == (15 * 8, 15 * 8, 3)


def test_deblur_skips_its_own_output_tree_and_needs_a_folder_for_several_inputs(
        runner, image_folder, exported, tmp_path):
    # Issue 13, defects 6 and 9: outputs inside the input folder were re-processed, stale
    # temporary files were read as corrupt inputs, and -o file.png with several inputs became a
    # directory named file.png.
    import shutil
    folder = tmp_path / "photos"
    shutil.copytree(image_folder, folder)
    (folder / ".img_0.x1y2.png").write_bytes(b"half a file from a killed run")
    args = ["--model", str(exported / "g.keras"), "--faces", "off"]
    first = runner.invoke(cli, ["deblur", str(folder), "-o", str(folder / "out"), *args])
    assert first.exit_code == 0, first.stderr
    second = runner.invoke(cli, ["deblur", str(folder), "-o", str(folder / "out"), "--overwrite", *args])
    assert second.exit_code == 0, second.stderr
    assert not (folder / "out" / "out").exists() and len(list((folder / "out").glob("*.png"))) == 8
    result = runner.invoke(cli, ["deblur", str(folder / "img_0.png"), str(folder / "img_1.png"),
                                 "-o", str(tmp_path / "file.png"), *args])
    assert result.exit_code != 0 and "output folder" in result.stderr
    assert not (tmp_path / "file.png").exists()


def test_sigterm_during_a_write_leaves_no_temporary_file(tmp_path):
    # Issue 13, defect 6: a SIGTERM mid-write left '.name.xxxx.png' behind. The CLI's handler
    # turns SIGTERM into SystemExit, so the atomic write removes its temporary file.
    import signal
    import subprocess
    import sys
    code = f"""
import signal, sys, time
from pathlib import Path
from deblur_tf.cli import _exit_on_sigterm
from deblur_tf.io import atomic_path
signal.signal(signal.SIGTERM, _exit_on_sigterm)
with atomic_path(Path({str(tmp_path)!r}) / "out.png") as tmp:
    Path(tmp).write_bytes(b"partial")
    print("writing", flush=True)
    time.sleep(60)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    assert len(list(tmp_path.iterdir())) == 1  # the temporary file exists mid-write
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_skip_existing_resumes_a_folder_run(runner, image_folder, exported, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "img_0.png").write_bytes(b"an earlier output, kept as it is")
    result = runner.invoke(cli, ["deblur", str(image_folder), "-o", str(out), "--faces", "off",
                                 "--model", str(exported / "g.keras"), "--skip-existing"])
    assert result.exit_code == 0, result.stderr
    assert "deblurred 7 of 8 image(s)" in result.stderr and "1 skipped" in result.stderr
    assert (out / "img_0.png").read_bytes() == b"an earlier output, kept as it is"
    assert len(list(out.glob("*.png"))) == 8


@pytest.mark.slow
def test_native_libraries_add_no_lines_to_a_one_line_error(exported, image_folder, tmp_path):
    # Issue 13, defect 11: LiteRT's XNNPACK INFO line and libpng's own error line went straight
    # to file descriptor 2 (CliRunner cannot see that: a real process is needed).
    import subprocess
    import sys

    import cv2
    deep = tmp_path / "deep.png"
    cv2.imwrite(str(deep), (np.arange(64 * 64 * 3, dtype=np.uint16).reshape(64, 64, 3) * 7))
    (tmp_path / "cut.png").write_bytes(deep.read_bytes()[:400])
    run = lambda *args: subprocess.run([sys.executable, "-m", "deblur_tf.cli", *args],  # noqa: E731
                                       capture_output=True, text=True, timeout=300)
    ok = run("deblur", str(image_folder / "img_0.png"), "-o", str(tmp_path / "o.png"), "--faces", "off",
             "--model", str(exported / "g_fp16.tflite"))
    assert ok.returncode == 0 and ok.stderr.splitlines() == [f"deblurred 1 of 1 image(s) -> {tmp_path / 'o.png'}"], ok.stderr
    bad = run("deblur", str(tmp_path / "cut.png"), "-o", str(tmp_path / "o2.png"), "--faces", "off",
              "--model", str(exported / "g.keras"))
    lines = [ln for ln in bad.stderr.splitlines() if ln.strip()]
    assert bad.returncode != 0 and len(lines) == 1 and lines[0].startswith("Error:"), bad.stderr


@pytest.mark.slow
def test_export_int8_warns_and_a_savedmodel_is_replaced_only_with_overwrite(runner, exported, image_folder,
                                                                           tmp_path):
    model = str(exported / "g.keras")
    result = runner.invoke(cli, ["export", model, "--format", "tflite", "--quantize", "int8",
                                 "--calibration-images", str(image_folder), "-o", str(tmp_path / "q.tflite")])
    assert result.exit_code == 0, result.stderr
    assert "warning:" in result.stderr and "int8" in result.stderr
    from deblur_tf.inference import Deblurrer
    face = np.asarray(Deblurrer.load(tmp_path / "q.tflite")(np.full((40, 40, 3), 120, np.uint8)))
    assert face.shape == (40, 40, 3)
    sm = tmp_path / "sm"
    assert runner.invoke(cli, ["export", model, "--format", "savedmodel", "-o", str(sm)]).exit_code == 0
    stamp = (sm / "saved_model.pb").stat().st_mtime_ns
    assert_clean_error(runner.invoke(cli, ["export", model, "--format", "savedmodel", "-o", str(sm)]), "exists")
    assert (sm / "saved_model.pb").stat().st_mtime_ns == stamp
    again = runner.invoke(cli, ["export", model, "--format", "savedmodel", "-o", str(sm), "--overwrite"])
    assert again.exit_code == 0 and (sm / "saved_model.pb").stat().st_mtime_ns != stamp


def test_extract_takes_the_latest_checkpoint_by_default(runner, tiny_run, tmp_path):
    import keras
    from deblur_tf.runs import generator_from_checkpoint
    out = tmp_path / "g.keras"
    result = runner.invoke(cli, ["extract", str(tiny_run), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    latest = generator_from_checkpoint(tiny_run, 4)  # tiny_run keeps checkpoints 2 and 4
    for a, b in zip(keras.saving.load_model(out).get_weights(), latest.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert_clean_error(runner.invoke(cli, ["extract", str(tiny_run), "--step", "3", "-o", str(tmp_path / "x.keras")]),
                       "no checkpoint at step 3")


def test_interpolate_blends_two_generators_weight_by_weight(runner, tmp_path):
    import keras
    from deblur_tf.models import build_generator
    tiny = dict(width=4, encoder_blocks=[1], middle_blocks=1, decoder_blocks=[1], attention_window=3)
    keras.utils.set_random_seed(0)
    a, b = build_generator("nafnet", **tiny), build_generator("nafnet", **tiny)
    a.save(tmp_path / "a.keras")
    b.save(tmp_path / "b.keras")
    for alpha in (0.0, 0.25, 1.0):
        out = tmp_path / f"mix{alpha}.keras"
        result = runner.invoke(cli, ["interpolate", str(tmp_path / "a.keras"), str(tmp_path / "b.keras"),
                                     "--alpha", str(alpha), "-o", str(out)])
        assert result.exit_code == 0, result.stderr
        for m, wa, wb in zip(keras.saving.load_model(out).get_weights(), a.get_weights(), b.get_weights()):
            np.testing.assert_allclose(m, (1 - alpha) * wa + alpha * wb, atol=1e-7)
    # --base: the adversarial change (b - base) added to a, here with base = c.
    build_generator("nafnet", **tiny).save(tmp_path / "c.keras")
    c = keras.saving.load_model(tmp_path / "c.keras")
    result = runner.invoke(cli, ["interpolate", str(tmp_path / "a.keras"), str(tmp_path / "b.keras"), "--base",
                                 str(tmp_path / "c.keras"), "--alpha", "0.5", "-o", str(tmp_path / "delta.keras")])
    assert result.exit_code == 0, result.stderr
    for m, wa, wb, wc in zip(keras.saving.load_model(tmp_path / "delta.keras").get_weights(), a.get_weights(),
                             b.get_weights(), c.get_weights()):
        np.testing.assert_allclose(m, wa + 0.5 * (wb - wc), atol=1e-6)
    # Another architecture (or other arguments), as either model or as the base; an alpha outside
    # [0, 1]; an output that is an input.
    build_generator("nafnet", **{**tiny, "width": 8}).save(tmp_path / "wide.keras")
    assert_clean_error(runner.invoke(cli, ["interpolate", str(tmp_path / "a.keras"), str(tmp_path / "b.keras"),
                                           "--base", str(tmp_path / "wide.keras"), "--alpha", "0.5",
                                           "-o", str(tmp_path / "x.keras")]), "same architecture")
    assert_clean_error(runner.invoke(cli, ["interpolate", str(tmp_path / "a.keras"), str(tmp_path / "wide.keras"),
                                           "--alpha", "0.5", "-o", str(tmp_path / "x.keras")]),
                       "same architecture")
    assert not (tmp_path / "x.keras").exists()
    assert runner.invoke(cli, ["interpolate", str(tmp_path / "a.keras"), str(tmp_path / "b.keras"),
                               "--alpha", "1.5", "-o", str(tmp_path / "x.keras")]).exit_code == 2
    stamp = (tmp_path / "a.keras").stat().st_mtime_ns
    assert_clean_error(runner.invoke(cli, ["interpolate", str(tmp_path / "a.keras"), str(tmp_path / "b.keras"),
                                           "--alpha", "0.5", "-o", str(tmp_path / "a.keras"), "--overwrite"]))
    assert (tmp_path / "a.keras").stat().st_mtime_ns == stamp


def test_train_from_a_config_file_and_evaluate_options(runner, image_folder, tiny_run, tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(f"data: {{train: {image_folder}, image_size: 16, batch_size: 2,"
                      " degradations: [{op: gaussian_noise, sigma: 0.05}]}\n"
                      "model: {generator_args: {filters: 4, num_blocks: 1}}\n"
                      "train: {steps: 2, steps_per_epoch: 2, verbose: 0}\n")
    result = runner.invoke(cli, ["train", "--experiment", "tiny_cpu", "--config", str(config),
                                 "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 0, result.stderr
    assert "steps 0 -> 2" in result.output
    import yaml
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["data"]["image_size"] == 16 and saved["model"]["generator_args"]["filters"] == 4
    report = tmp_path / "e.json"
    result = runner.invoke(cli, ["evaluate", "--model", str(tiny_run / "generator.keras"), "--images",
                                 str(image_folder), "--center-crop", "0", "--image-size", "24",
                                 "--sizes", "5", "--limit", "3", "--no-oracles", "--no-lpips", "-o", str(report)])
    assert result.exit_code == 0, result.stderr
    data = json.loads(report.read_text())
    assert data["count"] == 3 and set(data["overall"]) == {"blurred", "generator"}


def test_16_bit_photos_and_folder_trees_through_the_cli(runner, exported, image_folder, tmp_path):
    import cv2
    src = tmp_path / "in" / "a" / "b"
    src.mkdir(parents=True)
    deep = cv2.imread(str(image_folder / "img_0.png")).astype(np.uint16) * 257
    cv2.imwrite(str(src / "deep.png"), deep)
    cv2.imwrite(str(tmp_path / "in" / "top.png"), cv2.imread(str(image_folder / "img_1.png")))
    result = runner.invoke(cli, ["deblur", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                                 "--faces", "off", "--model", str(exported / "g.keras")])
    assert result.exit_code == 0, result.stderr
    out = cv2.imread(str(tmp_path / "out" / "a" / "b" / "deep.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and out.shape == deep.shape and np.mean(out % 257 != 0) > 0.5
    assert (tmp_path / "out" / "top.png").is_file()
