"""The model in exported/: all three files load, give the same pixels, and deblur a face."""

import numpy as np
import pytest
import tensorflow as tf

from deblur_tf.demo import blurred_astronaut
from deblur_tf.inference import Deblurrer
from deblur_tf.io import to_uint8
from deblur_tf.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow

EXPORTED = PROJECT_ROOT / "exported"
FILES = {"keras": "deblur_tf_face.keras", "savedmodel": "deblur_tf_face_savedmodel",
         "tflite_fp16": "deblur_tf_face_fp16.tflite"}


def test_the_shipped_model_loads_in_all_three_backends_and_they_agree():
    paths = [EXPORTED / f for f in FILES.values()]
    files = [f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()]
    sizes = sum(f.stat().st_size for f in files)
    # the lower bound checks that all three were counted, the SavedModel folder included
    assert 15e6 < sizes < 25e6, f"shipped files take {sizes / 1e6:.1f} MB (limit 25)"
    blurred, sharp = blurred_astronaut()
    blurred8 = to_uint8(blurred)
    outputs = {name: Deblurrer.load(EXPORTED / f)(blurred8) for name, f in FILES.items()}
    keras_out = outputs["keras"].astype(np.int16)
    assert np.abs(outputs["savedmodel"].astype(np.int16) - keras_out).max() <= 1
    assert np.abs(outputs["tflite_fp16"].astype(np.int16) - keras_out).max() <= 2
    # it restores: the 19 px shake-blurred face gets sharper (the README demo measures +3.0 dB)
    before = float(tf.image.psnr(blurred8, to_uint8(sharp), 255))
    after = float(tf.image.psnr(outputs["keras"], to_uint8(sharp), 255))
    assert after > before + 1.5, (before, after)


def test_the_savedmodel_records_how_it_was_trained():
    import json
    meta = json.loads((EXPORTED / FILES["savedmodel"] / "deblur_tf_export.json").read_text())
    assert meta["training_config"]["model"]["generator"] == "deblurgan_resnet_compact"
    assert meta["parameters"] == Deblurrer.load(EXPORTED / FILES["keras"]).backend.generator.count_params()


def test_tiling_the_shipped_instance_norm_model_leaves_no_seams():
    """The shipped ResNet normalises each tile by itself (instance norm), so a tiled photo differs
    from the whole-image output (README: ~1 grey level on average, tens at strong edges). What
    tiling must not leave is a seam: the tiled-minus-whole difference must not jump at the tiles'
    edges more than it varies anywhere. Control: the same tiles without feathering (overlap 0:
    hard edges) do show the jump."""
    import skimage.data

    from deblur_tf.inference import tile_starts
    photo = skimage.data.astronaut()  # 512 x 512: tiles of 288 px starting at 0 and 224
    keras_file = EXPORTED / FILES["keras"]
    whole = Deblurrer.load(keras_file, tile=1024)(photo).astype(np.float32)
    starts = tile_starts(512, 288, 32)
    edges = sorted({s for s in starts if s > 0} | {s + 288 for s in starts if s + 288 < 512})
    assert edges == [224, 288]

    def seam_score(overlap):
        tiled = Deblurrer.load(keras_file, tile=288, overlap=overlap)(photo).astype(np.float32)
        change = (tiled - whole).mean(axis=2)
        jumps_x = np.abs(np.diff(change, axis=1)).mean(axis=0)  # jumps_x[c - 1]: column c-1 -> c
        jumps_y = np.abs(np.diff(change, axis=0)).mean(axis=1)
        at_edges = max(max(jumps_x[e - 1], jumps_y[e - 1]) for e in edges)
        return at_edges / np.median(np.concatenate([jumps_x, jumps_y])), np.abs(change).mean()

    feathered, mean_change = seam_score(32)
    assert feathered < 2.5 and mean_change < 3.0, (feathered, mean_change)
    assert seam_score(0)[0] > 2.5  # hard tile edges would be caught
