"""Per-request consent, Limited Data Use by default, opt_out (README "Security", "Consent")."""

from __future__ import annotations

import json

import pytest

from capi_relay.consent import Consent, apply_consent, read_consent
from capi_relay.errors import BadRequest
from capi_relay.model import RelayConfig

USER_DATA = {
    "em": "canary-consent@example.com",
    "ph": "+1 202-555-0123",
    "external_id": "canary-id-1",
    "fb_login_id": "1234",
    "client_ip_address": "203.0.113.7",
    "client_user_agent": "Mozilla/5.0",
    "fbp": "fb.1.1764100000000.123",
    "fbc": "fb.1.1764100000000.AbC",
}


def event(**fields) -> dict:
    return {"event_name": "Lead", "user_data": dict(USER_DATA), **fields}


def codes(error: BadRequest) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in error.errors]


# --- read_consent --------------------------------------------------------------------------------


def test_no_consent_statement_grants_everything_and_changes_nothing():
    # Given a request that says nothing about consent
    consent = read_consent({"event_name": "Lead"}, {})
    # When its event goes through apply_consent
    out = apply_consent(event(), consent, RelayConfig())
    # Then nothing is removed or added
    assert consent == Consent()
    assert out == event()


def test_body_consent_object_is_read_in_consent_mode_terms():
    # Given a consent object with Consent Mode values and booleans
    body = {"consent": {"ad_user_data": "denied", "ad_storage": True, "ad_personalization": "DENIED"}}
    # When it is read
    consent = read_consent(body, {})
    # Then denied/false mean withheld, granted/true mean given
    assert consent == Consent(ad_user_data=False, ad_storage=True, ad_personalization=False)


def test_header_consent_is_read_and_the_more_restrictive_statement_wins():
    # Given a body granting ad_user_data and a header denying it (and asking for LDU)
    body = {"consent": {"ad_user_data": "granted", "ad_storage": "denied"}}
    headers = {"x-capi-consent": "ad_user_data=denied, limited_data_use=true"}
    # When both are read
    consent = read_consent(body, headers)
    # Then each withheld category stays withheld
    assert consent == Consent(ad_user_data=False, ad_storage=False, limited_data_use=True)


def test_global_privacy_control_turns_on_limited_data_use():
    # Given a browser sending Sec-GPC: 1 (a "do not sell or share" opt-out)
    # When the request is read
    consent = read_consent({}, {"sec-gpc": "1"})
    # Then its events get Limited Data Use
    assert consent == Consent(limited_data_use=True)
    assert read_consent({}, {"sec-gpc": "0"}) == Consent()


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        ({"consent": "denied"}, {}, [("consent", "consent_invalid")]),
        ({"consent": {"ad_user_data": "maybe"}}, {}, [("consent.ad_user_data", "consent_invalid")]),
        ({"consent": {"ad_user_data": 0.5}}, {}, [("consent.ad_user_data", "consent_invalid")]),
        ({"consent": {"ad_user_data": ["no"]}}, {}, [("consent.ad_user_data", "consent_invalid")]),
        ({"consent": {"ad_user_data": None}}, {}, [("consent.ad_user_data", "consent_invalid")]),
        ({"consent": {"analytics": False}}, {}, [("consent.*", "consent_unknown")]),
        ({"consent": {"limited_data_use": "granted"}}, {}, [("consent.limited_data_use", "consent_invalid")]),
        (
            {"consent": {"x": 1, "ad_storage": "?"}},
            {},
            [("consent.*", "consent_unknown"), ("consent.ad_storage", "consent_invalid")],
        ),
        ({}, {"x-capi-consent": "ad_user_data"}, [("headers.x-capi-consent", "consent_invalid")]),
        (
            {},
            {"x-capi-consent": "ad_user_data=nope"},
            [("headers.x-capi-consent.ad_user_data", "consent_invalid")],
        ),
        ({}, {"x-capi-consent": "tracking=denied"}, [("headers.x-capi-consent.*", "consent_unknown")]),
    ],
    ids=[
        "not-object",
        "unknown-value",
        "float",
        "list",
        "null",
        "unknown-category",
        "ldu-is-not-a-category",
        "every-fault-listed",
        "header-no-value",
        "header-bad-value",
        "header-unknown",
    ],
)
def test_unreadable_consent_is_a_400_naming_the_field(body, headers, expected):
    # Given a consent statement the relay cannot read
    # When it is read
    with pytest.raises(BadRequest) as refused:
        read_consent(body, headers)
    # Then 400 names where and why; an unclear consent is never taken as granted
    assert refused.value.status == 400
    assert codes(refused.value) == expected


