import csv

import numpy as np
import pytest
import tensorflow as tf

from deblur_tf.config import apply_overrides, get_experiment
from deblur_tf.train import TrainingError, load_generator_weights, run


@pytest.mark.slow
def test_a_run_writes_checkpoints_logs_samples_and_the_generator(tiny_run):
    assert (tiny_run / "generator.keras").is_file()
    assert (tiny_run / "config.yaml").is_file()
    assert tf.train.latest_checkpoint(str(tiny_run / "checkpoints")).endswith("ckpt-4")
    assert list((tiny_run / "logs").glob("events.out.tfevents.*"))
    assert sorted(p.name for p in (tiny_run / "samples").glob("*.png")) == ["step_0000002.png",
                                                                            "step_0000004.png"]
    rows = list(csv.DictReader(open(tiny_run / "history.csv")))
    assert len(rows) == 2 and "val_psnr" in rows[0]


def _cfg(image_folder, steps, n_critic=0, **loss):
    return apply_overrides(get_experiment("tiny_cpu"), {
        "data": {"train": str(image_folder), "image_size": 16, "batch_size": 2,
                 "degradations": [{"op": "gaussian_noise", "sigma": 0.05}]},
        "model": {"generator_args": {"filters": 4, "num_blocks": 1, "dropout": 0.0},
                  "critic_args": {"filters": 4, "n_layers": 2}},
        "loss": loss, "train": {"steps": steps, "n_critic": n_critic, "steps_per_epoch": 3, "checkpoint_every": 2, "verbose": 0}})


@pytest.mark.slow
def test_resume_continues_the_step_count_with_optimizer_state(image_folder, tmp_path):
    first = run(_cfg(image_folder, 4, 2, adversarial="wgan-gp"), tmp_path)
    assert (first.start_step, first.end_step) == (0, 4)
    # "kill" = a new process would see only the folder; a second run restores from it.
    second = run(_cfg(image_folder, 7, 2, adversarial="wgan-gp"), tmp_path)
    assert (second.start_step, second.end_step) == (4, 7)
    reader = tf.train.load_checkpoint(str(tmp_path / "checkpoints"))
    names = [n for n, _ in tf.train.list_variables(str(tmp_path / "checkpoints"))]
    assert any("d_optimizer" in n for n in names) and any("g_optimizer" in n for n in names)
    assert int(reader.get_tensor("g_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE")) == 7
    assert int(reader.get_tensor("d_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE")) == 14
    assert any(n.startswith("g_optimizer/_variables") for n in names)  # Adam moments are saved


@pytest.mark.slow
def test_nan_loss_stops_cleanly_and_keeps_the_last_good_checkpoint(image_folder, tmp_path, monkeypatch):
    run(_cfg(image_folder, 2, adversarial="none"), tmp_path)
    from deblur_tf import losses
    monkeypatch.setattr(losses, "l1_loss", lambda a, b: tf.constant(float("nan")))
    with pytest.raises(TrainingError, match="non-finite loss .* at step 3.*ckpt-2"):
        run(_cfg(image_folder, 6, adversarial="none"), tmp_path)
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-2")
    reader = tf.train.load_checkpoint(str(tmp_path / "checkpoints"))
    assert all(np.isfinite(reader.get_tensor(n)).all()
               for n, _ in tf.train.list_variables(str(tmp_path / "checkpoints"))
               if n.startswith("generator") and reader.get_tensor(n).dtype.kind == "f")


def test_diverged_weights_are_never_checkpointed(image_folder, tmp_path):
    # Issue 13, defect 4: with a huge learning rate the weights reach ~1e30 while the clipped
    # output keeps the loss finite; the run must stop without writing such a checkpoint.
    cfg = apply_overrides(_cfg(image_folder, 6, adversarial="none"),
                          {"optim": {"g_learning_rate": 1e30}, "train": {"checkpoint_every": 1}})
    with pytest.raises(TrainingError, match=r"diverged weights \(.*\) at step 1; .*kept: None"):
        run(cfg, tmp_path)
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")) is None


