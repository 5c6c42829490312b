import numpy as np
import pytest

from deblur_tf import data as D
from deblur_tf.degrade import Degradation

CHAIN = [{"op": "blur", "bank_size": 16, "kernels": [{"type": "trajectory", "sizes": [5, 7]}]},
         {"op": "gaussian_noise", "sigma": 0.01}]


def first_batches(ds, n=2):
    return [tuple(t.numpy() for t in b) for b in ds.take(n)]


def test_sharp_pipeline_shapes_dtypes_and_range(image_folder):
    ds = D.sharp_dataset(image_folder, Degradation(CHAIN), image_size=24, batch_size=3, seed=1)
    blurred, sharp = next(iter(ds))
    assert blurred.shape == sharp.shape == (3, 24, 24, 3)
    assert blurred.dtype == sharp.dtype == np.float32
    for t in (blurred.numpy(), sharp.numpy()):
        assert t.min() >= 0 and t.max() <= 1
    assert np.abs(blurred.numpy() - sharp.numpy()).mean() > 0.005


def test_sharp_pipeline_is_deterministic_per_seed(image_folder):
    make = lambda seed: D.sharp_dataset(image_folder, Degradation(CHAIN), image_size=24,  # noqa: E731
                                        batch_size=2, seed=seed)
    a, b, c = first_batches(make(5)), first_batches(make(5)), first_batches(make(6))
    assert all(np.array_equal(x, y) for ba, bb in zip(a, b) for x, y in zip(ba, bb))
    assert not np.array_equal(a[0][0], c[0][0])


def test_evaluation_mode_is_one_ordered_pass_with_kernel_indices(image_folder):
    ds = D.sharp_dataset(image_folder, Degradation(CHAIN), image_size=24, batch_size=3,
                         training=False, with_kernel_index=True)
    batches = list(ds)
    assert sum(len(b[0]) for b in batches) == 8
    assert all(0 <= i < 16 for b in batches for i in b[2].numpy())


def test_center_crop_takes_the_central_pixels(tmp_path):
    import cv2
    image = np.zeros((100, 100, 3), np.uint8)
    image[25:75, 25:75] = 255  # a white square exactly the central 50 px
    cv2.imwrite(str(tmp_path / "a.png"), image)
    ds = D.sharp_dataset(tmp_path, Degradation([]), image_size=20, center_crop=50, batch_size=1,
                         training=False)
    _, sharp = next(iter(ds))
    assert sharp.numpy()[0, 1:-1, 1:-1].min() > 0.95  # the crop is all square


def test_file_list_resolves_against_root(image_folder, tmp_path):
    listing = tmp_path / "split.txt"
    listing.write_text("# a comment\nimg_0.png\nimg_3.png\n")
    assert D.list_images(listing, root=image_folder) == [str(image_folder / "img_0.png"),
                                                         str(image_folder / "img_3.png")]
    with pytest.raises(D.DataError, match="do not exist"):
        D.list_images(listing, root=tmp_path)
    with pytest.raises(D.DataError, match="no such folder"):
        D.list_images(tmp_path / "missing")


def _write(path, value, shape=(30, 34, 3)):
    import cv2
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full(shape, value, np.uint8))


def test_paired_folders_match_by_name_and_report_mismatches(tmp_path):
    for scene in ("s1", "s2"):
        for i in range(2):
            _write(tmp_path / scene / "blur" / f"{i}.png", 10)
            _write(tmp_path / scene / "sharp" / f"{i}.png", 200)
    ds = D.paired_dataset(tmp_path, image_size=16, batch_size=4, training=False)
    blurred, sharp = next(iter(ds))
    assert blurred.shape == (4, 16, 16, 3)
    assert np.allclose(blurred.numpy(), 10 / 255) and np.allclose(sharp.numpy(), 200 / 255)
    _write(tmp_path / "s2" / "blur" / "extra.png", 10)
    with pytest.raises(D.DataError, match="1 file.*no partner.*extra"):
        D.find_pairs(tmp_path)
    assert len(D.find_pairs(tmp_path, strict=False)[0]) == 4


