"""Reading the applicant's images: format facts, the faces in them, and the 128-d encoding of
the main face, with dlib's HOG detector, 68-point shape predictor and ResNet face encoder (the
models shipped in `face-recognition-models`; nothing is downloaded at run time).

The models are loaded once per process (`face_models()`), never per message. Faces on card
photos and ID card images are large (DOMAIN.md: 179–255 px on a 358×441 photo), so detection
runs on a half-size image — about ten times cheaper than full size — and falls back to full
size only when nothing was found there (a small or unusual face, or several small ones).
Landmarks and encodings always use the full-resolution pixels. The encoder network runs in
numpy by default (services/verification/resnet.py), or in dlib (`VERIFICATION_FACE_ENCODER`).

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

from services.verification.domain.checks import FaceFound, ImageFacts
from services.verification.resnet import CHIP_SIZE, face_net

log = logging.getLogger(__name__)

# Part of every cached result's key: change it whenever detection, landmarks or the network
# change, so an old result is never mistaken for a new one. Both encoders compute the same
# network to within 1e-6, so they share results.
ANALYSER_VERSION = "hog-grey-half+r68+resnet-v2"
# Detection runs on the image reduced by this factor (half size).
DETECTION_REDUCTION = 2
# Larger than any legitimate card photo or ID card image; refuses decompression bombs early.
MAX_PIXELS = 40_000_000
JAW_LEFT, JAW_RIGHT = 0, 16
# dlib's default margin around the face when cutting the 150×150 chip the encoder sees.
CHIP_PADDING = 0.25
_END_MARKERS = {"JPEG": b"\xff\xd9", "PNG": b"IEND\xaeB`\x82"}
EYES = slice(36, 48)


ENCODERS = ("numpy", "dlib")


class FaceModels:
    """dlib's detector and shape predictor, and the ResNet face encoder evaluated either by
    numpy (default: the same weights, the same numbers, three to four times faster than the
    prebuilt dlib wheel) or by dlib itself."""

    def __init__(self, encoder: str = "numpy") -> None:
        import dlib
        import face_recognition_models as files

        if encoder not in ENCODERS:
            raise ValueError(f"unknown face encoder {encoder!r}; choose one of {ENCODERS}")
        self.dlib = dlib
        self.encoder_name = encoder
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(files.pose_predictor_model_location())
        if encoder == "numpy":
            self._net = face_net(files.face_recognition_model_location())
        else:
            self._encoder = dlib.face_recognition_model_v1(files.face_recognition_model_location())

    def encode(self, pixels: numpy.ndarray, shape) -> tuple[float, ...]:
        if self.encoder_name == "numpy":
            chip = self.dlib.get_face_chip(pixels, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
            return tuple(float(value) for value in self._net.descriptor(chip))
        return tuple(self._encoder.compute_face_descriptor(pixels, shape, 0, CHIP_PADDING))


@functools.cache
def face_models(encoder: str = "numpy") -> FaceModels:
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


def _detect(models: FaceModels, rgb: Image.Image) -> list:
    # reduce(2) averages 2×2 blocks: as good as a filtered resize for HOG, and cheaper; HOG
    # on grey levels finds the same boxes here for a third less work than on three channels.
    found = models.detector(numpy.asarray(rgb.reduce(DETECTION_REDUCTION).convert("L")), 0)
    if found:
        return [
            models.dlib.rectangle(
                box.left() * DETECTION_REDUCTION,
                box.top() * DETECTION_REDUCTION,
                box.right() * DETECTION_REDUCTION,
                box.bottom() * DETECTION_REDUCTION,
            )
            for box in found
        ]
    return list(models.detector(numpy.asarray(rgb.convert("L")), 0))


def analyse_image(data: bytes, *, encoder: str = "numpy") -> ImageFacts:
    """Format facts, faces and the main face's encoding of one image."""
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
    pixels = numpy.asarray(rgb)
    faces, shapes = [], []
    for box in _detect(models, rgb):
        shape = models.landmarks(pixels, box)
        points = numpy.array([(part.x, part.y) for part in shape.parts()], dtype=float)
        faces.append(
            FaceFound(
                width=float(numpy.linalg.norm(points[JAW_LEFT] - points[JAW_RIGHT])),
                eye_line_above_bottom=float(image.height - points[EYES, 1].mean()),
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


def _warm_up(encoder: str) -> None:
    face_models(encoder)


class FaceAnalyser:
    """Analyses images, `processes` at a time in worker processes (0: in this process)."""

    def __init__(self, processes: int = 0, *, encoder: str = "numpy") -> None:
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

    def analyse(self, images: list[bytes]) -> list[ImageFacts]:
        work = functools.partial(analyse_image, encoder=self.encoder)
        if self._pool is None:
            return [work(data) for data in images]
        return list(self._pool.map(work, images))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
