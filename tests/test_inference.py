import io

import keras
import numpy as np
import pytest

from deblur_tf.inference import (DEFAULT_OVERLAP, DEFAULT_TILE, Deblurrer, KerasBackend, ModelLoadError,
                                 tile_overlap, tile_starts)
from deblur_tf.io import ImageReadError, load_image

from conftest import smooth_image


def test_backend_is_chosen_by_path_and_all_give_the_same_pixels(exported):
    image = smooth_image(np.random.default_rng(3), 45, 61)
    outputs = {}
    for name in ("g.keras", "savedmodel", "g_none.tflite", "g_fp16.tflite"):
        deblurrer = Deblurrer.load(exported / name)
        outputs[name] = deblurrer(image)
        assert outputs[name].shape == image.shape and outputs[name].dtype == np.uint8
    assert type(Deblurrer.load(exported / "savedmodel").backend).__name__ == "SavedModelBackend"
    for name, out in outputs.items():
        assert np.abs(out.astype(int) - outputs["g.keras"]).max() <= 2, name


def local_model():
    """A fully convolutional model without global statistics (receptive field 7 px)."""
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    outputs = keras.layers.Conv2D(3, 3, padding="same", activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    return model


def test_tiled_output_equals_untiled_output(tmp_path):
    model = local_model()
    image = smooth_image(np.random.default_rng(1), 150, 170)
    whole = Deblurrer(KerasBackend(model), tile=1024)(image)
    tiled = Deblurrer(KerasBackend(model), tile=64, overlap=16)(image)
    assert len(tile_starts(150, 64, 16)) == 4
    # Feathered blending uses only pixels at least overlap/4 from a tile's inner edge, beyond the
    # 3 px receptive field, so tiles agree with the whole image everywhere.
    assert np.abs(tiled.astype(int) - whole).max() <= 2


def test_tile_starts_cover_the_image_with_overlap():
    for length in (64, 65, 300, 513):
        starts = tile_starts(length, 64, 16)
        assert starts[0] == 0 and starts[-1] + 64 >= length
        assert all(b - a <= 48 for a, b in zip(starts, starts[1:]))
        assert all(s % 32 == 0 for s in starts)  # aligned: strided nets see the whole image's grid


def test_the_default_tile_overlap_shrinks_with_small_tiles_and_a_bad_one_is_refused():
    assert tile_overlap(DEFAULT_TILE) == DEFAULT_OVERLAP and tile_overlap(DEFAULT_TILE, 0) == 0
    assert Deblurrer(KerasBackend(local_model()), tile=64).overlap == 31  # just under half a small tile
    with pytest.raises(ValueError, match="under half of the tile"):
        Deblurrer(KerasBackend(local_model()), tile=64, overlap=32)


def live_nafnet():
    """A tiny NAFNet whose blocks do something (fresh ones are identities: scales start at 0)."""
    from deblur_tf.models import build_generator
    model = build_generator("nafnet", width=8, encoder_blocks=[1, 1], middle_blocks=1,
                            decoder_blocks=[1, 1], attention_window=3)
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if layer.name.endswith(("beta", "gamma")):
            layer.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in layer.get_weights()])
    return model


def test_nafnet_tiles_match_the_whole_image():
    # No whole-image statistic (local attention window, no instance norm): with aligned tiles
    # whose blended part is beyond the receptive field's reach, tiled = untiled. This net's
    # receptive field, with its spatial branches live, reaches 19 px (measured with an impulse):
    # an overlap of 96 px blends only pixels >= 24 px from a tile's edge. (An overlap of 48 px,
    # i.e. a 12 px margin, gave up to 10 grey levels once the depthwise init woke those branches.)
    model = live_nafnet()
    image = smooth_image(np.random.default_rng(1), 300, 330)
    whole = Deblurrer(KerasBackend(model), tile=1024)(image)
    deblurrer = Deblurrer(KerasBackend(model), tile=224, overlap=96)
    assert len(tile_starts(300, 224, 96)) == 2 and len(tile_starts(330, 224, 96)) == 2  # 2 x 2 tiles
    tiled = deblurrer(image)
    assert np.abs(whole.astype(int) - image).mean() > 3  # the model does change the image
    assert np.abs(tiled.astype(int) - whole).max() <= 1


def test_mirror_averaging_is_the_mean_of_both_views_in_tiles_too():
    model = live_nafnet()
    plain = Deblurrer(KerasBackend(model), tile=1024)
    mirror = Deblurrer(KerasBackend(model), tile=1024, mirror=True)
    image = smooth_image(np.random.default_rng(4), 300, 330)  # 330: not a multiple of the net's 4
    expected = (plain(image).astype(float) + plain(image[:, ::-1].copy())[:, ::-1]) / 2
    whole = mirror(image)
    assert np.abs(whole - expected).max() <= 1
    assert np.abs(whole.astype(int) - plain(image)).max() > 2  # the mirror view does differ
    # Mirrored before tiling: the tiles of the mirror image sit on its own pixel grid, so tiled =
    # whole as without mirroring (a tile mirrored by itself would not: 330 - tile end is not a
    # multiple of the net's size multiple).
    tiled = Deblurrer(KerasBackend(model), tile=224, overlap=96, mirror=True)(image)
    assert np.abs(tiled.astype(int) - whole).max() <= 1
    # Face crops and small batches go through the same average.
    crops = np.stack([image[:64, :64], image[64:128, 100:164]]).astype(np.float32) / 255
    both = (plain.restore_float(crops) + plain.restore_float(crops[:, :, ::-1].copy())[:, :, ::-1]) / 2
    np.testing.assert_allclose(mirror.restore_float(crops), both, atol=1e-5)


