"""Customer information for Meta: every identifier normalized and SHA-256 hashed (NORMALIZATION.md).

`normalize_user_data(user_data, default_region)` → `(user_data_for_meta, warnings)`. A value that
cannot be normalized is dropped with a warning `{"field", "code"}` that never holds the value; a
dropped identifier never rejects the event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache

from capi_relay.cleaning import INVISIBLE, clean, remove_spaces
from capi_relay.client_ip import is_ip_address
from capi_relay.emails import normalize_email
from capi_relay.hashing import is_md5, is_sha256, sha256_hex
from capi_relay.meta_cookies import build_fbc, is_fbc, is_fbp
from capi_relay.names import normalize_gender, normalize_name
from capi_relay.phone import normalize_phone, rejection_code
from capi_relay.places import normalize_city, normalize_country, normalize_state

__all__ = [
    "HASHED_FIELDS",
    "PASSTHROUGH_FIELDS",
    "build_fbc",
    "effective_region",
    "normalize_user_data",
]


Outcome = tuple[str | None, str | None]  # (SHA-256 hex or None, warning code or None)
Memo = dict[tuple[object, ...], Outcome]  # one request's names, by raw and by cleaned text
FieldWarning = dict[str, str]  # {"field": ..., "code": ...}


def _external_id(s: str) -> str | None:
    """external_id: the caller's own identifier, with every space removed (NORMALIZATION.md)."""
    return remove_spaces(s) or None


def _birthdate(s: str, region: str | None) -> str | None:
    """db's rule; its module (six date patterns) loads with the first birth date, not on every cold start."""
    from capi_relay.birthdate import normalize_birthdate

    return normalize_birthdate(s, region)


def _postcode(s: str, region: str | None) -> str | None:
    """zp's rule; its module loads with the first postcode, not on every cold start."""
    from capi_relay.postcodes import normalize_postcode

    return normalize_postcode(s, region)


# field → (rule on the cleaned text, warning when the rule says no); the rules of _REGIONAL_FIELDS
# also take the effective region
_RULES: dict[str, tuple[Callable[..., str | None], str]] = {
    "em": (normalize_email, "em_invalid"),
    "ph": (normalize_phone, "ph_invalid"),
    "fn": (normalize_name, "fn_invalid"),
    "ln": (normalize_name, "ln_invalid"),
    "ct": (normalize_city, "ct_invalid"),
    "st": (normalize_state, "st_invalid"),
    "zp": (_postcode, "zp_invalid"),
    "country": (normalize_country, "country_unknown"),
    "db": (_birthdate, "db_invalid"),
    "ge": (normalize_gender, "ge_invalid"),
    "external_id": (_external_id, "empty"),
}
HASHED_FIELDS = frozenset(_RULES)
PASSTHROUGH_FIELDS = frozenset(
    {
        "client_ip_address",
        "client_user_agent",
        "fbc",
        "fbp",
        "subscription_id",
        "fb_login_id",
        "lead_id",
        "anon_id",
        "madid",
        "page_id",
        "page_scoped_user_id",
        "ctwa_clid",
        "ig_account_id",
        "ig_sid",
    }
)
_REGIONAL_FIELDS = frozenset({"ph", "st", "zp", "db"})  # they read the effective region
_INTEGER_FIELDS = frozenset({"ph", "zp", "db", "external_id"})  # an integer means its decimal digits
# Ids Meta documents as numbers may come as JSON integers; they are sent as given.
_INTEGER_IDS = frozenset(
    {
        "subscription_id",
        "fb_login_id",
        "lead_id",
        "page_id",
        "page_scoped_user_id",
        "ig_account_id",
        "ig_sid",
    }
)
# Meta refuses the whole event over one of these in the wrong shape: the value is dropped instead
_SHAPE_CHECKS = {
    "fbp": (is_fbp, "fbp_invalid"),
    "fbc": (is_fbc, "fbc_invalid"),
    "client_ip_address": (is_ip_address, "client_ip_address_invalid"),
}


