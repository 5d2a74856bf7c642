"""Verifications per second per core, face matching included (issue 8's "Speed").

One verification = read and analyse a 358×441 card photo, a 1000×630 ID card image and the
identity registry's photo on file (decode, HOG detection at half scale, 68 landmarks, 128-d
encoding of each face), then every check, `registry_face_match` included. The core figure is
measured in a child process doing one core's work (one thread, one BLAS thread), once per face
encoder, in three cases, each image's analysis being cached by SHA-256:
- "cached": the card photo is the photo on file, analysed before: only the ID card image;
- "on file": the card photo is the photo on file, seen for the first time: one image for
  both, and the ID card image (two analyses);
- "full": the citizen's own new card photo, the ID card image and the photo on file (three).
The baseline, in the same child: dlib's raw encoding of one face (`compute_face_descriptor`),
the unit the issue plans with.

End to end: applications through the consumer runner's batches (inbox, SQLite, outbox) as the
worker runs them — two consumers sharing a pool of two face processes — with claim-check
fetches and the identity registry simulator over HTTP (the person and their photo on file):
applications per second on this whole (two-core) machine. Half the applicants use their
photo on file as the card photo; every applicant has a photo on file of their own, and every
image is distinct (a comment segment makes each JPEG's digest its own).

A dlib built from source against OpenBLAS can be measured too: point
`SSCARD_BENCH_DLIB_PATH` at the directory it was installed in (`pip install --target`).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.bench.harness import Result

TARGET = 25.0
PLANNED_ENCODE_MS = 75.0
CONSUMERS = 2
# (key, what it measures), see the module's docstring.
CASES = ("cached", "on_file", "full")
CASE_NAMES = {
    "cached": "photo on file chosen and cached (1 analysis)",
    "on_file": "photo on file chosen, first seen (2 analyses)",
    "full": "own photo + ID card + photo on file (3 analyses)",
}
REPEATS = 12
# The encoders that evaluate dlib's network without dlib (services/verification/adapters/resnet.py).
OUR_ENCODERS = ("onnx", "numpy")


def unique_jpeg(jpeg: bytes, index: int) -> bytes:
    """The same picture under another SHA-256: a JPEG comment segment after the SOI marker
    (bytes appended after the end marker would make it a truncated image, never analysed)."""
    comment = f"bench {index}".encode()
    return jpeg[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + jpeg[2:]


def _inputs():
    from PIL import Image, ImageDraw

    from tests.support import images

    people = ("obama", "obama2", "biden", "biden2")
    photos = [images.card_photo(name, face_width=width) for name in people for width in (205, 215)]
    fronts = []
    for index, name in enumerate(people * 2):
        card = Image.open(io.BytesIO(images.id_card_front(name, "JPEG"))).convert("RGB")
        ImageDraw.Draw(card).rectangle((20, 20, 30 + index, 30), fill=(index * 20, 0, 0))
        buffer = io.BytesIO()
        card.save(buffer, "JPEG", quality=85)
        fronts.append(buffer.getvalue())
    return photos, fronts


def _time(work, repeats: int, rounds: int = 5) -> float:
    """CPU seconds per call, best of `rounds`. CPU time of this single-threaded process is what
    one core spends on one call, whatever else the (shared) machine is running; wall time
    would charge us for other processes' turns on the core."""
    work()
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(repeats):
            work()
        best = min(best, (time.process_time() - start) / repeats)
    return best


