import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def smooth_image(rng, h, w):
    """A smooth random colour image (uint8): blur has something to remove, like a photo."""
    import cv2
    noise = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 2.0)


@pytest.fixture(autouse=True)
def seeded_weights():
    """Every test starts from the same Keras/NumPy/Python seeds: freshly built models get the same
    weights on every run and every worker, so a tolerance that holds once holds in CI too."""
    import keras
    keras.utils.set_random_seed(0)


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory):
    """Eight small RGB PNGs of assorted sizes, made here (no ../shared)."""
    import cv2
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for i in range(8):
        h, w = (40 + 3 * i, 44 + 5 * i)
        cv2.imwrite(str(folder / f"img_{i}.png"), smooth_image(rng, h, w))
    return folder


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, image_folder):
    """A 4-step content-only run of a tiny generator: its folder (with generator.keras)."""
    from deblur_tf.config import apply_overrides, get_experiment
    from deblur_tf.train import run
    cfg = apply_overrides(get_experiment("tiny_cpu"), {
        "data": {"train": str(image_folder), "val": str(image_folder), "image_size": 32,
                 "batch_size": 2, "val_batches": 1,
                 "degradations": [{"op": "blur", "bank_size": 16,
                                   "kernels": [{"type": "motion", "length": [3, 5]}]}]},
        "train": {"steps": 4, "steps_per_epoch": 2, "checkpoint_every": 2, "verbose": 0}})
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    result = run(cfg, run_dir)
    assert result.generator_path is not None
    return run_dir


@pytest.fixture(scope="session")
def tiny_generator():
    """A small generator with dropout (must be off in exports) and instance norm."""
    from deblur_tf.models import build_generator
    return build_generator("deblurgan_resnet", filters=8, num_blocks=2, dropout=0.5)


@pytest.fixture(scope="session")
def exported(tmp_path_factory, tiny_generator):
    """The tiny generator as .keras, SavedModel and TFLite fp32 / fp16 / dynamic / int8."""
    from deblur_tf.export import export_savedmodel, export_tflite, representative_faces
    folder = tmp_path_factory.mktemp("exported")
    tiny_generator.save(folder / "g.keras")
    export_savedmodel(tiny_generator, folder / "savedmodel", {"note": "test"})
    rng = np.random.default_rng(0)
    faces = [smooth_image(rng, 64, 64) for _ in range(8)]
    for q in ("none", "fp16", "dynamic", "int8"):
        export_tflite(tiny_generator, folder / f"g_{q}.tflite", q,
                      representative_faces(faces, size=64) if q == "int8" else None)
    return folder