def normalize_user_data(
    user_data: Mapping[str, object], default_region: str | None = None, *, memo: Memo | None = None
) -> tuple[dict[str, object], list[FieldWarning]]:
    """`user_data` ready for Meta (hashed where Meta wants it) and one warning per dropped value.

    `memo`: a dict the caller keeps for one request only, so that a name repeated across the events
    of a batch is normalized and hashed once.
    """
    out: dict[str, object] = {}
    warnings: list[FieldWarning] = []
    region = effective_region(user_data, default_region)
    kept: object
    for field, value in user_data.items():
        if type(value) is str:  # the common case, dispatched without the general path's calls
            path = _STRING_PATH.get(field)
            if path is _CACHED and len(value) <= _CACHED_LENGTH:
                kept, code = _normalize_and_hash_cached(
                    field, value, region if field in _REGIONAL_FIELDS else None
                )
            elif path is _HASHED:
                kept, code = _normalize_and_hash(field, value, region if field in _REGIONAL_FIELDS else None)
            elif path is _PASSTHROUGH:  # _passthrough's string branch, without the call
                kept = value.strip(INVISIBLE)
                check = _SHAPE_CHECKS.get(field)
                if not kept:
                    kept, code = None, "empty"
                elif check is not None and not check[0](kept):
                    kept, code = None, check[1]
                else:
                    code = None
            elif path is _MEMO:
                kept, code = _hash_text(field, value, None, memo)  # names read no region
            else:
                kept, code = _other_string(field, value, region, memo)
        else:
            kept, code = _not_a_string(field, value, region, warnings, memo)
        if code is not None:
            warnings.append({"field": field, "code": code})
        elif kept is not None:
            out[field] = kept
    return out, warnings


def _other_string(field: str, value: str, region: str | None, memo: Memo | None) -> Outcome:
    """A string the loop's fast paths leave: a place too long to remember, or a key Meta does not know."""
    if field not in HASHED_FIELDS:
        return None, "unknown_field"
    return _hash_text(field, value, region if field in _REGIONAL_FIELDS else None, memo)


def _not_a_string(
    field: str, value: object, region: str | None, warnings: list[FieldWarning], memo: Memo | None
) -> tuple[object, str | None]:
    """(value for Meta, None), (None, warning code), or (None, None) for a null: absent, no warning.

    A list's dropped items are warned about here, one each, into `warnings`.
    """
    if field in HASHED_FIELDS:
        if value is None:
            return None, None
        field_region = region if field in _REGIONAL_FIELDS else None
        if isinstance(value, list | tuple):
            return _hashed_list(field, value, field_region, warnings, memo), None
        return _hashed(field, value, field_region, memo)
    if field in PASSTHROUGH_FIELDS:
        return (None, None) if value is None else _passthrough(field, value)
    return None, "unknown_field"


def effective_region(user_data: Mapping[str, object], default_region: str | None = None) -> str | None:
    """The event's own country if it names one (first item of a list), else the deployment's region."""
    country = user_data.get("country")
    if isinstance(country, list | tuple):
        country = next((item for item in country if item is not None), None)
    if isinstance(country, str):
        code = _country_code(country)
        if code is not None:
            return code
    return _country_code(default_region) if isinstance(default_region, str) else None


def _hashed_list(
    field: str,
    values: list[object] | tuple[object, ...],
    region: str | None,
    warnings: list[FieldWarning],
    memo: Memo | None,
) -> list[str] | None:
    """Each item normalized; bad items warned about, duplicates dropped, first-seen order kept."""
    kept_items: list[str] = []
    for item in values:
        if item is None:
            continue
        kept, code = _hashed(field, item, region, memo)
        if code is not None:
            warnings.append({"field": field, "code": code})
        elif kept is not None and kept not in kept_items:
            kept_items.append(kept)
    return kept_items or None


def _hashed(field: str, value: object, region: str | None, memo: Memo | None) -> Outcome:
    """(SHA-256 hex, None) or (None, warning code) for one value of a hashed field."""
    if isinstance(value, str):
        return _hash_text(field, value, region, memo)
    if type(value) is int and field in _INTEGER_FIELDS and value >= 0:  # bool is an int: excluded
        try:
            digits = str(value)
        except ValueError:  # more digits than int → str allows: not an identifier
            return None, "type_invalid"
        return _hash_text(field, digits, region, memo)
    return None, "type_invalid"


