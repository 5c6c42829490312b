"""``deblur-tf batch``: the Apache Beam pipeline on the DirectRunner (in-process and with two worker
processes), against ``Deblurrer`` pixel for pixel, with a corrupt file, reruns and the manifest."""

import json

import numpy as np
import pytest

pytest.importorskip("apache_beam", reason='deblur-tf batch needs Apache Beam: pip install -e ".[beam]"')

from deblur_tf import batch as B  # noqa: E402
from deblur_tf.inference import Deblurrer  # noqa: E402
from deblur_tf.io import load_image, write_image  # noqa: E402


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, tiny_generator):
    path = tmp_path_factory.mktemp("model") / "g.keras"
    tiny_generator.save(path)
    return path


@pytest.fixture
def photos(tmp_path):
    """in/: three 40x48 photos (two in a sub-folder), one 30x30, a corrupt one, a text file."""
    from conftest import smooth_image
    rng = np.random.default_rng(0)
    root = tmp_path / "in"
    for name, shape in (("a.png", (40, 48)), ("sub/b.png", (40, 48)), ("sub/c.jpg", (40, 48)),
                        ("d.png", (30, 30))):
        write_image(root / name, smooth_image(rng, *shape))
    (root / "broken.png").write_bytes((root / "a.png").read_bytes()[:80])
    (root / "notes.txt").write_text("not an image")
    return root


def manifest(out):
    return {r["input"].rsplit("in/", 1)[1]: r for r in
            map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}


def test_paths_relative_to_the_pattern():
    assert B.pattern_root("photos/**") == "photos/"
    assert B.pattern_root("gs://bucket/in/img_*.png") == "gs://bucket/in/"
    assert B.pattern_root("a.png") == "" and B.pattern_root("/x/y/a.png") == "/x/y/"
    assert B.output_for("photos/2020/a.jpg", "photos/", "out") == "out/2020/a.png"


@pytest.mark.slow
@pytest.mark.parametrize("faces", ["off", "auto"])
def test_batch_equals_deblurrer_and_isolates_a_bad_file(tmp_path, photos, model_file, faces):
    out = tmp_path / "out"
    summary = B.run_batch(f"{photos}/**", str(out), str(model_file), faces=faces)
    assert (summary.ok, summary.skipped, len(summary.failures)) == (4, 0, 1)
    records = manifest(out)
    assert set(records) == {"a.png", "sub/b.png", "sub/c.jpg", "d.png", "broken.png"}  # no .txt
    assert records["broken.png"]["status"] == "error"
    assert "truncated or corrupt image" in records["broken.png"]["message"]
    deblurrer = Deblurrer.load(model_file)
    for name in ("a.png", "sub/b.png", "sub/c.jpg", "d.png"):
        assert records[name]["status"] == "ok" and records[name]["seconds"] > 0
        expected, _ = deblurrer.restore(load_image(photos / name), faces=faces)
        got = load_image(records[name]["output"])
        np.testing.assert_array_equal(got, expected)  # pixel for pixel
    assert not [p for p in out.rglob(".*")]  # no temporary files left


def test_mirror_batch_equals_the_mirror_deblurrer(tmp_path, photos, model_file):
    (photos / "broken.png").unlink()
    out = tmp_path / "out"
    summary = B.run_batch(f"{photos}/**", str(out), str(model_file), faces="off", mirror=True)
    assert (summary.ok, len(summary.failures)) == (4, 0)
    records = manifest(out)
    mirror, plain = Deblurrer.load(model_file, mirror=True), Deblurrer.load(model_file)
    for name in ("a.png", "d.png"):
        image = load_image(photos / name)
        got = load_image(records[name]["output"])
        np.testing.assert_array_equal(got, mirror.restore(image, faces="off")[0])
        assert np.abs(got.astype(int) - plain.restore(image, faces="off")[0]).max() > 0


@pytest.mark.slow
def test_rerun_skips_finished_inputs(tmp_path, photos, model_file):
    out = tmp_path / "out"
    B.run_batch(f"{photos}/**", str(out), str(model_file), faces="off")
    (out / "d.png").unlink()  # as if the first run had crashed before writing it
    stamp = (out / "a.png").stat().st_mtime_ns
    summary = B.run_batch(f"{photos}/**", str(out), str(model_file), faces="off")
    assert (summary.ok, summary.skipped, len(summary.failures)) == (1, 3, 1)
    assert manifest(out)["d.png"]["status"] == "ok" and (out / "d.png").exists()
    assert (out / "a.png").stat().st_mtime_ns == stamp  # not written again


def test_output_inside_the_input_tree_is_not_an_input(tmp_path, photos, model_file):
    out = photos / "restored"
    B.run_batch(f"{photos}/**", str(out), str(model_file), faces="off")
    summary = B.run_batch(f"{photos}/**", str(out), str(model_file), faces="off", overwrite=True)
    assert summary.total == 5 and not any("restored/" in r["input"].split("in/", 1)[1]
                                          for r in map(json.loads, (out / "manifest.jsonl").read_text().splitlines()))


def test_cli_batch_exit_codes_and_errors(tmp_path, photos, model_file):
    from click.testing import CliRunner

    from deblur_tf.cli import cli
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(cli, ["batch", str(photos), "-o", str(out), "--model", str(model_file),
                                 "--faces", "off"])
    assert result.exit_code == 1, result.output
    assert "restored 4 of 5 input(s)" in result.output and "broken.png: truncated" in result.output
    (photos / "broken.png").unlink()
    result = runner.invoke(cli, ["batch", str(photos), "-o", str(out), "--model", str(model_file)])
    assert result.exit_code == 0, result.output
    assert "(4 skipped: output exists)" in result.output
    result = runner.invoke(cli, ["batch", str(tmp_path / "nothing*.png"), "-o", str(out),
                                 "--model", str(model_file)])
    assert result.exit_code == 1 and "no files match" in result.output
    result = runner.invoke(cli, ["batch", str(photos), "-o", str(out), "--model", str(tmp_path / "x.keras")])
    assert result.exit_code == 1 and "no such model" in result.output


@pytest.mark.slow
def test_multi_worker_direct_runner(tmp_path, photos, model_file):
    """Two worker processes (each loads the model once): same outputs as Deblurrer."""
    out = tmp_path / "out"
    summary = B.run_batch(f"{photos}/**", str(out), str(model_file), faces="off",
                          beam_args=["--runner", "DirectRunner", "--direct_num_workers", "2",
                                     "--direct_running_mode", "multi_processing"])
    assert (summary.ok, len(summary.failures)) == (4, 1)
    deblurrer = Deblurrer.load(model_file)
    for name in ("a.png", "sub/b.png", "sub/c.jpg", "d.png"):
        expected, _ = deblurrer.restore(load_image(photos / name), faces="off")
        np.testing.assert_array_equal(load_image(manifest(out)[name]["output"]), expected)
