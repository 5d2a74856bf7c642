"""Face analyses of an application's images, by image digest: this process's memo, then the
database's face cache, then the analyser, for the missing ones at once."""

from __future__ import annotations

import hashlib

from services.verification import dao
from services.verification.adapters.imaging import (
    analyser_version,
    facts_from_json,
    facts_to_json,
)
from services.verification.deps import Dependencies
from services.verification.domain.checks import ImageFacts
from shared.db.uow import UnitOfWork
from shared.time import utcnow


def analyse_images(
    uow: UnitOfWork, deps: Dependencies, images: list[tuple[bytes, str]]
) -> list[ImageFacts]:
    """The facts of (content, kind) pairs. An analysis older than the face cache's retention
    is not reused from either cache: the image is analysed again."""
    keys = [(hashlib.sha256(data).hexdigest(), analyser_version(kind)) for data, kind in images]
    memo_keys = [f"{digest}/{version}" for digest, version in keys]
    not_before = utcnow() - deps.face_cache.retention
    found: dict[int, dict] = {}
    for index, (digest, version) in enumerate(keys):
        cached = deps.memo.get(memo_keys[index])
        if cached is None:
            row = dao.dao_get_face_analysis(uow.session, digest, version, not_before=not_before)
            if row is not None:
                # With the time it was made: the memo must not keep it past the retention.
                cached = row.result
                deps.memo.put(memo_keys[index], cached, analysed_at=row.created_at)
        if cached is not None:
            found[index] = cached
    # The same image twice (the photo on file chosen as the card photo) is analysed once.
    missing: list[int] = []
    for index in range(len(images)):
        if index not in found and keys[index] not in {keys[i] for i in missing}:
            missing.append(index)
    if missing:
        analysed = deps.analyser.analyse(
            [images[i][0] for i in missing], [images[i][1] for i in missing]
        )
        for index, facts in zip(missing, analysed, strict=True):
            found[index] = facts_to_json(facts)
            dao.dao_store_face_analysis(uow.session, *keys[index], found[index])
            deps.memo.put(memo_keys[index], found[index])
    by_key = {keys[index]: result for index, result in found.items()}
    return [facts_from_json(by_key[keys[index]]) for index in range(len(images))]
