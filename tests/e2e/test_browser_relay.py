"""The snippet in headless Chromium, through `python -m local.run` (the real ingest handler behind the
local API server) to the Graph sandbox: what a shop page sends is what Meta receives.

The shop is served from its own origin, allowed by ALLOWED_ORIGINS; a second shop on another origin is
not. Each test tags its events with its own test_event_code and reads them back from the sandbox.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser_support import (  # noqa: F401  (the fixtures)
    FBQ_STUB,
    Site,
    chromium_fixture,
    init,
    page_fixture,
    requests_made_during,
    wait_for,
)
from tests.e2e.local_stack import LocalStackProcess

pytestmark = pytest.mark.browser

PIXEL_ID = "1234567890"
TOKEN = "browser-token-81d2"


@pytest.fixture(scope="module")
def stranger() -> Iterator[Site]:
    """Another site, not on the relay's allow-list."""
    server = Site().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack_server(shop: Site) -> Iterator[LocalStackProcess]:
    """`make run` as a user starts it, allowing the shop's origin only."""
    with LocalStackProcess.running(
        META_ACCESS_TOKEN=TOKEN,
        META_PIXEL_ID=PIXEL_ID,
        META_API_VERSION="v24.0",
        ALLOWED_ORIGINS=shop.origin,
        RETRY_BASE_DELAY_S="0.2",
        MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR="false",
    ) as stack:
        yield stack


@pytest.fixture
def stack(stack_server: LocalStackProcess, request: pytest.FixtureRequest) -> LocalStackProcess:
    stack_server.reset(TOKEN)
    return stack_server


def arrived(stack: LocalStackProcess, code: str, count: int = 1) -> list[dict]:
    """Wait until `count` events with this code reached the sandbox; return their bodies."""
    found = wait_for(
        lambda: len(stack.graph_events(code)) >= count and stack.graph_events(code),
        what=f"{count} event(s) {code} at the Graph sandbox",
    )
    return [item["event"] for item in found]


def shop_page(
    shop: Site,
    stack: LocalStackProcess,
    code: str,
    path: str,
    body: str = "",
    *,
    head: str = "",
    **options: Any,
) -> str:
    return shop.page(
        path, body, head=FBQ_STUB + head + init(stack.info["events_url"], testEventCode=code, **options)
    )


def test_pixel_and_meta_get_the_same_event_id_and_meta_only_the_hash(shop, stack, code, page):
    # Given a shop page with the Pixel and the snippet, served from an allowed origin
    url = shop_page(shop, stack, code, "/product.html")
    page.goto(url)
    # When the visitor buys, leaving an email
    event_id = page.evaluate(
        "capiRelay.track('Purchase', {value: 89.9, currency: 'EUR'}, {em: ' Shopper@Example.com '})"
    )
    # Then Meta gets the event under the id the Pixel got, enriched, with the email hashed
    [event] = arrived(stack, code)
    assert page.evaluate("fbqCalls")[0] == [
        "track",
        "Purchase",
        {"value": 89.9, "currency": "EUR"},
        {"eventID": event_id},
    ]
    assert event["event_id"] == event_id
    assert event["event_source_url"] == url
    assert event["custom_data"] == {"value": 89.9, "currency": "EUR"}
    user_data = event["user_data"]
    assert user_data["em"] == hashlib.sha256(b"shopper@example.com").hexdigest()
    assert user_data["client_user_agent"] == page.evaluate("navigator.userAgent")
    assert user_data["client_ip_address"] == "127.0.0.1"
    assert re.fullmatch(r"fb\.1\.\d{13}\.\d{10}", user_data["fbp"])  # made by the snippet: no Pixel cookie
    assert "shopper" not in repr(event).lower()


