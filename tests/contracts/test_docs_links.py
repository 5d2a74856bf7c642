"""The repository documents itself: no file points at specification files or paths that live
outside it (a fresh clone has neither), and every relative link in the README and docs/ leads
to a file — and, for a heading anchor, to a heading — that exists.

The contract and the domain facts are docs/contract.md and docs/domain.md."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Directories that are not the project's own text, when git cannot list the tracked files.
UNTRACKED_DIRS = {
    ".git",
    ".venv",
    "var",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
}

# Spelled in pieces so that this file does not name them itself.
OUTSIDE_NAMES = ("CONTRACT" + ".md", "DOMAIN" + ".md")
OUTSIDE_PATTERNS = (
    # References by section number to the external contract file.
    re.compile("CONTRACT" + r"\s*§"),
    # The machine's shared workspace, where those files were kept.
    re.compile(r"/work/(?:shared|wt|main)\b"),
)
RELATIVE_PATH = re.compile(r"(?<![\w./])((?:\.\./)+[\w.\-/]*)")

MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.MULTILINE)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)


def tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return [
            path
            for path in ROOT.rglob("*")
            if path.is_file() and not UNTRACKED_DIRS & set(path.relative_to(ROOT).parts)
        ]
    return [ROOT / name for name in listed.decode().split("\0") if name]


def text_of(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:  # listed by git but deleted in the working tree
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", ROOT / "DEVELOPERS.md", *sorted((ROOT / "docs").glob("*.md"))]


def inside_repository(path: Path) -> bool:
    return path.resolve().is_relative_to(ROOT)


def without_code_blocks(text: str) -> str:
    return FENCE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps only its text
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors_of(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for heading in HEADING.findall(without_code_blocks(path.read_text(encoding="utf-8"))):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        anchors.add(base if count == 0 else f"{base}-{count}")
    return anchors


def links_of(path: Path) -> list[str]:
    text = without_code_blocks(path.read_text(encoding="utf-8"))
    return MARKDOWN_LINK.findall(text) + REFERENCE_LINK.findall(text)


def test_no_file_points_outside_the_repository():
    offences = []
    for path in tracked_files():
        text = text_of(path)
        if text is None:
            continue
        name = path.relative_to(ROOT)
        for number, line in enumerate(text.splitlines(), start=1):
            found = [bad for bad in OUTSIDE_NAMES if bad in line]
            found += [
                match.group(0) for pattern in OUTSIDE_PATTERNS for match in pattern.finditer(line)
            ]
            if path.suffix != ".py" or line.lstrip().startswith("#"):
                # Python code may hold `../` on purpose (path-traversal tests); its comments not.
                found += [
                    relative
                    for relative in RELATIVE_PATH.findall(line)
                    if not inside_repository(path.parent / relative)
                ]
            offences += [f"{name}:{number}: {bad}" for bad in found]
    assert not offences, (
        "Files name documents or paths outside the repository; point at docs/contract.md or "
        "docs/domain.md instead:\n" + "\n".join(offences)
    )


@pytest.mark.parametrize("document", markdown_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_relative_links_resolve(document: Path):
    broken = []
    for target in links_of(document):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, mailto:, …
            continue
        file_part, _, anchor = target.partition("#")
        destination = (document.parent / file_part) if file_part else document
        if not inside_repository(destination) or not destination.exists():
            broken.append(f"{target}: no such file in the repository")
        elif anchor and destination.suffix == ".md" and anchor not in anchors_of(destination):
            broken.append(f"{target}: no heading with the anchor #{anchor}")
    assert not broken, f"{document.relative_to(ROOT)} has broken links:\n" + "\n".join(broken)


def test_the_checks_catch_what_they_are_for(tmp_path: Path):
    """The patterns themselves: a regression here would let every check above pass vacuously."""
    assert any(bad in "see " + "CONTRACT" + ".md §3" for bad in OUTSIDE_NAMES)
    assert OUTSIDE_PATTERNS[0].search("as " + "CONTRACT" + " §2 writes times")
    assert OUTSIDE_PATTERNS[1].search("/work/" + "shared/spec")
    assert RELATIVE_PATH.findall("read ../../spec/x.md") == ["../../spec/x.md"]
    assert not inside_repository(ROOT / "docs" / "../../spec")
    assert inside_repository(ROOT / "docs" / "../README.md")
    page = tmp_path / "page.md"
    page.write_text(
        "# A page\n\n## Messaging guarantees\n\n## The card (photo)\n", encoding="utf-8"
    )
    assert anchors_of(page) == {"a-page", "messaging-guarantees", "the-card-photo"}
    assert links_of(page) == []
    page.write_text("[a](b.md#c) ![i](x.png)\n```\n[not](a-link.md)\n```\n[r]: ref.md\n")
    assert links_of(page) == ["b.md#c", "x.png", "ref.md"]
