"""Other tools' normalization tests (tests/corpus/) run through normalize_user_data.

Each case holds another project's input and expected output, and our outcome per NORMALIZATION.md;
where the two part ways the case says why. The test proves the relay gives our outcome, that every
disagreement is marked with an allowed reason, and that the docs' table of differences is the corpus's.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from pathlib import Path

import pytest

from capi_relay.normalize import normalize_user_data

REPO_ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("corpus_table", REPO_ROOT / "tools" / "corpus_table.py")
assert _spec is not None and _spec.loader is not None
corpus_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus_table)

CASES = corpus_table.load_cases()
PASSTHROUGH = {"fbp", "fbc"}
HEX64 = re.compile(r"[0-9a-f]{64}")


def _case_id(case: dict) -> str:
    shown = case["input"] if isinstance(case["input"], str) else repr(case["input"])
    shown = shown.encode("unicode_escape").decode("ascii")
    return f"{case['id']} {shown[:40]}"


def _run(field: str, value: object, context: dict) -> tuple[dict, list[dict]]:
    """What the relay makes of one value, with the event country beside it when the case has one."""
    user_data = {field: value}
    if context.get("country") and field != "country":
        user_data["country"] = context["country"]
    return normalize_user_data(user_data, default_region=context.get("region"))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_corpus_case(case):
    # Given another project's input (and the event country it came with)
    field, ours = case["field"], case["ours"]
    # When the relay normalizes it
    out, warnings = _run(field, case["input"], case["context"])
    # Then Meta gets our rule book's outcome: the hash, the value as given, or nothing and one warning
    field_warnings = [w for w in warnings if w["field"] == field]
    if "dropped" in ours:
        assert field not in out
        assert field_warnings == [{"field": field, "code": ours["dropped"]}]
    else:
        expected = ours["value"] if field in PASSTHROUGH else ours["hash"]
        assert out.get(field) == expected
        assert field_warnings == []


def _ours_text(case: dict) -> str | None:
    ours = case["ours"]
    if "dropped" in ours:
        return None
    return ours["value"] if "value" in ours else ours["hash"]


def _agrees(case: dict) -> bool:
    """Whether our outcome is the other project's expectation (hashes compared in lower case)."""
    theirs, ours, sent = case["theirs"], case["ours"], _ours_text(case)
    if theirs["kind"] == "dropped" or sent is None:
        return theirs["kind"] == "dropped" and sent is None
    if theirs["kind"] == "accepted":
        return True
    if theirs["kind"] == "same_as":
        out, _ = _run(case["field"], theirs["value"], case["context"])
        return out.get(case["field"]) == sent
    value = theirs["value"].split(".")[0].lower() if theirs["kind"] == "hash" else theirs["value"]
    if case["field"] in PASSTHROUGH:
        return value == sent
    if theirs["kind"] == "hash" or ours["normalized"] is None:  # an already-hashed value, sent as is
        return value.split(".")[0].lower() == ours["hash"]
    return value == ours["normalized"]


def test_a_difference_is_marked_exactly_where_we_differ():
    # Given every case's expectation from the other project and ours
    wrong = []
    for case in CASES:
        # When the two are compared
        agrees = _agrees(case)
        # Then a difference is marked, with an allowed reason and an explanation, exactly when they differ
        differs = case.get("differs")
        if agrees and differs is not None:
            wrong.append(f"{case['id']}: marked as differing but agrees")
        elif not agrees and (differs is None or differs.get("reason") not in corpus_table.REASONS):
            wrong.append(f"{case['id']}: differs without an allowed reason")
        elif not agrees and len(differs.get("why", "")) <= 10:
            wrong.append(f"{case['id']}: differs without an explanation")
    assert wrong == []


def test_every_case_cites_its_source_and_its_hash_is_its_text():
    # Given the whole corpus
    # When each case's citation and our expected hash are checked
    ids = [case["id"] for case in CASES]
    for case in CASES:
        # Then it names the repository, the file and a full commit id
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", case["repo"]), case["id"]
        assert case["path"] and not case["path"].startswith("/"), case["id"]
        assert re.fullmatch(r"[0-9a-f]{40}", case["commit"]), case["id"]
        assert case["project"], case["id"]
        # And our hash is the SHA-256 of our normalized text (or the already-hashed input, lowercased)
        ours = case["ours"]
        if "hash" in ours:
            assert HEX64.fullmatch(ours["hash"]), case["id"]
            if ours["normalized"] is not None:
                assert hashlib.sha256(ours["normalized"].encode()).hexdigest() == ours["hash"], case["id"]
    assert len(ids) == len(set(ids))


def test_corpus_is_broad():
    # Given the whole corpus
    # When its cases are counted by source and field
    repos = {case["repo"] for case in CASES}
    fields = {case["field"] for case in CASES}
    reasons = {case["differs"]["reason"] for case in CASES if "differs" in case}
    # Then it draws on every named project, covers every hashed field and both cookies, and uses every reason
    assert {
        "facebook/capi-param-builder",
        "facebook/facebook-python-business-sdk",
        "facebook/facebook-nodejs-business-sdk",
        "facebook/facebook-php-business-sdk",
        "facebook/facebook-java-business-sdk",
        "facebook/facebook-ruby-business-sdk",
        "segmentio/action-destinations",
        "rudderlabs/rudder-transformer",
        "stape-io/facebook-tag",
        "facebookincubator/ConversionsAPI-Tag-for-GoogleTagManager",
    } <= repos
    assert {
        "em",
        "ph",
        "fn",
        "ln",
        "ct",
        "st",
        "zp",
        "country",
        "db",
        "ge",
        "external_id",
        "fbp",
        "fbc",
    } <= fields
    assert reasons == set(corpus_table.REASONS)


def test_docs_table_of_differences_is_the_corpus():
    # Given the user-facing normalization page
    page = (REPO_ROOT / "docs" / "NORMALIZATION.md").read_text(encoding="utf-8")
    # When its last section is compared with the one made from the corpus
    generated = corpus_table.section(CASES)
    # Then the page ends with exactly that section (regenerate: python tools/corpus_table.py --write)
    assert page.endswith("\n" + generated)
    for case in CASES:
        if "differs" in case:
            assert f"| {case['project']} | {case['field']} |" in generated