def test_numbers_one_and_zero_read_as_granted_and_denied():
    # Given 1 / 0 (and their header spellings)
    # When read
    # Then they mean granted / denied; True is not mistaken for anything else
    assert read_consent({"consent": {"ad_storage": 0, "ad_user_data": 1}}, {}) == Consent(ad_storage=False)
    assert read_consent({}, {"x-capi-consent": "ad_storage=0"}) == Consent(ad_storage=False)


# --- apply_consent: identifiers ------------------------------------------------------------------


def test_ad_user_data_denied_keeps_only_ip_and_user_agent():
    # Given customer information, login id, cookies, IP and user agent
    # When ad_user_data is denied
    out = apply_consent(event(), Consent(ad_user_data=False))
    # Then only what the connection shows is left (the Pixel's cookies go too: issue 14, finding 8),
    # and no raw value survives elsewhere
    assert set(out["user_data"]) == {"client_ip_address", "client_user_agent"}
    assert "canary" not in json.dumps(out)


def test_ad_storage_denied_drops_the_pixel_cookies_only():
    # Given an event with cookies
    # When ad_storage is denied
    out = apply_consent(event(), Consent(ad_storage=False))
    # Then fbp and fbc are gone, everything else stays
    assert set(out["user_data"]) == set(USER_DATA) - {"fbp", "fbc"}


def test_both_denied_leave_ip_and_user_agent():
    # Given an event with every kind of identifier
    # When ad_user_data and ad_storage are denied
    out = apply_consent(event(), Consent(ad_user_data=False, ad_storage=False))
    # Then IP and user agent remain: what Meta needs to take a website event
    assert out["user_data"] == {"client_ip_address": "203.0.113.7", "client_user_agent": "Mozilla/5.0"}


def test_ad_personalization_denied_sets_opt_out_over_the_event_own_false():
    # Given events with opt_out absent and opt_out false
    for given in (event(), event(opt_out=False)):
        # When ad_personalization is denied
        out = apply_consent(given, Consent(ad_personalization=False))
        # Then opt_out is true: Meta uses the event for attribution only
        assert out["opt_out"] is True


def test_opt_out_sent_by_the_caller_passes_through():
    # Given an event that opts out on its own
    # When consent grants everything
    out = apply_consent(event(opt_out=True), Consent())
    # Then opt_out reaches Meta unchanged
    assert out["opt_out"] is True


def test_apply_consent_never_changes_the_callers_event():
    # Given an event
    original = event()
    snapshot = json.dumps(original, sort_keys=True)
    # When every restriction is applied
    apply_consent(original, Consent(False, False, False, True), RelayConfig(data_processing_options=("LDU",)))
    # Then the caller's dict is untouched
    assert json.dumps(original, sort_keys=True) == snapshot


def test_full_consent_without_defaults_leaves_every_identifier_and_adds_nothing():
    # Given an event, everything granted and no deployment LDU default (the common case, a fast path)
    original = event()
    snapshot = json.dumps(original, sort_keys=True)
    # When consent is applied
    out = apply_consent(original, Consent(), RelayConfig())
    # Then every identifier is kept, nothing is added (no opt_out, no data processing options)
    assert out == json.loads(snapshot)
    assert "opt_out" not in out and "data_processing_options" not in out
    # And the event given in is unchanged
    assert json.dumps(original, sort_keys=True) == snapshot


