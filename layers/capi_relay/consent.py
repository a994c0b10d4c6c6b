"""Consent and US state privacy: what a request lets us send, and Limited Data Use by default.

A caller states consent per request, in the body's top-level ``consent`` object or the
``X-Capi-Consent`` header, using Google Consent Mode v2 names so a site can forward its consent
banner's state as is:

- ``ad_user_data`` denied → every customer identifier is dropped except ``client_ip_address`` and
  ``client_user_agent`` (what any server sees, and what Meta needs to take a website event); the
  Pixel's cookies ``fbp`` and ``fbc`` go too;
- ``ad_storage`` denied → the browser-cookie identifiers ``fbp`` and ``fbc`` are dropped;
- ``ad_personalization`` denied → ``opt_out: true`` (Meta uses the event for attribution only);
- ``limited_data_use: true``, or the browser's Global Privacy Control (``Sec-GPC: 1``, a "do not
  sell or share" opt-out under CCPA) → Meta's Limited Data Use for the request's events.

Absent means granted. When body and header both speak, the more restrictive wins. Pure: no AWS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from capi_relay.errors import BadRequest, FieldError

if TYPE_CHECKING:
    from capi_relay.json_types import JsonObject

CONSENT_FIELD = "consent"  # top-level key of the body; never sent to Meta
CONSENT_HEADER = "x-capi-consent"
GPC_HEADER = "sec-gpc"
LDU = "LDU"
GEOLOCATE = 0  # Meta: country/state 0 asks Meta to geolocate the event

# What survives ad_user_data=denied: not identifiers the user handed over, but what the connection shows.
CONNECTION_FIELDS = frozenset({"client_ip_address", "client_user_agent"})
COOKIE_FIELDS = frozenset({"fbp", "fbc"})
CATEGORIES = ("ad_user_data", "ad_storage", "ad_personalization")  # granted unless denied
FLAGS = ("limited_data_use",)  # off unless true
_GRANTED = frozenset({True, "granted", "true", "1"})  # True == 1, so the number 1 is here too
_DENIED = frozenset({False, "denied", "false", "0"})


class DataProcessingDefaults(Protocol):
    """The part of RelayConfig this module reads: the deployment's LDU default."""

    @property
    def data_processing_options(self) -> Sequence[str] | None: ...  # None: send nothing by default
    @property
    def dpo_country(self) -> int | None: ...  # None: 0 (geolocate)
    @property
    def dpo_state(self) -> int | None: ...


class Consent(NamedTuple):
    """What one request allows; the default allows everything and changes nothing."""

    ad_user_data: bool = True
    ad_storage: bool = True
    ad_personalization: bool = True
    limited_data_use: bool = False

    def restrict(self, other: Consent) -> Consent:
        """The more restrictive of two statements, field by field."""
        return Consent(
            ad_user_data=self.ad_user_data and other.ad_user_data,
            ad_storage=self.ad_storage and other.ad_storage,
            ad_personalization=self.ad_personalization and other.ad_personalization,
            limited_data_use=self.limited_data_use or other.limited_data_use,
        )


ALL_GRANTED = Consent()  # what a request states nothing about; immutable, so shared


def _flag(value: Any, field: str, *, is_category: bool) -> bool:
    """A category reads granted/denied or true/false; a flag (limited_data_use) true/false only."""
    key = value.strip().lower() if isinstance(value, str) else value
    if isinstance(key, str | bool | int) and (is_category or key not in ("granted", "denied")):
        if key in _GRANTED:  # 1.0 or a list is not a flag
            return True
        if key in _DENIED:
            return False
    expected = "granted or denied (or true/false)" if is_category else "true or false"
    raise BadRequest([FieldError(None, field, "consent_invalid", f"must be {expected}")])


def _from_pairs(pairs: Mapping[str, Any], prefix: str) -> Consent:
    values: dict[str, bool] = {}
    errors = []
    for name, value in pairs.items():
        if name not in CATEGORIES and name not in FLAGS:
            field = f"{prefix}.*"  # a name that is not ours is never echoed: it may be anything
            errors.append(FieldError(None, field, "consent_unknown", "not a consent category"))
            continue
        field = f"{prefix}.{name}"
        try:
            flag = _flag(value, field, is_category=name in CATEGORIES)
        except BadRequest as error:
            errors.extend(error.errors)
            continue
        values[name] = flag  # limited_data_use: true = restrict; the categories: true = granted
    if errors:
        raise BadRequest(errors)
    return Consent(**values)


