"""The generalization suite (evaluate --suite): conditions, rows, oracles, outputs."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from deblur_tf.cli import cli
from deblur_tf.evaluate import SUITE, evaluate_suite, suite_gains, suite_markdown

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def levin_file(tmp_path_factory):
    """Two stand-in 'real' kernels (the real ones live in ../shared, absent on a fresh machine)."""
    from deblur_tf.degrade import kernels as K
    path = tmp_path_factory.mktemp("kernels") / "levin.npz"
    np.savez(path, levin1=K.linear_motion_kernel(7, 30), levin2=K.disk_kernel(2.5))
    return path


def test_suite_scores_every_condition_with_its_rows(image_folder, levin_file):
    halve = lambda x: x * 0.5  # noqa: E731  (a restorer that is clearly wrong everywhere)
    results = evaluate_suite({"identity": lambda x: x, "halve": halve}, image_folder,
                             levin_path=levin_file, image_size=24, limit=4,
                             oracles={"oracle": lambda x, k: x})
    conds = results["conditions"]
    assert list(conds) == [c.name for c in SUITE]
    assert conds["shen"]["images"] == 4 * 8 and conds["levin"]["images"] == 4 * 2
    assert conds["mild"]["images"] == 4 * 4 and conds["tight"]["images"] == 4
    # Oracles only where the suite asks for them; no 'blurred' row for sharp inputs.
    assert set(conds["shen"]["methods"]) == {"blurred", "oracle", "identity", "halve"}
    assert set(conds["mild"]["methods"]) == {"blurred", "identity", "halve"}
    assert set(conds["sharp"]["methods"]) == {"identity", "halve"}
    gains = suite_gains(results)
    assert all(gains[c]["identity"] == pytest.approx(0.0, abs=1e-6) for c in gains if c != "sharp")
    assert gains["sharp"]["identity"] == 100.0  # unchanged: the capped PSNR
    assert gains["sharp"]["halve"] < 15 and gains["shen"]["halve"] < -5
    # Harder blur is harder: small kernels leave more of the face than the protocol's.
    assert conds["mild"]["methods"]["blurred"]["psnr"] > conds["shen"]["methods"]["blurred"]["psnr"]
    assert "| halve |" in suite_markdown(results)


def test_suite_through_the_cli_writes_json_markdown_and_plot(image_folder, levin_file, tiny_run, tmp_path):
    out = tmp_path / "suite.json"
    args = ["evaluate", "--suite", "--model", str(tiny_run / "generator.keras"), "--images",
            str(image_folder), "--limit", "3", "--levin-kernels", str(levin_file), "--no-lpips",
            "--conditions", "levin,sharp", "-o", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert list(data["conditions"]) == ["levin", "sharp"]
    assert "richardson_lucy_oracle" in data["conditions"]["levin"]["methods"]
    assert out.with_suffix(".md").is_file() and out.with_suffix(".png").is_file()
    # A second run must not replace any of the files it writes without --overwrite, even when
    # the .json itself is gone (the side files are checked too).
    out.unlink()
    again = CliRunner().invoke(cli, args)
    assert again.exit_code != 0 and "suite.md" in again.output and not out.exists()
    bad = CliRunner().invoke(cli, ["evaluate", "--suite", "--conditions", "shen,blurry", "-o",
                                   str(tmp_path / "x.json")])
    assert bad.exit_code != 0 and "blurry" in bad.output


def test_levin_centred_removes_the_shift_of_an_off_centre_kernel(image_folder, tmp_path):
    """A kernel that only moves the image (a delta 3 px off-centre): 'levin' scores the moved face,
    'levin_centred' the face itself (only the σ 0.01 noise is left)."""
    from deblur_tf.evaluate import CONDITIONS
    delta = np.zeros((9, 9), np.float32)
    delta[1, 7] = 1.0
    path = tmp_path / "shift.npz"
    np.savez(path, levin1=delta)
    conds = [c for c in CONDITIONS if c.name in ("levin", "levin_centred")]
    results = evaluate_suite({"identity": lambda x: x}, image_folder, conditions=conds, levin_path=path,
                             image_size=32, limit=3)["conditions"]
    moved, centred = (results[n]["methods"]["blurred"]["psnr"] for n in ("levin", "levin_centred"))
    assert centred > 38 and moved < centred - 5