def _hash_text(field: str, text: str, region: str | None, memo: Memo | None) -> Outcome:
    """(SHA-256 hex, None) or (None, warning code) for one string, remembered where that is safe."""
    if field in _CACHED_FIELDS and len(text) <= _CACHED_LENGTH:
        return _normalize_and_hash_cached(field, text, region)
    if memo is None or field not in _MEMO_FIELDS:
        return _normalize_and_hash(field, text, region)
    key = (field, text, region)
    result = memo.get(key)
    if result is None:
        result = memo[key] = _normalize_and_hash_memo(field, text, region, memo)
    return result


def _normalize_and_hash_memo(field: str, text: str, region: str | None, memo: Memo) -> Outcome:
    """_normalize_and_hash, also remembered by the cleaned text: " Mary", "MARY " share one result."""
    s = clean(text)
    key = (_CLEANED, field, s, region)
    result = memo.get(key)
    if result is None:
        result = memo[key] = _normalize_cleaned(field, s, region)
    return result


def _normalize_and_hash(field: str, text: str, region: str | None) -> tuple[str | None, str | None]:
    return _normalize_cleaned(field, clean(text), region)


def _normalize_cleaned(field: str, s: str, region: str | None) -> tuple[str | None, str | None]:
    """What _normalize_and_hash does after clean(): its result depends on the cleaned text only."""
    if not s:
        return None, "empty"
    if len(s) == 64 and is_sha256(s):  # already hashed: never hash twice
        return s, None
    if len(s) == 32 and field != "external_id" and is_md5(s):
        return None, "md5_rejected"
    rule, code = _RULES[field]
    try:
        normalized = rule(s, region) if field in _REGIONAL_FIELDS else rule(s)
    except Exception:  # a library surprise must cost one identifier, never the event
        return None, code
    if normalized is None:
        return None, rejection_code(s, region) if field == "ph" else code
    return sha256_hex(normalized), None


def _passthrough(field: str, value: object) -> tuple[object, str | None]:
    """A never-hashed value as given (strings trimmed); fbp, fbc and the IP must have Meta's shape."""
    if type(value) is int and field in _INTEGER_IDS:
        return value, None
    if not isinstance(value, str):
        return None, "type_invalid"
    s = value.strip(INVISIBLE)
    if not s:
        return None, "empty"
    check = _SHAPE_CHECKS.get(field)
    if check is not None and not check[0](s):
        return None, check[1]
    return s, None


# Events repeat cities, states, postcodes, countries and genders: remembering their results across
# requests saves work, and none of them names anyone on its own. Names repeat too, but they are
# personal: they are remembered for one request at most (`memo`), since a warm container outlives
# the request and must not collect its customers. Emails, phones, birth dates and external ids are
# never remembered: each belongs to one person, so they seldom repeat even within a batch.
_CACHED_FIELDS = frozenset({"ct", "st", "zp", "country", "ge"})
_MEMO_FIELDS = frozenset({"fn", "ln"})
_CLEANED = object()  # marks a memo key made from the cleaned text, apart from the raw-text keys
_CACHED_LENGTH = 256
_normalize_and_hash_cached = lru_cache(maxsize=4096)(_normalize_and_hash)


@lru_cache(maxsize=256)
def _country_code(text: str) -> str | None:
    s = clean(text)
    return None if not s or is_sha256(s) else normalize_country(s)


# How normalize_user_data treats a string value of each field (the fast path of its loop)
_CACHED, _MEMO, _HASHED, _PASSTHROUGH = "cached", "memo", "hashed", "passthrough"
_STRING_PATH = {
    **dict.fromkeys(PASSTHROUGH_FIELDS, _PASSTHROUGH),
    **dict.fromkeys(HASHED_FIELDS, _HASHED),
    **dict.fromkeys(_MEMO_FIELDS, _MEMO),
    **dict.fromkeys(_CACHED_FIELDS, _CACHED),
}