def test_grey_rgba_16_bit_and_lists(exported):
    deblurrer = Deblurrer.load(exported / "g.keras")
    rng = np.random.default_rng(2)
    grey = smooth_image(rng, 30, 40)[..., 0]
    assert deblurrer(grey).shape == (30, 40)
    rgba = np.concatenate([smooth_image(rng, 30, 40), rng.integers(0, 256, (30, 40, 1), dtype=np.uint8)], axis=2)
    out = deblurrer(rgba)
    assert out.shape == rgba.shape
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])  # alpha untouched
    # 16 bit: the Keras backend restores in float, so the output keeps 16-bit precision (values
    # between the 257-multiples of 8-bit levels) and matches the 8-bit result of the same image.
    eight = smooth_image(rng, 30, 40)
    out16 = deblurrer(eight.astype(np.uint16) * 257)
    assert out16.dtype == np.uint16
    assert np.mean(out16 % 257 != 0) > 0.5
    assert np.abs(out16 / 257.0 - deblurrer(eight)).max() <= 0.5 + 1e-6
    outs = deblurrer([grey, rgba])
    assert [o.shape for o in outs] == [grey.shape, rgba.shape]
    with pytest.raises(ValueError, match="uint8 or uint16"):
        deblurrer(grey.astype(np.float32))


def test_load_image_respects_exif_orientation(tmp_path):
    from PIL import Image
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    Image.fromarray(pixels).save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    image = load_image(tmp_path / "rotated.jpg")
    assert image.shape == (40, 20, 3)
    assert image[:15].mean() > 200 and image[25:].mean() < 50  # white half now on top


def test_load_image_modes_and_bad_files(tmp_path):
    from PIL import Image
    rgb = smooth_image(np.random.default_rng(0), 20, 30)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg")
    assert load_image(tmp_path / "cmyk.jpg").shape == (20, 30, 3)
    Image.fromarray(rgb).convert("P").save(tmp_path / "palette.png")
    assert load_image(tmp_path / "palette.png").shape == (20, 30, 3)
    import cv2
    cv2.imwrite(str(tmp_path / "deep.png"), cv2.cvtColor(rgb.astype(np.uint16) * 257, cv2.COLOR_RGB2BGR))
    deep = load_image(tmp_path / "deep.png")
    assert deep.dtype == np.uint16 and np.array_equal(deep // 257, rgb)
    buf = io.BytesIO()
    Image.fromarray(smooth_image(np.random.default_rng(1), 200, 300)).save(buf, "JPEG")
    (tmp_path / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageReadError, match="truncated"):
        load_image(tmp_path / "truncated.jpg")
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(ImageReadError, match="not a readable image"):
        load_image(tmp_path / "notes.png")
    with pytest.raises(ImageReadError, match="over the limit"):
        load_image(tmp_path / "palette.png", max_pixels=100)


def test_unknown_model_files_are_clear_errors(tmp_path):
    with pytest.raises(ModelLoadError, match="no such model"):
        Deblurrer.load(tmp_path / "missing.keras")
    (tmp_path / "m.onnx").write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="unknown model type"):
        Deblurrer.load(tmp_path / "m.onnx")
    with pytest.raises(ModelLoadError, match="not a SavedModel"):
        Deblurrer.load(tmp_path)


def test_corrupt_keras_files_and_critics_are_refused_as_models(tmp_path, exported):
    # Issue 13, defect 7: a truncated .keras was reported as "File not found", and a critic was
    # accepted as a generator (a 256x256 input gave a 32x32 picture).
    data = (exported / "g.keras").read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="not a zip archive"):
        Deblurrer.load(tmp_path / "cut.keras")
    from deblur_tf.models import build_critic
    build_critic("patchgan", filters=4, n_layers=2).save(tmp_path / "critic.keras")
    with pytest.raises(ModelLoadError, match="not an image restoration model"):
        Deblurrer.load(tmp_path / "critic.keras")


def test_outputs_get_ordinary_permissions(tmp_path):
    import os
    import stat
    from deblur_tf.io import write_image
    write_image(tmp_path / "o.png", np.zeros((4, 4, 3), np.uint8))
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(tmp_path / "o.png").st_mode) == 0o666 & ~mask


def test_restore_applies_the_faces_rule_for_every_caller(exported):
    # The --faces rule lives in the library (CLI, notebooks and services share it).
    deblurrer = Deblurrer.load(exported / "g.keras")
    deblurrer.detector = lambda image: []  # a photo in which no face is found
    photo = smooth_image(np.random.default_rng(4), 48, 64)
    whole = deblurrer(photo)
    assert not np.array_equal(whole, photo)
    out, faces = deblurrer.restore(photo, faces="only")
    assert faces == [] and np.array_equal(out, photo)  # faces only: left unchanged
    out, _ = deblurrer.restore(photo, faces="auto")
    assert np.array_equal(out, whole)  # auto: no face, so the whole image
    out, _ = deblurrer.restore(photo, faces="off")
    assert np.array_equal(out, whole)
    with pytest.raises(ValueError, match="faces must be one of"):
        deblurrer.restore(photo, faces="some")
