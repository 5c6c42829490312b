import numpy as np
import pytest
import skimage.data
import tensorflow as tf

from deblur_tf.baselines import richardson_lucy, wiener
from deblur_tf.degrade import linear_motion_kernel
from deblur_tf.degrade.ops import convolve_valid


def interior_psnr(a, b, m=12):
    return 10 * np.log10(1 / np.mean((a[m:-m, m:-m] - b[m:-m, m:-m]) ** 2))


def test_oracle_deconvolution_beats_the_blurred_input():
    image = skimage.data.astronaut()[20:128, 160:268].astype(np.float32) / 255  # the face
    kernel = linear_motion_kernel(9, 30, size=13)
    blurred = convolve_valid(tf.constant(image), kernel).numpy()
    sharp = image[6:-6, 6:-6]
    base = interior_psnr(blurred, sharp)
    # Wiener is a global filter: the non-periodic border still costs it (measured +1.0 dB here).
    assert interior_psnr(wiener(blurred, kernel, nsr=0.003), sharp) > base + 0.5
    assert interior_psnr(richardson_lucy(blurred, kernel, iterations=20), sharp) > base + 2
    assert wiener(blurred, kernel).shape == blurred.shape


def test_a_batch_with_one_kernel_per_image_equals_image_by_image():
    rng = np.random.default_rng(0)
    images = rng.random((3, 40, 36, 3), dtype=np.float32)
    kernels = np.stack([np.asarray(linear_motion_kernel(n, a, size=9)) for n, a in ((3, 0), (6, 45), (8, 100))])
    for method in (wiener, richardson_lucy):
        batch = method(images, kernels)
        assert batch.shape == images.shape
        for image, kernel, out in zip(images, kernels, batch):
            np.testing.assert_allclose(out, method(image, kernel), atol=1e-6)


def test_a_kernel_count_that_does_not_match_the_batch_is_refused():
    kernel = np.asarray(linear_motion_kernel(5, 0, size=7))
    with pytest.raises(ValueError, match="one kernel per image|expected"):
        wiener(np.zeros((2, 16, 16, 3), np.float32), kernel[None])