def test_user_data_of_the_wrong_shape_is_left_for_validation():
    # Given an event whose user_data is not an object
    # When consent withholds identifiers
    out = apply_consent({"user_data": "x"}, Consent(ad_user_data=False))
    # Then it is left as is for validation's 400
    assert out["user_data"] == "x"


# --- apply_consent: Limited Data Use -------------------------------------------------------------


def test_ldu_default_applies_with_geolocation_where_the_event_sent_nothing():
    # Given a deployment with LDU on by default and no country/state set
    config = RelayConfig(data_processing_options=("LDU",))
    # When an event without data processing options passes
    out = apply_consent(event(), Consent(), config)
    # Then it gets LDU with country/state 0/0 (Meta geolocates)
    assert out["data_processing_options"] == ["LDU"]
    assert out["data_processing_options_country"] == 0
    assert out["data_processing_options_state"] == 0


def test_ldu_default_uses_the_configured_country_and_state():
    # Given a California-only deployment
    config = RelayConfig(data_processing_options=("LDU",), dpo_country=1, dpo_state=1000)
    # When an event passes
    out = apply_consent(event(), Consent(), config)
    # Then it is marked for California
    assert (out["data_processing_options_country"], out["data_processing_options_state"]) == (1, 1000)


def test_event_own_data_processing_options_win_over_the_default():
    # Given an LDU default and an event that explicitly says "not LDU" ([])
    config = RelayConfig(data_processing_options=("LDU",))
    # When it passes
    out = apply_consent(event(data_processing_options=[]), Consent(), config)
    # Then the event's choice stands and no country/state is invented
    assert out["data_processing_options"] == []
    assert "data_processing_options_country" not in out


def test_event_own_country_and_state_are_kept():
    # Given an event with LDU for California
    given = event(
        data_processing_options=["LDU"], data_processing_options_country=1, data_processing_options_state=1000
    )
    # When it passes a geolocating default
    out = apply_consent(given, Consent(), RelayConfig(data_processing_options=("LDU",)))
    # Then its own location stays
    assert (out["data_processing_options_country"], out["data_processing_options_state"]) == (1, 1000)


def test_no_default_and_no_request_flag_adds_nothing():
    # Given a deployment without an LDU default
    # When an event passes
    out = apply_consent(event(), Consent(), RelayConfig())
    # Then no data processing field appears
    assert not any(key.startswith("data_processing") for key in out)


def test_explicit_empty_default_marks_events_as_not_ldu():
    # Given a deployment that says "not LDU" explicitly
    out = apply_consent(event(), Consent(), RelayConfig(data_processing_options=()))
    # When an event passes
    # Then it carries the explicit empty list and no location
    assert out["data_processing_options"] == []
    assert "data_processing_options_state" not in out


def test_request_ldu_flag_adds_ldu_even_over_an_event_that_said_no():
    # Given events with no options and with an explicit []
    for given in (event(), event(data_processing_options=[])):
        # When the request asks for Limited Data Use (or the browser sent Sec-GPC)
        out = apply_consent(given, Consent(limited_data_use=True), RelayConfig())
        # Then LDU is on, with geolocation: the more restrictive wins
        assert out["data_processing_options"] == ["LDU"]
        assert out["data_processing_options_country"] == 0
        assert out["data_processing_options_state"] == 0


def test_malformed_data_processing_options_are_left_for_validation():
    # Given an event whose options are not a list
    # When LDU is requested
    out = apply_consent(event(data_processing_options="LDU"), Consent(limited_data_use=True), RelayConfig())
    # Then the value is left for validation's 400, with nothing added beside it
    assert out["data_processing_options"] == "LDU"
    assert "data_processing_options_country" not in out