def measure_one_core() -> dict:
    """Runs in the pinned child process."""
    import dlib
    import face_recognition_models
    import numpy
    from PIL import Image

    from services.verification.adapters.imaging import ID_CARD, analyse_image, face_models
    from services.verification.domain import checks
    from services.verification.domain.checks import Applicant, RegistryAnswer
    from services.verification.domain.rules import CheckRules

    photos, fronts = _inputs()
    applicant = Applicant("王芳", "female", "1949-12-31", "11010519491231002X")
    registry = RegistryAnswer(
        person={"name": "王芳", "gender": "female", "birth_date": "1949-12-31"}, photo=b"on file"
    )
    rules = CheckRules()
    figures: dict = {"dlib_blas": bool(getattr(dlib, "DLIB_USE_BLAS", False))}

    pixels = numpy.asarray(Image.open(io.BytesIO(photos[0])).convert("RGB"))
    models = face_models("dlib")
    shape = models.landmarks(pixels, models.detector(pixels, 0)[0])
    encoder = dlib.face_recognition_model_v1(
        face_recognition_models.face_recognition_model_location()
    )
    figures["dlib_encode_ms"] = 1000 * _time(
        lambda: encoder.compute_face_descriptor(pixels, shape, 0), 8
    )
    if not figures["dlib_blas"]:
        figures["dlib_bin_encode_ms"] = figures["dlib_encode_ms"]
    for encoder_name in OUR_ENCODERS:
        figures[f"{encoder_name}_encode_ms"] = 1000 * _time(
            lambda encoder_name=encoder_name: face_models(encoder_name).encode(pixels, shape), 24
        )

    for encoder_name in (*OUR_ENCODERS, "dlib"):
        counter = iter(range(10**9))

        def verify(case: str, encoder_name=encoder_name, counter=counter, cached=None):
            index = next(counter)
            if case == "cached":  # the photo on file, chosen as the card photo, seen before
                photo = on_file = cached
            else:
                photo = analyse_image(photos[index % len(photos)], encoder=encoder_name)
                on_file = photo  # chosen as the card photo: one image, one analysis
                if case == "full":  # the citizen's own photo: the one on file is another
                    other = photos[(index + 1) % len(photos)]
                    on_file = analyse_image(other, encoder=encoder_name)
            front = analyse_image(fronts[index % len(fronts)], kind=ID_CARD, encoder=encoder_name)
            results = checks.run_checks(
                applicant, registry, photo, front, on_file, other_claim_exists=False, rules=rules
            )
            return checks.decide(results)

        cached = analyse_image(photos[0], encoder=encoder_name)
        repeats = REPEATS if encoder_name in OUR_ENCODERS else REPEATS // 3
        for case in CASES:
            figures[f"{encoder_name}_{case}_ms"] = 1000 * _time(
                lambda case=case, verify=verify, cached=cached: verify(case, cached=cached),
                repeats,
            )
    return figures