def test_video_frames_mean_is_blurred_and_middle_is_sharp(tmp_path):
    for i, value in enumerate([0, 10, 80, 90, 100, 200]):
        _write(tmp_path / "clip" / f"frame_{i:03d}.png", value)
    ds = D.video_dataset(tmp_path, frames_per_blur=3, image_size=16, batch_size=2, training=False)
    blurred, sharp = next(iter(ds))
    # windows: frames 0-2 (mean 30, middle 10) and 3-5 (mean 130, middle 100)
    assert np.allclose(blurred.numpy()[:, 0, 0, 0] * 255, [30, 130], atol=0.5)
    assert np.allclose(sharp.numpy()[:, 0, 0, 0] * 255, [10, 100], atol=0.5)
    with pytest.raises(D.DataError, match="7 or more frames"):
        D.video_dataset(tmp_path, frames_per_blur=7)


def test_face_augment_varies_scale_tilt_and_light_in_training_only(tmp_path):
    import cv2
    image = np.zeros((250, 250, 3), np.uint8)
    image[75:175, 75:175] = 255  # a white square, 100 px, centred like an LFW face
    cv2.imwrite(str(tmp_path / "a.png"), image)
    augment = D.FaceAugment(crop=[110, 200], shift=0.05, rotation=10, brightness=0.05,
                            contrast=0.15, gamma=0.2)
    no_blur = Degradation([])

    def windows(training, n=24):
        ds = D.sharp_dataset([str(tmp_path / "a.png")] * n, no_blur, image_size=64, batch_size=n,
                             center_crop=150, training=training, repeat=False, augment=augment, seed=3)
        return next(iter(ds))[1].numpy()
    train = windows(True)
    # Square side in the 64 px crop is 100 * 64 / crop: 32 px at crop 200 up to 58 px at 110.
    areas = (train.mean(axis=-1) > 0.5).sum(axis=(1, 2))
    assert areas.min() < 0.6 * areas.max()
    assert 30 ** 2 * 0.8 < areas.min() and areas.max() < 60 ** 2 * 1.1
    assert len({round(float(t.mean()), 4) for t in train}) > 20  # light and framing differ
    evaluation = windows(False, 2)  # evaluation ignores augment: the protocol's fixed crop
    assert np.array_equal(evaluation[0], evaluation[1])
    side = int((evaluation[0].mean(axis=-1) > 0.5).sum(axis=1).max())
    assert abs(side - 100 * 64 / 150) <= 2
    with pytest.raises(D.DataError, match="augment.crop"):
        D.FaceAugment(crop=[200, 110]).validate()


def test_paired_and_video_training_resume_with_new_samples_and_flip_pairs_together(tmp_path):
    # Gradient images (left-right ramp) so a flip and a crop position are visible in the pixels.
    import cv2
    ramp = np.tile(np.linspace(0, 255, 40, dtype=np.float32), (36, 1))
    for i in range(6):
        image = np.repeat((ramp * (0.5 + 0.1 * i))[..., None], 3, axis=2).astype(np.uint8)
        for kind in ("blur", "sharp"):
            (tmp_path / "pairs" / kind).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(tmp_path / "pairs" / kind / f"{i}.png"), image)
        (tmp_path / "clip").mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / "clip" / f"f{i}.png"), image)
    for make in (lambda **kw: D.paired_dataset(tmp_path / "pairs", image_size=16, batch_size=4, **kw),
                 lambda **kw: D.video_dataset(tmp_path / "clip", frames_per_blur=1, image_size=16,
                                              batch_size=4, **kw)):
        first = [b.numpy() for b in next(iter(make(seed=3)))]
        again = [b.numpy() for b in next(iter(make(seed=3)))]
        resumed = [b.numpy() for b in next(iter(make(seed=3, start_index=400)))]
        assert all(np.array_equal(a, b) for a, b in zip(first, again))  # deterministic
        assert not np.array_equal(first[1], resumed[1])  # a resumed run does not replay
        # Input and target are one image here: cropped and flipped together they stay equal.
        assert np.array_equal(first[0], first[1]) and np.array_equal(resumed[0], resumed[1])
        # Both flip directions occur (the ramp rises left to right, or right to left).
        slopes = np.sign(np.concatenate([first[1], resumed[1]])[:, 8, -1, 0]
                         - np.concatenate([first[1], resumed[1]])[:, 8, 0, 0])
        assert {-1.0, 1.0} <= set(slopes.tolist())
