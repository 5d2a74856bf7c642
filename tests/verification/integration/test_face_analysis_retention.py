"""Face analyses (biometric templates) are kept for the retention only: an older one is never
reused — the image is analysed again — and the worker's purge deletes it, in batches, on a
thread of its own."""

from __future__ import annotations

import queue
import threading
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from services.verification import housekeeping
from services.verification.adapters.analysis_memo import AnalysisMemo
from services.verification.dao import dao_store_face_analysis
from services.verification.models import FaceAnalysisRow
from shared.time import utcnow
from tests.support import images
from tests.verification.integration.conftest import verification_service

RETENTION = timedelta(days=7)
ANALYSIS = {"faces": [], "encoding": [0.0] * 128}


@pytest.fixture
def verification(settings_factory, registry, file_server, analyser, analysis_memo):
    settings = settings_factory(
        "verification",
        IDENTITY_REGISTRY_URL=registry.url,
        APPLICATION_URL=file_server.url,
        VERIFICATION_REGISTRY_RETRIES="0",
        VERIFICATION_FACE_CACHE_RETENTION_DAYS=str(RETENTION.days),
    )
    with verification_service(settings, registry, file_server, analyser, analysis_memo) as service:
        assert service.deps.face_cache.retention == RETENTION
        service.deps.memo = AnalysisMemo(retention=RETENTION)  # nothing analysed yet
        yield service


@contextmanager
def counted_analyses(verification):
    """How many images each call to the analyser was given."""
    calls: list[int] = []
    analyse = verification.deps.analyser.analyse
    verification.deps.analyser.analyse = lambda batch, kinds: (
        calls.append(len(batch)) or analyse(batch, kinds)
    )
    try:
        yield calls
    finally:
        verification.deps.analyser.analyse = analyse


def restart_worker(verification) -> None:
    """A new worker process: its memo starts empty, only the database remembers."""
    verification.deps.memo = AnalysisMemo(retention=RETENTION)


def age_analyses(verification, age: timedelta, sha256s: list[str] | None = None) -> None:
    """Makes stored analyses (all, or those of these images) `age` old."""
    statement = update(FaceAnalysisRow).values(created_at=utcnow() - age)
    if sha256s is not None:
        statement = statement.where(FaceAnalysisRow.sha256.in_(sha256s))
    with verification.database.session_factory() as session, session.begin():
        session.execute(statement)


def stored_analyses(verification) -> dict[str, FaceAnalysisRow]:
    with verification.database.session_factory() as session:
        rows = session.execute(select(FaceAnalysisRow)).scalars()
        return {row.sha256: row for row in rows}


def store_analyses(verification, count: int, *, age: timedelta) -> list[str]:
    sha256s = [uuid.uuid4().hex * 2 for _ in range(count)]
    with verification.database.session_factory() as session, session.begin():
        for sha256 in sha256s:
            dao_store_face_analysis(session, sha256, "photo-test", ANALYSIS)
    age_analyses(verification, age, sha256s)
    return sha256s


def verify_with(verification, photo: bytes, front: bytes) -> str:
    # The card photo is biden2's photo on file: one image, one analysis.
    entry = verification.applicant(on_file="biden2")
    event = verification.submitted(entry, photo=photo, id_card_front=front)
    verification.verify(event)
    return verification.case(event.data["application_id"]).status


def test_an_analysis_within_the_retention_is_reused(verification):
    photo, front = images.card_photo("biden2"), images.id_card_front("biden")
    with counted_analyses(verification) as calls:
        first = verify_with(verification, photo, front)
        age_analyses(verification, RETENTION - timedelta(hours=1))
        restart_worker(verification)
        assert verify_with(verification, photo, front) == first
    assert calls == [2]