def _child_figures(dlib_path: str | None = None) -> dict:
    """The one-core figures, from a child process with one BLAS thread (one core's work; the
    scheduler may still move it between cores, which on a shared machine finds the idler one)."""
    environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    if dlib_path:
        environment["PYTHONPATH"] = os.pathsep.join([dlib_path, str(Path.cwd())])
    output = subprocess.run(
        [sys.executable, "-m", "tests.bench.bench_verification", "--one-core"],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def measure_end_to_end(applications: int = 48, batch: int = 8) -> dict:
    """Applications through the worker's handlers and transactions, on this whole machine."""
    from services.verification.deps import build
    from services.verification.handlers import HANDLERS
    from shared.config import load_settings
    from shared.db.migrations import upgrade
    from shared.messaging.consumer import ConsumerRunner, Outcome, bind_handlers
    from shared.testing.tokens import TEST_SERVICE_SECRET, TokenAuthority
    from tests.verification.factories import (
        FileServer,
        RegistryServer,
        delivery,
        person,
        submitted_event,
    )

    photos, fronts = _inputs()
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        authority = TokenAuthority(root / "keys").start()
        registry = RegistryServer(root)
        files = FileServer(authority.url + "/.well-known/jwks.json")
        settings = load_settings(
            "verification",
            {
                **os.environ,
                "VERIFICATION_DATABASE_URL": f"sqlite:///{root / 'verification.sqlite3'}",
                "SSCARD_VAR_DIR": str(root / "var"),
                "REGISTRATION_URL": authority.url,
                "APPLICATION_URL": files.url,
                "IDENTITY_REGISTRY_URL": registry.url,
                "SSCARD_SERVICE_SECRET": TEST_SERVICE_SECRET,
                "LOG_FORMAT": "text",
                "LOG_LEVEL": "WARNING",
            },
        )
        upgrade(settings)
        deps = build(settings)
        database = deps.database
        handlers = bind_handlers(HANDLERS, deps)
        try:
            deps.analyser.warm_up()
            events = []
            for index in range(applications):
                entry = person()
                # Everyone has a photo on file of their own; half of the applicants choose it
                # as the card photo, the other half upload a new one. A fresh ID card image
                # each time.
                on_file = unique_jpeg(photos[index % len(photos)], index)
                registry.add(entry, on_file)
                own = unique_jpeg(photos[(index + 1) % len(photos)], applications + index)
                events.append(
                    submitted_event(
                        files,
                        entry,
                        photo=own if index % 2 else on_file,
                        id_card_front=unique_jpeg(fronts[index % len(fronts)], index),
                        id_card_back=fronts[0],
                    )
                )
            # As the worker runs: two consumers sharing the pool of two face processes.
            batches = [events[i : i + batch] for i in range(0, applications, batch)]
            handled = []

            def consume(mine) -> None:
                runner = ConsumerRunner(settings, database, handlers)
                for chunk in mine:
                    # A submission opens its case; the checks come with the case's
                    # verification.started, here taken from the outbox as the relay would.
                    runner.process_batch([delivery(e, tag=i + 1) for i, e in enumerate(chunk)])
                    started = _started_events(database, {e.data["application_id"] for e in chunk})
                    settled = runner.process_batch(
                        [delivery(e, tag=i + 1) for i, e in enumerate(started)]
                    )
                    handled.extend(item for item in settled if item.outcome is Outcome.HANDLED)

            threads = [
                threading.Thread(target=consume, args=(batches[index::CONSUMERS],))
                for index in range(CONSUMERS)
            ]
            start = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - start
        finally:
            deps.close()
            database.dispose()
            files.stop()
            registry.stop()
            authority.stop()
    return {"per_second": len(handled) / elapsed, "handled": len(handled)}


def _started_events(database, application_ids: set[str]) -> list:
    from sqlalchemy import select

    from shared.messaging.envelope import parse_event

    table = database.outbox.table
    with database.session_factory() as session:
        bodies = session.execute(select(table.c.body).order_by(table.c.seq)).scalars().all()
    events = [parse_event(body.encode() if isinstance(body, str) else body) for body in bodies]
    return [
        event
        for event in events
        if event.type == "verification.started" and event.data["application_id"] in application_ids
    ]


def _pipeline_results(figures: dict, encoders: tuple[str, ...]) -> list[Result]:
    baseline = 1000 / figures["dlib_encode_ms"]
    build = "dlib built with BLAS" if figures["dlib_blas"] else "dlib-bin, no BLAS"
    results = []
    for encoder in encoders:
        label = f"{encoder} encoder" if encoder in OUR_ENCODERS else f"dlib encoder ({build})"
        for case, what in CASE_NAMES.items():
            value = 1000 / figures[f"{encoder}_{case}_ms"]
            results.append(
                Result(
                    name=f"verifications/s/core, {label}, {what}",
                    unit="per s",
                    value=value,
                    baseline_name=f"raw dlib encode of one face ({build})",
                    baseline=baseline,
                    target=f">= {TARGET:.0f}/s/core",
                    met=value >= TARGET,
                    details={
                        "CPU ms per verification": f"{figures[f'{encoder}_{case}_ms']:.1f}",
                        # The issue plans with dlib-bin's encoder at 75 ms per face; on a
                        # shared machine one core is slower than that, and by about as much
                        # for every figure here: the same run, scaled to that core speed.
                        "at the issue's core speed (dlib-bin encode = 75 ms)": (
                            f"{value * figures['dlib_bin_encode_ms'] / PLANNED_ENCODE_MS:.1f}/s"
                            if "dlib_bin_encode_ms" in figures
                            else "n/a"
                        ),
                    },
                )
            )
    return results


def run() -> list[Result]:
    figures = _child_figures()
    results = _pipeline_results(figures, (*OUR_ENCODERS, "dlib"))
    build = "dlib built with BLAS" if figures["dlib_blas"] else "dlib-bin, no BLAS"
    results.extend(
        Result(
            name=f"face encodings/s/core, {encoder} network (same weights, same descriptor)",
            unit="per s",
            value=1000 / figures[f"{encoder}_encode_ms"],
            baseline_name=f"raw dlib encode of one face ({build})",
            baseline=1000 / figures["dlib_encode_ms"],
        )
        for encoder in OUR_ENCODERS
    )
    blas_path = os.environ.get("SSCARD_BENCH_DLIB_PATH")
    if blas_path:
        blas = _child_figures(blas_path)
        blas["dlib_bin_encode_ms"] = figures.get("dlib_bin_encode_ms")
        if blas["dlib_bin_encode_ms"] is None:
            del blas["dlib_bin_encode_ms"]
        results.extend(_pipeline_results(blas, ("dlib",)))
    end_to_end = measure_end_to_end()
    results.append(
        Result(
            name="end to end: applications/s through the worker's handlers (2 consumers, "
            "2 face processes, SQLite)",
            unit="per s",
            value=end_to_end["per_second"],
            details={
                "handled": end_to_end["handled"],
                "per core": f"{end_to_end['per_second'] / 2:.1f}/s",
            },
        )
    )
    return results


if __name__ == "__main__" and "--one-core" in sys.argv:
    print(json.dumps(measure_one_core()))
