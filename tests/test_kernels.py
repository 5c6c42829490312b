import math

import numpy as np
import pytest

from deblur_tf.degrade import kernels as K


def moments(kernel):
    """Centroid (x, y) and covariance of a kernel's mass, in pixels."""
    ys, xs = np.mgrid[: kernel.shape[0], : kernel.shape[1]]
    cx, cy = (kernel * xs).sum(), (kernel * ys).sum()
    dx, dy = xs - cx, ys - cy
    cov = np.array([[(kernel * dx * dx).sum(), (kernel * dx * dy).sum()],
                    [(kernel * dx * dy).sum(), (kernel * dy * dy).sum()]])
    return (cx, cy), cov


def all_kernels():
    rng = np.random.default_rng(1)
    yield from (K.linear_motion_kernel(L, a) for L, a in [(1.5, 0), (9, 33), (21.3, 120)])
    yield from (K.disk_kernel(r) for r in (0.7, 3, 6.5))
    yield from (K.gaussian_kernel(s) for s in (0.4, 2.0))
    yield from K.trajectory_kernels(13, 4, rng)
    yield from K.trajectory_kernels(27, 4, rng)
    yield from (K.dwell_shake_kernel(rng, size) for size in (5, 13, 27, 31))


def test_every_kernel_is_non_negative_odd_and_sums_to_one():
    for kernel in all_kernels():
        assert kernel.dtype == np.float32
        assert kernel.shape[0] == kernel.shape[1] and kernel.shape[0] % 2 == 1
        assert kernel.min() >= 0
        assert kernel.sum() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("length,angle", [(9, 0), (15, 30), (21, 90), (12.5, 135)])
def test_motion_kernel_has_its_length_and_angle(length, angle):
    kernel = K.linear_motion_kernel(length, angle)
    (cx, cy), cov = moments(kernel)
    c = (kernel.shape[0] - 1) / 2
    assert (cx, cy) == pytest.approx((c, c), abs=1e-6)
    evals, evecs = np.linalg.eigh(cov)
    # Uniform mass on a segment of length L has variance L²/12 along it; bilinear splatting
    # (anti-aliasing) adds at most 1/6 px² along and across it.
    assert length**2 / 12 - 0.01 <= evals[1] <= length**2 / 12 + 1 / 6 + 0.01
    assert evals[0] <= 1 / 6 + 0.01
    major = evecs[:, 1]
    measured = math.degrees(math.atan2(-major[1], major[0])) % 180  # rows grow downwards
    assert min(abs(measured - angle % 180), 180 - abs(measured - angle % 180)) < 1.0


def test_motion_kernel_mass_is_uniform_along_the_segment():
    kernel = K.linear_motion_kernel(11, 0, size=15)
    row = kernel.sum(axis=0)
    inner = row[3:12]  # away from the anti-aliased ends
    assert np.allclose(inner, 1 / 11, atol=0.004)


@pytest.mark.parametrize("radius", [3.0, 5.0, 8.5])
def test_disk_kernel_is_one_over_pi_r_squared_inside(radius):
    kernel = K.disk_kernel(radius)
    c = kernel.shape[0] // 2
    assert kernel[c, c] == pytest.approx(1 / (math.pi * radius**2), rel=0.01)
    # Effective area (mass / interior height) is πR².
    assert 1 / kernel[c, c] == pytest.approx(math.pi * radius**2, rel=0.01)
    assert kernel[0, 0] == 0


def test_gaussian_kernel_variance():
    _, cov = moments(K.gaussian_kernel(2.0))
    assert cov[0, 0] == pytest.approx(4.0, rel=0.02)
    assert cov[0, 1] == pytest.approx(0.0, abs=1e-6)


def test_trajectory_kernels_are_centred_and_span_their_support():
    rng = np.random.default_rng(0)
    for size in (13, 27):
        for kernel in K.trajectory_kernels(size, 6, rng):
            (cx, cy), _ = moments(kernel)
            c = (size - 1) / 2
            assert (cx, cy) == pytest.approx((c, c), abs=0.05)  # no shift between blurred and sharp
            ys, xs = np.nonzero(kernel > 1e-6)
            reach = max(np.abs(xs - c).max(), np.abs(ys - c).max())
            assert (size - 1) / 2 - 1 <= reach <= (size - 1) / 2


def test_trajectories_are_reproducible_and_varied():
    a = K.trajectory_kernels(19, 5, np.random.default_rng(7))
    b = K.trajectory_kernels(19, 5, np.random.default_rng(7))
    assert np.array_equal(a, b)
    assert not np.allclose(a[0], a[1])


def test_bad_kernel_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="odd"):
        K.gaussian_kernel(1.0, size=4)
    with pytest.raises(ValueError, match="does not fit"):
        K.linear_motion_kernel(20, 0, size=9)
    with pytest.raises(ValueError, match="> 0"):
        K.disk_kernel(0)


def test_an_off_centre_kernel_is_moved_whole_pixels_to_its_centre_of_mass_and_kept_whole():
    kernel = np.zeros((7, 7), np.float32)
    kernel[0, 6], kernel[1, 5] = 0.75, 0.25   # mass 2.75 px up and right of the centre
    centred = K.centre_of_mass_centred(kernel)
    n = centred.shape[0]
    assert n % 2 == 1 and n >= 7 and np.isclose(centred.sum(), 1.0)
    yy, xx = np.mgrid[:n, :n]
    assert abs((centred * yy).sum() - (n - 1) / 2) <= 0.5 and abs((centred * xx).sum() - (n - 1) / 2) <= 0.5
    assert sorted(centred[centred > 0].tolist()) == [0.25, 0.75]   # moved, not resampled
    symmetric = K.disk_kernel(2.0)
    np.testing.assert_array_equal(K.centre_of_mass_centred(symmetric), symmetric)


def test_dwell_shake_kernels_are_centred_span_their_support_and_are_bright_where_the_camera_slows():
    rng = np.random.default_rng(2)
    for size in (13, 27):
        kernel = K.dwell_shake_kernel(rng, size)
        (cx, cy), _ = moments(kernel)
        c = (size - 1) / 2
        assert (cx, cy) == pytest.approx((c, c), abs=0.05)
        ys, xs = np.nonzero(kernel > 1e-6)
        assert (size - 1) / 2 - 1 <= max(np.abs(xs - c).max(), np.abs(ys - c).max()) <= (size - 1) / 2

    def peakiness(drift):  # brightest pixel over the mean of the lit ones, averaged over kernels
        ks = [K.dwell_shake_kernel(rng, 27, drift=(drift, drift)) for _ in range(30)]
        return np.mean([k.max() / k[k > 1e-4].mean() for k in ks])
    # Steady drift is a nearly uniform stroke; a wobbling hand slows, turns and leaves bright spots.
    assert peakiness(0.05) > 1.5 * peakiness(50.0)
