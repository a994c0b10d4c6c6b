"""The "Where other tools differ" section of docs/NORMALIZATION.md, made from tests/corpus/.

A user who compares our hashes with another tool's needs the reason they differ; the corpus holds
those reasons case by case, so the page's table is generated from it instead of kept by hand.
tests/unit/test_normalization_corpus.py fails when the page and the corpus part ways.

Usage: python tools/corpus_table.py          print the section
       python tools/corpus_table.py --write  replace the section at the end of the page
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
PAGE = ROOT / "docs" / "NORMALIZATION.md"
HEADING = "## Where other tools differ"
REASONS = ("their rule is weaker", "Meta's doc is silent", "Meta's doc says otherwise")
INTRO = """\
capi-relay's corpus (`tests/corpus/`) holds {total} input → expected cases taken from the public
test suites of other tools that send customer information to Meta: Meta's Parameter Builder (JS and
PHP), Meta's Business SDKs (Python, Node.js, PHP, Java, Ruby), Segment's and RudderStack's
Conversions API destinations, stape's and Meta's server-side Google Tag Manager templates. Each case
cites the repository, file and commit it comes from; `tests/unit/test_normalization_corpus.py` runs
every one through the relay. We agree on {agree} of them. Where we differ ({differ} cases), it is on
purpose, for one of three reasons: **their rule is weaker** (it sends a value Meta cannot match, or
a different person's), **Meta's doc is silent** (Meta's customer-information page does not decide
the case; we follow this page), or **Meta's doc says otherwise** (their output contradicts what Meta
asks for). So a hash that differs from another tool's for the same input is expected in these cases:

{counts}

One row per kind of difference (the case count says how many corpus cases it covers). "Ours" is the
normalized text that is hashed, or the warning when the value is dropped."""


def load_cases(corpus: Path = CORPUS) -> list[dict]:
    """Every case of every corpus file, with its source's project, repository, path and commit."""
    cases = []
    for path in sorted(corpus.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for case in data["cases"]:
            cases.append({**case, **data["sources"][case["src"]]})
    return cases


def _cell(text: object, limit: int = 40) -> str:
    """A value as a table cell: quoted like JSON, cut when long, pipes escaped for Markdown."""
    shown = json.dumps(text, ensure_ascii=False)
    if len(shown) > limit:
        shown = shown[: limit - 2] + '…"'
    return "`" + shown.replace("|", "\\|") + "`"


def their_output(case: dict) -> str:
    theirs = case["theirs"]
    kind = theirs["kind"]
    if kind == "dropped":
        return "dropped"
    if kind == "accepted":
        return "hashed"
    if kind == "same_as":
        return "same hash as " + _cell(theirs["value"])
    if kind == "hash":
        return "hash of " + _cell(theirs["of"]) if "of" in theirs else "sent as " + _cell(theirs["value"])
    return _cell(theirs["value"])


def our_output(case: dict) -> str:
    ours = case["ours"]
    if "dropped" in ours:
        return f"dropped, `{ours['dropped']}`"
    if "value" in ours:
        return _cell(ours["value"])
    if ours["normalized"] is None:
        return "sent as " + _cell(ours["hash"])
    return _cell(ours["normalized"])


def section(cases: list[dict]) -> str:
    differing = [c for c in cases if "differs" in c]
    by_reason = Counter(c["differs"]["reason"] for c in differing)
    counts = "\n".join(f"- {reason}: {by_reason[reason]} cases" for reason in REASONS)
    groups: dict[tuple, list[dict]] = {}
    for case in differing:
        key = (case["project"], case["field"], case["differs"]["reason"], case["differs"]["why"])
        groups.setdefault(key, []).append(case)
    rows = [
        "| Project | Field | Example input | Their output | Ours | Why | Cases |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (project, field, reason, why), group in sorted(groups.items()):
        example = group[0]
        rows.append(
            f"| {project} | {field} | {_cell(example['input'])} "
            f"| {their_output(example)} | {our_output(example)} | *{reason}*: {why} | {len(group)} |"
        )
    intro = INTRO.format(
        total=len(cases), agree=len(cases) - len(differing), differ=len(differing), counts=counts
    )
    return f"{HEADING}\n\n{intro}\n\n" + "\n".join(rows) + "\n"


def page_with_section(page: str, text: str) -> str:
    """The page with its last section replaced by (or, first time, followed by) the generated one."""
    head = page.split(f"\n{HEADING}\n", 1)[0].rstrip("\n")
    return f"{head}\n\n{text}"


def main(argv: list[str]) -> int:
    text = section(load_cases())
    if "--write" in argv:
        PAGE.write_text(page_with_section(PAGE.read_text(encoding="utf-8"), text), encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
