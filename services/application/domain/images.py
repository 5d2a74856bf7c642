"""The rules for the card photo and the ID card images (docs/domain.md), and metadata stripping.

A file is judged by what Pillow decodes from its bytes, never by its name or the declared
Content-Type: a PNG sent as `image/jpeg` is a PNG. Decoding happens under a pixel limit, so a
small file that declares a huge picture (a decompression bomb) is refused before its pixels
are allocated. Metadata — EXIF with its GPS position, XMP, IPTC, comments, PNG text chunks,
and anything appended after the image — is removed losslessly at the container level, so the
stored photo keeps the exact JPEG encoding (and therefore the file size) it was checked with.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from shared.errors import DomainError, InvalidInput

JPEG = "image/jpeg"
PNG = "image/png"
CARD_PHOTO_SIZE = (358, 441)
_FORMATS = {"JPEG": JPEG, "PNG": PNG}

# Pillow only warns between its limit and twice it; `_decode` refuses those images itself.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


class UnsupportedImage(DomainError):
    """The bytes are not an image of an accepted kind, whatever they were called."""

    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


class InvalidImage(InvalidInput):
    """An image of an accepted kind that breaks a rule (size, dimensions, damage)."""


class ImageTooLarge(DomainError):
    """An image whose content, without metadata, is over its size limit."""

    status, title, slug = 413, "Payload too large", "payload-too-large"


@dataclass(frozen=True)
class UploadRules:
    photo_min_bytes: int = 9 * 1024
    photo_max_bytes: int = 40 * 1024
    # What a photo upload may weigh on the wire: room for the metadata a phone adds, which is
    # stripped before the size window applies.
    photo_max_upload_bytes: int = 2 * 1024 * 1024
    id_card_max_bytes: int = 5 * 1024 * 1024
    id_card_min_long_side: int = 600
    # Far above any camera's ID card photo, far below what would exhaust memory.
    max_pixels: int = 40_000_000


@dataclass(frozen=True)
class CheckedImage:
    """An image that passed its rules, with its metadata removed: what gets stored."""

    data: bytes
    content_type: str
    width: int
    height: int
    mode: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def check_card_photo(data: bytes, rules: UploadRules, *, field: str = "photo") -> CheckedImage:
    """358×441, 24-bit RGB JPEG, its size (without metadata) inside the configured window:
    415 for anything but a JPEG, 413 above the window, 422 for any other rule."""
    image = _decode(data, (JPEG,), rules, field)
    window = f"{rules.photo_min_bytes // 1024}–{rules.photo_max_bytes // 1024} KB"
    size = len(image.data)
    if size > rules.photo_max_bytes:
        raise ImageTooLarge(
            f"The photo must be {window} without metadata; it is {size / 1024:.1f} KB.",
            errors={field: [f"Larger than {window}."]},
        )
    problems = []
    if (image.width, image.height) != CARD_PHOTO_SIZE:
        problems.append(
            f"The photo must be exactly {CARD_PHOTO_SIZE[0]}×{CARD_PHOTO_SIZE[1]} pixels, "
            f"not {image.width}×{image.height}."
        )
    if image.mode != "RGB":
        problems.append(f"The photo must be 24-bit RGB colour, not {image.mode}.")
    if size < rules.photo_min_bytes:
        problems.append(f"The photo must be {window} without metadata; it is {size / 1024:.1f} KB.")
    if problems:
        raise InvalidImage(
            "The photo does not meet the card photo rules.", errors={field: problems}
        )
    return image


def check_id_card_image(data: bytes, rules: UploadRules, *, field: str) -> CheckedImage:
    """JPEG or PNG, at most the configured size, long side at least the configured minimum."""
    if len(data) > rules.id_card_max_bytes:
        raise InvalidImage(
            "The ID card image is too large.",
            errors={field: [f"At most {rules.id_card_max_bytes} bytes."]},
        )
    image = _decode(data, (JPEG, PNG), rules, field)
    if max(image.width, image.height) < rules.id_card_min_long_side:
        raise InvalidImage(
            "The ID card image is too small to read.",
            errors={
                field: [
                    f"The long side must be at least {rules.id_card_min_long_side} pixels; "
                    f"it is {max(image.width, image.height)}."
                ]
            },
        )
    return image


def _decode(data: bytes, accepted: tuple[str, ...], rules: UploadRules, field: str) -> CheckedImage:
    """Identifies, strips and fully decodes `data`; the checked image, still without the rules
    that depend on what it is for."""
    # Pillow reads this limit when it opens a file: beyond twice the limit it raises, beyond
    # the limit it only warns, so the size is checked here as well.
    Image.MAX_IMAGE_PIXELS = rules.max_pixels
    kinds = " or ".join(sorted(accepted))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            found, width, height = probe.format, probe.width, probe.height
    except Image.DecompressionBombError:
        raise _too_many_pixels(field, rules) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise UnsupportedImage(
            f"This file is not a {kinds} image.", errors={field: [f"Not a {kinds} image."]}
        ) from None
    content_type = _FORMATS.get(found or "")
    if content_type not in accepted:
        raise UnsupportedImage(
            f"This file is a {found} image; only {kinds} is accepted here.",
            errors={field: [f"A {found} image; expected {kinds}."]},
        )
    if width * height > rules.max_pixels:
        raise _too_many_pixels(field, rules)
    try:
        stripped = strip_metadata(data, content_type)
        with Image.open(io.BytesIO(stripped)) as image:
            image.load()
            mode = image.mode
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        raise InvalidImage(
            "The image is damaged or incomplete.",
            errors={field: ["The image could not be decoded completely."]},
        ) from None
    return CheckedImage(stripped, content_type, width, height, mode)


def _too_many_pixels(field: str, rules: UploadRules) -> InvalidImage:
    return InvalidImage(
        "The image declares more pixels than any accepted image has.",
        errors={field: [f"At most {rules.max_pixels} pixels when decoded."]},
    )


def strip_metadata(data: bytes, content_type: str) -> bytes:
    return strip_jpeg_metadata(data) if content_type == JPEG else strip_png_metadata(data)


# -- JPEG ---------------------------------------------------------------------------------------
_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_APP0, _APP2, _APP14, _COM = 0xE0, 0xE2, 0xEE, 0xFE
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and the restart markers carry no length


def _keep_jpeg_segment(marker: int, payload: bytes) -> bool:
    if marker == _COM:
        return False
    if 0xE0 <= marker <= 0xEF:
        # JFIF (density), the ICC colour profile and Adobe's colour transform change how the
        # pixels look; every other application segment is metadata (EXIF, XMP, IPTC, …).
        return (
            marker == _APP0
            or (marker == _APP2 and payload.startswith(b"ICC_PROFILE\0"))
            or (marker == _APP14 and payload.startswith(b"Adobe"))
        )
    return True


def strip_jpeg_metadata(data: bytes) -> bytes:
    """The same JPEG without metadata segments and without anything after its end marker."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG stream")
    out = bytearray(b"\xff\xd8")
    position, end = 2, len(data)
    while position < end:
        if data[position] != 0xFF:
            raise ValueError("expected a JPEG marker")
        while position < end and data[position] == 0xFF:  # fill bytes before a marker
            position += 1
        if position >= end:
            break
        marker = data[position]
        position += 1
        if marker == _EOI:
            out += b"\xff\xd9"
            return bytes(out)
        if marker in _STANDALONE:
            out += bytes((0xFF, marker))
            continue
        if position + 2 > end:
            raise ValueError("truncated JPEG segment")
        length = int.from_bytes(data[position : position + 2], "big")
        if length < 2 or position + length > end:
            raise ValueError("JPEG segment runs past the end of the file")
        segment = data[position : position + length]
        position += length
        if _keep_jpeg_segment(marker, segment[2:]):
            out += bytes((0xFF, marker)) + segment
        if marker == _SOS:
            scan_end = _entropy_coded_end(data, position)
            out += data[position:scan_end]
            position = scan_end
    raise ValueError("JPEG stream has no end marker")


