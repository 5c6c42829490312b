import keras
import numpy as np
import pytest
import tensorflow as tf

from deblur_tf import losses as L


def linear_critic(weight_norm, shape=(8, 8, 3), seed=0):
    """f(x) = <w, x> with ‖w‖ = weight_norm: its gradient norm is weight_norm everywhere."""
    inputs = keras.Input(shape)
    dense = keras.layers.Dense(1, use_bias=False)
    critic = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    w = np.random.default_rng(seed).standard_normal((int(np.prod(shape)), 1)).astype(np.float32)
    dense.set_weights([w / np.linalg.norm(w) * weight_norm])
    return critic


def batch(seed):
    return tf.random.stateless_uniform([4, 8, 8, 3], [seed, 0])


def test_gradient_penalty_is_zero_for_a_1_lipschitz_critic():
    gp = L.gradient_penalty(linear_critic(1.0), batch(1), batch(2), tf.random.uniform([4]))
    assert float(gp) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("norm,expected", [(2.0, 1.0), (0.5, 0.25)])
def test_gradient_penalty_is_positive_otherwise(norm, expected):
    gp = L.gradient_penalty(linear_critic(norm), batch(1), batch(2), tf.random.uniform([4]))
    assert float(gp) == pytest.approx(expected, rel=1e-4)


def test_gradient_norm_is_over_the_whole_image_not_per_pixel():
    # A unit-norm linear critic spread over 192 values has per-pixel gradient norms near 1/8:
    # a per-pixel penalty would be ~0.77, the per-image one is 0.
    gp = L.gradient_penalty(linear_critic(1.0), batch(3), batch(4), tf.fill([4], 0.3))
    assert float(gp) < 1e-6


def test_interpolation_uses_one_alpha_per_sample():
    real, fake = tf.zeros([3, 2, 2, 3]), tf.ones([3, 2, 2, 3])
    x = L.interpolate(real, fake, tf.constant([0.0, 0.5, 1.0])).numpy()
    assert np.allclose(x[0], 0) and np.allclose(x[1], 0.5) and np.allclose(x[2], 1)


def test_wgan_losses_are_the_score_gaps():
    real, fake = tf.constant([1.0, 3.0]), tf.constant([0.0, 1.0])
    assert float(L.wgan_critic_loss(real, fake)) == pytest.approx(-1.5)
    assert float(L.wgan_generator_loss(fake)) == pytest.approx(-0.5)


def test_perceptual_loss_is_zero_for_equal_images_and_grows_with_blur():
    perceptual = L.PerceptualLoss(weights=None)  # random VGG: a test of the plumbing only
    x = tf.random.stateless_uniform([2, 32, 32, 3], [0, 5])
    assert float(perceptual(x, x)) == 0.0
    blurred = tf.nn.avg_pool2d(x, 3, 1, "SAME")
    assert float(perceptual(blurred, x)) > 0


def test_missing_vgg_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="VGG16 weights not found"):
        L.PerceptualLoss(weights=str(tmp_path / "nope.weights.h5"))


@pytest.mark.skipif(L.default_vgg_weights() is None, reason="needs ../shared/weights (absent here)")
def test_shared_vgg_weights_load_and_are_not_random():
    perceptual = L.PerceptualLoss(L.default_vgg_weights())
    kernel = perceptual.features.get_layer("block1_conv1").get_weights()[0]
    fresh = L.vgg16_features(None).get_layer("block1_conv1").get_weights()[0]
    assert kernel.shape == fresh.shape and not np.allclose(kernel, fresh)


@pytest.mark.skipif(not __import__("deblur_tf.metrics").metrics.lpips_available(),
                    reason="needs ../shared/weights (VGG16 + LPIPS linear weights), absent here")
def test_lpips_reproduces_the_official_triplet_distances():
    from deblur_tf.io import read_rgb
    from deblur_tf.metrics import LPIPS
    from deblur_tf.paths import shared_file
    folder = shared_file("weights", "lpips_check")
    ref, p0, p1 = (read_rgb(folder / f"ex_{n}.png")[None].astype(np.float32) / 255 for n in ("ref", "p0", "p1"))
    lpips = LPIPS()
    assert float(lpips(ref, p0)[0]) == pytest.approx(0.569, abs=0.0005)
    assert float(lpips(ref, p1)[0]) == pytest.approx(0.422, abs=0.0005)
    assert float(lpips(ref, ref)[0]) == 0.0


@pytest.mark.skipif(not __import__("deblur_tf.metrics").metrics.lpips_available(),
                    reason="needs ../shared/weights (VGG16 + LPIPS linear weights), absent here")
def test_lpips_bfloat16_and_cached_reference_agree_with_float32():
    from deblur_tf.io import read_rgb
    from deblur_tf.metrics import LPIPS
    from deblur_tf.paths import shared_file
    folder = shared_file("weights", "lpips_check")
    ref, p0, p1 = (read_rgb(folder / f"ex_{n}.png")[None].astype(np.float32) / 255 for n in ("ref", "p0", "p1"))
    fast = LPIPS(precision="bfloat16")
    # The suite's bf16 LPIPS: within 0.002 of the official values (float32 is within 0.0005).
    assert float(fast(ref, p0)[0]) == pytest.approx(0.569, abs=0.002)
    assert float(fast(ref, p1)[0]) == pytest.approx(0.422, abs=0.002)
    exact = LPIPS()
    both = np.concatenate([p0, p1])
    cached = exact.distance_to(both, exact.reference(np.concatenate([ref, ref])))
    np.testing.assert_allclose(cached.numpy(), exact(both, np.concatenate([ref, ref])).numpy(), atol=1e-6)


def test_frequency_loss_is_zero_for_equal_images_and_does_not_depend_on_image_size():
    x = tf.random.stateless_uniform([2, 32, 32, 3], [0, 6])
    assert float(L.frequency_l1_loss(x, x)) == 0.0
    # Orthonormal FFT: the same noise level gives the same loss on a small and a large image.
    small, large = (tf.random.stateless_normal([2, n, n, 3], [1, n], stddev=0.1) for n in (32, 128))
    ratio = float(L.frequency_l1_loss(small, 0 * small)) / float(L.frequency_l1_loss(large, 0 * large))
    assert 0.95 < ratio < 1.05


def test_ssim_loss_is_zero_for_equal_images_and_weighs_errors_on_flat_regions_more():
    flat = tf.fill([1, 32, 32, 3], 0.5)
    textured = tf.random.stateless_uniform([1, 32, 32, 3], [0, 7])
    assert abs(float(L.ssim_loss(textured, textured))) < 1e-6
    noise = tf.random.stateless_normal([1, 32, 32, 3], [1, 7], stddev=0.02)
    # The same noise costs the same L1 on both, but far more SSIM on the flat image.
    assert float(L.ssim_loss(flat + noise, flat)) > 3 * float(L.ssim_loss(textured + noise, textured))
    with tf.GradientTape() as tape:
        x = tf.Variable(textured + noise)
        loss = L.ssim_loss(x, textured)
    assert np.all(np.isfinite(tape.gradient(loss, x).numpy()))