@pytest.mark.parametrize("override,key", [({"train": {"steps": -5}}, "train.steps"),
                                          ({"train": {"steps_per_epoch": 0}}, "train.steps_per_epoch"),
                                          ({"train": {"checkpoint_every": 0}}, "train.checkpoint_every"),
                                          ({"train": {"tensorboard_every": 0}}, "train.tensorboard_every"),
                                          ({"data": {"image_size": 3}}, "data.image_size"),
                                          ({"loss": {"l1_weight": float("nan")}}, "loss.l1_weight"),
                                          ({"loss": {"adversarial": "lsgan"}}, "loss.adversarial")])
def test_bad_config_values_are_refused_before_the_run_folder_exists(image_folder, tmp_path, override, key):
    from deblur_tf.config import ConfigError
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        run(apply_overrides(_cfg(image_folder, 4), override), tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_warm_start_loads_a_generator(tiny_run, image_folder, tmp_path, monkeypatch):
    from deblur_tf.train import build_gan, load_generator_weights
    cfg = apply_overrides(get_experiment("tiny_cpu"), {"data": {"train": str(image_folder)}})
    gan = build_gan(cfg)
    # "--set train.init_generator=~/runs/x": the shell leaves a "~" after "=" unexpanded
    monkeypatch.setenv("HOME", str(tiny_run.parent))
    load_generator_weights(gan.generator, f"~/{tiny_run.name}")
    import keras
    ref = keras.saving.load_model(tiny_run / "generator.keras")
    for a, b in zip(gan.generator.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_and_the_same_command_resumes(image_folder, tmp_path):
    import signal
    import subprocess
    import sys
    import time
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "deblur_tf.cli", "train", "--experiment", "tiny_cpu",
           "--run-dir", str(run_dir), "--set", f"data.train={image_folder}",
           "--set", "data.image_size=16", "--set", "train.steps=100000", "--set", "train.steps_per_epoch=2",
           "--set", "train.checkpoint_every=1000", "--set", "train.verbose=0",
           "--set", "model.generator_args={filters: 4, num_blocks: 1}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not list((run_dir / "samples").glob("*.png")) and time.time() < deadline:
        time.sleep(0.5)  # wait for the first epoch: training is under way
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert "run the same command again to resume" in err
    step = int(tf.train.latest_checkpoint(str(run_dir / "checkpoints")).rsplit("-", 1)[1])
    assert 2 <= step < 100000
    resumed = subprocess.run([*cmd[:cmd.index("train.steps=100000")], f"train.steps={step + 2}",
                              *cmd[cmd.index("train.steps=100000") + 1:]],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"steps {step} -> {step + 2}" in resumed.stdout


@pytest.mark.slow
def test_mixed_precision_run_exports_a_float32_generator(image_folder, tmp_path):
    import keras
    cfg = apply_overrides(_cfg(image_folder, 2), {"train": {"mixed_precision": True}})
    result = run(cfg, tmp_path)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after the run
    generator = keras.saving.load_model(result.generator_path)
    assert generator.compute_dtype == "float32"
    assert all(layer.compute_dtype == "float32" for layer in generator.layers)
    x = np.random.default_rng(0).random((1, 16, 16, 3), dtype=np.float32)
    assert generator(x).dtype == "float32"


def test_extract_writes_the_generator_of_any_kept_checkpoint(tiny_run, tmp_path):
    import keras
    from click.testing import CliRunner

    from deblur_tf.cli import cli
    final = keras.saving.load_model(tiny_run / "generator.keras")
    runner = CliRunner()
    for step in (2, 4):
        r = runner.invoke(cli, ["extract", str(tiny_run), "--step", str(step),
                                "-o", str(tmp_path / f"g{step}.keras")])
        assert r.exit_code == 0, r.output
    at4 = keras.saving.load_model(tmp_path / "g4.keras")
    at2 = keras.saving.load_model(tmp_path / "g2.keras")
    for a, b in zip(at4.get_weights(), final.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(at2.get_weights(), final.get_weights()))
    r = runner.invoke(cli, ["extract", str(tiny_run), "--step", "3", "-o", str(tmp_path / "g3.keras")])
    assert r.exit_code != 0 and "kept: 2, 4" in r.output and "Traceback" not in r.output


@pytest.mark.slow
def test_the_robust_recipe_trains_on_any_sharp_folder(image_folder, tmp_path):
    # Issue 12's recipe end to end (per-sample kernels of every family, rescale, noise, JPEG,
    # clean samples, face augmentation) with the NAFNet generator, shrunk to seconds.
    from deblur_tf.config import ROBUST_DEGRADATIONS
    cfg = apply_overrides(get_experiment("lfw_robust_nafnet"), {
        "data": {"train": str(image_folder), "val": None, "root": None, "image_size": 32,
                 "batch_size": 2, "center_crop": 40,
                 "augment": {"crop": [30, 50]}},
        "model": {"generator": "nafnet", "generator_args": {"width": 8, "encoder_blocks": [1, 1],
                                                            "middle_blocks": 1, "decoder_blocks": [1, 1]}},
        "loss": {"perceptual_weight": 0.0},
        "train": {"steps": 3, "steps_per_epoch": 3, "checkpoint_every": 3, "verbose": 0,
                  "mixed_precision": False}})
    assert cfg.data.degradations == ROBUST_DEGRADATIONS
    result = run(cfg, tmp_path)
    assert result.end_step == 3 and result.generator_path.is_file()


@pytest.mark.slow
def test_a_committed_generator_resumes_the_step_count_schedule_and_data(image_folder, tmp_path):
    # After a machine change only a committed generator survives (no optimizer state): with
    # train.init_step the new run goes on from that step and its learning-rate schedule.
    first = run(_cfg(image_folder, 4), tmp_path / "a")
    cfg = apply_overrides(_cfg(image_folder, 6), {"train": {"init_generator": str(first.generator_path),
                                                            "init_step": 4}})
    second = run(cfg, tmp_path / "b")
    assert (second.start_step, second.end_step) == (4, 6)
    from deblur_tf.train import build_datasets
    fresh, _ = build_datasets(cfg)
    resumed, _ = build_datasets(cfg, start_step=4)
    assert not np.array_equal(next(iter(fresh))[0].numpy(), next(iter(resumed))[0].numpy())
    with pytest.raises(Exception, match="train.init_step"):
        run(apply_overrides(cfg, {"train": {"init_step": 6}}), tmp_path / "c")


def test_run_folder_refuses_another_model_and_records_its_config_beside_the_generator(tiny_run):
    from deblur_tf.config import ConfigError
    from deblur_tf.runs import RunFolder, training_config_beside
    folder = RunFolder(tiny_run)
    cfg = folder.config()
    folder.check_resume(cfg)  # the same model resumes
    other = apply_overrides(cfg, {"model": {"generator": "nafnet_compact"}})
    with pytest.raises(ConfigError, match="started with another model.*new run folder"):
        folder.check_resume(other)
    with pytest.raises(ConfigError, match="another model"):
        run(other, tiny_run)  # before anything is built or written
    # What `deblur-tf export` records in a SavedModel: the run's config, found beside its generator.
    recorded = training_config_beside(folder.generator_path)
    assert recorded["model"]["generator"] == cfg.model.generator
    assert recorded["train"]["steps"] == cfg.train.steps
    assert training_config_beside(tiny_run.parent / "elsewhere.keras") is None
    assert folder.checkpoint_steps() == [2, 4] and folder.checkpoint(4).name == "ckpt-4"


TINY_NAFNET = {"width": 8, "encoder_blocks": [1, 1], "middle_blocks": 1, "decoder_blocks": [1, 1]}


def _tiny_nafnet(middle_blocks: int, width: int = 8):
    from deblur_tf.models.registry import build_generator
    return build_generator("nafnet", **{**TINY_NAFNET, "middle_blocks": middle_blocks, "width": width})


def test_a_deeper_nafnet_grown_from_a_trained_one_starts_with_its_exact_output(tmp_path):
    small = _tiny_nafnet(1)
    rng = np.random.default_rng(0)
    # "Trained": every weight non-zero, so a copied residual scale of 0 cannot hide a missed copy.
    small.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in small.get_weights()])
    small.save(tmp_path / "small.keras")
    deep = _tiny_nafnet(3)
    new = load_generator_weights(deep, str(tmp_path / "small.keras"), grow=True)
    assert sorted({n.split("_")[0] for n in new}) == ["mid1", "mid2"]
    x = rng.random((1, 20, 28, 3)).astype("float32")
    np.testing.assert_array_equal(deep(x).numpy(), small(x).numpy())


def test_init_generator_of_another_architecture_says_how_to_grow_and_growth_only_adds(tmp_path):
    _tiny_nafnet(1).save(tmp_path / "small.keras")
    with pytest.raises(TrainingError, match="train.init_grow=true"):
        load_generator_weights(_tiny_nafnet(3), str(tmp_path / "small.keras"))
    with pytest.raises(TrainingError, match="keeps every old layer's shape"):
        load_generator_weights(_tiny_nafnet(3, width=4), str(tmp_path / "small.keras"), grow=True)
    _tiny_nafnet(3).save(tmp_path / "deep.keras")
    with pytest.raises(TrainingError, match="only adds layers"):
        load_generator_weights(_tiny_nafnet(1), str(tmp_path / "deep.keras"), grow=True)


def test_init_revive_wakes_silent_nafnet_branches_of_the_init_and_refuses_other_models(image_folder, tmp_path,
                                                                                       capsys):
    small = _tiny_nafnet(1)
    for layer in small.layers:  # trained-looking scales, but mid0's spatial branch silenced
        if layer.name.endswith(("_beta", "_gamma")):
            layer.scale.assign(np.full(layer.scale.shape, 0.1, "float32"))
    small.get_layer("mid0_beta").scale.assign(np.zeros(small.get_layer("mid0_beta").scale.shape, "float32"))
    small.save(tmp_path / "g.keras")
    nafnet = {"generator": "nafnet", "generator_args": TINY_NAFNET}
    cfg = apply_overrides(_cfg(image_folder, 1), {"model": nafnet, "train": {
        "init_generator": str(tmp_path / "g.keras"), "init_revive": True, "mixed_precision": False}})
    assert run(cfg, tmp_path / "run").end_step == 1
    assert "revived 1 branches (mid0_beta)" in capsys.readouterr().out
    resnet = apply_overrides(_cfg(image_folder, 1), {"train": {"init_revive": True}})
    run(resnet, tmp_path / "r0")
    resnet = apply_overrides(resnet, {"train": {"init_generator": str(tmp_path / "r0" / "generator.keras")}})
    with pytest.raises(TrainingError, match="train.init_revive: .* no NAFNet blocks"):
        run(resnet, tmp_path / "r1")


@pytest.mark.slow
def test_validation_scores_every_val_batch(image_folder, tmp_path):
    """The history's last validation L1 is the mean over all ``val_batches`` batches (a truncated
    validation set once scored a whole run on its first batch only, from the first epoch on), and
    the same batches are drawn on every pass."""
    from deblur_tf.inference import load_generator
    from deblur_tf.train import build_datasets

    cfg = apply_overrides(_cfg(image_folder, steps=4), {"data": {"val": str(image_folder), "val_batches": 3}})
    run(cfg, tmp_path / "run")
    _, val = build_datasets(cfg)
    batches = list(val)
    again = list(val)
    assert len(batches) == 3
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(batches, again))
    generator = load_generator(tmp_path / "run" / "generator.keras")
    per_batch = [float(tf.reduce_mean(tf.abs(generator(x, training=False) - y))) for x, y in batches]
    assert abs(per_batch[0] - np.mean(per_batch)) > 5e-4  # so the first batch alone would not pass
    last = list(csv.DictReader(open(tmp_path / "run" / "history.csv")))[-1]
    assert float(last["val_g_l1"]) == pytest.approx(np.mean(per_batch), rel=1e-3, abs=1e-5)
