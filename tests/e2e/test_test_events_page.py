"""The Graph sandbox's Test Events page, driven as a user checks an integration: the example shop in
headless Chromium sends through the real local stack (`python -m local.run`), and a second tab shows
what Meta (the sandbox) got — pairs, refusals, retries, LDU — and what the shop's relay answered.

Each test tags its events with its own test_event_code and filters the page by it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local import aws
from tests.e2e.browser_support import (  # noqa: F401  (the fixtures)
    Site,
    chromium_fixture,
    page_fixture,
    wait_for,
)
from tests.e2e.local_stack import LocalStackProcess

pytestmark = pytest.mark.browser

PIXEL_ID = "1234567890"
TOKEN = "test-events-token-5e1"
XSS = "<img src=x onerror=window.pwned=1>"  # fits Meta's 50-character event names
XSS_TITLE = "<img src=x onerror=\"document.title='pwned'\">"


@pytest.fixture(scope="module")
def stack_server(shop: Site) -> Iterator[LocalStackProcess]:
    with LocalStackProcess.running(
        META_ACCESS_TOKEN=TOKEN,
        META_PIXEL_ID=PIXEL_ID,
        ALLOWED_ORIGINS=shop.origin,
        RETRY_BASE_DELAY_S="0.2",
        MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR="false",
    ) as stack:
        yield stack


@pytest.fixture
def stack(stack_server: LocalStackProcess) -> LocalStackProcess:
    stack_server.reset(TOKEN)
    return stack_server


def open_shop(page: Any, shop: Site, stack: LocalStackProcess, code: str, **query: str) -> None:
    params = {
        "endpoint": stack.info["events_url"],
        "sandbox": stack.info["sandbox"],
        "test_event_code": code,
        **query,
    }
    page.goto(f"{shop.origin}/web/example.html?" + "&".join(f"{k}={v}" for k, v in params.items()))


def open_test_events(page: Any, stack: LocalStackProcess, code: str) -> Any:
    """The Test Events page in a second tab of the same browser, filtered by this test's code."""
    tab = page.context.new_page()
    tab.goto(f"{stack.info['sandbox']}/?test_event_code={code}")
    return tab


def rows(tab: Any, event_name: str, count: int = 1) -> list[dict]:
    """Wait until the page shows `count` rows for this event; what each row shows, as a user reads it."""
    script = """name => [...document.querySelectorAll('#events details.event')]
        .filter(d => d.querySelector('.name').textContent === name)
        .map(d => ({id: d.dataset.id, text: d.innerText, classes: d.className,
                    badges: [...d.querySelectorAll('.badge')].map(b => b.textContent),
                    json: d.querySelector('pre.json').textContent}))"""
    return wait_for(
        lambda: (found := tab.evaluate(script, event_name)) and len(found) >= count and found,
        what=f"{count} {event_name} row(s) on the Test Events page",
    )


def relay_answer(page: Any, event_id: str, contains: str) -> str:
    """What the example shop shows as the relay's answer for this event, once it contains `contains`."""
    script = "id => (document.querySelector(`tr[data-event-id=\"${id}\"] .state`) || {}).textContent || ''"
    return wait_for(
        lambda: contains in (text := page.evaluate(script, event_id)) and text,
        what=f"the shop's row for {event_id} to say {contains!r}",
    )


def last_tracked_id(page: Any, event_name: str) -> str:
    return next(
        call[3]["eventID"]
        for call in reversed(page.evaluate("fbqCalls"))
        if call[0] == "track" and call[1] == event_name
    )


def test_pixel_and_relay_events_show_as_a_deduplicated_pair_with_what_meta_received(shop, stack, code, page):
    # Given the example shop, its stand-in Pixel reporting to the sandbox
    open_shop(page, shop, stack, code)
    # When a visitor leaves an email and buys
    page.fill("#email", "pair-buyer@example.com")
    page.click("#buy")
    event_id = last_tracked_id(page, "Purchase")
    # Then the shop shows the relay's answer for that event, heard through capiRelay.init({onResult}):
    # the page's fetch is the browser's own, not wrapped to spy on the snippet
    assert relay_answer(page, event_id, "sent to Meta").startswith("200 ")
    assert page.evaluate("String(window.fetch)") == "function fetch() { [native code] }"
    # And the Test Events page shows the browser and the server event, both marked as a deduplicated pair
    tab = open_test_events(page, stack, code)
    pair = rows(tab, "Purchase", count=2)
    by_source = {("Server" if "Server" in r["badges"] else "Browser"): r for r in pair}
    assert set(by_source) == {"Server", "Browser"}
    assert all("Deduplicated" in r["badges"] and f"Test: {code}" in r["badges"] for r in pair)
    server = by_source["Server"]
    assert event_id in server["text"]
    # And opening the server event shows exactly the JSON Meta received: hashed email, IP, UA, custom_data
    tab.click(f"details[data-id='{server['id']}'] summary")
    assert tab.is_visible(f"details[data-id='{server['id']}'] pre.json")
    received = json.loads(server["json"])
    [at_meta] = [e["event"] for e in stack.graph_events(code)]
    assert received == at_meta
    assert received["user_data"]["em"] == hashlib.sha256(b"pair-buyer@example.com").hexdigest()
    assert received["user_data"]["client_ip_address"] == "127.0.0.1"
    assert received["user_data"]["client_user_agent"] == page.evaluate("navigator.userAgent")
    assert received["custom_data"]["currency"] == "EUR"
    assert "pair-buyer" not in tab.content()
    # And its match-key score names the keys it lacks
    detail = tab.inner_text(f"details[data-id='{server['id']}']")
    assert "/10" in server["text"]
    assert re.search(r"Missing\s+ph, ", detail)


