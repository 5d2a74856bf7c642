"""The claim-check endpoint (docs/contract.md §4.4): other sscard services fetch the files an
`application.submitted` event refers to, with a service token. Internal: not for citizens,
banks or integrators."""

from __future__ import annotations

import re

from flask import Response
from flask_smorest import Blueprint

from services.application.deps import current
from services.application.use_cases.documents import get_stored_file
from shared.errors import NotFound
from shared.messaging.claim_check import INTERNAL_FILES_PATH
from shared.web.auth import requires_service

blp = Blueprint(
    "internal_files",
    __name__,
    description="Internal: stored files for the verification and printing services.",
)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@blp.route(INTERNAL_FILES_PATH.replace("{sha256}", "<sha256>"), methods=["GET"])
@requires_service("verification", "printing")
@blp.doc(
    tags=["internal"],
    responses={
        "200": {
            "description": "The file; its SHA-256 is its name",
            "content": {
                "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
            },
        },
        "404": {"description": "No such file"},
    },
)
def get_file(sha256: str):
    """A stored photo or ID card image, by its SHA-256."""
    if not _SHA256.match(sha256):
        raise NotFound("No such file.")
    data, content_type = get_stored_file(current(), sha256=sha256)
    response = Response(data, mimetype=content_type)
    response.headers["ETag"] = f'"{sha256}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
