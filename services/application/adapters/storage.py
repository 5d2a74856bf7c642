"""Content-addressed file storage under the service's own data directory:
`files/<sha256[:2]>/<sha256>`. Equal bytes are stored once; a name never changes meaning. Files are
sealed at rest (AES-GCM, shared.personal_data.protection.FileCipher): the volume alone, or a backup
of it, shows no one's photo or ID card; the name is the SHA-256 of the bytes before sealing.

A file is written before the transaction that records it (a `stored_files` row) commits; when
that transaction rolls back, the file is left behind with no row. Such files are swept once
they are older than a grace period (housekeeping.py). A file's modification time says when
it was last written or claimed: storing bytes that are already there touches the file, so a
sweep never takes a file that a request is about to record. A file whose last document was
replaced loses its row in that transaction (it is released) and is swept the same way."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from cryptography.exceptions import InvalidTag

from shared.personal_data.protection import FileCipher

log = logging.getLogger(__name__)


class FileStore:
    def __init__(self, root: Path, cipher: FileCipher) -> None:
        self.root = root / "files"
        self.cipher = cipher

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Stores `data` durably (written aside, fsynced, renamed into place); its sha256."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        try:
            os.utime(target)  # already stored: claimed afresh, so no sweep takes it now
            return sha256
        except FileNotFoundError:
            pass  # not stored, or set aside by a sweep this very moment: write it
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=_INCOMING)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(self.cipher.seal(data, name=sha256))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return sha256

    def get(self, sha256: str) -> bytes | None:
        """The file's bytes; None if there is no such file, or if it does not open (altered,
        or sealed with another key: logged, for an operator to look into)."""
        try:
            stored = self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None
        try:
            return self.cipher.open(stored, name=sha256)
        except InvalidTag:
            log.error("stored file %s does not open: altered, or sealed with another key", sha256)
            return None

    # -- sweeping (housekeeping.py) ---------------------------------------------------------

    def stored_before(self, cutoff: float) -> Iterator[list[str]]:
        """The names (sha256) of files last written or claimed before `cutoff` (Unix time),
        a directory at a time."""
        if not self.root.is_dir():
            return
        for directory in sorted(self.root.iterdir()):
            names = [
                entry.name
                for entry in os.scandir(directory)
                if not entry.name.startswith(".") and _modified(entry.path) < cutoff
            ]
            if names:
                yield names

    def remove_abandoned_writes(self, cutoff: float) -> int:
        """Deletes half-written files (a process that died mid-write) older than `cutoff`."""
        removed = 0
        for path in self.root.glob(f"*/{_INCOMING}*"):
            if _modified(path) < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def set_aside(self, sha256: str) -> Path | None:
        """Renames the file out of the way (atomically) before it is judged for deletion; None
        if it is already gone. A `put` of the same bytes meanwhile writes it anew."""
        target = self.path(sha256)
        aside = target.with_name(f"{_ASIDE}{os.getpid()}-{sha256}")
        try:
            os.rename(target, aside)
        except FileNotFoundError:
            return None
        return aside

    def put_back(self, aside: Path, sha256: str) -> None:
        os.replace(aside, self.path(sha256))  # the same bytes, should a put have written them


_INCOMING = ".incoming-"
_ASIDE = ".sweeping-"


def _modified(path: str | Path) -> float:
    """Modification time; infinitely recent for a file that is gone (nothing to sweep)."""
    try:
        return os.stat(path).st_mtime
    except FileNotFoundError:
        return float("inf")