def _parse_header(value: str) -> dict[str, str]:
    """ "ad_user_data=denied, ad_storage=granted" → a dict; a malformed item is a 400."""
    pairs = {}
    for item in value.split(","):
        if not item.strip():
            continue
        name, sep, flag = item.partition("=")
        if not sep:
            field = f"headers.{CONSENT_HEADER}"
            raise BadRequest([FieldError(None, field, "consent_invalid", "expected name=value pairs")])
        pairs[name.strip().lower()] = flag.strip()
    return pairs


def read_consent(body: Any, headers: Mapping[str, str]) -> Consent:
    """The request's consent from the parsed body's top level and the headers; 400 when unreadable."""
    consent = ALL_GRANTED
    if body and isinstance(body, Mapping) and CONSENT_FIELD in body:
        stated = body[CONSENT_FIELD]
        if not isinstance(stated, Mapping):
            raise BadRequest([FieldError(None, CONSENT_FIELD, "consent_invalid", "must be an object")])
        consent = consent.restrict(_from_pairs(stated, CONSENT_FIELD))
    header = headers.get(CONSENT_HEADER)
    if header:
        consent = consent.restrict(_from_pairs(_parse_header(header), f"headers.{CONSENT_HEADER}"))
    if headers.get(GPC_HEADER, "").strip() == "1":
        consent = consent.restrict(Consent(limited_data_use=True))
    return consent


def _data_processing(event: JsonObject, consent: Consent, defaults: DataProcessingDefaults | None) -> None:
    """Fill data_processing_options and its country/state where the event did not send them."""
    if "data_processing_options" in event:
        options = event["data_processing_options"]  # the caller's choice, even [] ("not LDU")
    elif defaults is not None and defaults.data_processing_options is not None:
        options = list(defaults.data_processing_options)
    else:
        options = None
    if consent.limited_data_use:
        if options is None:
            options = [LDU]
        elif isinstance(options, list) and LDU not in options:
            options = [*options, LDU]
        # anything but a list is left for validation to refuse
    if options is None:
        return
    event["data_processing_options"] = options
    if isinstance(options, list) and LDU in options:
        country = defaults.dpo_country if defaults is not None else None
        state = defaults.dpo_state if defaults is not None else None
        event.setdefault("data_processing_options_country", GEOLOCATE if country is None else country)
        event.setdefault("data_processing_options_state", GEOLOCATE if state is None else state)


def apply_consent(
    event: JsonObject, consent: Consent, defaults: DataProcessingDefaults | None = None
) -> JsonObject:
    """The event with what consent forbids removed and the data-processing defaults filled.

    Run it after enrichment (so cookies and fbclid added there are dropped too) and before
    normalization and validation (so a dropped identifier is never hashed, and an event left with
    no customer information is refused rather than sent). The caller's event is not changed: a copy
    is returned, except when there is nothing to change (everything granted, no data-processing
    option sent or defaulted), the common case, where the event itself comes back uncopied.
    """
    if (
        consent.ad_user_data
        and consent.ad_storage
        and consent.ad_personalization
        and not consent.limited_data_use
        and "data_processing_options" not in event
        and (defaults is None or defaults.data_processing_options is None)
    ):
        return event  # nothing to remove or fill: a copy would be waste
    out = dict(event)
    user_data = out.get("user_data")
    if isinstance(user_data, Mapping) and not (consent.ad_user_data and consent.ad_storage):
        # ad_user_data denied: what the connection shows, nothing else (the Pixel's cookies included)
        keep = set(user_data) if consent.ad_user_data else set(CONNECTION_FIELDS)
        if not consent.ad_storage:
            keep -= COOKIE_FIELDS
        out["user_data"] = {key: value for key, value in user_data.items() if key in keep}
    if not consent.ad_personalization:
        out["opt_out"] = True  # the more restrictive wins over the event's own opt_out: false
    _data_processing(out, consent, defaults)
    return out
