"""The run folder: the one place that knows its layout.

A run folder holds ``config.yaml`` (the experiment as run), ``checkpoints/`` (generator, critic,
both optimizers and their step counts, numbered by step), ``logs/`` (TensorBoard), ``samples/``
(blurred | restored | sharp grids), ``history.csv`` and, when the run finishes, ``generator.keras``.
Training (``train.run``), ``deblur-tf extract`` and ``deblur-tf export`` (which records the training
config in the SavedModel) all go through ``RunFolder``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import keras
import tensorflow as tf

from deblur_tf.config import ConfigError, ExperimentConfig, config_from_dict, load_config_file, save_config
from deblur_tf.errors import DeblurTFError
from deblur_tf.models import build_generator


class TrainingError(DeblurTFError, RuntimeError):
    """The run cannot start or stopped abnormally (e.g. a non-finite loss), or a run folder lacks
    what was asked of it."""


@dataclasses.dataclass(frozen=True)
class RunFolder:
    path: Path

    def __init__(self, path: str | os.PathLike):
        object.__setattr__(self, "path", Path(path).expanduser())

    # --- layout ---
    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    @property
    def history(self) -> Path:
        return self.path / "history.csv"

    @property
    def generator_path(self) -> Path:
        return self.path / "generator.keras"

    def checkpoint(self, step: int) -> Path:
        """The checkpoint prefix of ``step`` (``ckpt-STEP``; tf.train.CheckpointManager's naming)."""
        return self.checkpoints / f"ckpt-{step}"

    # --- state ---
    def is_run(self) -> bool:
        return self.config_path.is_file()

    def config(self) -> ExperimentConfig:
        if not self.is_run():
            raise TrainingError(f"{self.path} is not a run folder (no config.yaml)")
        return config_from_dict(load_config_file(self.config_path))

    def latest_checkpoint(self) -> str | None:
        return tf.train.latest_checkpoint(str(self.checkpoints))

    def checkpoint_steps(self) -> list[int]:
        """The steps with a checkpoint, oldest first."""
        state = tf.train.get_checkpoint_state(str(self.checkpoints))
        paths = list(state.all_model_checkpoint_paths) if state else []
        return sorted(int(p.rsplit("-", 1)[1]) for p in paths if tf.io.gfile.exists(p + ".index"))

    def check_resume(self, cfg: ExperimentConfig) -> None:
        """A run folder is resumed only with the model it was started with."""
        if not self.is_run():
            return
        saved = self.config()
        if saved.model != cfg.model:
            raise ConfigError(f"{self.path} was started with another model ({saved.model.generator} "
                              f"{saved.model.generator_args}); use a new run folder")

    def prepare(self, cfg: ExperimentConfig) -> None:
        """Create the folder and record the config (the chief worker only)."""
        self.samples.mkdir(parents=True, exist_ok=True)
        save_config(cfg, self.config_path)

    def generator(self, step: int | None = None) -> keras.Model:
        """The run's generator as it was at checkpoint ``step`` (default: the latest), in float32.

        A run writes ``generator.keras`` only when it finishes; this picks any kept checkpoint, e.g.
        to compare an adversarial fine-tune at several points against its warm start.
        """
        cfg = self.config()
        steps = self.checkpoint_steps()
        if not steps:
            raise TrainingError(f"no checkpoints in {self.checkpoints}")
        step = steps[-1] if step is None else step
        if step not in steps:
            raise TrainingError(f"no checkpoint at step {step} in {self.path}; kept: "
                                + ", ".join(str(s) for s in steps))
        policy = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy("float32")
        try:
            generator = build_generator(cfg.model.generator, **cfg.model.generator_args)
        finally:
            keras.mixed_precision.set_global_policy(policy)
        status = tf.train.Checkpoint(generator=generator).restore(str(self.checkpoint(step)))
        status.expect_partial().assert_existing_objects_matched()
        return generator


def generator_from_checkpoint(run_dir: str | os.PathLike, step: int | None = None) -> keras.Model:
    """``RunFolder(run_dir).generator(step)``."""
    return RunFolder(run_dir).generator(step)


def training_config_beside(model_path: str | os.PathLike) -> dict | None:
    """The training config of the run a generator file came from (``config.yaml`` beside it, as in
    a run folder), or None."""
    folder = RunFolder(Path(model_path).parent)
    return load_config_file(folder.config_path) if folder.is_run() else None