@pytest.mark.parametrize(
    ("cookies", "query", "want_fbp", "want_fbc"),
    [
        (
            {"_fbp": "fb.1.1700000000000.1111111111", "_fbc": "fb.1.1700000000001.IwAR0cookie"},
            "",
            "fb.1.1700000000000.1111111111",
            "fb.1.1700000000001.IwAR0cookie",
        ),
        (
            {"_fbp": "fb.1.1700000000000.2222222222"},
            "?fbclid=IwAR0fromAd",
            "fb.1.1700000000000.2222222222",
            r"fb\.1\.\d{13}\.IwAR0fromAd",
        ),
    ],
    ids=["pixel-cookies", "fbclid-in-url"],
)
def test_pixel_cookies_and_fbclid_reach_meta_as_fbp_and_fbc(
    shop, stack, code, page, cookies, query, want_fbp, want_fbc
):
    # Given a visitor with the Pixel's cookies, or one who just arrived from an ad
    page.context.add_cookies([{"name": k, "value": v, "url": shop.origin} for k, v in cookies.items()])
    page.goto(shop_page(shop, stack, code, "/landing.html") + query)
    # When an event is tracked
    page.evaluate("capiRelay.track('ViewContent', {content_ids: ['SHOE-42'], content_type: 'product'})")
    # Then Meta receives the browser ids
    [event] = arrived(stack, code)
    assert event["user_data"]["fbp"] == want_fbp
    assert re.fullmatch(want_fbc, event["user_data"]["fbc"])


def test_json_post_from_an_allowed_origin_passes_the_cors_preflight(shop, stack, code, page):
    # Given shop code that posts to the relay itself, as application/json (which needs a CORS preflight)
    page.goto(shop.page("/custom-code.html", ""))
    # When it posts an event
    answer = page.evaluate(
        """async ([url, code]) => {
        const res = await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({test_event_code: code, data: [{event_name: 'Lead', event_id: 'json-1',
              event_time: Math.floor(Date.now() / 1000), event_source_url: location.href,
              action_source: 'website', user_data: {client_user_agent: navigator.userAgent}}]})});
        return {status: res.status, body: await res.json()};
    }""",
        [stack.info["events_url"], code],
    )
    # Then the preflight let it through, the browser may read the answer, and Meta has the event
    assert answer["status"] == 200
    assert answer["body"]["event_ids"] == ["json-1"]
    [event] = arrived(stack, code)
    assert event["event_id"] == "json-1"


def test_another_origin_is_refused_and_its_events_never_reach_meta(shop, stranger, stack, code, page):
    # Given a site that is not on the allow-list, running the snippet (debug on) and its own JSON post
    page.goto(
        stranger.page(
            "/copycat.html", "", head=init(stack.info["events_url"], testEventCode=code, debug=True)
        )
    )
    # When it tracks an event (text/plain: no preflight, so the relay itself must refuse) ...
    outcome = ("giving up", "answered", "refused")  # the snippet's debug lines for how a send ended
    with page.expect_console_message(lambda m: any(o in m.text for o in outcome), timeout=15_000) as line:
        page.evaluate("capiRelay.track('Purchase', {value: 5, currency: 'EUR'}, {}, {eventId: 'foreign-1'})")
    # ... and posts JSON (refused at the preflight: the POST is never sent)
    error = page.evaluate(
        """async ([url, code]) => {
        try { await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'},
                                body: JSON.stringify({test_event_code: code, event_name: 'Lead'})});
              return null; } catch (e) { return String(e); } }""",
        [stack.info["events_url"], code],
    )
    # Then the browser got no answer it may read, and once an allowed page's event arrives, it is alone
    assert "giving up" in line.value.text  # sent, refused without CORS headers, retried once, dropped
    assert error is not None and "Failed to fetch" in error
    page.goto(shop_page(shop, stack, code, "/marker.html"))
    page.evaluate("capiRelay.track('Lead', {}, {}, {eventId: 'allowed-1'})")
    wait_for(lambda: stack.graph_events(code), what="the allowed event")
    assert [e["event"]["event_id"] for e in stack.graph_events(code)] == ["allowed-1"]
    assert stack.queue_counts("retry") == 0


def test_events_tracked_while_leaving_the_page_reach_meta(shop, stack, code, page):
    # Given a checkout button that tracks and leaves at once, and a page that tracks when it is hidden
    on_hide = (
        "<script>addEventListener('pagehide', function () {"
        " capiRelay.track('PageLeave', {}, {}, {eventId: 'leave-1'}); });</script>"
    )
    button = (
        "<button onclick=\"capiRelay.track('InitiateCheckout', {}, {}, {eventId: 'checkout-1'});"
        " location.href = '/next.html'\">pay</button>"
    )
    page.goto(shop_page(shop, stack, code, "/cart.html", button, head=on_hide))
    # When the button is clicked and the next page has loaded
    page.click("button")
    page.wait_for_url("**/next.html")
    # Then both events reached Meta
    events = arrived(stack, code, count=2)
    assert sorted(e["event_id"] for e in events) == ["checkout-1", "leave-1"]


