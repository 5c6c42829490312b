"""scripts/compare_architectures.py --retime: re-measures the time columns, keeps the quality."""

import importlib.util
import json
import sys

import pytest

from deblur_tf.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow


def load_script():
    spec = importlib.util.spec_from_file_location(
        "compare_architectures", PROJECT_ROOT / "scripts" / "compare_architectures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def a_comparison(reference_path) -> dict:
    sizes = [13, 27]
    methods = ("blurred", "lfw_ird_chen", "shipped")
    score = {"psnr": 20.0, "ssim": 0.5, "lpips": 0.4, "seconds_per_image": 0.01}
    return {"count": 2, "sizes": sizes, "overall": {m: dict(score) for m in methods},
            "per_size": {str(s): {m: dict(score) for m in methods} for s in sizes},
            "steps": 3, "images_seen": 24,
            "architectures": {
                "lfw_ird_chen": {"generator": "ird_chen_compact", "cpu_seconds": 36.0, "params": 1,
                                 "gflops_128": 0.7, "ms_128": -1.0, "ms_512": -1.0},
                "shipped": {"generator": "g", "path": str(reference_path), "reference": True,
                            "params": 1, "gflops_128": 0.1, "ms_128": -1.0, "ms_512": -1.0}}}


def test_retime_measures_every_architecture_and_rewrites_the_report(tmp_path, tiny_generator,
                                                                    monkeypatch):
    tiny_generator.save(tmp_path / "ref.keras")
    out = tmp_path / "comparison.json"
    out.write_text(json.dumps(a_comparison(tmp_path / "ref.keras")))
    monkeypatch.setattr(sys, "argv", ["compare_architectures.py", "--retime", "--out", str(out)])
    load_script().main()
    results = json.loads(out.read_text())
    for a in results["architectures"].values():
        assert 0 < a["ms_128"] < a["ms_512"]
    assert results["overall"]["lfw_ird_chen"]["psnr"] == 20.0  # quality untouched
    assert "re-measured alone" in out.with_suffix(".md").read_text()
    assert out.with_suffix(".png").stat().st_size > 0


def test_retime_without_a_comparison_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["x", "--retime", "--out", str(tmp_path / "none.json")])
    with pytest.raises(SystemExit, match="needs an existing comparison"):
        load_script().main()
