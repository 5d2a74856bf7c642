"""Faces and encodings from real images (tests/data/faces via tests/support/images.py), with
dlib's models loaded once for the session. These distances are the calibration recorded in
docs/verification.md."""

from __future__ import annotations

import io

import dlib
import face_recognition_models
import numpy
import pytest
from PIL import Image

from services.verification.adapters.imaging import ID_CARD, FaceAnalyser, analyse_image, face_models
from services.verification.domain.checks import face_distance
from tests.support import images


@pytest.fixture(scope="module")
def facts(analyser):
    sources = {
        "obama": images.card_photo("obama"),
        "obama2": images.card_photo("obama2"),
        "biden": images.card_photo("biden"),
        "biden2": images.card_photo("biden2"),
        "front_obama2": images.id_card_front("obama2"),
        "front_biden": images.id_card_front("biden"),
    }
    return dict(zip(sources, analyser.analyse(list(sources.values())), strict=True))


def distance(facts, a, b) -> float:
    return face_distance(facts[a].encoding, facts[b].encoding)


@pytest.mark.parametrize(
    ("a", "b"), [("obama", "obama2"), ("biden", "biden2"), ("obama", "front_obama2")]
)
def test_the_same_person_is_well_below_the_pass_threshold(facts, a, b):
    assert distance(facts, a, b) < 0.45


@pytest.mark.parametrize(
    ("a", "b"),
    [("obama", "biden"), ("obama2", "biden2"), ("obama", "front_biden"), ("biden", "front_obama2")],
)
def test_different_people_are_well_above_the_fail_threshold(facts, a, b):
    assert distance(facts, a, b) > 0.7


def test_a_card_photo_to_specification_has_one_face_inside_the_geometry(facts):
    photo = facts["obama"]
    assert (photo.format, photo.width, photo.height, photo.mode) == ("JPEG", 358, 441, "RGB")
    [face] = photo.faces
    assert 179 <= face.width <= 255
    assert face.eye_line_above_bottom >= 207


def test_the_id_card_image_yields_the_portraits_face(facts):
    front = facts["front_obama2"]
    assert (front.format, front.width, front.height) == ("PNG", 1000, 630)
    assert len(front.faces) == 1
    assert front.encoding is not None and len(front.encoding) == 128


def _photographed(content: bytes, *, scale: float = 1.0, frame: int = 1) -> bytes:
    """The card at `scale`, at the left of a picture `frame` times as wide and as high."""
    card = Image.open(io.BytesIO(content)).convert("RGB")
    card = card.resize((round(card.width * scale), round(card.height * scale)))
    image = Image.new("RGB", (card.width * frame, card.height * frame), (40, 40, 40))
    image.paste(card, (0, (image.height - card.height) // 2))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _turned(content: bytes, turn: Image.Transpose) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(content)).transpose(turn).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content",
    [
        lambda: images.id_card_front("obama2"),
        # Small, at the left of the picture: not in the side searched first, and too small
        # for the first pass's scale.
        lambda: _photographed(images.id_card_front("obama2"), frame=2),
        # A phone's full-size picture: searched at about 500 px first, not at half size.
        lambda: _photographed(images.id_card_front("obama2"), scale=4.0),
        # Scanned upside down, or photographed on its side.
        lambda: _turned(images.id_card_front("obama2"), Image.Transpose.ROTATE_180),
        lambda: _turned(images.id_card_front("obama2"), Image.Transpose.ROTATE_90),
        lambda: _turned(images.id_card_front("obama2"), Image.Transpose.ROTATE_270),
    ],
    ids=["as-printed", "small-at-the-left", "4000px", "upside-down", "on-its-left", "on-its-right"],
)
def test_an_id_card_front_yields_the_portraits_face_however_it_was_taken(facts, content):
    front = analyse_image(content(), kind=ID_CARD)
    assert len(front.faces) == 1
    assert face_distance(front.encoding, facts["obama"].encoding) < 0.45
    assert face_distance(front.encoding, facts["biden"].encoding) > 0.7


def test_two_small_faces_are_both_found(analyser):
    [facts] = analyser.analyse([images.two_faces_photo()])
    assert len(facts.faces) == 2


def test_no_face_and_the_id_card_back_have_no_faces(analyser):
    blank, back = analyser.analyse([images.no_face_photo(), images.id_card_back()])
    assert blank.readable and blank.faces == () and blank.encoding is None
    assert back.readable and back.faces == ()


@pytest.mark.parametrize(
    "content",
    [
        images.truncated_jpeg,
        lambda: images.decompression_bomb(8000),
        lambda: images.random_bytes(4096),
    ],
    ids=["truncated", "bomb", "random"],
)
def test_hostile_files_are_unreadable_not_errors(content):
    facts = analyse_image(content())
    assert not facts.readable
    assert facts.problem


def test_a_process_pool_gives_the_same_answer(facts):
    pool = FaceAnalyser(processes=1)
    try:
        [pooled] = pool.analyse([images.card_photo("obama")])
    finally:
        pool.close()
    assert pooled.faces == facts["obama"].faces
    assert face_distance(pooled.encoding, facts["obama"].encoding) < 1e-6


@pytest.mark.parametrize("encoder", ["onnx", "numpy"])
def test_our_encoders_compute_dlibs_descriptor(encoder):
    """Both our encoders evaluate dlib's own network from its own weights file: the
    descriptors agree with dlib's to float precision, face by face."""

    models = face_models(encoder)
    reference = dlib.face_recognition_model_v1(
        face_recognition_models.face_recognition_model_location()
    )
    for content in (
        images.card_photo("obama"),
        images.id_card_front("biden"),
        images.card_photo("biden2"),
    ):
        pixels = numpy.asarray(Image.open(io.BytesIO(content)).convert("RGB"))
        [box] = models.detector(pixels, 0)
        shape = models.landmarks(pixels, box)
        ours = numpy.array(models.encode(pixels, shape))
        theirs = numpy.array(reference.compute_face_descriptor(pixels, shape, 0, 0.25))
        assert numpy.abs(ours - theirs).max() < 1e-5


@pytest.mark.parametrize("encoder", ["numpy", "dlib"])
def test_every_encoder_is_interchangeable_with_the_default(facts, encoder):
    [other] = FaceAnalyser(0, encoder=encoder).analyse([images.card_photo("obama")])
    assert face_distance(other.encoding, facts["obama"].encoding) < 1e-5


def test_an_unknown_encoder_is_refused():
    with pytest.raises(ValueError):
        FaceAnalyser(0, encoder="magic")
