import keras
import numpy as np
import pytest

from deblur_tf.models import GENERATORS, build_critic, build_generator

TINY_G = dict(filters=4, num_blocks=1)


@pytest.mark.parametrize("shape", [(1, 17, 23, 3), (2, 33, 9, 3), (1, 8, 8, 3)])
@pytest.mark.parametrize("upsample", ["transpose", "resize"])
def test_generator_output_shape_equals_input_shape(shape, upsample):
    g = build_generator("deblurgan_resnet", upsample=upsample, **TINY_G)
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    y = g(x).numpy()
    assert y.shape == shape
    assert y.min() >= 0 and y.max() <= 1  # global skip with clip keeps [0, 1]


def test_generator_round_trips_through_config_and_keras_file(tmp_path):
    g = build_generator("deblurgan_resnet", num_downsampling=3, dropout=0.2, **TINY_G)
    config = g.get_config()
    assert config["num_downsampling"] == 3 and config["image_shape"] == (None, None, 3)
    clone = type(g).from_config(config)
    assert clone.count_params() == g.count_params()
    g.save(tmp_path / "g.keras")
    loaded = keras.saving.load_model(tmp_path / "g.keras")
    x = np.random.default_rng(1).random((1, 21, 19, 3), dtype=np.float32)
    assert type(loaded) is type(g)
    np.testing.assert_array_equal(loaded(x).numpy(), g(x).numpy())


def test_inference_mode_is_deterministic_and_per_image():
    """Dropout off and instance norm over the image itself: a batch mate changes nothing."""
    g = build_generator("deblurgan_resnet", dropout=0.5, **TINY_G)
    rng = np.random.default_rng(2)
    a, b = rng.random((1, 16, 16, 3), dtype=np.float32), rng.random((1, 16, 16, 3), dtype=np.float32)
    alone = g(a, training=False).numpy()
    np.testing.assert_array_equal(alone, g(a, training=False).numpy())
    # Not bit-equal: oneDNN sums in another order for a batch of 2. Measured over 40 random
    # models: up to 8.9e-7, which made the former 1e-6 bound fail now and then (issue 13, #13).
    # 1e-5 is still 400x below one grey level; a batch mate leaking in would move it by far more.
    np.testing.assert_allclose(g(np.concatenate([a, b]), training=False).numpy()[:1], alone, atol=1e-5)
    assert not np.allclose(g(a, training=True).numpy(), alone)  # dropout is there when training


def test_patchgan_gives_a_patch_map_and_round_trips():
    c = build_critic("patchgan", filters=8, n_layers=3)
    assert c(np.zeros((2, 64, 64, 3), np.float32)).shape == (2, 8, 8, 1)
    clone = type(c).from_config(c.get_config())
    assert clone.count_params() == c.count_params()
    sig = build_critic("patchgan", filters=8, output_activation="sigmoid")
    out = sig(np.random.default_rng(0).random((1, 32, 32, 3), dtype=np.float32)).numpy()
    assert out.min() >= 0 and out.max() <= 1


def test_paper_preset_has_the_papers_size_and_compact_is_smaller():
    assert build_generator("deblurgan_resnet_paper").count_params() == pytest.approx(11.4e6, rel=0.01)
    assert build_generator("deblurgan_resnet_compact").count_params() < 2.5e6


def test_registry_errors_name_the_choices():
    with pytest.raises(ValueError, match="deblurgan_resnet"):
        build_generator("no_such_net")
    with pytest.raises(ValueError, match="bad arguments"):
        build_generator("deblurgan_resnet", wings=2)
    assert "deblurgan_resnet" in GENERATORS
