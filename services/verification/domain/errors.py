"""What the verification service refuses, as the shared error vocabulary: each says both its
HTTP status and, on a queue, whether a retry could help."""

from __future__ import annotations

from shared.errors import Conflict, DomainError


class DuplicateIdentity(Conflict):
    """Approving would give a second pending or live card to one person."""


class FileUnavailable(DomainError):
    status, title, slug = 502, "File unavailable", "file-unavailable"


class FileGone(DomainError):
    """The application service no longer keeps the image: those of a rejected or cancelled
    application are deleted after their retention (APPLICATION_CLOSED_FILE_RETENTION_DAYS)."""

    status, title, slug = 410, "File deleted", "file-deleted"
