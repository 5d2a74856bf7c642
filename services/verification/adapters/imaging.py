"""Reading the applicant's images: format facts, the faces in them, and the 128-d encoding of
the main face, with dlib's HOG detector, 68-point shape predictor and ResNet face encoder (the
models shipped in `face-recognition-models`; nothing is downloaded at run time).

The models are loaded once per process (`face_models()`), never per message. Faces on card
photos and ID card images are large (docs/domain.md: 179–255 px on a 358×441 photo), so detection
runs on a reduced image — half size, or about 500 px long for big uploads — and reduces less
only when nothing was found (a small or unusual face, or several small ones); on an ID card
front the side where the portrait is printed is searched first, and a card with no face found
is turned (upside down, then on either side) and searched again. Landmarks and encodings
always use the full-resolution pixels. The encoder network runs in ONNX Runtime by default,
or in numpy (both adapters/resnet.py), or in dlib (`VERIFICATION_FACE_ENCODER`).

`FaceAnalyser` runs this in a pool of processes: dlib holds the GIL, so a thread would not
overlap two images; with processes the card photo and the ID card image of one application
are analysed at once on two cores, while the consumer's connection thread stays responsive.
"""

from __future__ import annotations

import functools
import io
import logging
import multiprocessing
import os
import warnings
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import asdict

import numpy
from PIL import Image, UnidentifiedImageError

from services.verification.adapters.resnet import CHIP_SIZE, face_net, onnx_face_net
from services.verification.domain.checks import FaceFound, ImageFacts

log = logging.getLogger(__name__)

# Part of every cached result's key: change it whenever detection, landmarks or the network
# change, so an old result is never mistaken for a new one. Both encoders compute the same
# network to within 1e-6, so they share results.
ANALYSER_VERSION = "hog-grey-scaled+r68+resnet-v3"  # at most 32 characters


# An ID card's own revision of the search: 2 turns a card on which no face was found.
ID_CARD_SEARCH = "2"


def analyser_version(kind: str) -> str:
    """The cache key's version for one kind of image: an ID card is searched differently."""
    return ANALYSER_VERSION if kind == PHOTO else f"{ANALYSER_VERSION}/{kind}{ID_CARD_SEARCH}"


# The first detection pass runs on the image reduced by at least this factor (half size),
# or to about this many pixels on its long side; each pass that finds nothing halves the
# reduction, down to full size.
DETECTION_REDUCTION = 2
DETECTION_LONG_SIDE = 500
# What is analysed: a card photo, or the front of an ID card, whose portrait is printed on the
# right: the right PORTRAIT_SIDE of the picture is searched first.
PHOTO, ID_CARD = "photo", "id_card"
# How an ID card found with no face is turned, in order: upside down first (the usual slip),
# then either way on its side.
_TURNS = (Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270)
PORTRAIT_SIDE = 0.55
# Larger than any legitimate card photo or ID card image; refuses decompression bombs early.
MAX_PIXELS = 40_000_000
JAW_LEFT, JAW_RIGHT = 0, 16
# dlib's default margin around the face when cutting the 150×150 chip the encoder sees.
CHIP_PADDING = 0.25
_END_MARKERS = {"JPEG": b"\xff\xd9", "PNG": b"IEND\xaeB`\x82"}
EYES = slice(36, 48)


ENCODERS = ("onnx", "numpy", "dlib")
DEFAULT_ENCODER = "onnx"


