import numpy as np
import pytest
import tensorflow as tf

from deblur_tf.degrade import Degradation, DegradationConfigError, build_kernel_bank


def flat(value=0.5, size=64):
    return tf.fill([size, size, 3], value)


def test_blur_uses_real_context_and_keeps_mass():
    chain = Degradation([{"op": "blur", "bank_size": 8, "kernels": [{"type": "disk", "radius": [2, 3]}]}])
    window = tf.random.stateless_uniform([40 + 2 * chain.margin] * 2 + [3], [0, 1])
    blurred, sharp, index = chain(window, tf.constant([0, 0]))
    assert blurred.shape == sharp.shape == (40, 40, 3)
    assert 0 <= int(index) < 8
    assert np.array_equal(sharp.numpy(), window.numpy()[chain.margin:-chain.margin, chain.margin:-chain.margin])
    # A normalised kernel keeps the mean; blur lowers the variation.
    assert float(tf.reduce_mean(blurred)) == pytest.approx(float(tf.reduce_mean(sharp)), abs=0.01)
    assert float(tf.math.reduce_std(blurred)) < 0.6 * float(tf.math.reduce_std(sharp))


def test_chain_is_deterministic_per_seed():
    chain = Degradation([{"op": "blur", "bank_size": 32}, {"op": "gaussian_noise", "sigma": [0, 0.05]},
                         {"op": "jpeg", "quality": [30, 90], "p": 0.5}])
    window = tf.random.stateless_uniform([32 + 2 * chain.margin] * 2 + [3], [0, 1])
    a = chain(window, tf.constant([3, 4]))[0].numpy()
    b = chain(window, tf.constant([3, 4]))[0].numpy()
    c = chain(window, tf.constant([3, 5]))[0].numpy()
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_gaussian_noise_has_its_sigma():
    out, _, _ = Degradation([{"op": "gaussian_noise", "sigma": 0.05}])(flat(), tf.constant([0, 1]))
    assert float(tf.math.reduce_std(out)) == pytest.approx(0.05, rel=0.05)


def test_poisson_noise_variance_is_mean_over_peak():
    out, _, _ = Degradation([{"op": "poisson_noise", "peak": 100}])(flat(0.5, 128), tf.constant([0, 1]))
    assert float(tf.math.reduce_variance(out)) == pytest.approx(0.5 / 100, rel=0.1)


def test_impulse_noise_sets_a_fraction_to_black_or_white():
    out, _, _ = Degradation([{"op": "impulse_noise", "amount": 0.1}])(flat(0.5, 128), tf.constant([0, 1]))
    hit = np.any(out.numpy() != 0.5, axis=-1)
    assert hit.mean() == pytest.approx(0.1, abs=0.02)
    assert set(np.unique(out.numpy()[hit])) <= {0.0, 1.0}


def test_jpeg_changes_an_image_and_p_zero_leaves_it():
    image = tf.random.stateless_uniform([32, 32, 3], [0, 2])
    out, _, _ = Degradation([{"op": "jpeg", "quality": 10}])(image, tf.constant([0, 1]))
    assert float(tf.reduce_mean(tf.abs(out - image))) > 0.02
    same, _, _ = Degradation([{"op": "jpeg", "quality": 10, "p": 0.0}])(image, tf.constant([0, 1]))
    assert np.array_equal(same.numpy(), image.numpy())


def test_mixed_kernel_bank_follows_its_weights():
    bank = build_kernel_bank([{"type": "motion", "weight": 3}, {"type": "gaussian", "weight": 1}],
                             count=400, seed=0)
    assert bank.kernels.shape[1] == bank.size and len(bank) == 400
    assert np.mean(bank.kinds == "motion") == pytest.approx(0.75, abs=0.06)
    assert np.allclose(bank.kernels.sum(axis=(1, 2)), 1, atol=1e-5)


def test_damage_occludes_rectangles_and_keeps_the_clean_target():
    image = flat(0.5, 96)
    chain = Degradation([{"op": "damage", "regions": 2, "size": [0.2, 0.3], "fill": "black"}])
    out, sharp, _ = chain(image, tf.constant([0, 1]))
    hit = np.all(out.numpy() == 0.0, axis=-1)
    assert np.array_equal(sharp.numpy(), image.numpy())  # the target is the undamaged face
    assert set(np.unique(out.numpy())) == {0.0, 0.5}
    # two rectangles of sides 20-30 % of 96 px (they may overlap): 0.04-0.18 of the image
    assert 0.035 < hit.mean() < 0.185
    rows, cols = np.where(hit)
    assert hit[rows.min():rows.max() + 1, cols.min():cols.max() + 1].mean() > 0.3  # blocks, not speckle
    noisy, _, _ = Degradation([{"op": "damage", "regions": [1, 1], "fill": "noise"}])(image, tf.constant([0, 1]))
    assert len(np.unique(noisy.numpy())) > 100
    none, _, _ = Degradation([{"op": "damage", "regions": 0}])(image, tf.constant([0, 1]))
    assert np.array_equal(none.numpy(), image.numpy())


def test_damage_runs_inside_a_tf_data_pipeline():
    chain = Degradation([{"op": "damage", "regions": [1, 3], "fill": "colour"}])
    ds = tf.data.Dataset.range(4).map(lambda i: chain(flat(0.5, 32), tf.stack([i, i]))[0])
    outs = [x.numpy() for x in ds]
    assert all(x.shape == (32, 32, 3) for x in outs)
    assert not np.array_equal(outs[0], outs[1])


