"""The message templates as files: `services/notification/templates/<event_type>/<channel>.
<locale>.txt`, each read once."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from string import Template

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=512)
def _load(path: Path) -> Template | None:
    try:
        return Template(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


class TemplateFiles:
    """A template source (domain.templates.TemplateSource) over one directory."""

    def __init__(self, directory: Path = TEMPLATES_DIR) -> None:
        self.directory = directory

    def __call__(self, folder: str, filename: str) -> Template | None:
        return _load(self.directory / folder / filename)
