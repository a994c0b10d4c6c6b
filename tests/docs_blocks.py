"""The project's Markdown, read the way GitHub renders it: relative links, heading anchors, shell blocks.

Shared by the link check (unit, no network) and the e2e test that runs the documented commands. A shell
block's fence says whether it can run on a developer's machine against `make run`:
```` ```sh ```` runs (the e2e suite runs it), ```` ```sh setup ```` installs or starts something
long-running, ```` ```sh aws ```` needs an AWS account, ```` ```sh example ```` has placeholders to fill.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHELLS = {"sh", "bash", "shell", "console"}
MARKERS = {"setup", "aws", "example"}
_FENCE = re.compile(r"^(`{3,})\s*([^`]*)$")
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


@dataclass(frozen=True, slots=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    marker: str  # "" = runs locally
    text: str


def documents() -> list[Path]:
    """Every Markdown file git tracks or would track (not ignored): what a reader of the repo sees."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(ROOT / name for name in listed if (ROOT / name).is_file() and not name.startswith("tests/"))


def blocks(path: Path) -> list[Block]:
    found: list[Block] = []
    opened: tuple[int, str, str, list[str]] | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fence = _FENCE.match(line.strip())
        if opened is None and fence:
            words = fence.group(2).split()
            opened = (number, words[0] if words else "", " ".join(words[1:]), [])
        elif opened is not None and fence and not fence.group(2).strip():
            found.append(Block(path, opened[0], opened[1], opened[2], "\n".join(opened[3])))
            opened = None
        elif opened is not None:
            opened[3].append(line)
    return found


def shell_blocks(path: Path) -> list[Block]:
    return [block for block in blocks(path) if block.language in SHELLS]


def prose(path: Path) -> list[str]:
    """The file's lines outside fenced blocks: headings and links in code are examples, not the page's."""
    lines, inside = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if _FENCE.match(line.strip()):
            inside = not inside
        elif not inside:
            lines.append(line)
    return lines


def links(path: Path) -> list[str]:
    return [target for line in prose(path) for target in _LINK.findall(re.sub(r"`[^`]*`", "", line))]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\*|_(?=\w)", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in prose(path):
        match = re.match(r"^#{1,6}\s+(.*)$", line)
        if not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found
