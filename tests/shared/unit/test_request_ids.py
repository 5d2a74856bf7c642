"""Request ids: random version 4 UUIDs, different in every worker that gunicorn forks."""

from __future__ import annotations

import os
import uuid

from shared.observability.http import new_request_id


def test_a_request_id_is_the_text_of_a_version_4_uuid():
    for _ in range(1_000):
        text = new_request_id()
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_request_ids_do_not_repeat_even_across_forked_workers():
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # a worker forked from a master that had already made ids
        os.close(read_end)
        os.write(write_end, "\n".join(new_request_id() for _ in range(100)).encode())
        os._exit(0)
    os.close(write_end)
    mine = [new_request_id() for _ in range(100)]
    with os.fdopen(read_end) as pipe:
        theirs = pipe.read().split("\n")
    os.waitpid(child, 0)
    assert len(set(mine) | set(theirs)) == 200
