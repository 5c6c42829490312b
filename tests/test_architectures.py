"""Every registered generator and critic: any (odd) size, config round trip, the custom train_step,
and export to SavedModel / TFLite fp16 within the Export issue's parity bounds. Tiny widths."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from deblur_tf.models import CRITICS, GENERATORS, build_critic, build_generator

from conftest import smooth_image

pytestmark = pytest.mark.slow

# Small arguments per architecture; a newly registered one must be added here (checked below).
TINY = {
    "deblurgan_resnet": dict(filters=8, num_blocks=2),
    "unet_res_murugan": dict(width=1 / 16, num_blocks=2),
    "ird_chen": dict(n=4, num_blocks=2),
    "unet_enhance_qi": dict(filters=8, levels=2, blocks=1),
    "fpn_mobilenet": dict(alpha=0.35, fpn_filters=16),
    "inception_deepdeblur": dict(filters=8, num_modules=2, branch_filters=4),
    "nafnet": dict(width=8, encoder_blocks=[1, 1], middle_blocks=1, decoder_blocks=[1, 1],
                   attention_window=3, max_width=12),  # 8 -> 12 -> 12: the cap
}
TINY_CRITICS = {"patchgan": dict(filters=8, n_layers=2), "markovian10": dict(filters=4)}
# Inpainting generators take (image, mask): their battery is in test_inpainting.py.
INPAINTING = {"gated_unet", "unet_bidari"}


def test_every_registered_architecture_is_tested_here():
    assert set(TINY) | INPAINTING == set(GENERATORS) and set(TINY_CRITICS) == set(CRITICS)


@pytest.fixture(scope="module", params=sorted(TINY))
def generator(request):
    # Seeded, and never trained by a test (training uses a copy): the export bounds below are
    # checked on the same weights in every run, whatever order the tests run in.
    keras.utils.set_random_seed(sorted(TINY).index(request.param))
    return build_generator(request.param, **TINY[request.param])


def images(n, h, w, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([smooth_image(rng, h, w) for _ in range(n)]).astype(np.float32) / 255


@pytest.mark.parametrize("shape", [(1, 33, 47), (2, 17, 21)])
def test_output_shape_equals_input_shape(generator, shape):
    y = generator(images(*shape), training=False).numpy()
    assert y.shape == shape + (3,)
    assert np.isfinite(y).all() and y.min() >= 0 and y.max() <= 1


def test_round_trips_through_config_and_keras_file(generator, tmp_path):
    x = images(1, 29, 35)
    # Through JSON, as a .keras file stores it: the rebuilt model takes the same weights and
    # computes the same outputs.
    import json
    clone = type(generator).from_config(json.loads(json.dumps(generator.get_config())))
    clone.set_weights(generator.get_weights())
    np.testing.assert_allclose(clone(x, training=False), generator(x, training=False), atol=1e-5)
    generator.save(tmp_path / "g.keras")
    loaded = keras.saving.load_model(tmp_path / "g.keras", compile=False)
    np.testing.assert_allclose(loaded(x, training=False), generator(x, training=False), atol=1e-5)


def test_variant_options_build():
    for name, kwargs in [("unet_enhance_qi", dict(filters=8, blocks=1, recurrent=True, global_skip=True)),
                         ("inception_deepdeblur", dict(filters=8, num_modules=1, branch_filters=4,
                                                       global_skip=False))]:
        g = build_generator(name, **kwargs)
        assert g(images(1, 19, 23), training=False).shape == (1, 19, 23, 3)
        assert type(g).from_config(g.get_config()).count_params() == g.count_params()


def fit_a_few_steps(generator, critic):
    from deblur_tf.gan import DeblurGAN, adam
    # One critic update per step: the n_critic loop itself is tested in test_gan.py.
    gan = DeblurGAN(generator, critic, n_critic=1, adversarial="wgan-gp", adversarial_weight=0.01)
    gan.compile(g_optimizer=adam(1e-3), d_optimizer=adam(1e-3))
    before = [w.numpy().copy() for w in generator.trainable_weights]
    sharp = images(4, 32, 32, seed=1)
    blurred = tf.nn.avg_pool2d(sharp, 3, 1, "SAME").numpy()
    history = gan.fit(tf.data.Dataset.from_tensor_slices((blurred, sharp)).batch(2), epochs=1, verbose=0)
    assert all(np.isfinite(v).all() for v in history.history.values())
    assert {"d_loss", "g_loss", "gp"} <= set(history.history)
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, generator.trainable_weights))


def test_trains_through_the_custom_train_step(generator):
    fit_a_few_steps(type(generator).from_config(generator.get_config()),
                    build_critic("patchgan", **TINY_CRITICS["patchgan"]))


def test_markovian10_critic_trains_a_generator():
    fit_a_few_steps(build_generator("deblurgan_resnet", **TINY["deblurgan_resnet"]),
                    build_critic("markovian10", **TINY_CRITICS["markovian10"]))


def test_exports_with_the_keras_pixels(generator, tmp_path):
    from deblur_tf.export import SIGNATURE_UINT8, export_savedmodel, export_tflite
    from deblur_tf.inference import TFLiteBackend
    x = np.round(images(1, 37, 45, seed=2) * 255).astype(np.uint8)
    reference = np.clip(np.round(generator(x / 255.0, training=False).numpy() * 255), 0, 255).astype(int)
    export_savedmodel(generator, tmp_path / "sm", None)
    served = tf.saved_model.load(str(tmp_path / "sm")).signatures[SIGNATURE_UINT8](images=tf.constant(x))
    assert np.abs(served["restored"].numpy().astype(int) - reference).max() <= 1
    export_tflite(generator, tmp_path / "g.tflite", "fp16")
    out = TFLiteBackend(tmp_path / "g.tflite")(x.astype(np.float32) / 255)
    diff = np.abs(np.clip(np.round(out * 255), 0, 255).astype(int) - reference)
    assert diff.max() <= 2 and diff.mean() <= 0.2, (generator.registered_name, diff.max(), diff.mean())


@pytest.mark.parametrize("name", sorted(TINY_CRITICS))
def test_critics_give_patch_maps_raw_or_as_probabilities(name, tmp_path):
    x = images(2, 64, 64)
    raw = build_critic(name, **TINY_CRITICS[name])
    scores = raw(x).numpy()
    assert scores.shape[0] == 2 and scores.shape[-1] == 1 and scores.shape[1] > 1
    prob = build_critic(name, output_activation="sigmoid", **TINY_CRITICS[name])
    p = prob(x).numpy()
    assert p.min() >= 0 and p.max() <= 1
    prob.save(tmp_path / "c.keras")
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "c.keras")(x), p, atol=1e-6)


def _wide_nafnet():
    # 64 then 128 channels: where Keras' default depthwise init used to silence the spatial branch.
    return build_generator("nafnet", width=64, encoder_blocks=[1], middle_blocks=1, decoder_blocks=[1])


def _branch_rms(generator, block, x):
    """RMS of a block's input and of its spatial branch's output (before the residual scale)."""
    scale = generator.get_layer(f"{block}_beta")
    inp, out = keras.Model(generator.input, list(scale.input))(x)
    return float(np.sqrt(np.mean(inp.numpy() ** 2))), float(np.sqrt(np.mean(out.numpy() ** 2)))


def test_a_fresh_wide_nafnet_block_has_a_live_spatial_branch():
    # Depthwise kernels start at unit gain per channel, so at 128 channels the branch output
    # (dwconv -> gate -> attention, a cubic product) is of the order of its input, not ~1e-5.
    x = smooth_image(np.random.default_rng(1), 32, 32)[None].astype("float32") / 255
    model = _wide_nafnet()
    for block in ("enc0_0", "mid0"):
        inp, out = _branch_rms(model, block, x)
        assert out > 0.02 * inp, (block, inp, out)


def test_revived_branches_keep_the_output_and_start_learning():
    from deblur_tf.models.nafnet import revive_dead_branches
    model = _wide_nafnet()
    rng = np.random.default_rng(0)
    for layer in model.layers:  # "trained": every branch contributes
        if layer.name.endswith(("_beta", "_gamma")):
            layer.scale.assign(rng.uniform(0.05, 0.2, layer.scale.shape).astype("float32"))
    # ...except mid0's spatial branch, silenced as the old initialisation left it.
    dw = model.get_layer("mid0_dwconv")
    dw.set_weights([w * 1e-3 for w in dw.get_weights()])
    model.get_layer("mid0_beta").scale.assign(np.full((128,), 1e-4, "float32"))
    x = smooth_image(np.random.default_rng(2), 32, 32)[None].astype("float32") / 255
    before, kept = model(x).numpy(), model.get_layer("enc0_0_dwconv").get_weights()[0].copy()

    def beta_gradient():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(model(x, training=True) - 0.5))
        return float(tf.reduce_max(tf.abs(tape.gradient(loss, model.get_layer("mid0_beta").scale))))

    stuck = beta_gradient()
    assert revive_dead_branches(model, x) == ["mid0_beta"]
    np.testing.assert_allclose(model(x).numpy(), before, atol=1e-5)
    np.testing.assert_array_equal(model.get_layer("enc0_0_dwconv").get_weights()[0], kept)
    assert not model.get_layer("mid0_beta").scale.numpy().any()
    assert beta_gradient() > 100 * stuck


def test_folded_nafnet_is_the_same_function(tmp_path):
    # Trained-looking norms and residual scales (fresh ones are 1, 0 and 0: too easy to fold).
    model = build_generator("nafnet", **TINY["nafnet"], dropout=0.1)
    rng = np.random.default_rng(3)
    for layer in model.layers:
        if layer.name.endswith(("_norm1", "_norm2", "_beta", "_gamma")):
            layer.set_weights([rng.uniform(-1.5, 1.5, w.shape).astype("float32")
                               for w in layer.get_weights()])
    x = smooth_image(np.random.default_rng(4), 36, 44)[None].astype("float32") / 255
    from deblur_tf.inference import KerasBackend
    from deblur_tf.models.nafnet import ScaledResidual
    folded = model.for_inference()
    assert folded.arch_config["folded"] and folded.for_inference() is folded
    assert not any(isinstance(layer, ScaledResidual) for layer in folded.layers)
    np.testing.assert_allclose(folded(x).numpy(), model(x, training=False).numpy(), atol=1e-5)  # 0.003 levels
    folded.save(tmp_path / "folded.keras")  # a folded model saves and loads as one
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "folded.keras")(x), folded(x), atol=1e-7)
    assert KerasBackend(model).generator.arch_config["folded"]  # what the Keras backend runs
    with pytest.raises(ValueError, match="dropout=0"):
        build_generator("nafnet", **TINY["nafnet"], dropout=0.1, folded=True)
