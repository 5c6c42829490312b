"""Training on several devices and workers: ``--strategy mirrored`` on two logical CPU devices and
``--strategy multiworker`` with two worker processes on 127.0.0.1 (TF_CONFIG), including a
killed worker and the resumed run. Strategies must be set up before TensorFlow runs anything, so
every test here runs its training in fresh processes."""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import yaml


@pytest.fixture
def tiny_setup(tmp_path, image_folder):
    """A content-only config for a 4-filter ResNet at 32 px, and its initial weights as .keras."""
    from deblur_tf.models import build_generator
    cfg = {"data": {"train": str(image_folder), "val": str(image_folder), "image_size": 32,
                    "center_crop": None, "batch_size": 4, "val_batches": 1,
                    "degradations": [{"op": "blur", "bank_size": 16,
                                      "kernels": [{"type": "motion", "length": [3, 5]}]}]},
           "model": {"generator": "deblurgan_resnet", "generator_args": {"filters": 4, "num_blocks": 1}},
           "loss": {"adversarial": "none", "perceptual_weight": 0.0},
           "train": {"steps": 4, "steps_per_epoch": 2, "checkpoint_every": 2, "verbose": 0,
                     "n_critic": 0}}
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    build_generator("deblurgan_resnet", filters=4, num_blocks=1).save(tmp_path / "g.keras")
    return tmp_path


def _train_cmd(setup: Path, run_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "deblur_tf.cli", "train", "--config", str(setup / "cfg.yaml"),
            "--run-dir", str(run_dir), "--set", f"train.init_generator={setup / 'g.keras'}", *extra]


@pytest.mark.slow
def test_mirrored_gives_the_losses_of_one_device():
    """Same initial weights and the same global batch of 8: two replicas of 4 match one device
    of 8 within 1e-5 (relative) in every loss over 3 steps and in the final weights."""
    code = textwrap.dedent("""
        import json, sys
        from deblur_tf.train import make_strategy, split_cpu
        name = sys.argv[1]
        if name == "mirrored":
            split_cpu(2)
        import keras, numpy as np, tensorflow as tf
        from deblur_tf.gan import DeblurGAN, adam
        from deblur_tf.models import build_generator
        strategy = make_strategy(name)
        keras.utils.set_random_seed(0)
        def generator():  # no dropout: its masks would differ between runs
            return build_generator("deblurgan_resnet", filters=4, num_blocks=1, dropout=0.0)
        initial = generator().get_weights()
        with strategy.scope():  # (initialisers draw differently inside a strategy: copy weights)
            gan = DeblurGAN(generator(), n_critic=0, mse_weight=0.5)
            gan.generator.set_weights(initial)
            gan.compile(g_optimizer=adam(1e-3))
        rng = np.random.default_rng(0)
        x = rng.random((24, 16, 16, 3), dtype=np.float32)
        y = np.clip(x + 0.1 * rng.standard_normal(x.shape).astype(np.float32), 0, 1)
        losses = []
        class Record(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                losses.append(float(np.ravel(logs["g_loss"])[0]))
        gan.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), epochs=1, verbose=0,
                callbacks=[Record()])
        weights = float(sum(np.abs(w).sum() for w in gan.generator.get_weights()))
        print(json.dumps({"replicas": strategy.num_replicas_in_sync, "losses": losses,
                          "weights": weights}))
    """)
    results = {}
    for name in ("default", "mirrored"):
        out = subprocess.run([sys.executable, "-c", code, name], capture_output=True, text=True,
                             timeout=600)
        assert out.returncode == 0, out.stderr[-2000:]
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    one, two = results["default"], results["mirrored"]
    assert (one["replicas"], two["replicas"]) == (1, 2)
    assert len(one["losses"]) == len(two["losses"]) == 3
    np.testing.assert_allclose(two["losses"], one["losses"], rtol=1e-5)
    assert two["weights"] == pytest.approx(one["weights"], rel=1e-5)


@pytest.mark.slow
def test_train_cli_mirrored_on_two_cpu_devices(tiny_setup):
    run_dir = tiny_setup / "run"
    out = subprocess.run(_train_cmd(tiny_setup, run_dir, "--strategy", "mirrored", "--cpu-devices", "2"),
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert (run_dir / "generator.keras").is_file()
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["train"]["strategy"] == "mirrored"


@pytest.mark.slow
def test_multiworker_needs_tf_config(tiny_setup):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    out = subprocess.run(_train_cmd(tiny_setup, tiny_setup / "run", "--strategy", "multiworker"),
                         capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 1 and "needs TF_CONFIG" in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("Error:")
    assert not (tiny_setup / "run").exists()


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _start_workers(setup: Path, run_dir: Path, steps: int, logs: Path) -> list[subprocess.Popen]:
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster,
                                                      "task": {"type": "worker", "index": index}})}
        log = open(logs / f"worker{index}.log", "w")
        procs.append(subprocess.Popen(
            _train_cmd(setup, run_dir, "--strategy", "multiworker", "--set", f"train.steps={steps}"),
            env=env, stdout=log, stderr=subprocess.STDOUT))
    return procs


def _steps(run_dir: Path) -> list[int]:
    return sorted(int(p.name[5:-6]) for p in (run_dir / "checkpoints").glob("ckpt-*.index"))


@pytest.mark.slow
def test_multiworker_trains_and_resumes_after_a_killed_worker(tiny_setup):
    """Two workers train; worker 1 is killed mid-run (then the chief, as a scheduler restarting the
    job would); the same two commands again resume from the chief's last checkpoint and finish.
    Only the chief writes the run folder."""
    run_dir, logs = tiny_setup / "run", tiny_setup
    procs = _start_workers(tiny_setup, run_dir, steps=100_000, logs=logs)
    deadline = time.time() + 300
    while time.time() < deadline and not (run_dir.exists() and [s for s in _steps(run_dir) if s >= 6]):
        assert all(p.poll() is None for p in procs), (logs / "worker0.log").read_text()[-2000:]
        time.sleep(0.2)
    procs[1].send_signal(signal.SIGKILL)
    procs[1].wait()
    time.sleep(2)
    procs[0].send_signal(signal.SIGKILL)  # its peers are gone: a real cluster restarts the job
    procs[0].wait()
    killed_at = _steps(run_dir)[-1]
    assert killed_at >= 6

    procs = _start_workers(tiny_setup, run_dir, steps=killed_at + 4, logs=logs)
    for p in procs:
        assert p.wait(timeout=600) == 0, [(logs / f"worker{i}.log").read_text()[-2000:] for i in (0, 1)]
    chief_log = (logs / "worker0.log").read_text()
    assert f"steps {killed_at} -> {killed_at + 4}" in chief_log  # resumed, not restarted
    assert f"steps {killed_at} -> {killed_at + 4}" in (logs / "worker1.log").read_text()
    assert _steps(run_dir)[-1] == killed_at + 4 and (run_dir / "generator.keras").is_file()
    written = {p.name for p in run_dir.iterdir()}
    assert written == {"checkpoints", "config.yaml", "generator.keras", "history.csv", "logs", "samples"}
