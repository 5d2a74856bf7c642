"""Images for tests, derived from the real face photos in tests/data/faces.

- `card_photo("obama")`: a card photo to docs/domain.md's specification (358×441 JPEG, face centred,
  face width about 210 px, eye line well above 207 px from the bottom, 9–40 KB);
- `id_card_front("obama")` / `id_card_back()`: 1000×630 images of a resident ID card, the front
  with the holder's portrait on it;
- hostile files: a truncated JPEG, a PNG named like a JPEG, a decompression bomb, random bytes,
  a GIF.

Face positions are found with the same dlib detector the verification service uses, once per
photo per test session.
"""

from __future__ import annotations

import functools
import io
import os
from pathlib import Path

from PIL import Image, ImageDraw

FACES = Path(__file__).resolve().parent.parent / "data" / "faces"
CARD_SIZE = (358, 441)
ID_CARD_SIZE = (1000, 630)
PEOPLE = ("obama", "obama2", "biden", "biden2")


@functools.cache
def _source(name: str) -> Image.Image:
    return Image.open(FACES / f"{name}.jpg").convert("RGB")


@functools.cache
def face_box(name: str) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the only (or largest) face in a source photo."""
    import face_recognition
    import numpy

    locations = face_recognition.face_locations(numpy.asarray(_source(name)))
    top, right, bottom, left = max(locations, key=lambda box: (box[1] - box[3]) * (box[2] - box[0]))
    return left, top, right, bottom


def _portrait(name: str, size: tuple[int, int], face_width: int) -> Image.Image:
    """A crop around the face, scaled so the face is `face_width` px wide, padded with white."""
    left, top, right, bottom = face_box(name)
    scale = face_width / (right - left)
    width, height = size[0] / scale, size[1] / scale
    centre_x, centre_y = (left + right) / 2, (top + bottom) / 2
    box = (
        round(centre_x - width / 2),
        round(centre_y - height * 0.42),
        round(centre_x + width / 2),
        round(centre_y + height * 0.58),
    )
    canvas = Image.new("RGB", (box[2] - box[0], box[3] - box[1]), "white")
    canvas.paste(_source(name), (-box[0], -box[1]))
    return canvas.resize(size, Image.Resampling.LANCZOS)


def _jpeg(image: Image.Image, quality: int = 70, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, dpi=(350, 350), **options)
    return buffer.getvalue()


@functools.cache
def card_photo(name: str = "obama", *, face_width: int = 210, quality: int = 70) -> bytes:
    return _jpeg(_portrait(name, CARD_SIZE, face_width), quality)


def card_photo_with_exif(name: str = "obama") -> bytes:
    """A valid card photo that also carries camera and GPS metadata."""
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}  # GPS
    return _jpeg(_portrait(name, CARD_SIZE, 210), exif=exif.tobytes())


def _id_card_background() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    card = Image.new("RGB", ID_CARD_SIZE, (232, 240, 246))
    draw = ImageDraw.Draw(card)
    draw.rounded_rectangle((8, 8, 992, 622), radius=30, outline=(150, 170, 190), width=4)
    return card, draw


@functools.cache
def id_card_front(name: str = "obama", fmt: str = "PNG") -> bytes:
    """The portrait side: text-like lines on the left, the holder's photo on the right."""
    card, draw = _id_card_background()
    for row in range(6):
        draw.rectangle((70, 90 + row * 75, 70 + 420 - row * 30, 120 + row * 75), fill=(90, 90, 100))
    card.paste(_portrait(name, (300, 370), 170), (640, 110))
    buffer = io.BytesIO()
    card.save(buffer, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return buffer.getvalue()


@functools.cache
def id_card_back(fmt: str = "PNG") -> bytes:
    """The emblem side: no face."""
    card, draw = _id_card_background()
    draw.ellipse((80, 80, 280, 280), outline=(200, 40, 40), width=12)
    for row in range(3):
        draw.rectangle((340, 420 + row * 50, 900, 440 + row * 50), fill=(90, 90, 100))
    buffer = io.BytesIO()
    card.save(buffer, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def no_face_photo() -> bytes:
    """Right size and format, but nobody in it."""
    image = Image.new("RGB", CARD_SIZE, "white")
    ImageDraw.Draw(image).rectangle((100, 120, 260, 330), fill=(120, 150, 200))
    return _jpeg(image, quality=95, subsampling=0) + b""


def two_faces_photo() -> bytes:
    """358×441, both faces of two_people.jpg in it."""
    source = Image.open(FACES / "two_people.jpg").convert("RGB")
    crop = source.crop((200, 0, 1030, 330)).resize((358, 142))
    image = Image.new("RGB", CARD_SIZE, "white")
    image.paste(crop, (0, 150))
    return _jpeg(image, quality=90)


def wrong_size_photo(name: str = "obama") -> bytes:
    return _jpeg(_portrait(name, (300, 400), 180))


def truncated_jpeg() -> bytes:
    whole = card_photo("obama")
    return whole[: len(whole) // 2]


def png_named_jpeg() -> bytes:
    """PNG bytes, to be sent as image/jpeg under a .jpg name."""
    buffer = io.BytesIO()
    _portrait("obama", CARD_SIZE, 210).save(buffer, "PNG")
    return buffer.getvalue()


def decompression_bomb(side: int = 20_000) -> bytes:
    """A tiny PNG that declares 20000×20000 pixels (400 megapixels when decoded)."""
    buffer = io.BytesIO()
    Image.new("1", (side, side)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def random_bytes(size: int = 12 * 1024 * 1024) -> bytes:
    return os.urandom(size)


def gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", CARD_SIZE, 3).save(buffer, "GIF")
    return buffer.getvalue()


def grayscale_photo(name: str = "obama") -> bytes:
    """The right size, but 8-bit grey instead of 24-bit colour."""
    return _jpeg(_portrait(name, CARD_SIZE, 210).convert("L"), quality=90)


def undersized_file_photo() -> bytes:
    """358×441 RGB JPEG, but far below the 9 KB minimum (a flat, heavily compressed image)."""
    return _jpeg(Image.new("RGB", CARD_SIZE, "white"), quality=10)


def id_card_front_with_metadata(name: str = "obama") -> bytes:
    """A JPEG ID card front carrying EXIF with GPS, a comment, and bytes after its end."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneCam"
    exif[0x8825] = {1: "N", 2: (31.0, 13.0, 50.0), 3: "E", 4: (121.0, 28.0, 22.0)}
    image = Image.open(io.BytesIO(id_card_front(name, "PNG"))).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, exif=exif.tobytes(), comment=b"shot at home")
    return buffer.getvalue() + b"PK\x03\x04 appended archive"


def id_card_back_with_text_chunks() -> bytes:
    """A PNG ID card back with text chunks (where PNG keeps its metadata)."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "31.2304N 121.4737E")
    info.add_itxt("Author", "张三")
    image = Image.open(io.BytesIO(id_card_back("PNG")))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def small_id_card(long_side: int = 500) -> bytes:
    """An ID card image too small to read: its long side is under 600 px."""
    image = Image.open(io.BytesIO(id_card_back("PNG")))
    image = image.resize((long_side, round(long_side * ID_CARD_SIZE[1] / ID_CARD_SIZE[0])))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def png_of_size(width: int, height: int) -> bytes:
    """A small file for a picture of any declared size (bilevel, compresses to almost nothing)."""
    buffer = io.BytesIO()
    Image.new("1", (width, height), 1).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


@functools.cache
def id_card_front_lookalike(
    name: str = "obama", other: str = "biden", share: float = 0.62
) -> bytes:
    """An ID card whose portrait is `name` blended with `share` of `other`: a look-alike, whose
    face distance to `name`'s card photo falls in the borderline band (about 0.54 with the
    defaults) where a person, not the machine, should decide."""
    own = Image.open(io.BytesIO(id_card_front(name))).convert("RGB")
    theirs = Image.open(io.BytesIO(id_card_front(other))).convert("RGB")
    buffer = io.BytesIO()
    Image.blend(own, theirs, share).save(buffer, "PNG")
    return buffer.getvalue()
