"""openapi.yaml is valid OpenAPI and says what the code does: same limits, names, headers and shapes."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from capi_relay import auth, consent, errors, graph_shape, normalize, parse
from capi_relay import validate as domain_validate
from capi_relay.model import REQUEST_OPTIONS, IngestRequest, RelayConfig

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
LIMITS = RelayConfig()  # the domain's defaults are the deployment's limits


@cache
def spec() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def schema(name: str) -> dict:
    return spec()["components"]["schemas"][name]


def validator(name: str) -> OAS30Validator:
    """A validator for one component, resolving its $refs inside the spec."""
    return OAS30Validator({"$ref": f"#/components/schemas/{name}", "components": spec()["components"]})


def operation() -> dict:
    return spec()["paths"]["/events"]["post"]


def walk(node: Any, path: str = "") -> list[tuple[str, dict]]:
    """Every schema object under node, with a readable path (follows no $ref)."""
    found = []
    if isinstance(node, dict):
        if "type" in node or "maxLength" in node:
            found.append((path, node))
        for key, value in node.items():
            found += walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += walk(value, f"{path}[{index}]")
    return found


REQUEST_SCHEMAS = (
    "BatchBody",
    "SingleEventBody",
    "TestEventCode",
    "PixelId",
    "Consent",
    "Event",
    "UserData",
    "UserDataValue",
    "UserDataScalar",
    "CustomData",
)


def test_spec_is_valid_openapi():
    # Given openapi.yaml
    # When the OpenAPI validator reads it
    # Then it raises nothing, and it is 3.0 (what API Gateway HTTP APIs import)
    validate(spec())
    assert spec()["openapi"].startswith("3.0.")


def test_declared_limits_equal_the_domains_limits():
    # Given the limits the spec declares and the domain's defaults
    declared = spec()["x-capi-limits"]
    # When they are compared
    # Then they are the same numbers
    assert declared == {
        "max_body_bytes": LIMITS.max_body_bytes,
        "max_events": LIMITS.max_events,
        "max_string": LIMITS.max_string,
        "max_url": LIMITS.max_url,
        "max_values": LIMITS.max_values,
        "max_depth": LIMITS.max_depth,
        "signature_window_s": auth.SIGNATURE_WINDOW_S,
        "browser_max_events": LIMITS.browser_max_events,
    }


def test_schema_limits_equal_the_domains_limits():
    # Given the schemas that carry a limit
    # When they are read
    # Then each equals the domain's constant
    assert schema("BatchBody")["properties"]["data"]["maxItems"] == LIMITS.max_events
    list_branch = next(b for b in schema("UserDataValue")["oneOf"] if b.get("type") == "array")
    assert list_branch["maxItems"] == LIMITS.max_values
    string_branch = next(b for b in schema("UserDataScalar")["oneOf"] if b.get("type") == "string")
    assert string_branch["maxLength"] == LIMITS.max_string
    assert schema("TestEventCode")["maxLength"] == LIMITS.max_string


def test_only_the_domains_url_fields_get_the_url_length():
    # Given every string schema in the request, by path
    long_fields = set()
    for name in REQUEST_SCHEMAS:
        for path, node in walk(schema(name), name):
            if node.get("maxLength") == LIMITS.max_url:
                long_fields.add(path.rsplit(".", 1)[-1])
            # When a string's length is bounded
            # Then the bound is one of the two the relay enforces
            elif "maxLength" in node:
                assert node["maxLength"] == LIMITS.max_string, path
    # And the URL bound goes to exactly the fields the parser treats as URLs
    assert long_fields == set(parse._LONG_STRINGS)


def test_every_free_string_in_the_request_is_bounded():
    # Given every string schema in the request
    for name in REQUEST_SCHEMAS:
        for path, node in walk(schema(name), name):
            if node.get("type") != "string":
                continue
            # When it is neither an enum nor a pattern of fixed length
            # Then it declares a maxLength, so generated and documented inputs respect the limits
            fixed = re.fullmatch(r"\^\S*\{\d+(,\d+)?\}\$", node.get("pattern", ""))
            assert "maxLength" in node or "enum" in node or fixed, path


def test_user_data_keys_are_the_normalizers_keys():
    # Given the user_data properties in the spec
    documented = set(schema("UserData")["properties"])
    # When compared with the fields normalize_user_data hashes or passes through
    # Then they are the same set
    assert documented == set(normalize.HASHED_FIELDS | normalize.PASSTHROUGH_FIELDS)


def test_enums_are_the_validators_values():
    # Given the enumerations the validator enforces
    event = schema("Event")["properties"]
    # When compared with the spec's
    # Then they agree
    assert event["action_source"]["enum"] == list(domain_validate.ACTION_SOURCES)
    assert event["data_processing_options_country"]["enum"] == list(domain_validate.DPO_COUNTRIES)
    assert event["data_processing_options_state"]["enum"] == list(domain_validate.DPO_STATES)
    assert event["data_processing_options"]["items"]["enum"] == [consent.LDU]


def test_consent_names_are_the_consent_modules():
    # Given the spec's consent object
    documented = schema("Consent")["properties"]
    # When compared with what read_consent accepts
    # Then the names are the same
    assert set(documented) == {*consent.CATEGORIES, *consent.FLAGS}
    assert schema("Consent")["additionalProperties"] is False  # unknown names are a 400


def test_headers_are_the_ones_the_code_reads():
    # Given the headers the spec documents (parameters and security schemes)
    headers = {p["name"].lower() for p in operation()["parameters"] if p["in"] == "header"}
    schemes = spec()["components"]["securitySchemes"].values()
    headers |= {s["name"].lower() for s in schemes if s["in"] == "header"}
    # When compared with the names auth and consent read
    # Then they are the same
    assert headers == {
        auth.API_KEY_HEADER,
        auth.SIGNATURE_HEADER,
        auth.TIMESTAMP_HEADER,
        consent.CONSENT_HEADER,
        consent.GPC_HEADER,
    }


def test_documented_statuses_are_the_public_contracts():
    # Given DESIGN.md §3's statuses
    # When the spec's responses are listed
    # Then they are exactly those
    assert set(operation()["responses"]) == {"200", "202", "400", "401", "403", "413", "429", "503"}


@pytest.mark.parametrize(
    "error_class", [errors.BadRequest, errors.PayloadTooLarge, errors.Unauthorized, errors.Forbidden]
)
def test_error_bodies_match_the_documented_shape(error_class):
    # Given an error the domain raises, for the whole request and for one event
    raised = error_class(
        [
            errors.FieldError(None, "headers.x-api-key", "code_a", "m"),
            errors.FieldError(3, "f.g", "code_b", "m"),
        ]
    )
    # When its body is checked against the response schema of its status
    response = operation()["responses"][str(raised.status)]["content"]["application/json"]["schema"]
    check = OAS30Validator({**response, "components": spec()["components"]})
    # Then it conforms, and the schema requires every field of FieldError
    check.validate(raised.body())
    required = set(schema("FieldError")["required"])
    assert required == set(errors.FieldError._fields)


def test_error_schema_refuses_a_body_without_field_and_code():
    # Given an error body missing the fields clients rely on
    # When it is checked
    # Then the schema refuses it (so the fuzz check would catch such a response)
    assert not validator("Errors").is_valid({"errors": [{"message": "nope"}]})
    assert not validator("Errors").is_valid({"message": "Internal Server Error"})


def test_examples_are_valid_bodies_for_the_spec_and_the_parser():
    # Given the request examples in the spec
    examples = operation()["requestBody"]["content"]["application/json"]["examples"]
    for name, example in examples.items():
        body = example["value"]
        # When they are checked by the schema and parsed by the domain
        validator("Body").validate(body)
        parsed = parse.parse_body(json.dumps(body).encode(), LIMITS)
        # Then both take them
        assert parsed.errors == [], name


@pytest.mark.parametrize(
    "body",
    [
        {"event_name": "Lead", "user_data": {"em": {"$ne": 1}}},
        {"event_name": "Lead", "user_data": {"em": ["a"] * 101}},
        {"event_name": "Lead", "event_source_url": "https://x.example/" + "a" * 8192},
        {"event_name": "a" * 2049},
        {"data": []},
        {"data": [{"event_name": "Lead"}] * 1001},
        {"event_name": "Lead", "data": "x"},
        {"event_name": "Lead", "consent": {"tracking": "denied"}},
        [],
    ],
    ids=[
        "operator-object",
        "too-many-values",
        "url-too-long",
        "string-too-long",
        "empty-batch",
        "too-many-events",
        "data-not-list",
        "unknown-consent",
        "not-object",
    ],
)
def test_bodies_the_relay_refuses_are_invalid_in_the_spec(body):
    # Given a body the relay answers with a 400 or 413
    # When the spec's schema checks it
    # Then it is invalid there too
    assert not validator("Body").is_valid(body)


def test_request_options_are_documented_where_the_parser_reads_them():
    # Given a batch and a single event carrying Meta's request-level parameters
    options = {name: f"{name}-value" for name in REQUEST_OPTIONS}
    batch = {"data": [{"event_name": "Lead"}], **options}
    single = {"event_name": "Lead", **options}
    for body in (batch, single):
        # Then the spec takes them, and the parser keeps them for Meta
        validator("Body").validate(body)
        assert parse.parse_body(json.dumps(body).encode(), LIMITS).options == options
        # ... and neither takes one that is not a string
        assert not validator("Body").is_valid({**body, "upload_tag": 7})
        with pytest.raises(errors.BadRequest):
            parse.parse_body(json.dumps({**body, "upload_tag": 7}).encode(), LIMITS)


# --- the Graph door: POST /{version}/{pixel_id}/events -------------------------------------------------


def graph_operation() -> dict:
    return spec()["paths"]["/{version}/{pixel_id}/events"]["post"]


def test_graph_parameters_are_the_ones_graph_shape_reads():
    # Given the parameters the spec documents for the Graph door
    documented = set(schema("GraphParams")["properties"])
    # Then they are Meta's: data, the token and its proof, the test code and the optional upload fields
    assert documented == {
        "data",
        "access_token",
        "appsecret_proof",
        "test_event_code",
        *REQUEST_OPTIONS,
    }
    assert {"access_token"} == {
        s["name"] for s in spec()["components"]["securitySchemes"].values() if s["in"] == "query"
    }


def test_graph_example_is_what_graph_shape_turns_into_a_relay_body():
    # Given the documented curl example, form-encoded as curl sends it
    example = graph_operation()["requestBody"]["content"]["application/x-www-form-urlencoded"]["examples"]
    form = example["curl"]["value"]
    OAS30Validator(schema("GraphParams")).validate(form)
    request = IngestRequest(
        body=urlencode(form).encode(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    # When graph_shape reads it
    relayed = graph_shape.relay_request(request, "/v24.0/1234567890/events", LIMITS)
    # Then the relay gets its own body, valid for /events, and the key as X-Api-Key
    body = json.loads(relayed.body)
    validator("Body").validate(body)
    assert body["pixel_id"] == "1234567890" and body["data"][0]["event_name"] == "Purchase"
    assert body["partner_agent"] == form["partner_agent"]  # forwarded to Meta, not dropped
    assert relayed.headers["x-api-key"] == form["access_token"]


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (
            401,
            {"errors": [{"index": None, "field": "access_token", "code": "api_key_invalid", "message": "m"}]},
        ),
        (
            403,
            {"errors": [{"index": None, "field": "pixel_id", "code": "pixel_not_allowed", "message": "m"}]},
        ),
        (
            400,
            {"errors": [{"index": 1, "field": "event_name", "code": "event_name_missing", "message": "m"}]},
        ),
        (503, {"errors": [{"index": None, "field": "request", "code": "unavailable", "message": "m"}]}),
    ],
)
def test_graph_answers_match_the_documented_error_shape(status, body):
    answered, envelope = graph_shape.answer(status, body, "trace-1")
    documented = graph_operation()["responses"][str(answered)]["content"]["application/json"]["schema"]
    OAS30Validator({**documented, "components": spec()["components"]}).validate(envelope)


def test_graph_success_matches_the_documented_shape():
    body = {"events_received": 2, "event_ids": ["a", "b"], "fbtrace_id": "Ax", "warnings": []}
    status, answer = graph_shape.answer(200, body, "trace-1")
    validator("GraphEventsReceived").validate(answer)
    assert (status, answer["events_received"], answer["fbtrace_id"]) == (200, 2, "Ax")


# codes of issue 14 (closed default, browser capability, privacy, encoding), each with the module raising it
DOCUMENTED_CODES = {
    "credentials_missing": "auth.py",
    "action_source_not_allowed": "auth.py",
    "too_many_events": "auth.py",
    "unsigned_on_signed_request": "auth.py",
    "client_ip_address_ignored": "enrich.py",
    "unknown_field_dropped": "privacy_filter.py",
    "pii_removed": "privacy_filter.py",
    "encoding_invalid": "parse.py",
    "number_out_of_range": "parse.py",
}


@pytest.mark.parametrize(("code", "module"), sorted(DOCUMENTED_CODES.items()))
def test_access_and_privacy_codes_are_in_the_code_and_the_spec(code, module):
    # Given a stable code a caller may meet
    source = (Path(auth.__file__).parent / module).read_text(encoding="utf-8")
    # When the module and the spec are read
    # Then the module emits it and the spec documents it
    assert f'"{code}"' in source
    assert f"`{code}`" in SPEC_PATH.read_text(encoding="utf-8")