def test_an_analysis_past_the_retention_is_made_again_and_then_reused(verification):
    photo, front = images.card_photo("biden2"), images.id_card_front("biden")
    with counted_analyses(verification) as calls:
        first = verify_with(verification, photo, front)
        age_analyses(verification, RETENTION + timedelta(hours=1))
        restart_worker(verification)
        assert verify_with(verification, photo, front) == first
        assert calls == [2, 2]
        # The new analyses replaced the expired ones, and start a retention of their own.
        assert all(
            row.created_at > utcnow() - timedelta(hours=1)
            for row in stored_analyses(verification).values()
        )
        restart_worker(verification)
        assert verify_with(verification, photo, front) == first
    assert calls == [2, 2]


class Clock:
    """Now, give or take what the test says."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self):
        return utcnow() + self.ahead


def test_the_memo_keeps_an_analysis_from_the_database_no_longer_than_the_database(verification):
    photo, front = images.card_photo("biden2"), images.id_card_front("biden")
    clock = Clock()
    with counted_analyses(verification) as calls:
        first = verify_with(verification, photo, front)
        age_analyses(verification, RETENTION - timedelta(minutes=1))
        # Another worker finds them in the database, a minute before they expire.
        verification.deps.memo = AnalysisMemo(retention=RETENTION, clock=clock)
        assert verify_with(verification, photo, front) == first
        assert calls == [2]
        # Two minutes later, for the database and for that worker's memo alike.
        clock.ahead = timedelta(minutes=2)
        age_analyses(verification, RETENTION + timedelta(minutes=1))
        assert verify_with(verification, photo, front) == first
    assert calls == [2, 2]


def test_the_purge_deletes_exactly_the_expired_analyses_in_batches(verification, monkeypatch):
    expired = store_analyses(verification, 7, age=RETENTION + timedelta(minutes=1))
    kept = store_analyses(verification, 3, age=RETENTION - timedelta(minutes=1))
    batches: list[int] = []
    delete = housekeeping.dao_delete_expired_face_analyses

    def counted(*args, **kwargs):
        batches.append(delete(*args, **kwargs))
        return batches[-1]

    monkeypatch.setattr(housekeeping, "dao_delete_expired_face_analyses", counted)
    removed = housekeeping.purge_expired_face_analyses(
        verification.database, retention=RETENTION, batch=3
    )
    assert removed == len(expired)
    assert batches == [3, 3, 1]
    assert sorted(stored_analyses(verification)) == sorted(kept)


def test_an_analysis_made_again_replaces_the_expired_one_and_is_kept(verification):
    [sha256] = store_analyses(verification, 1, age=RETENTION + timedelta(days=1))
    with verification.database.session_factory() as session, session.begin():
        dao_store_face_analysis(session, sha256, "photo-test", ANALYSIS)
    assert housekeeping.purge_expired_face_analyses(verification.database, retention=RETENTION) == 0
    assert list(stored_analyses(verification)) == [sha256]


def test_the_worker_purges_on_a_thread_of_its_own_until_told_to_stop(verification, monkeypatch):
    expired = store_analyses(verification, 2, age=RETENTION + timedelta(minutes=1))
    kept = store_analyses(verification, 1, age=timedelta(0))
    memo = verification.deps.memo
    memo.put("old/photo-test", ANALYSIS, analysed_at=utcnow() - RETENTION - timedelta(minutes=1))
    purges: queue.Queue[int] = queue.Queue()
    purge = housekeeping.purge_expired_face_analyses

    def reported(*args, **kwargs):
        removed = purge(*args, **kwargs)
        purges.put(removed)
        return removed

    monkeypatch.setattr(housekeeping, "purge_expired_face_analyses", reported)
    stop = threading.Event()
    thread = housekeeping.purge_every(
        0.01, verification.database, memo, retention=RETENTION, stop=stop
    )
    try:
        assert thread.daemon
        assert purges.get(timeout=10) == len(expired)
        assert purges.get(timeout=10) == 0  # and again, with nothing left to delete
        assert sorted(stored_analyses(verification)) == sorted(kept)
        assert memo.forget_expired() == 0  # the thread forgot it first
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