def test_an_event_meta_refuses_shows_its_graph_code_in_both_pages(shop, stack, code, page):
    # Given Meta refuses AddToCart events (the sandbox's reject fault)
    stack.sandbox("POST", "/_sandbox/faults", json={"kind": "reject", "event_name": "AddToCart"})
    open_shop(page, shop, stack, code)
    # When the visitor adds to cart
    page.click("#cart")
    event_id = last_tracked_id(page, "AddToCart")
    # Then the shop shows the refusal with Meta's code
    answer = relay_answer(page, event_id, "refused")
    assert answer.startswith("400 ") and "graph code 100, subcode 2804019" in answer
    # And the Test Events page shows the server event as refused, with code, subcode and Meta's message
    tab = open_test_events(page, stack, code)
    [server] = [r for r in rows(tab, "AddToCart", count=2) if "Server" in r["badges"]]
    assert "Refused: code 100/2804019" in server["badges"]
    assert "Deduplicated" not in server["badges"]  # Meta has nothing to pair the Pixel's event with
    tab.click(f"details[data-id='{server['id']}'] summary")
    detail = tab.inner_text(f"details[data-id='{server['id']}']")
    assert "HTTP 400, code 100, subcode 2804019: Invalid parameter" in detail
    assert "The sandbox was told to reject this request." in detail
    assert stack.graph_events(code) == []


def test_limited_data_use_events_carry_the_ldu_badge(shop, stack, code, page):
    # Given a visitor who chose Limited Data Use
    open_shop(page, shop, stack, code)
    page.click("[data-consent=ldu]")
    # When they view the product
    page.click("#view")
    # Then the server event is marked LDU and its JSON holds Meta's data processing options
    tab = open_test_events(page, stack, code)
    [server] = [r for r in rows(tab, "ViewContent", count=2) if "Server" in r["badges"]]
    assert "LDU" in server["badges"]
    received = json.loads(server["json"])
    assert received["data_processing_options"] == ["LDU"]
    assert (received["data_processing_options_country"], received["data_processing_options_state"]) == (0, 0)


def test_a_delivery_retried_after_a_5xx_shows_its_attempt_number(shop, stack, code, page):
    # Given Meta answers the next call with a 503
    stack.sandbox("POST", "/_sandbox/faults", json={"kind": "5xx", "status": 503, "count": 1})
    open_shop(page, shop, stack, code)
    # When the visitor views the product
    page.click("#view")
    event_id = last_tracked_id(page, "ViewContent")
    # Then the shop says the relay queued it, and the Test Events page shows it arrived on attempt 2
    assert relay_answer(page, event_id, "queued").startswith("202 ")
    tab = open_test_events(page, stack, code)
    server = wait_for(
        lambda: [r for r in rows(tab, "ViewContent", count=2) if "Attempt 2" in r["badges"]],
        what="the retried delivery",
    )[0]
    assert "Server" in server["badges"] and "Deduplicated" in server["badges"]
    tab.click(f"details[data-id='{server['id']}'] summary")
    detail = tab.inner_text(f"details[data-id='{server['id']}']")
    assert "attempt 1" in detail and "failed — HTTP 503, code 2" in detail
    assert "attempt 2" in detail and "received" in detail
    [at_meta] = stack.graph_events(code)
    assert at_meta["event"]["event_id"] == event_id and at_meta["attempt"] == 2


