"""Reading the applicant's images: format facts, the faces in them, and the 128-d encoding of
the main face, with dlib's HOG detector, 68-point shape predictor and ResNet face encoder (the
models shipped in `face-recognition-models`; nothing is downloaded at run time).

The models are loaded once per process (`face_models()`), never per message. Faces on card
photos and ID card images are large (DOMAIN.md: 179–255 px on a 358×441 photo), so detection
runs on a half-size image — about ten times cheaper than full size — and falls back to full
size only when nothing was found there (a small or unusual face, or several small ones).
Landmarks and encodings always use the full-resolution pixels.

`FaceAnalyser` runs this in a pool of processes: dlib holds the GIL, so a thread would not
overlap two images; with processes the card photo and the ID card image of one application
are analysed at once on two cores, while the consumer's connection thread stays responsive.
"""

from __future__ import annotations

import functools
import io
import logging
import multiprocessing
import warnings
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import asdict

import numpy
from PIL import Image, UnidentifiedImageError

from services.verification.domain.checks import FaceFound, ImageFacts

log = logging.getLogger(__name__)

# Part of every cached result's key: change it whenever detection, landmarks or the encoder
# change, so an old result is never mistaken for a new one.
ANALYSER_VERSION = "hog-half+r68+resnet-v1"
DETECTION_SCALE = 0.5
# Larger than any legitimate card photo or ID card image; refuses decompression bombs early.
MAX_PIXELS = 40_000_000
JAW_LEFT, JAW_RIGHT = 0, 16
_END_MARKERS = {"JPEG": b"\xff\xd9", "PNG": b"IEND\xaeB`\x82"}
EYES = slice(36, 48)


class FaceModels:
    """dlib's detector, shape predictor and encoder, loaded from face_recognition_models."""

    def __init__(self) -> None:
        import dlib
        import face_recognition_models as files

        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(files.pose_predictor_model_location())
        self.encoder = dlib.face_recognition_model_v1(files.face_recognition_model_location())

    def encode(self, pixels: numpy.ndarray, shape) -> tuple[float, ...]:
        return tuple(self.encoder.compute_face_descriptor(pixels, shape, 0))


@functools.cache
def face_models() -> FaceModels:
    log.info("loading face models")
    return FaceModels()


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


def _detect(models: FaceModels, pixels: numpy.ndarray, image: Image.Image) -> list:
    small_size = (round(image.width * DETECTION_SCALE), round(image.height * DETECTION_SCALE))
    small = numpy.asarray(image.convert("RGB").resize(small_size, Image.Resampling.BILINEAR))
    found = models.detector(small, 0)
    if found:
        factor = 1 / DETECTION_SCALE
        return [
            models.dlib.rectangle(
                round(box.left() * factor),
                round(box.top() * factor),
                round(box.right() * factor),
                round(box.bottom() * factor),
            )
            for box in found
        ]
    return list(models.detector(pixels, 0))


def analyse_image(data: bytes, *, encode: bool = True) -> ImageFacts:
    """Format facts, faces and (if `encode`) the main face's encoding of one image."""
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
    models = face_models()
    pixels = numpy.asarray(image.convert("RGB"))
    faces, shapes = [], []
    for box in _detect(models, pixels, image):
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
    if encode and faces:
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


def _warm_up() -> None:
    face_models()


class FaceAnalyser:
    """Analyses images, `processes` at a time in worker processes (0: in this process)."""

    def __init__(self, processes: int = 0) -> None:
        self.processes = processes
        self._pool: Executor | None = None
        if processes > 0:
            self._pool = ProcessPoolExecutor(
                max_workers=processes,
                # spawn, not fork: the parent holds pika and database connections and threads.
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_warm_up,
            )

    def warm_up(self) -> None:
        """Loads the models now (in every worker process) rather than on the first message."""
        if self._pool is None:
            face_models()
            return
        for future in [self._pool.submit(_warm_up) for _ in range(self.processes)]:
            future.result()

    def analyse(self, images: list[bytes]) -> list[ImageFacts]:
        if self._pool is None:
            return [analyse_image(data) for data in images]
        return list(self._pool.map(analyse_image, images))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