@pytest.mark.parametrize("steps,match", [
    ([{"op": "sharpen"}], "unknown degradation op"),
    ([{"op": "gaussian_noise", "sigmaa": 1}], "unknown key"),
    ([{"op": "gaussian_noise"}, {"op": "blur"}], "first"),
    ([{"op": "blur", "kernels": [{"type": "zigzag"}]}], "unknown kernel type"),
    ([{"op": "gaussian_noise", "sigma": [0.2, 0.1]}], "above"),
    (["blur"], "needs an 'op'"),
    ([{"op": "damage", "fill": "tartan"}], "damage.fill"),
    ([{"op": "damage", "size": [0.1, 1.5]}], "fraction"),
    ([{"op": "damage", "regions": [0.5, 2]}], "whole numbers"),
    ([{"op": "blur", "per_sample": True, "max_size": 15, "kernels": [{"type": "spline", "sizes": [21]}]}],
     "exceeds blur.max_size"),
    ([{"op": "blur", "kernels": [{"type": "motion", "weight": -1}]}], "weight"),
    ([{"op": "rescale", "factor": [0.5, 2]}], "rescale.factor"),
    ([{"op": "blur"}, {"op": "clean"}], "first step"),
    ([{"op": "jpeg", "p": 1.5}], "p must be in"),
    ([{"op": "blur", "per_sample": True, "kernels": [{"type": "dwell_shake", "drift": [0, 1]}]}], "must be > 0"),
])
def test_bad_chain_configs_are_rejected(steps, match):
    with pytest.raises(DegradationConfigError, match=match):
        Degradation(steps)


ROBUST_KERNELS = [{"type": t, "weight": 1.0} for t in
                  ("identity", "trajectory", "spline", "dwell_shake", "shake_defocus", "motion", "disk",
                   "gaussian", "anisotropic_gaussian")]


def test_per_sample_kernels_are_fresh_deterministic_and_normalised():
    from deblur_tf.degrade.chain import KernelSampler
    sampler = KernelSampler(ROBUST_KERNELS, max_size=31)
    kernels = [sampler.sample([7, i])[0] for i in range(200)]
    assert all(k.shape == (31, 31) and k.min() >= 0 and abs(k.sum() - 1) < 1e-5 for k in kernels)
    # Fresh per sample (a bank of 2,000 repeats itself): apart from the identity, repeats are
    # rare — only tiny disks, whose coverage is quantised by the supersampling, coincide.
    blurs = np.stack([k.ravel() for k in kernels if k.max() < 1])
    assert 150 < len(blurs) < 200
    assert len(np.unique(blurs.round(6), axis=0)) >= 0.97 * len(blurs)
    # Keyed by the seed alone: the same seed gives the same kernel.
    assert np.array_equal(sampler.sample([7, 3])[0], kernels[3])
    # Every family is drawn, with sizes from the identity up to 31 px.
    sizes = [sampler.sample([8, i])[1] for i in range(400)]
    assert min(sizes) == 1 and max(sizes) >= 29


def test_per_sample_blur_runs_in_tf_data_and_is_parallel_deterministic():
    chain = Degradation([{"op": "blur", "per_sample": True, "max_size": 31, "kernels": ROBUST_KERNELS},
                         {"op": "rescale", "factor": [1, 3]}])
    assert chain.margin == 15
    window = tf.random.stateless_uniform([32 + 30, 32 + 30, 3], [0, 1])

    def make(parallel):
        ds = tf.data.Dataset.range(12).map(
            lambda i: chain(window, tf.stack([tf.constant(5, tf.int64), i]))[0],
            num_parallel_calls=parallel, deterministic=True)
        return np.stack(list(ds.as_numpy_iterator()))
    one, many = make(1), make(4)
    assert one.shape == (12, 32, 32, 3) and np.array_equal(one, many)
    assert len({a.tobytes() for a in one}) == 12


def test_clean_step_leaves_a_share_of_samples_untouched():
    chain = Degradation([{"op": "clean", "p": 0.3}, {"op": "gaussian_noise", "sigma": 0.05}])
    window = tf.random.stateless_uniform([16, 16, 3], [0, 1])
    clean = 0
    for i in range(200):
        out, sharp, _ = chain(window, tf.constant([1, i]))
        clean += int(np.array_equal(out.numpy(), sharp.numpy()))
    assert 40 <= clean <= 80  # p = 0.3 of 200


def test_rescale_loses_fine_detail_but_keeps_the_mean():
    chain = Degradation([{"op": "rescale", "factor": 3.0}])
    window = tf.random.stateless_uniform([48, 48, 3], [0, 2])
    out, sharp, _ = chain(window, tf.constant([0, 0]))
    assert out.shape == sharp.shape
    assert float(tf.reduce_mean(out)) == pytest.approx(float(tf.reduce_mean(sharp)), abs=0.02)
    assert float(tf.math.reduce_std(out)) < 0.6 * float(tf.math.reduce_std(sharp))


def test_protocol_bank_is_unchanged_by_the_new_kernel_families():
    # The evaluation protocol's kernels ('shen') must stay those of every earlier evaluation: the
    # shipped model's evaluation stored them (exported/), made before per-sample kernels existed.
    from deblur_tf.paths import PROJECT_ROOT
    stored = np.load(PROJECT_ROOT / "exported" / "evaluation_lfw_test.kernels.npz")["size_13"]
    bank = build_kernel_bank([{"type": "trajectory", "sizes": [13]}], count=len(stored), seed=13)
    assert np.array_equal(bank.kernels, stored)