def test_consent_denied_sends_nothing_until_granted(shop, stack, code, page):
    # Given a visitor who has not consented yet
    page.goto(shop_page(shop, stack, code, "/eu.html", consent="denied"))
    # When an event is tracked
    event_id, requests = requests_made_during(
        page,
        "capiRelay.track('AddToCart', {value: 10, currency: 'EUR'}, {em: 'later@example.com'})",
        marker=stack.info["api"] + "/health",
    )
    # Then the page made no request to the relay, and Meta has nothing
    assert requests == [stack.info["api"] + "/health"]
    assert stack.graph_events(code) == []
    # When the visitor consents
    page.evaluate("capiRelay.setConsent('granted')")
    # Then the held event reaches Meta, under the id track() returned
    [event] = arrived(stack, code)
    assert event["event_id"] == event_id


def test_example_page_sends_its_purchase_to_meta(shop, stack, code, page):
    # Given the example shop page, served from the shop's origin and pointed at the local relay
    page.goto(f"{shop.origin}/web/example.html?endpoint={stack.info['events_url']}&test_event_code={code}")
    # When the visitor enters an email and buys
    page.fill("#email", "example-buyer@example.com")
    page.click("#buy")
    # Then Meta gets a Purchase with value, currency and the hashed email, under the Pixel's event id
    [event] = arrived(stack, code)
    assert event["event_name"] == "Purchase"
    assert event["custom_data"]["currency"] == "EUR"
    assert event["custom_data"]["value"] == 89.9
    assert event["user_data"]["em"] == hashlib.sha256(b"example-buyer@example.com").hexdigest()
    fbq_ids = [call[3]["eventID"] for call in page.evaluate("fbqCalls") if call[1] == "Purchase"]
    assert fbq_ids == [event["event_id"]]


def posts_to_relay(page: Any, stack: LocalStackProcess) -> list[dict]:
    """Every request the page sends to the relay, as it sent it: {"events": [ids], "status": answer}.

    Recorded by the browser itself (Playwright's request events), so a request the relay refused, or
    never answered, is counted too.
    """
    sent: list[dict] = []

    def on_request(request: Any) -> None:
        if request.method == "POST" and request.url == stack.info["events_url"]:
            ids = [e["event_id"] for e in json.loads(request.post_data)["data"]]
            sent.append({"request": request, "events": ids, "status": None})

    def on_response(response: Any) -> None:
        for item in sent:
            if item["request"] == response.request:
                item["status"] = response.status

    page.on("request", on_request)
    page.on("response", on_response)
    return sent


RESULTS_RECORDER = """<script>window.results = [];
  function recordResult(r) { window.results.push(JSON.parse(JSON.stringify(r))); }</script>"""


def answered_results(page: Any, count: int, status: int = 200) -> list[dict]:
    """Wait until onResult heard `count` events answered with `status`; every result heard so far."""

    def heard() -> list[dict]:
        got = page.evaluate("results")
        return got if len([r for r in got if r["status"] == status]) >= count else []

    return wait_for(heard, what=f"{count} onResult call(s) with status {status}")


def init_with(stack: LocalStackProcess, code: str, functions: str, **options: Any) -> str:
    """capiRelay.init with JSON options plus `functions` (JS object members, e.g. the onResult callback)."""
    plain = json.dumps({"endpoint": stack.info["events_url"], "testEventCode": code, **options})
    return f"<script>capiRelay.init(Object.assign({plain}, {{{functions}}}));</script>"


def test_45_events_held_for_consent_reach_meta_in_requests_of_at_most_20(shop, stack, code, page):
    # Given a visitor who has not consented, on a page that tracks a lot (45 events)
    head = RESULTS_RECORDER + init_with(stack, code, "onResult: recordResult", consent="denied")
    page.goto(shop.page("/catalogue.html", "", head=FBQ_STUB + head))
    sent = posts_to_relay(page, stack)
    ids = page.evaluate(
        "Array.from({length: 45}, (_, i) => capiRelay.track('ViewContent', {content_ids: ['SKU-' + i]}))"
    )
    assert sent == [] and len(set(ids)) == 45
    # When they consent
    page.evaluate("capiRelay.setConsent('granted')")
    # Then all 45 reach Meta with the ids track() returned, each once
    arrived(stack, code, count=45)
    answered_results(page, 45)
    assert sorted(e["event"]["event_id"] for e in stack.graph_events(code)) == sorted(ids)
    # And they went in requests of at most 20 events that the relay accepted, in the order tracked
    assert [len(item["events"]) for item in sent] == [20, 20, 5]
    assert [item["status"] for item in sent] == [200, 200, 200]
    assert [i for item in sent for i in item["events"]] == ids
    # And the page saw no error
    assert page.evaluate("pageErrors") == []


