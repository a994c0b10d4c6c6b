"""Realistic, reproducible conversion events: the same fixed-seed inputs for our relay and for Meta's SDK.

Every event carries em, fn, ln, ct, st, zp, country, external_id, fbp, client IP and user agent, the way
a shop's backend sends them (mixed case, stray spaces, accents, full state names, ZIP+4); every other
event also carries a phone number, in national or international format. Values are synthetic (example
domains, 555-01xx numbers), never real people. Countries are ISO codes because Meta's SDK raises on a
country name, and both sides must get identical input.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
import uuid

SEED = 20261125
PIXEL_ID = "1234567890"

# (country as sent, city, state as sent, zip as sent, phone formats: {} takes random subscriber digits)
_PLACES = [
    ("US", "San Francisco", "CA", "94103", ["(415) 555-{4}", "+1 415-555-{4}", "415 555 {4}"]),
    ("us", "New York", "New York", "10001-1234", ["212-555-{4}", "+1 (212) 555-{4}", "212555{4}"]),
    (" US", "Austin", "tx", "78701", ["+1 512 555 {4}", "(512) 555-{4}"]),
    ("US", "Washington", "District of Columbia", "20500", ["+1202555{4}", "202 555 {4}"]),
    ("GB", "London", "England", "SW1A 1AA", ["+44 20 7946 0{3}", "020 7946 0{3}"]),
    ("DE", "München", "Bayern", "80331", ["+49 89 {7}", "089 {7}"]),
    ("CA", "Toronto", "ON", "M5V 3L9", ["+1 416-555-{4}", "(416) 555-{4}"]),
    ("ca", "Montréal", "Québec", "H2Y 1C6", ["514-555-{4}", "+1 514 555 {4}"]),
    ("FR", "Paris", "Île-de-France", "75001", ["+33 1 {2} {2} {2} {2}", "01 {2} {2} {2} {2}"]),
    ("BR", "São Paulo", "SP", "01310-100", ["+55 11 9{4}-{4}", "(11) 9{4}-{4}"]),
]
_DIGIT_SLOT = re.compile(r"\{(\d)\}")
_FIRST = ["John", "Mary", "José", "Zoë", "François", "Anna-Lena", "Ólafur", "Wei", "Priya", "Jean-Luc"]
_LAST = ["Smith", "Müller", "O'Brien", "García", "Nguyễn", "van der Berg", "Kowalski", "Dubois", "Silva"]
_DOMAINS = ["example.com", "Example.org", "mail.example.net", "EXAMPLE.co.uk"]
_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
]
_EVENTS = ["Purchase", "AddToCart", "ViewContent", "Lead", "InitiateCheckout"]


def _fuzz(rng: random.Random, value: str) -> str:
    """What real forms send: random case and stray whitespace around the value."""
    value = rng.choice([value, value.upper(), value.lower(), value.title()])
    return rng.choice(["", " ", "  "]) + value + rng.choice(["", " ", "\t"])


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return f"2001:db8:{rng.randrange(0x10000):x}::{rng.randrange(0x10000):x}"
    return f"203.0.113.{rng.randrange(1, 255)}"  # TEST-NET-3: documentation addresses only


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _phone(rng: random.Random, pattern: str) -> str:
    return _DIGIT_SLOT.sub(
        lambda slot: "".join(rng.choice("0123456789") for _ in range(int(slot[1]))), pattern
    )


def make_event(rng: random.Random, index: int, now: int) -> dict:
    """One website conversion in Meta's field names, raw (unhashed) customer data.

    Each person is new (email, phone, external_id unique per `index`), as in real traffic, so no cache
    can answer for them; names, cities, states and countries repeat, as they do in real traffic.
    """
    country, city, state, zip_code, phones = rng.choice(_PLACES)
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    local = _ascii(f"{first}.{last}".replace(" ", "").replace("'", ""))  # mailboxes are ASCII
    user_data = {
        "em": _fuzz(rng, f"{local}.{index}@{rng.choice(_DOMAINS)}"),
        "fn": _fuzz(rng, first),
        "ln": _fuzz(rng, last),
        "ct": _fuzz(rng, city),
        "st": _fuzz(rng, state),
        "zp": rng.choice([zip_code, f" {zip_code} "]),
        "country": country,
        "external_id": f"cust-{index:08d}",
        "fbp": f"fb.1.{now * 1000 - rng.randrange(10**9)}.{rng.randrange(10**9, 10**10)}",
        "client_ip_address": _ip(rng),
        "client_user_agent": rng.choice(_AGENTS),
    }
    if index % 2 == 0:
        user_data["ph"] = _phone(rng, rng.choice(phones))
    name = rng.choice(_EVENTS)
    custom_data: dict = {"content_ids": [f"SKU-{rng.randrange(10**5):05d}"], "content_type": "product"}
    if name == "Purchase" or rng.random() < 0.5:
        custom_data["value"] = round(rng.uniform(5, 500), 2)
        custom_data["currency"] = rng.choice(["USD", "eur", "GBP", "cad", "BRL"])
    return {
        "event_name": name,
        "event_time": now - rng.randrange(3600),
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_source_url": f"https://shop.example.com/p/{rng.randrange(10**4)}?utm_source=ads",
        "action_source": "website",
        "user_data": user_data,
        "custom_data": custom_data,
    }


def generate(n: int = 1000, *, now: int, seed: int = SEED, start: int = 0) -> list[dict]:
    """`n` events for people `start` … `start + n - 1`; identical for a given seed and start.

    Only `event_time` and `fbp` follow `now`, so that the events stay inside Meta's 7-day window.
    """
    rng = random.Random(f"{seed}/{start}")
    return [make_event(rng, start + i, now) for i in range(n)]


def request_body(events: list[dict]) -> bytes:
    """The POST /events body a backend would send for a batch."""
    return json.dumps({"data": events}, ensure_ascii=False).encode()
