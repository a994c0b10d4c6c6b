"""Every worked case of NORMALIZATION.md (tests/vectors/normalization.json) through normalize_user_data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from capi_relay import normalize_user_data

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTORS = REPO_ROOT / "tests" / "vectors" / "normalization.json"
SHARED_VECTORS = REPO_ROOT.parent / "shared" / "vectors" / "normalization.json"
CASES = json.loads(VECTORS.read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['field']}: {c['rule']}")
def test_vector(case):
    # Given the case's field, and the event country beside it when the case has one
    user_data = {case["field"]: case["input"]}
    if case["context"].get("country") and case["field"] != "country":
        user_data["country"] = case["context"]["country"]
    # When it is normalized with the case's deployment region
    out, warnings = normalize_user_data(user_data, default_region=case["context"]["region"])
    # Then Meta gets exactly the expected hash (or nothing) and the warnings name the dropped values
    assert out.get(case["field"]) == case["hash"]
    field_warnings = [w for w in warnings if w["field"] == case["field"]]
    if isinstance(case["warning"], list):
        assert [w["code"] for w in field_warnings] == case["warning"]
    elif case["warning"] is None:
        assert field_warnings == []
    else:
        assert field_warnings == [{"field": case["field"], "code": case["warning"]}]
    assert all(set(w) == {"field", "code"} for w in warnings)


def test_vectors_cover_every_hashed_field_and_both_cookies():
    # Given the vector file
    # When its fields are collected
    fields = {case["field"] for case in CASES}
    # Then every hashed field and both cookies have worked cases
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
    assert len(CASES) == 263


@pytest.mark.skipif(
    not SHARED_VECTORS.exists(), reason="the shared specification is not checked out beside the repo"
)
def test_vector_copy_matches_the_shared_specification():
    # Given the shared vectors next to the repository
    # When both files are read
    shared = json.loads(SHARED_VECTORS.read_text(encoding="utf-8"))
    copy = json.loads(VECTORS.read_text(encoding="utf-8"))
    # Then the copy in tests/ is the same data
    assert copy == shared
