"""Every link in the docs leads somewhere, and every shell block says whether it runs locally."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs_blocks import MARKERS, ROOT, anchors, documents, links, shell_blocks, slug

DOCS = documents()


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_docs_are_found():
    # Given the repository, When its Markdown is listed, Then README and the docs/ pages are among it
    names = {_id(p) for p in DOCS}
    assert {"README.md", "docs/deploy.md", "docs/security.md", "docs/NORMALIZATION.md"} <= names


@pytest.mark.parametrize("path", DOCS, ids=_id)
def test_every_relative_link_resolves_to_a_file_and_heading(path: Path):
    broken = []
    for target in links(path):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {_id(linked)}")
    assert not broken, f"{_id(path)}: " + "; ".join(broken)


@pytest.mark.parametrize("path", DOCS, ids=_id)
def test_every_shell_block_runs_locally_or_says_why_not(path: Path):
    unknown = [
        f"line {b.line}: '{b.marker}'" for b in shell_blocks(path) if b.marker and b.marker not in MARKERS
    ]
    assert not unknown, f"{_id(path)}: unknown markers {unknown}; use one of {sorted(MARKERS)}"


def test_readme_stays_short_enough_to_read():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 250


def test_readme_shows_the_two_commands_and_runs_none_of_them_as_an_example():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run" in text and "make test" in text


def test_the_link_checker_catches_a_broken_link_and_anchor(tmp_path: Path):
    # Given a page with a missing file, a missing heading and a good heading link (positive controls)
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n## A `code` heading\n\n[a](missing.md) [b](#nope) [c](#a-code-heading)\n")
    # When its links are read, Then the checker sees all three and only the good anchor exists
    assert links(page) == ["missing.md", "#nope", "#a-code-heading"]
    assert anchors(page) == {"title", "a-code-heading"}
    assert slug("1. Build") == "1-build"