def test_filter_by_event_name_updates_the_list_without_reloading(shop, stack, code, page):
    # Given three different events from the shop
    open_shop(page, shop, stack, code)
    for button in ("#view", "#cart", "#custom"):
        page.click(button)
    tab = open_test_events(page, stack, code)
    rows(tab, "NewsletterSignup", count=2)
    tab.evaluate("window.sameDocument = true")
    # When the user picks one event name
    tab.select_option("#f-event", "AddToCart")
    # Then only that event's rows remain, the filters are in the address, and the page was not reloaded
    wait_for(
        lambda: (
            set(tab.eval_on_selector_all("#events .name", "ns => ns.map(n => n.textContent)"))
            == {"AddToCart"}
        ),
        what="only AddToCart rows",
    )
    assert tab.evaluate("window.sameDocument") is True
    assert "event_name=AddToCart" in tab.url and f"test_event_code={code}" in tab.url
    # And clearing both filters brings every row back
    tab.select_option("#f-code", "")
    tab.select_option("#f-event", "")
    wait_for(lambda: len(tab.query_selector_all("#events details.event")) >= 6, what="all rows again")


def test_markup_in_event_data_is_shown_as_text_and_never_runs(shop, stack, code, page):
    # Given an attacker who posts straight to the relay and to the sandbox's Pixel endpoint with markup
    event = {
        "event_name": XSS,
        "event_id": XSS,
        "event_source_url": shop.origin + "/x",
        "action_source": "website",
        "user_data": {"client_user_agent": XSS, "external_id": "attacker"},
        "custom_data": {"note": XSS_TITLE},
    }
    relay = requests.post(
        stack.info["events_url"], json={"test_event_code": code, "data": [event]}, timeout=10
    )
    assert relay.status_code == 200, relay.text
    pixel = requests.post(
        stack.info["sandbox"] + "/_sandbox/pixel",
        data=json.dumps(
            {"event_name": XSS, "event_id": XSS, "custom_data": {"x": XSS}, "test_event_code": code}
        ),
        timeout=10,
    )
    assert pixel.status_code == 200
    # When the user opens the Test Events page and both events
    tab = open_test_events(page, stack, code)
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    found = rows(tab, XSS, count=2)
    for row in found:
        tab.click(f"details[data-id='{row['id']}'] summary")
    # Then the markup is shown as text, no element was made from it, and nothing ran
    assert all(XSS in r["text"] for r in found)
    notes = [tab.inner_text(f"details[data-id='{r['id']}'] pre.json") for r in found]
    assert any(XSS_TITLE.replace('"', '\\"') in n for n in notes) and any('"x": "' + XSS in n for n in notes)
    assert tab.evaluate("document.querySelectorAll('#events img').length") == 0
    assert tab.evaluate("window.pwned") is None
    assert tab.title() != "pwned"
    assert errors == []


def test_the_shop_shows_when_the_relay_is_down_and_what_is_held_for_consent(shop, stack, code, page):
    # Given the shop pointed at a relay that is not running
    dead = f"http://127.0.0.1:{aws.free_port()}/events"
    open_shop(page, shop, stack, code, endpoint=dead)
    # When the visitor views the product
    page.click("#view")
    event_id = last_tracked_id(page, "ViewContent")
    # Then the shop says the relay is unreachable, and after the snippet's one retry, that it gave up
    assert "relay unreachable" in relay_answer(page, event_id, "gave up")
    # Given a visitor who has not consented, on a shop whose relay is up
    open_shop(page, shop, stack, code, consent="denied")
    # When they add to cart
    page.click("#cart")
    event_id = page.eval_on_selector("#event-rows tr", "tr => tr.dataset.eventId")
    # Then the event is labelled as held, and once they consent it is sent
    assert relay_answer(page, event_id, "held until consent") == "held until consent"
    assert stack.graph_events(code) == []
    page.click("[data-consent=granted]")
    assert relay_answer(page, event_id, "sent to Meta").startswith("200 ")


def test_pixel_reports_from_other_origins_are_refused(shop, stack, code):
    # Given a page on an origin the relay does not allow
    body = json.dumps({"event_name": "Purchase", "event_id": "forged", "test_event_code": code})
    # When it reports a Pixel event
    refused = requests.post(
        stack.info["sandbox"] + "/_sandbox/pixel",
        data=body,
        headers={"Origin": "https://evil.example"},
        timeout=5,
    )
    allowed = requests.post(
        stack.info["sandbox"] + "/_sandbox/pixel", data=body, headers={"Origin": shop.origin}, timeout=5
    )
    # Then it is refused without CORS headers and not shown; the shop's own origin is accepted
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == shop.origin
    shown = stack.sandbox("GET", f"/_sandbox/test-events?test_event_code={code}")["events"]
    assert [r["event_id"] for r in shown] == ["forged"]
