"""Damaged faces: masks, the data pipeline, the mask-aware generators, their exports, the
Inpainter API, the inpainting protocol and the ``inpaint`` command."""

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from deblur_tf.cli import cli
from deblur_tf.degrade.masks import (FACE_PARTS, MaskConfigError, MaskSampler, draw_mask, fill_holes,
                                     part_mask, template_landmarks)

from conftest import smooth_image
from test_cli import assert_clean_error


def tiny_inpainter(name="gated_unet"):
    from deblur_tf.models import build_generator
    kwargs = {"width": 4, "max_width": 8} if name == "gated_unet" else {"width": 4, "levels": 2}
    return build_generator(name, **kwargs)


def _perturbed(model, seed=0):
    """The model with its (zero-initialised or fresh) weights scaled up, so its fill differs
    visibly from the pre-fill and parity checks compare real outputs."""
    rng = np.random.default_rng(seed)
    model.set_weights([w + 0.1 * rng.standard_normal(w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def far_from(mask: np.ndarray, px: int) -> np.ndarray:
    """Pixels farther than ``px`` (Chebyshev) from every masked pixel."""
    import cv2
    return cv2.dilate(mask.astype(np.uint8), np.ones((2 * px + 1, 2 * px + 1), np.uint8)) == 0


# --- masks ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("part", FACE_PARTS)
def test_part_masks_cover_their_landmark(part):
    lm = template_landmarks()
    points = {"left_eye": ["left_eye"], "right_eye": ["right_eye"], "eyes": ["left_eye", "right_eye"],
              "nose": ["nose"], "mouth": ["mouth_left", "mouth_right"]}[part]
    mask = part_mask(128, part, np.random.default_rng(0), jitter=0.0, scale=(1.0, 1.0))
    for name in points:
        x, y = np.round(lm[name] * 128).astype(int)
        if part == "mouth":  # the lip corners sit at the ellipse's ends: test just inside them
            x += 4 if name == "mouth_left" else -4
        assert mask[y, x] == 1, (part, name)
    others = {"left_eye": "right_eye", "right_eye": "left_eye", "nose": "mouth_left", "mouth": "nose"}
    if part in others:  # and not the other parts
        x, y = np.round(lm[others[part]] * 128).astype(int)
        assert mask[y, x] == 0


def test_sampled_masks_stay_in_the_area_range_and_depend_only_on_the_seed():
    sampler = MaskSampler(size=96)
    areas = [sampler.sample([0, i]).mean() for i in range(120)]
    assert min(areas) >= 0.03 and max(areas) <= 0.40
    assert np.std(areas) > 0.05  # small and large holes, not one size
    np.testing.assert_array_equal(sampler.sample([3, 7]), sampler.sample([3, 7]))
    assert not np.array_equal(sampler.sample([3, 7]), sampler.sample([3, 8]))
    for kind in ("part", "brush", "rect"):
        m = draw_mask(kind, 64, np.random.default_rng(1), area=(0.1, 0.2))
        assert set(np.unique(m)) <= {0.0, 1.0} and 0.1 <= m.mean() <= 0.2, kind


@pytest.mark.parametrize("spec, fragment", [
    ([{"type": "circle"}], "type"),
    ([{"type": "rect", "area": [0.5, 0.2]}], "area"),
    ([{"type": "part", "parts": ["ear"]}], "ear"),
    ([{"type": "brush", "width": 3}], "width"),
    ([{"type": "rect", "weight": 0}], "weights"),
])
def test_bad_mask_specs_are_named(spec, fragment):
    with pytest.raises(MaskConfigError, match=fragment):
        MaskSampler(spec)


@pytest.mark.parametrize("fill", [0, 1, 2])
def test_fill_holes_changes_the_hole_only(fill):
    image = tf.random.uniform([16, 16, 3], seed=1)
    mask = np.zeros([16, 16, 1], np.float32)
    mask[4:9, 3:12] = 1
    out = fill_holes(image, tf.constant(mask), fill, tf.constant([0, 5], tf.int64)).numpy()
    np.testing.assert_array_equal(out[mask[..., 0] == 0], image.numpy()[mask[..., 0] == 0])
    hole = out[mask[..., 0] == 1]
    if fill == 0:
        assert (hole == 0).all()
    elif fill == 2:
        assert np.allclose(hole, hole[0])  # one colour
    else:
        assert hole.std() > 0.1


def test_damaged_dataset_pairs_a_binary_mask_with_the_clean_face(image_folder):
    from deblur_tf.data import damaged_dataset
    ds = damaged_dataset(image_folder, MaskSampler(size=32), image_size=32, batch_size=4,
                         training=False, seed=3)
    (damaged, mask), clean = next(iter(ds))
    assert damaged.shape == clean.shape == (4, 32, 32, 3) and mask.shape == (4, 32, 32, 1)
    mask, damaged, clean = mask.numpy(), damaged.numpy(), clean.numpy()
    assert set(np.unique(mask)) <= {0.0, 1.0} and mask.mean() > 0.02
    keep = np.repeat(mask == 0, 3, axis=3)
    np.testing.assert_array_equal(damaged[keep], clean[keep])
    (again, mask2), _ = next(iter(damaged_dataset(image_folder, MaskSampler(size=32), image_size=32,
                                                  batch_size=4, training=False, seed=3)))
    np.testing.assert_array_equal(mask, mask2.numpy())  # the evaluation set is reproducible


# --- the generators ------------------------------------------------------------------------------

def test_prefill_keeps_known_pixels_and_continues_the_surroundings():
    from deblur_tf.models.inpainting import PushPullFill
    image = np.zeros([1, 40, 40, 3], np.float32)
    image[:, :, :20] = [1.0, 0.0, 0.0]   # red left half
    image[:, :, 20:] = [0.0, 0.0, 1.0]   # blue right half
    mask = np.zeros([1, 40, 40, 1], np.float32)
    mask[:, 10:30, 4:16] = 1             # a hole inside the red half
    mask[:, 10:30, 24:36] = 1            # and one inside the blue half
    damaged = image * (1 - mask) + 0.5 * mask
    out = PushPullFill(6)(damaged, mask).numpy()
    keep = np.repeat(mask == 0, 3, axis=3)
    np.testing.assert_array_equal(out[keep], damaged[keep])
    red_hole, blue_hole = out[0, 10:30, 4:16], out[0, 10:30, 24:36]
    # Each hole takes its own side's colour (mixed near the other side, as a smooth fill must).
    assert (red_hole[..., 0] > red_hole[..., 2]).all() and red_hole[..., 0].mean() > 0.75
    assert (blue_hole[..., 2] > blue_hole[..., 0]).all() and blue_hole[..., 2].mean() > 0.75
    flat = PushPullFill(6)(np.full_like(image, 0.3) * (1 - mask), mask).numpy()
    np.testing.assert_allclose(flat, 0.3, atol=1e-6)          # a flat surrounding fills flat


@pytest.mark.parametrize("name", ["gated_unet", "unet_bidari"])
@pytest.mark.parametrize("h, w", [(32, 32), (37, 50), (7, 9)])
def test_generators_change_only_the_hole_and_its_seam(name, h, w):
    model = _perturbed(tiny_inpainter(name))
    rng = np.random.default_rng(0)
    image = rng.random((2, h, w, 3)).astype(np.float32)
    mask = np.zeros((2, h, w, 1), np.float32)
    mask[:, h // 3: h // 3 + 2, w // 4: w // 4 + 3] = 1
    out = model([image, mask]).numpy()
    assert out.shape == image.shape
    far = far_from(mask[0, ..., 0], 2 * 2)  # seam 2: blended over 2 * seam px
    np.testing.assert_array_equal(out[:, far], image[:, far])
    assert np.abs(out - image)[mask[..., 0] == 1].mean() > 0.01
    untouched = model([image, np.zeros_like(mask)]).numpy()
    np.testing.assert_array_equal(untouched, image)  # no hole: the input itself


@pytest.mark.parametrize("name", ["gated_unet", "unet_bidari"])
def test_inpainting_generators_round_trip_through_keras_files(name, tmp_path):
    import keras
    model = _perturbed(tiny_inpainter(name))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    x = np.random.default_rng(1).random((1, 24, 40, 3)).astype(np.float32)
    m = np.zeros((1, 24, 40, 1), np.float32)
    m[:, 5:15, 10:20] = 1
    np.testing.assert_array_equal(loaded([x, m]).numpy(), model([x, m]).numpy())
    assert loaded.get_config() == model.get_config()


def test_hole_weighted_l1_weighs_the_hole():
    from deblur_tf.losses import hole_l1, hole_weighted_l1
    a, b = np.zeros((1, 2, 2, 3), np.float32), np.ones((1, 2, 2, 3), np.float32)
    b[0, 0, 0] = 0.5
    mask = np.zeros((1, 2, 2, 1), np.float32)
    mask[0, 0, 0] = 1
    # valid: 3 pixels of error 1 out of 4 -> 0.75; hole: 1 pixel of error 0.5 out of 4 -> 0.125
    assert float(hole_weighted_l1(a, b, mask, 6.0)) == pytest.approx(0.75 + 6 * 0.125)
    assert float(hole_l1(a, b, mask)) == pytest.approx(0.5)


@pytest.mark.slow
def test_gan_trains_an_inpainting_generator_with_both_adversarial_losses(image_folder):
    from deblur_tf.data import damaged_dataset
    from deblur_tf.gan import DeblurGAN, adam
    from deblur_tf.models import build_critic
    ds = damaged_dataset(image_folder, MaskSampler(size=32), image_size=32, batch_size=2, seed=0)
    for adversarial, n_critic in (("bce", 1), ("wgan-gp", 2)):
        generator = tiny_inpainter()
        gan = DeblurGAN(generator, build_critic("patchgan", filters=4, n_layers=1), n_critic=n_critic,
                        adversarial=adversarial, adversarial_weight=0.01, hole_weight=6.0)
        gan.compile(g_optimizer=adam(1e-3), d_optimizer=adam(1e-3))
        before = [w.copy() for w in generator.get_weights()]
        logs = gan.fit(ds, steps_per_epoch=2, epochs=1, verbose=0).history
        assert {"g_hole_l1", "g_l1", "d_loss", "g_adv"} <= set(logs)
        assert all(np.isfinite(v[-1]) for v in logs.values())
        assert any(not np.array_equal(a, b) for a, b in zip(before, generator.get_weights()))
        assert int(gan.d_optimizer.iterations.numpy()) == 2 * n_critic


@pytest.mark.slow
def test_a_damaged_faces_run_trains_and_resumes(image_folder, tmp_path):
    from deblur_tf.config import apply_overrides, get_experiment
    from deblur_tf.runs import generator_from_checkpoint
    from deblur_tf.train import run
    cfg = apply_overrides(get_experiment("lfw_inpaint_gated"), {
        "data": {"train": str(image_folder), "val": str(image_folder), "root": None, "image_size": 32,
                 "batch_size": 2, "val_batches": 1, "center_crop": None, "augment": {"crop": None}},
        "model": {"generator_args": {"width": 4, "max_width": 8}},
        "loss": {"perceptual_weight": 0.0},
        "train": {"steps": 4, "steps_per_epoch": 2, "checkpoint_every": 2, "verbose": 0,
                  "mixed_precision": False}})
    first = run(apply_overrides(cfg, {"train": {"steps": 2}}), tmp_path / "run")
    assert first.end_step == 2
    second = run(cfg, tmp_path / "run")
    assert (second.start_step, second.end_step) == (2, 4)
    assert "val_g_hole_l1" in second.history and list((tmp_path / "run" / "samples").glob("*.png"))
    assert len(generator_from_checkpoint(tmp_path / "run").inputs) == 2


def test_inpainting_experiments_are_valid_and_bad_fills_are_named():
    from deblur_tf.config import ConfigError, apply_overrides, get_experiment
    for name in ("lfw_inpaint_gated", "lfw_inpaint_gated_wgan", "lfw_inpaint_bidari"):
        cfg = get_experiment(name).validate()
        assert cfg.data.kind == "damaged"
    assert get_experiment("lfw_inpaint_bidari").loss.adversarial == "bce"
    with pytest.raises(ConfigError, match="data.fills"):
        apply_overrides(get_experiment("lfw_inpaint_gated"), {"data": {"fills": ["glitter"]}}).validate()
    with pytest.raises(ConfigError, match="unknown key"):
        apply_overrides(get_experiment("lfw_inpaint_gated"),
                        {"data": {"masks": [{"type": "rect", "size": 3}]}}).validate()


# --- exports -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def inpaint_exports(tmp_path_factory):
    from deblur_tf.export import export_savedmodel, export_tflite
    folder = tmp_path_factory.mktemp("inpaint_exports")
    model = _perturbed(tiny_inpainter())
    model.save(folder / "g.keras")
    export_savedmodel(model, folder / "savedmodel")
    export_tflite(model, folder / "g_fp16.tflite", "fp16")
    return folder, model


def _uint8_case(h=45, w=61):
    rng = np.random.default_rng(4)
    image = smooth_image(rng, h, w)
    mask = np.zeros((h, w), np.uint8)
    mask[10:25, 20:40] = 200  # > 127: damaged
    mask[30:35, 5:10] = 100   # <= 127: not damaged
    return image, mask


@pytest.mark.slow
def test_inpainting_exports_match_keras_pixels(inpaint_exports):
    from deblur_tf.inpainting import Inpainter
    folder, model = inpaint_exports
    image, mask = _uint8_case()
    reference = Inpainter(model)(image, mask).astype(int)
    assert np.abs(reference - image)[mask > 127].mean() > 2  # the model changed the hole
    for name, bound in (("savedmodel", 1), ("g_fp16.tflite", 2)):
        out = Inpainter.load(folder / name)(image, mask).astype(int)
        assert np.abs(out - reference).max() <= bound, name
        keep = far_from(mask > 127, 4)
        np.testing.assert_array_equal(out[keep], image[keep])


@pytest.mark.slow
def test_savedmodel_signatures_take_images_and_masks(inpaint_exports):
    import cv2
    folder, _ = inpaint_exports
    loaded = tf.saved_model.load(str(folder / "savedmodel"))
    sig = loaded.signatures["serving_default"]
    assert set(sig.structured_input_signature[1]) == {"images", "masks"}
    image, mask = _uint8_case()
    direct = sig(images=tf.constant(image[None]), masks=tf.constant(mask[None, ..., None]))["restored"]
    png = lambda a: cv2.imencode(".png", a)[1].tobytes()  # noqa: E731
    out = loaded.signatures["deblur_image_bytes"](image_bytes=tf.constant([png(image[..., ::-1])]),
                                                  mask_bytes=tf.constant([png(mask)]))["png_bytes"]
    decoded = tf.io.decode_png(out[0]).numpy()
    np.testing.assert_array_equal(decoded, direct.numpy()[0])


@pytest.mark.slow
def test_deblurring_and_inpainting_models_refuse_each_other(inpaint_exports, exported):
    from deblur_tf.inference import Deblurrer, ModelLoadError
    from deblur_tf.inpainting import Inpainter
    folder, _ = inpaint_exports
    for path in (folder / "g.keras", folder / "savedmodel", folder / "g_fp16.tflite"):
        with pytest.raises(ModelLoadError, match="deblur-tf inpaint"):
            Deblurrer.load(path)
    for path in (exported / "g.keras", exported / "savedmodel", exported / "g_fp16.tflite"):
        with pytest.raises(ModelLoadError, match="deblur-tf deblur"):
            Inpainter.load(path)


# --- the Inpainter API ---------------------------------------------------------------------------

def test_an_empty_mask_returns_the_image_and_a_wrong_size_is_named():
    from deblur_tf.inpainting import Inpainter, MaskError
    inpainter = Inpainter.load("prefill")
    image = smooth_image(np.random.default_rng(0), 30, 40)
    out = inpainter(image, np.zeros((30, 40), np.uint8))
    np.testing.assert_array_equal(out, image)
    assert out is not image
    with pytest.raises(MaskError, match="40x20.*40x30"):
        inpainter(image, np.zeros((20, 40), np.uint8))


@pytest.mark.parametrize("kind", ["grey", "rgba", "uint16", "bool_mask", "colour_mask"])
def test_inpainter_takes_the_image_kinds_of_the_deblurrer(kind):
    from deblur_tf.inpainting import Inpainter
    image, mask = _uint8_case(33, 47)
    if kind == "grey":
        image = image[..., 0]
    elif kind == "rgba":
        image = np.concatenate([image, np.full(image.shape[:2] + (1,), 77, np.uint8)], axis=2)
    elif kind == "uint16":
        image = image.astype(np.uint16) * 257
    elif kind == "bool_mask":
        mask = mask > 127
    elif kind == "colour_mask":
        mask = np.repeat(mask[..., None], 3, axis=2)
    out = Inpainter.load("opencv-telea")(image, mask)
    assert out.shape == image.shape and out.dtype == image.dtype
    hole = np.asarray(mask if mask.ndim == 2 else mask[..., 0]) > (0.5 if mask.dtype == bool else 127)
    assert not np.array_equal(out[hole], image[hole])
    keep = far_from(hole, 4)
    np.testing.assert_array_equal(out[keep], image[keep])


def test_faces_auto_repairs_the_face_the_mask_touches_and_pastes_it_back():
    import cv2
    import skimage.data
    from deblur_tf.inpainting import Inpainter
    photo = skimage.data.astronaut()
    mask = np.zeros(photo.shape[:2], np.uint8)
    cv2.ellipse(mask, (204, 98), (20, 13), 0, 0, 360, 255, -1)   # an eye
    damaged = photo.copy()
    damaged[mask > 0] = 0
    inpainter = Inpainter.load("prefill")
    out, faces = inpainter.restore(damaged, mask, faces="auto")
    assert len(faces) == 1 and faces[0].aligned_by == "landmarks"
    keep = far_from(mask > 0, 4)
    np.testing.assert_array_equal(out[keep], damaged[keep])
    hole = mask > 0
    assert np.abs(out[hole].astype(int) - photo[hole]).mean() < 0.5 * np.abs(damaged[hole].astype(int) - photo[hole]).mean()
    # A mask on the background (the flag, far from the face): no face repaired; "only" leaves it.
    flag = np.zeros_like(mask)
    flag[20:40, 20:60] = 255
    only, none = inpainter.restore(damaged, flag, faces="only")
    assert none == [] and np.array_equal(only, damaged)
    auto, _ = inpainter.restore(damaged, flag, faces="auto")
    assert not np.array_equal(auto[20:40, 20:60], damaged[20:40, 20:60])


# --- the protocol and the command ----------------------------------------------------------------

@pytest.fixture(scope="module")
def face_folder(tmp_path_factory):
    """Six 250 px 'photos' (LFW's size) of smooth colour, for the protocol's 150 px face crop."""
    from deblur_tf.io import write_image
    folder = tmp_path_factory.mktemp("faces")
    rng = np.random.default_rng(2)
    for i in range(6):
        write_image(folder / f"f{i}.png", smooth_image(rng, 250, 250))
    return folder


@pytest.mark.slow
def test_inpainting_protocol_scores_every_kind_and_method(face_folder, tmp_path):
    from deblur_tf.evaluate_inpainting import INPAINT_KINDS, evaluate_inpainting, save_inpainting
    from deblur_tf.inpainting import Inpainter
    methods = {n: Inpainter.load(n).restore_float for n in ("prefill", "opencv-telea")}
    methods["identity"] = lambda images, masks: images  # the damaged input itself
    results = evaluate_inpainting(methods, face_folder, batch_size=4, grid_faces=1)
    assert results["count"] == 6 and list(results["kinds"]) == [k.name for k in INPAINT_KINDS]
    for kind in results["kinds"].values():
        assert 0.03 <= kind["hole_fraction"] <= 0.40
        ident, telea = kind["methods"]["identity"], kind["methods"]["opencv-telea"]
        assert telea["psnr"] > ident["psnr"] and telea["hole_l1"] < ident["hole_l1"]
    save_inpainting(results, tmp_path / "r.json")
    import json
    saved = json.loads((tmp_path / "r.json").read_text())
    assert "grid" not in saved and "| opencv-telea |" in (tmp_path / "r.md").read_text()
    from deblur_tf.io import read_rgb
    assert read_rgb(tmp_path / "r.grid.jpg").shape[1] == 5 * (128 + 4)  # damaged, 3 methods, clean


@pytest.mark.slow
def test_evaluate_inpaint_command_writes_its_files_and_refuses_to_overwrite(face_folder, tmp_path):
    runner = CliRunner()
    args = ["evaluate", "--inpaint", "--images", str(face_folder), "--kinds", "nose,rect",
            "--no-lpips", "-o", str(tmp_path / "e.json")]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "opencv-telea" in result.output and (tmp_path / "e.grid.jpg").is_file()
    assert_clean_error(runner.invoke(cli, args), "exists")
    assert_clean_error(runner.invoke(cli, args[:-2] + ["--kinds", "ears", "-o", str(tmp_path / "f.json")]),
                       "ears")


@pytest.fixture()
def damaged_folder(tmp_path):
    from deblur_tf.io import write_image
    rng = np.random.default_rng(5)
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "masks" / "sub").mkdir(parents=True)
    for rel in ("a", "sub/b"):
        image, mask = _uint8_case(40, 52)
        image = smooth_image(rng, 40, 52)
        write_image(tmp_path / "in" / f"{rel}.jpg", image)
        write_image(tmp_path / "masks" / f"{rel}.png", mask)
    write_image(tmp_path / "in" / "orphan.png", smooth_image(rng, 20, 20))
    return tmp_path


def test_inpaint_command_on_a_folder_matches_masks_by_name_and_isolates_failures(damaged_folder):
    from deblur_tf.io import read_rgb
    out = damaged_folder / "out"
    result = CliRunner().invoke(cli, ["inpaint", str(damaged_folder / "in"), "--mask",
                                      str(damaged_folder / "masks"), "-o", str(out),
                                      "--model", "opencv-telea", "--faces", "off"])
    assert result.exit_code == 1
    assert "orphan.png: no mask" in result.stderr and "2 of 3" in result.stderr
    src, dst = read_rgb(damaged_folder / "in" / "a.jpg"), read_rgb(out / "a.png")
    _, mask = _uint8_case(40, 52)
    keep = far_from(mask > 127, 4)
    np.testing.assert_array_equal(dst[keep], src[keep])
    assert not np.array_equal(dst[mask > 127], src[mask > 127])
    assert (out / "sub" / "b.png").is_file()


@pytest.mark.parametrize("case, fragment", [
    ("wrong_size", "must match"),
    ("output_is_mask", "overwrite the input"),
    ("file_output_for_folder", "output folder"),
    ("one_mask_for_a_folder", "mask folder"),
    ("deblurring_model", "not an inpainting model"),
])
def test_inpaint_command_bad_input_is_one_line(damaged_folder, exported, case, fragment):
    from deblur_tf.io import write_image
    d = damaged_folder
    args = ["inpaint", str(d / "in" / "a.jpg"), "--mask", str(d / "masks" / "a.png"), "-o",
            str(d / "o.png"), "--model", "prefill", "--faces", "off"]
    if case == "wrong_size":
        write_image(d / "small.png", np.zeros((10, 10), np.uint8))
        args[3] = str(d / "small.png")
    elif case == "output_is_mask":
        args[5:6] = [str(d / "masks" / "a.png"), "--overwrite"]
    elif case == "file_output_for_folder":
        args[1], args[3] = str(d / "in"), str(d / "masks")
    elif case == "one_mask_for_a_folder":
        args[1], args[5] = str(d / "in"), str(d / "outdir")
    elif case == "deblurring_model":
        args[7] = str(exported / "g.keras")
    assert_clean_error(CliRunner().invoke(cli, args), fragment)


@pytest.mark.slow
def test_damaged_faces_notebook_executes(tmp_path):
    from pathlib import Path

    import nbformat
    from nbclient import NotebookClient
    path = Path(__file__).resolve().parent.parent / "notebooks" / "02_damaged_faces.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "faces repaired: 1" in text
    assert "pixels changed outside the mask and its 4 px seam: 0" in text
    import re
    damaged, repaired = (float(v) for v in re.search(r"damaged ([\d.]+) dB, repaired ([\d.]+) dB", text).groups())
    assert repaired > damaged + 5
    assert "generator updates: 4" in text
    assert sum(1 for o in outputs if "image/png" in o.get("data", {})) == 3
