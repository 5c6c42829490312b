"""Faces in whole photos: detection, alignment, paste-back — on scikit-image's astronaut, made here."""

import cv2
import numpy as np
import pytest
from skimage import data

from deblur_tf.faces import (Face, align, box_transform, default_template, feather_mask,
                             similarity_transform, warp_to_crop)
from deblur_tf.inference import Deblurrer

pytestmark = pytest.mark.slow

BRIGHTEN = 0.2  # a "model" that adds this to every pixel: its change shows exactly where faces go


def astronaut_face_box(scale=1.0, x=0, y=0):
    """Where the astronaut's face is (measured by eye on the 512x512 original), once placed."""
    return np.array([182, 64, 265, 171], np.float64) * scale + [x, y, x, y]


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def composite(placements, canvas=(768, 1024)):
    """The astronaut pasted at (x, y, scale) into a grey canvas; and where its faces are."""
    image = np.full(canvas + (3,), 120, np.uint8)
    astronaut = data.astronaut()
    boxes = []
    for x, y, s in placements:
        small = cv2.resize(astronaut, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        h, w = small.shape[:2]
        image[y:y + h, x:x + w] = small
        boxes.append(astronaut_face_box(s, x, y))
    return image, boxes


@pytest.fixture(scope="module")
def detector():
    from deblur_tf.faces import make_detector
    return make_detector("mtcnn")


def restorer(fn):
    return Deblurrer(lambda x: np.asarray(fn(np.asarray(x, np.float32)), np.float32))


def footprint_mask(faces, shape, size=128):
    """Pixels any face's aligned crop maps onto (where paste-back may write)."""
    mask = np.zeros(shape[:2], np.uint8)
    for f in faces:
        inverse = cv2.invertAffineTransform(f.transform)
        corners = np.array([[0, 0, 1], [size, 0, 1], [size, size, 1], [0, size, 1]], np.float64) @ inverse.T
        cv2.fillConvexPoly(mask, np.round(corners).astype(np.int32), 1)
    return cv2.dilate(mask, np.ones((5, 5), np.uint8)).astype(bool)


def test_faces_are_found_at_their_places_at_several_scales(detector):
    image, boxes = composite([(10, 10, 0.3), (300, 50, 0.6), (540, 290, 0.9)])
    faces = detector(image)
    assert len(faces) == 3
    for box in boxes:
        assert max(iou(f.box, box) for f in faces) > 0.5, box
    for f in faces:  # landmarks sit inside their face
        assert f.landmarks.shape == (5, 2)
        assert np.all((f.landmarks >= f.box[:2]) & (f.landmarks <= f.box[2:]))


def test_identity_model_pastes_back_without_changing_a_pixel(detector):
    image, _ = composite([(10, 10, 0.3), (300, 50, 0.6), (540, 290, 0.9)])
    out, faces = restorer(lambda x: x).restore_faces(image, detector=detector)
    assert len(faces) == 3
    assert np.abs(out.astype(int) - image).max() <= 1


def test_output_equals_input_outside_the_faces_and_blends_without_a_seam(detector):
    image, _ = composite([(10, 10, 0.3), (300, 50, 0.6), (540, 290, 0.9)])
    image = (image * 0.75).astype(np.uint8)  # no pixel clips at white, so the change is the mask's
    out, faces = restorer(lambda x: x + BRIGHTEN).restore_faces(image, detector=detector)
    delta = out.astype(int) - image
    outside = ~footprint_mask(faces, image.shape)
    assert np.array_equal(out[outside], image[outside])
    assert len(faces) == 3
    for f in faces:  # the face itself got the model's full change
        cx, cy = np.round(f.landmarks[2]).astype(int)
        assert delta[cy, cx].min() >= round(BRIGHTEN * 255) - 1
    # Feathered: the change ramps in over several pixels; a square paste would jump by ~51 levels.
    step = max(np.abs(np.diff(delta, axis=0)).max(), np.abs(np.diff(delta, axis=1)).max())
    assert step <= 12


@pytest.mark.parametrize("scale", [0.25, 2.2])
def test_tiny_and_huge_faces(detector, scale):
    astronaut = data.astronaut()
    image = cv2.resize(astronaut, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    image = (image * 0.75).astype(np.uint8)  # no clipping at white
    out, faces = restorer(lambda x: x + BRIGHTEN).restore_faces(image, detector=detector)
    assert len(faces) >= 1
    face = max(faces, key=lambda f: iou(f.box, astronaut_face_box(scale)))
    assert iou(face.box, astronaut_face_box(scale)) > 0.5
    cx, cy = np.round(face.landmarks[2]).astype(int)
    assert (out[cy, cx].astype(int) - image[cy, cx]).min() >= round(BRIGHTEN * 255) - 2
    identity, _ = restorer(lambda x: x).restore_faces(image, faces=faces)
    assert np.abs(identity.astype(int) - image).max() <= 1


def test_many_faces_overlapping_boxes_and_one_batch(detector):
    placements = [(x, y, 0.45) for x in (0, 240, 480, 720) for y in (0, 250, 500)][:12]
    image, boxes = composite(placements)
    calls = []

    def model(x):
        calls.append(len(x))
        return x + BRIGHTEN
    deblurrer = restorer(model)
    deblurrer.face_batch = 16
    out, faces = deblurrer.restore_faces(image, detector=detector)
    assert len(faces) == 12 and calls == [12]
    # two faces whose crops overlap: the shared pixels get the change once, not twice
    pair = [Face(box=astronaut_face_box(0.45, 300, 50), landmarks=None, score=1.0),
            Face(box=astronaut_face_box(0.45, 320, 60), landmarks=None, score=1.0)]
    out, _ = restorer(lambda x: x + BRIGHTEN).restore_faces(image, faces=pair)
    assert (out.astype(int) - image).max() <= round(BRIGHTEN * 255) + 1


def test_no_face_leaves_the_photo_unchanged(detector):
    image = np.full((200, 300, 3), 90, np.uint8)
    image[50:150, 100:200] = 200
    out, faces = restorer(lambda x: x + BRIGHTEN).restore_faces(image, detector=detector)
    assert faces == [] and np.array_equal(out, image)
    out, _ = restorer(lambda x: x + BRIGHTEN).restore_faces(image, detector=detector, background=True)
    assert np.all(out[100, 50] == 90 + round(BRIGHTEN * 255))


def test_background_restores_the_rest_and_faces_still_blend(detector):
    image, _ = composite([(300, 50, 0.6)], canvas=(400, 700))
    out, faces = restorer(lambda x: x + BRIGHTEN).restore_faces(image, detector=detector, background=True)
    assert len(faces) == 1
    assert np.abs(out.astype(int) - np.clip(image.astype(int) + 51, 0, 255)).max() <= 1


def test_grey_and_rgba_photos(detector):
    image, _ = composite([(100, 60, 0.6)], canvas=(400, 500))
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    out, faces = restorer(lambda x: x + BRIGHTEN).restore_faces(grey, detector=detector)
    assert out.shape == grey.shape and out.dtype == np.uint8 and len(faces) == 1
    rgba = np.concatenate([image, np.arange(400 * 500).reshape(400, 500, 1).astype(np.uint8)], axis=2)
    out, faces = restorer(lambda x: x + BRIGHTEN).restore_faces(rgba, detector=detector)
    assert out.shape == rgba.shape and len(faces) == 1
    assert np.array_equal(out[..., 3], rgba[..., 3])
    assert not np.array_equal(out[..., :3], image)


def test_similarity_transform_recovers_a_known_one():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -5.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    m = similarity_transform(src, src @ rot.T + shift)
    np.testing.assert_allclose(m, np.hstack([rot, shift[:, None]]), atol=1e-9)


def test_alignment_frames_a_face_like_the_template_and_falls_back_to_its_box():
    t = default_template()
    # A face twice the template's size, shifted: landmarks and box consistent -> landmarks used.
    face = Face(box=t.box * 2 + 40, landmarks=t.landmarks * 2 + 40, score=1.0)
    m, how = align(face, t)
    assert how == "landmarks"
    np.testing.assert_allclose(np.c_[face.landmarks, np.ones(5)] @ m.T, t.landmarks, atol=1e-6)
    # Landmarks bunched into one corner of the box (a blurred face's bad guess) -> the box decides.
    bad = Face(box=face.box, landmarks=face.landmarks * 0.3 + 40, score=1.0)
    m, how = align(bad, t)
    assert how == "box"
    np.testing.assert_allclose(m, box_transform(bad.box, t))


def test_a_training_crop_placed_in_a_bigger_photo_is_cut_back_out():
    """A face framed like the training crops, enlarged 2x and moved inside a larger photo, is
    found again by its (moved, scaled) box: the aligned crop is the original crop."""
    import cv2
    t = default_template()
    crop = cv2.GaussianBlur(np.random.default_rng(0).uniform(0, 1, (128, 128, 3)).astype(np.float32), (0, 0), 1.5)
    photo = np.zeros((400, 500, 3), np.float32)
    photo[60:316, 150:406] = cv2.resize(crop, (256, 256), interpolation=cv2.INTER_LINEAR)
    box = np.asarray(t.box, np.float64) * 2 + [150, 60, 150, 60]
    aligned = warp_to_crop(photo, box_transform(box, t), 128)
    inner = slice(8, 120)  # away from the border, where resampling meets the black surround
    assert np.abs(aligned[inner, inner] - crop[inner, inner]).mean() < 0.01


def test_feather_mask_is_one_inside_and_zero_at_the_edge():
    m = feather_mask(128)
    assert m[64, 64] == 1 and m[0, 64] < 0.01 and m[64, 127] < 0.01


def test_faces_through_every_backend(detector, exported):
    """SavedModel (batched uint8) and TFLite (one face at a time) paste back what Keras does."""
    image, _ = composite([(20, 20, 0.5), (330, 100, 0.55)], canvas=(420, 640))
    faces = detector(image)
    assert len(faces) == 2
    reference, _ = Deblurrer.load(exported / "g.keras").restore_faces(image, faces=faces)
    for path in ("savedmodel", "g_none.tflite"):
        out, _ = Deblurrer.load(exported / path).restore_faces(image, faces=faces)
        assert np.abs(out.astype(int) - reference).max() <= 2, path
