import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from deblur_tf.gan import DeblurGAN, LinearDecaySchedule, adam
from deblur_tf.models import build_critic, build_generator


def tiny_gan(n_critic=5, **kwargs):
    g = build_generator("deblurgan_resnet", filters=4, num_blocks=1)
    c = build_critic("patchgan", filters=4, n_layers=2)
    gan = DeblurGAN(g, c, n_critic=n_critic, **kwargs)
    gan.compile(g_optimizer=adam(1e-3), d_optimizer=adam(1e-3))
    return gan


def pairs(n=4, size=16, seed=0):
    rng = np.random.default_rng(seed)
    sharp = rng.random((n, size, size, 3), dtype=np.float32)
    blurred = (sharp + np.roll(sharp, 1, axis=2)) / 2
    return tf.data.Dataset.from_tensor_slices((blurred, sharp)).batch(2)


def weights(model):
    return [w.numpy().copy() for w in model.trainable_weights]


def changed(before, model):
    return all(not np.array_equal(a, b.numpy()) for a, b in zip(before, model.trainable_weights)
               if a.size > 1)


@pytest.mark.slow
@pytest.mark.parametrize("n_critic", [1, 5])
def test_train_step_runs_n_critic_updates_per_generator_update(n_critic):
    gan = tiny_gan(n_critic)
    g0, c0 = weights(gan.generator), weights(gan.critic)
    logs = gan.fit(pairs(), epochs=1, steps_per_epoch=2, verbose=0).history
    assert int(gan.g_optimizer.iterations) == 2
    assert int(gan.d_optimizer.iterations) == 2 * n_critic
    assert changed(g0, gan.generator) and changed(c0, gan.critic)
    assert {"d_loss", "gp", "g_adv", "g_l1", "g_loss"} <= set(logs)


def test_content_only_mode_leaves_the_critic_alone():
    gan = tiny_gan(n_critic=0)
    c0 = weights(gan.critic)
    logs = gan.fit(pairs(), epochs=1, steps_per_epoch=2, verbose=0).history
    assert int(gan.g_optimizer.iterations) == 2 and int(gan.d_optimizer.iterations) == 0
    assert not changed(c0, gan.critic)
    assert "d_loss" not in logs and logs["g_loss"] == logs["g_l1"]


@pytest.mark.slow
def test_bce_mode_trains_with_a_logit_critic():
    gan = tiny_gan(n_critic=1, adversarial="bce")
    before = weights(gan.critic)
    # The BCE critic loss of a critic that knows nothing (logits near 0) is 2 ln 2 = 1.386
    # (real and fake terms); it then moves as the critic learns.
    logs = gan.fit(pairs(), epochs=1, steps_per_epoch=1, verbose=0).history
    assert "gp" not in logs and logs["d_loss"][0] == pytest.approx(2 * np.log(2), abs=0.3)
    assert "g_adv" in logs and any(not np.array_equal(a, b) for a, b in zip(before, weights(gan.critic)))


def test_test_step_reports_psnr_and_ssim_of_the_restoration():
    gan = tiny_gan()
    results = gan.evaluate(pairs(), verbose=0, return_dict=True)
    ds = list(pairs().unbatch().batch(4))[0]
    restored = gan.generator(ds[0], training=False)
    # An independent PSNR (numpy, from the definition), averaged per image like the tracker.
    mse = np.mean((np.asarray(restored, np.float64) - np.asarray(ds[1], np.float64)) ** 2, axis=(1, 2, 3))
    assert results["psnr"] == pytest.approx(float(np.mean(10 * np.log10(1.0 / mse))), rel=1e-4)
    assert 0 < results["ssim"] <= 1


def test_learning_rate_is_constant_then_decays_linearly_to_zero():
    s = LinearDecaySchedule(1e-4, total_steps=100, decay_start=50)
    assert [float(s(t)) for t in (0, 50, 75, 100, 120)] == pytest.approx([1e-4, 1e-4, 5e-5, 0, 0])
    assert LinearDecaySchedule.from_config(s.get_config()).get_config() == s.get_config()


def test_misconfigured_gan_errors():
    g = build_generator("deblurgan_resnet", filters=4, num_blocks=1)
    with pytest.raises(ValueError, match="needs a critic"):
        DeblurGAN(g, None, n_critic=5)
    with pytest.raises(ValueError, match="PerceptualLoss"):
        DeblurGAN(g, None, n_critic=0, perceptual_weight=1.0)


@pytest.mark.slow
def test_train_step_works_under_mirrored_strategy():
    """Two logical CPU devices must be configured before TF starts: run in a fresh interpreter."""
    code = textwrap.dedent("""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import numpy as np
        from deblur_tf.gan import DeblurGAN, adam
        from deblur_tf.models import build_critic, build_generator
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        with strategy.scope():
            gan = DeblurGAN(build_generator("deblurgan_resnet", filters=4, num_blocks=1),
                            build_critic("patchgan", filters=4, n_layers=2), n_critic=2)
            gan.compile(g_optimizer=adam(1e-3), d_optimizer=adam(1e-3))
        x = np.random.default_rng(0).random((4, 16, 16, 3), dtype=np.float32)
        logs = gan.fit(tf.data.Dataset.from_tensors((x, x)).repeat(), epochs=1, steps_per_epoch=2,
                       verbose=0).history
        assert strategy.num_replicas_in_sync == 2
        assert int(gan.g_optimizer.iterations.numpy()) == 2
        assert int(gan.d_optimizer.iterations.numpy()) == 4
        assert all(np.isfinite(v[0]) for v in logs.values())
        print("OK")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-2000:]


def test_frequency_loss_joins_the_generator_loss_when_weighted():
    gan = tiny_gan(n_critic=0, frequency_weight=2.0)
    logs = gan.fit(pairs(), epochs=1, steps_per_epoch=1, verbose=0).history
    assert logs["g_frequency"][0] > 0
    assert np.isclose(logs["g_loss"][0], logs["g_l1"][0] + 2.0 * logs["g_frequency"][0], rtol=1e-5)
    assert "g_frequency" not in tiny_gan(n_critic=0).fit(pairs(), epochs=1, steps_per_epoch=1,
                                                          verbose=0).history


def test_ssim_loss_joins_the_generator_loss_when_weighted():
    gan = tiny_gan(n_critic=0, ssim_weight=0.25)
    logs = gan.fit(pairs(), epochs=1, steps_per_epoch=1, verbose=0).history
    assert 0 < logs["g_ssim"][0] <= 2
    assert np.isclose(logs["g_loss"][0], logs["g_l1"][0] + 0.25 * logs["g_ssim"][0], rtol=1e-5)