def test_a_413_for_too_many_events_is_split_in_halves_until_the_relay_takes_them(shop, stack, code, page):
    # Given a page set to send more events a request (50) than the relay gives a browser (20)
    head = RESULTS_RECORDER + init_with(stack, code, "onResult: recordResult", consent="denied", maxBatch=50)
    page.goto(shop.page("/oversized.html", "", head=FBQ_STUB + head))
    sent = posts_to_relay(page, stack)
    ids = page.evaluate("Array.from({length: 45}, (_, i) => capiRelay.track('Lead', {n: i}))")
    # When the 45 held events are released in one request
    page.evaluate("capiRelay.setConsent('granted')")
    # Then each 413 is split in two and sent again, until every event reached Meta exactly once
    arrived(stack, code, count=45)
    answered_results(page, 45)
    assert sorted(e["event"]["event_id"] for e in stack.graph_events(code)) == sorted(ids)
    sizes = sorted((len(item["events"]), item["status"]) for item in sent)
    assert sizes == [(11, 200), (11, 200), (11, 200), (12, 200), (22, 413), (23, 413), (45, 413)]
    # And onResult heard each event once, with its final answer (never the 413s)
    results = page.evaluate("results")
    held = [r for r in results if r["sentVia"] == "held"]
    final = [r for r in results if r["sentVia"] != "held"]
    assert sorted(r["eventId"] for r in held) == sorted(ids)
    assert sorted(r["eventId"] for r in final) == sorted(ids)
    assert {(r["status"], r["sentVia"], r["queued"]) for r in final} == {(200, "fetch", False)}
    # And the next batch starts at the size the relay took: no 413 again
    sent.clear()
    more = page.evaluate("Array.from({length: 15}, (_, i) => capiRelay.track('Lead', {n: 100 + i}))")
    arrived(stack, code, count=60)
    answered_results(page, 60)  # Playwright reports the page's requests while the test talks to it
    assert [(len(item["events"]), item["status"]) for item in sent] == [(11, 200), (4, 200)]
    assert [i for item in sent for i in item["events"]] == more
    assert page.evaluate("pageErrors") == []


def test_on_result_reports_held_then_queued_when_meta_is_down_and_a_throwing_callback_breaks_nothing(
    shop, stack, code, page
):
    # Given Meta answers the relay's next call with a 503, and a page whose onResult callback throws
    stack.sandbox("POST", "/_sandbox/faults", json={"kind": "5xx", "status": 503, "count": 1})
    throwing = "onResult: function (r) { recordResult(r); throw new Error('page bug'); }"
    head = RESULTS_RECORDER + init_with(stack, code, throwing, consent="denied")
    page.goto(shop.page("/callback.html", "", head=FBQ_STUB + head))
    # When a visitor adds to cart before consenting, then consents, then buys
    cart = page.evaluate("capiRelay.track('AddToCart', {value: 10, currency: 'EUR'})")
    assert page.evaluate("results") == [
        {
            "eventId": cart,
            "eventName": "AddToCart",
            "pixelId": None,
            "status": None,
            "queued": False,
            "errors": [],
            "sentVia": "held",
            "retrying": False,
            "fbtraceId": None,
        }
    ]
    page.evaluate("capiRelay.setConsent('granted')")
    [queued] = [r for r in answered_results(page, 1, status=202) if r["status"] == 202]
    purchase = page.evaluate("capiRelay.track('Purchase', {value: 42.5, currency: 'EUR'})")
    # Then the callback heard that the relay queued the first (Meta down), and sent the second
    assert (queued["eventId"], queued["queued"], queued["sentVia"], queued["errors"]) == (
        cart,
        True,
        "fetch",
        [],
    )
    [sent] = [r for r in answered_results(page, 1, status=200) if r["status"] == 200]
    assert (sent["eventId"], sent["queued"], sent["sentVia"]) == (purchase, False, "fetch")
    assert sent["fbtraceId"]
    # And both reached Meta (the first on the relay's retry), and the page saw no error
    assert sorted(e["event_id"] for e in arrived(stack, code, count=2)) == sorted([cart, purchase])
    assert page.evaluate("pageErrors") == []