def _entropy_coded_end(data: bytes, position: int) -> int:
    """Where the compressed scan that starts at `position` ends: at the next marker that is
    neither a stuffed 0xFF00 nor a restart marker."""
    end = len(data)
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= end:
            return end
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            position += 2
            continue
        if following == 0xFF:
            position += 1
            continue
        return position


# -- PNG ----------------------------------------------------------------------------------------
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Chunks that define the picture; text, EXIF, time stamps and anything unknown are dropped.
_PNG_KEEP = {
    b"IHDR",
    b"PLTE",
    b"IDAT",
    b"IEND",
    b"tRNS",
    b"cHRM",
    b"gAMA",
    b"iCCP",
    b"sBIT",
    b"sRGB",
    b"pHYs",
    b"bKGD",
}


def strip_png_metadata(data: bytes) -> bytes:
    """The same PNG with only the chunks that define the picture, ending at IEND."""
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG stream")
    out = bytearray(_PNG_SIGNATURE)
    position, end = len(_PNG_SIGNATURE), len(data)
    while position + 8 <= end:
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        chunk_end = position + 12 + length
        if chunk_end > end:
            raise ValueError("PNG chunk runs past the end of the file")
        if kind in _PNG_KEEP:
            out += data[position:chunk_end]
        position = chunk_end
        if kind == b"IEND":
            return bytes(out)
    raise ValueError("PNG stream has no IEND chunk")