class FaceModels:
    """dlib's detector and shape predictor, and the ResNet face encoder evaluated by ONNX
    Runtime (default) or numpy — the same weights, the same numbers, many times faster than
    the prebuilt dlib wheel — or by dlib itself."""

    def __init__(self, encoder: str = DEFAULT_ENCODER) -> None:
        import dlib
        import face_recognition_models as files

        if encoder not in ENCODERS:
            raise ValueError(f"unknown face encoder {encoder!r}; choose one of {ENCODERS}")
        self.dlib = dlib
        self.encoder_name = encoder
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(files.pose_predictor_model_location())
        if encoder == "onnx":
            self._net = onnx_face_net(files.face_recognition_model_location())
        elif encoder == "numpy":
            self._net = face_net(files.face_recognition_model_location())
        else:
            self._encoder = dlib.face_recognition_model_v1(files.face_recognition_model_location())

    def encode(self, pixels: numpy.ndarray, shape) -> tuple[float, ...]:
        if self.encoder_name != "dlib":
            chip = self.dlib.get_face_chip(pixels, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
            return tuple(float(value) for value in self._net.descriptor(chip))
        return tuple(self._encoder.compute_face_descriptor(pixels, shape, 0, CHIP_PADDING))


@functools.cache
def face_models(encoder: str = DEFAULT_ENCODER) -> FaceModels:
    log.info("loading face models (%s encoder)", encoder)
    return FaceModels(encoder)


def decode(data: bytes) -> tuple[Image.Image | None, str | None]:
    """The image, fully decoded; or None and why not."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                return None, f"an image of {image.width}×{image.height} px (too large)"
            image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None, "a file that is not an image"
    except (OSError, SyntaxError, ValueError):
        return None, "a damaged or truncated image"
    # Pillow may be told process-wide to accept truncated files (face_recognition does so on
    # import); a missing end marker still gives them away.
    ending = _END_MARKERS.get(image.format or "")
    if ending is not None and not data.rstrip(b"\x00\r\n ").endswith(ending):
        return None, "a damaged or truncated image"
    return image, None


def _reduction(image: Image.Image) -> int:
    """How much to shrink an image before the first detection pass: by half at least (the
    faces we look for are large), more for big uploads — a phone's 4000 px picture of an ID
    card is searched at about 500 px first, not at 2000."""
    return max(DETECTION_REDUCTION, round(max(image.size) / DETECTION_LONG_SIDE))


def _find(models: FaceModels, grey: Image.Image, reduction: int, left: int = 0) -> list:
    """Face boxes in full-size coordinates, found in `grey` reduced by `reduction` and cut
    from its `left` (in full-size pixels) rightwards."""
    small = grey.reduce(reduction) if reduction > 1 else grey
    offset = left // reduction
    pixels = numpy.asarray(small)[:, offset:] if offset else numpy.asarray(small)
    return [
        models.dlib.rectangle(
            (box.left() + offset) * reduction,
            box.top() * reduction,
            (box.right() + offset) * reduction,
            box.bottom() * reduction,
        )
        for box in models.detector(numpy.ascontiguousarray(pixels), 0)
    ]


def _detect(models: FaceModels, rgb: Image.Image, kind: str) -> list:
    # HOG on grey levels finds the same boxes here for a third less work than on three
    # channels; reduce() averages blocks, as good as a filtered resize for HOG, and cheaper.
    grey = rgb.convert("L")
    reduction = _reduction(rgb)
    if kind == ID_CARD:
        # The portrait is printed on the right of the card's front: look there first, and
        # in the whole picture (a card small in the frame, or off to one side) only if not.
        found = _find(models, grey, reduction, left=int(rgb.width * (1 - PORTRAIT_SIDE)))
        if found:
            return found
    while True:
        found = _find(models, grey, reduction)
        if found or reduction == 1:
            return found
        reduction //= 2


def analyse_image(data: bytes, *, kind: str = PHOTO, encoder: str = DEFAULT_ENCODER) -> ImageFacts:
    """Format facts, faces and the main face's encoding of one image: a card photo (`PHOTO`)
    or the front of an ID card (`ID_CARD`)."""
    image, problem = decode(data)
    if image is None:
        return ImageFacts(readable=False, size_bytes=len(data), problem=problem)
    facts = {
        "readable": True,
        "format": image.format,
        "width": image.width,
        "height": image.height,
        "mode": image.mode,
        "size_bytes": len(data),
    }
    models = face_models(encoder)
    rgb = image.convert("RGB")
    boxes = _detect(models, rgb, kind)
    if not boxes and kind == ID_CARD:
        # Scanned upside down or photographed on its side: the card is turned until a face is
        # found. Only when none was, so an upright card costs nothing more.
        for turn in _TURNS:
            turned = rgb.transpose(turn)
            boxes = _detect(models, turned, kind)
            if boxes:
                rgb = turned
                break
    pixels = numpy.asarray(rgb)
    faces, shapes = [], []
    for box in boxes:
        shape = models.landmarks(pixels, box)
        points = numpy.array([(part.x, part.y) for part in shape.parts()], dtype=float)
        faces.append(
            FaceFound(
                width=float(numpy.linalg.norm(points[JAW_LEFT] - points[JAW_RIGHT])),
                eye_line_above_bottom=float(rgb.height - points[EYES, 1].mean()),
                area=float(box.width() * box.height()),
            )
        )
        shapes.append(shape)
    encoding = None
    if faces:
        main = max(range(len(faces)), key=lambda index: faces[index].area)
        encoding = models.encode(pixels, shapes[main])
    return ImageFacts(**facts, faces=tuple(faces), encoding=encoding)


def facts_to_json(facts: ImageFacts) -> dict:
    return asdict(facts)


def facts_from_json(data: dict) -> ImageFacts:
    return ImageFacts(
        **{
            **data,
            "faces": tuple(FaceFound(**face) for face in data.get("faces", ())),
            "encoding": tuple(data["encoding"]) if data.get("encoding") is not None else None,
        }
    )


def _analyse(data: bytes, kind: str, encoder: str) -> ImageFacts:
    return analyse_image(data, kind=kind, encoder=encoder)


def _warm_up(encoder: str) -> None:
    face_models(encoder)


class FaceAnalyser:
    """Analyses images, `processes` at a time in worker processes (0: in this process)."""

    def __init__(self, processes: int = 0, *, encoder: str = DEFAULT_ENCODER) -> None:
        if encoder not in ENCODERS:
            raise ValueError(f"unknown face encoder {encoder!r}; choose one of {ENCODERS}")
        self.processes = processes
        self.encoder = encoder
        self._pool: Executor | None = None
        if processes > 0:
            # One BLAS thread per process: the processes already fill the cores, and more
            # threads would only fight over them. Spawned children read it at start.
            os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
            self._pool = ProcessPoolExecutor(
                max_workers=processes,
                # spawn, not fork: the parent holds pika and database connections and threads.
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_warm_up,
                initargs=(encoder,),
            )

    def warm_up(self) -> None:
        """Loads the models now (in every worker process) rather than on the first message."""
        if self._pool is None:
            face_models(self.encoder)
            return
        for future in [self._pool.submit(_warm_up, self.encoder) for _ in range(self.processes)]:
            future.result()

    def analyse(self, images: list[bytes], kinds: list[str] | None = None) -> list[ImageFacts]:
        """The facts of each image; `kinds` says which are ID card fronts (default: photos)."""
        kinds = kinds or [PHOTO] * len(images)
        if len(kinds) != len(images):
            raise ValueError("one kind per image")
        run = map if self._pool is None else self._pool.map
        return list(run(_analyse, images, kinds, [self.encoder] * len(images)))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
