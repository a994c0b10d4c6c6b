"""The Graph sandbox's fault specs (POST /_sandbox/faults): a wrong spec is refused naming its key."""

from __future__ import annotations

import pytest

from local.graph_sandbox import Fault


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        ({"kind": "flood"}, "kind must be one of"),
        (["5xx"], "kind must be one of"),
        ({"kind": "5xx", "rates": 1}, "unknown key(s): rates"),
        ({"kind": "5xx", "rate": -0.5}, "rate must be a non-negative number"),
        ({"kind": "timeout", "delay_s": True}, "delay_s must be a non-negative number"),
        ({"kind": "timeout", "delay_s": "3"}, "delay_s must be a non-negative number"),
        ({"kind": "5xx", "count": 1.5}, "count must be an integer"),
        ({"kind": "reject", "subcode": False}, "subcode must be an integer"),
        ({"kind": "reject", "event_name": 7}, "event_name must be a string"),
        ({"kind": "5xx", "status": 404}, "status must be 5xx"),
        ({"kind": "rate_limit", "code": 5}, "code must be one of"),
    ],
)
def test_a_wrong_fault_spec_is_refused_naming_the_key(spec, names):
    # Given a fault spec a test author got wrong
    # When the sandbox reads it
    # Then it refuses it and says which key and why
    with pytest.raises(ValueError, match=r"^" + names.replace("(", r"\(").replace(")", r"\)")):
        Fault.parse(spec)


def test_a_full_fault_spec_is_read_with_its_types():
    # Given a spec using every key
    spec = {
        "kind": "5xx",
        "rate": 1,
        "count": 3,
        "event_name": "Purchase",
        "status": 502,
        "code": 4,
        "subcode": 2804003,
        "delay_s": 2,
        "accept": True,
        "seed": 11,
    }
    # When the sandbox reads it
    fault = Fault.parse(spec)
    # Then every value is kept, numbers as floats, and unset keys keep their defaults
    assert (fault.kind, fault.rate, fault.count, fault.event_name, fault.status) == (
        "5xx",
        1.0,
        3,
        "Purchase",
        502,
    )
    assert (fault.subcode, fault.delay_s, fault.accept, fault.seed) == (2804003, 2.0, True, 11)
    assert isinstance(fault.rate, float) and isinstance(fault.delay_s, float)
    assert Fault.parse({"kind": "token"}).describe()["count"] is None


def test_a_seeded_fault_fires_the_same_way_every_run():
    # Given two faults from the same seeded spec with a rate below 1
    spec = {"kind": "5xx", "rate": 0.5, "seed": 3}
    first, second = Fault.parse(spec), Fault.parse(spec)
    # When each is asked about the same twenty calls
    # Then they fail the same calls
    assert [first.applies([]) for _ in range(20)] == [second.applies([]) for _ in range(20)]
