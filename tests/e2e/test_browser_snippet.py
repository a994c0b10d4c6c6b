"""web/capi-relay.js in headless Chromium against a recording endpoint on another origin.

These pin what the snippet itself promises (payload, ids, consent, transport, never throwing);
test_browser_relay.py checks the same events end to end through the relay to the Graph sandbox.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from local.aws import free_port
from tests.e2e.browser_support import (  # noqa: F401  (the fixtures)
    FBQ_STUB,
    Recorder,
    Site,
    chromium_fixture,
    init,
    page_fixture,
    requests_made_during,
    wait_for,
)

pytestmark = pytest.mark.browser

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# Wraps fetch to remember the options each call used (keepalive cannot be seen from the server).
FETCH_SPY = """<script>
  window.fetchCalls = [];
  var realFetch = window.fetch;
  window.fetch = function (url, opts) {
    fetchCalls.push({url: String(url), keepalive: !!(opts && opts.keepalive), headers: opts && opts.headers,
                     mode: opts && opts.mode, credentials: opts && opts.credentials});
    return realFetch.apply(this, arguments); };
</script>"""


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    server = Site().start()
    yield server
    server.stop()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder().start()
    yield server
    server.stop()


def no_errors(page: Any) -> list:
    return page.evaluate("window.pageErrors")


def test_purchase_goes_to_pixel_and_relay_with_one_event_id(site, recorder, page):
    # Given a shop page with the Pixel (stubbed) and the snippet pointed at an endpoint on another origin
    url = site.page("/buy.html", "<p>shop</p>", head=FBQ_STUB + FETCH_SPY + init(recorder.endpoint))
    page.goto(url)
    # When a Purchase is tracked with value, currency and an email
    event_id = page.evaluate(
        "capiRelay.track('Purchase', {value: 42.5, currency: 'EUR'}, {em: 'shopper@example.com'})"
    )
    # Then the Pixel got it with eventID, and the relay the same event in Meta's shape, without a preflight
    assert UUID4.match(event_id)
    assert page.evaluate("fbqCalls") == [
        ["track", "Purchase", {"value": 42.5, "currency": "EUR"}, {"eventID": event_id}]
    ]
    [event] = wait_for(recorder.events, what="the event at the endpoint")
    assert event["event_id"] == event_id
    assert event["event_name"] == "Purchase"
    assert event["action_source"] == "website"
    assert event["event_source_url"] == url
    assert isinstance(event["event_time"], int) and event["event_time"] > 1_700_000_000
    assert event["custom_data"] == {"value": 42.5, "currency": "EUR"}
    assert event["user_data"]["em"] == "shopper@example.com"
    assert event["user_data"]["client_user_agent"] == page.evaluate("navigator.userAgent")
    assert "data_processing_options" not in event
    [post] = recorder.posts()
    assert post.headers["content-type"].startswith("text/plain")
    assert post.headers["origin"] == site.origin
    assert not [s for s in recorder.seen if s.method == "OPTIONS"]
    fetch_options = page.evaluate("fetchCalls.map(c => [c.keepalive, c.mode, c.credentials])")
    assert fetch_options == [[True, "cors", "omit"]]
    assert no_errors(page) == []


def test_custom_event_name_uses_track_custom_and_a_given_event_id(site, recorder, page):
    # Given the snippet on a page with the Pixel
    page.goto(site.page("/custom.html", "", head=FBQ_STUB + init(recorder.endpoint, testEventCode="TEST42")))
    # When a non-standard event is tracked with an id the shop's backend also uses
    event_id = page.evaluate(
        "capiRelay.track('NewsletterSignup', {source: 'footer'}, {}, {eventId: 'order-77'})"
    )
    # Then fbq gets trackCustom, and the relay gets the same id and the test event code
    assert event_id == "order-77"
    assert page.evaluate("fbqCalls") == [
        ["trackCustom", "NewsletterSignup", {"source": "footer"}, {"eventID": "order-77"}]
    ]
    [post] = wait_for(recorder.posts, what="the request")
    assert post.json["test_event_code"] == "TEST42"
    assert post.json["data"][0]["event_id"] == "order-77"


def test_pixel_cookies_and_fbclid_become_fbp_and_fbc(site, recorder, page):
    # Given a visitor who came from an ad (?fbclid=) and has the Pixel's _fbp cookie but no _fbc yet
    url = site.page("/landing.html", "", head=init(recorder.endpoint)) + "?utm=fb&fbclid=IwAR0abc-XYZ_1"
    page.context.add_cookies([{"name": "_fbp", "value": "fb.1.1700000000000.1234567890", "url": site.origin}])
    page.goto(url)
    # When an event is tracked
    page.evaluate("capiRelay.track('ViewContent', {content_ids: ['SKU1']})")
    # Then fbp comes from the cookie, fbc is built in Meta's format and kept as _fbc for later pages
    [event] = wait_for(recorder.events, what="the event")
    assert event["user_data"]["fbp"] == "fb.1.1700000000000.1234567890"
    assert re.fullmatch(r"fb\.1\.\d{13}\.IwAR0abc-XYZ_1", event["user_data"]["fbc"])
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies["_fbc"] == event["user_data"]["fbc"]


def test_existing_fbc_cookie_is_kept_on_a_page_without_fbclid(site, recorder, page):
    # Given the _fbc cookie the Pixel set on the landing page, now on the checkout page
    page.context.add_cookies(
        [
            {"name": "_fbc", "value": "fb.1.1700000000000.IwAR0abc", "url": site.origin},
            {"name": "_fbp", "value": "fb.1.1700000000000.42", "url": site.origin},
        ]
    )
    page.goto(site.page("/checkout.html", "", head=init(recorder.endpoint)))
    # When the purchase is tracked
    page.evaluate("capiRelay.track('Purchase', {value: 1, currency: 'USD'})")
    # Then the click id still travels with it, unchanged
    [event] = wait_for(recorder.events, what="the event")
    assert event["user_data"]["fbc"] == "fb.1.1700000000000.IwAR0abc"
    assert event["user_data"]["fbp"] == "fb.1.1700000000000.42"


def test_without_pixel_cookie_a_first_party_fbp_is_created_unless_cookies_are_off(site, recorder, page):
    # Given one page that allows the snippet to set cookies and one that does not
    page.goto(site.page("/nocookie.html", "", head=init(recorder.endpoint)))
    page.evaluate("capiRelay.track('PageView')")
    [first] = wait_for(recorder.events, what="the first event")
    page.context.clear_cookies()
    page.goto(site.page("/off.html", "", head=init(recorder.endpoint, cookies=False)))
    # When an event is tracked on each
    page.evaluate("capiRelay.track('PageView')")
    events = wait_for(lambda: recorder.events()[1:], what="the second event")
    # Then the first carries a new _fbp in Meta's format, the second none, and no cookie was written
    assert re.fullmatch(r"fb\.1\.\d{13}\.\d{10}", first["user_data"]["fbp"])
    assert "fbp" not in events[0]["user_data"]
    assert page.context.cookies() == []


def test_events_tracked_in_one_task_share_one_request(site, recorder, page):
    # Given the snippet
    page.goto(site.page("/batch.html", "", head=init(recorder.endpoint)))
    # When three events are tracked in the same task
    ids = page.evaluate(
        "[capiRelay.track('PageView'), capiRelay.track('ViewContent'), capiRelay.track('Lead')]"
    )
    # Then they go out together, in order, with distinct ids
    [post] = wait_for(recorder.posts, what="the batch")
    assert [e["event_id"] for e in post.json["data"]] == ids
    assert len(set(ids)) == 3


def test_consent_denied_holds_events_and_granted_sends_them(site, recorder, page):
    # Given a page that starts without consent, and a record of every request the page makes
    page.goto(site.page("/consent.html", "", head=FBQ_STUB + init(recorder.endpoint, consent="denied")))
    # When an event is tracked while consent is denied
    event_id, requests = requests_made_during(
        page,
        "capiRelay.track('AddToCart', {value: 3, currency: 'EUR'}, {em: 'held@example.com'})",
        marker=recorder.origin + "/marker",
    )
    # Then neither the relay nor the Pixel got anything, and no cookie was written
    assert requests == [recorder.origin + "/marker"]
    assert recorder.posts() == []
    assert page.evaluate("fbqCalls") == []
    assert page.context.cookies() == []
    # When consent is granted
    page.evaluate("capiRelay.setConsent('granted')")
    # Then the held event goes to both, with its original id
    [event] = wait_for(recorder.events, what="the released event")
    assert event["event_id"] == event_id
    assert page.evaluate("fbqCalls")[0][3] == {"eventID": event_id}


def test_limited_data_use_consent_marks_events_ldu(site, recorder, page):
    # Given a visitor who opted out of sale (CCPA) — LDU with country and state left to Meta (0, 0)
    page.goto(site.page("/ldu.html", "", head=init(recorder.endpoint, consent="ldu")))
    # When an event is tracked
    page.evaluate("capiRelay.track('Lead')")
    # Then it carries Limited Data Use
    [event] = wait_for(recorder.events, what="the event")
    assert event["data_processing_options"] == ["LDU"]
    assert event["data_processing_options_country"] == 0
    assert event["data_processing_options_state"] == 0


def test_consent_mode_object_goes_to_the_relay_and_ad_storage_denied_keeps_cookies_out(site, recorder, page):
    # Given a visitor from an ad whose banner granted ad_user_data but denied ad_storage
    consent = {"ad_storage": "denied", "ad_user_data": "granted", "ad_personalization": False}
    page.goto(site.page("/mode.html", "", head=init(recorder.endpoint, consent=consent)) + "?fbclid=IwAR0zzz")
    # When an event is tracked
    page.evaluate("capiRelay.track('Lead', {}, {em: 'mode@example.com'})")
    # Then the relay gets the banner's state to apply, no _fbp/_fbc is read or written, the email still goes
    [post] = wait_for(recorder.posts, what="the request")
    assert post.json["consent"] == {
        "ad_storage": "denied",
        "ad_user_data": "granted",
        "ad_personalization": "denied",
    }
    event = post.json["data"][0]
    assert "fbp" not in event["user_data"] and "fbc" not in event["user_data"]
    assert event["user_data"]["em"] == "mode@example.com"
    assert page.context.cookies() == []


def test_unrecognised_consent_value_counts_as_denied(site, recorder, page):
    # Given a consent banner integration with a typo
    page.goto(site.page("/typo.html", "", head=init(recorder.endpoint, consent="deny")))
    # When an event is tracked
    _, requests = requests_made_during(page, "capiRelay.track('Lead')", marker=recorder.origin + "/marker")
    # Then nothing was sent: fail safe
    assert page.evaluate("capiRelay.consent()") == "denied"
    assert requests == [recorder.origin + "/marker"]


def test_track_before_init_is_sent_once_init_runs(site, recorder, page):
    # Given a page whose code tracks before the snippet is configured
    page.goto(site.page("/early.html", ""))
    event_id = page.evaluate("capiRelay.track('PageView')")
    assert recorder.seen == []
    # When init runs
    page.evaluate(f"capiRelay.init({{endpoint: '{recorder.endpoint}'}})")
    # Then the early event is sent with the id track() returned
    [event] = wait_for(recorder.events, what="the early event")
    assert event["event_id"] == event_id


def test_body_over_keepalive_limit_is_sent_without_keepalive(site, recorder, page):
    # Given an event whose body is bigger than the 64 KiB keepalive budget
    page.goto(site.page("/big.html", "", head=FETCH_SPY + init(recorder.endpoint)))
    # When it is tracked
    event_id = page.evaluate(
        "capiRelay.track('ViewContent', {contents: Array.from({length: 900}, "
        "(_, i) => ({id: 'SKU-' + i + '-' + 'x'.repeat(60), quantity: 1}))})"
    )
    # Then it still arrives, through a plain (not keepalive) fetch
    [event] = wait_for(recorder.events, what="the big event")
    assert event["event_id"] == event_id
    assert len(recorder.posts()[0].body) > 64 * 1024
    assert page.evaluate("fetchCalls.map(c => c.keepalive)") == [False]


def test_without_fetch_the_event_goes_by_send_beacon(site, recorder, page):
    # Given an old browser without fetch
    no_fetch = "<script>delete window.fetch; window.fetch = undefined;</script>"
    page.goto(site.page("/old.html", "", head=no_fetch + init(recorder.endpoint)))
    # When an event is tracked
    event_id = page.evaluate("capiRelay.track('Lead')")
    # Then sendBeacon delivers it as text/plain
    [post] = wait_for(recorder.posts, what="the beacon")
    assert post.json["data"][0]["event_id"] == event_id
    assert post.headers["content-type"].startswith("text/plain")


def test_event_tracked_right_before_navigation_is_delivered(site, recorder, page):
    # Given a checkout button that tracks, then leaves the page at once — and a busy network: Chromium's
    # six connections to the endpoint's origin are taken, so the event cannot go out before the page is gone
    page.goto(
        site.page(
            "/leave.html",
            "<button onclick=\"capiRelay.track('InitiateCheckout'); "
            "location.href = '/next.html'\">pay</button>",
            head=init(recorder.endpoint),
        )
    )
    page.evaluate(f"for (let i = 0; i < 6; i++) fetch('{recorder.origin}/hang?' + i).catch(() => 0); 0")
    wait_for(
        lambda: len([s for s in recorder.seen if s.path.startswith("/hang")]) == 6,
        what="six busy connections",
    )
    # When it is clicked and the next page has loaded
    page.click("button")
    page.wait_for_url("**/next.html")
    # Then the event still arrives (a keepalive request outlives its page)
    [event] = wait_for(recorder.events, what="the event sent while unloading")
    assert event["event_name"] == "InitiateCheckout"


def test_event_tracked_in_pagehide_is_delivered(site, recorder, page):
    # Given a page that tracks an event while it is being hidden (e.g. time-on-page)
    on_hide = (
        "<script>addEventListener('pagehide', "
        "function () { capiRelay.track('PageLeave', {}, {}, {eventId: 'bye-1'}); });</script>"
    )
    page.goto(site.page("/hide.html", "", head=init(recorder.endpoint) + on_hide))
    # When the visitor navigates away
    page.goto(site.origin + "/next.html")
    # Then that event is delivered too
    [event] = wait_for(recorder.events, what="the pagehide event")
    assert event["event_id"] == "bye-1"


def test_relay_5xx_is_retried_once_with_the_same_event(site, recorder, page):
    # Given an endpoint that fails once with 503
    recorder.statuses = [503]
    page.goto(site.page("/retry.html", "", head=init(recorder.endpoint)))
    # When an event is tracked
    event_id = page.evaluate("capiRelay.track('Lead')")
    # Then it is sent again, and only once more
    events = wait_for(lambda: len(recorder.events()) == 2 and recorder.events(), what="the retry")
    assert [e["event_id"] for e in events] == [event_id, event_id]


def test_snippet_never_throws_into_the_page_when_everything_fails(site, page):
    # Given an endpoint nobody listens on, a Pixel that throws, no crypto.randomUUID and broken cookies
    head = (
        "<script>window.fbq = function () { throw new Error('pixel exploded'); };"
        "Object.defineProperty(crypto, 'randomUUID', {value: undefined});"
        "Object.defineProperty(document, 'cookie', {get() { throw new Error('no cookies'); },"
        " set() { throw new Error('no cookies'); }});</script>"
        + FETCH_SPY
        + init("http://127.0.0.1:9/events", debug=True)
    )
    page.goto(site.page("/broken.html", "", head=head))
    # When the page tracks events, including nonsense, and changes consent
    ids = page.evaluate("""[capiRelay.track('Purchase', {value: 1, currency: 'EUR'}, {em: 'x@example.com'}),
                            capiRelay.track(''), capiRelay.track(null, 5, 'x'), capiRelay.setConsent('maybe'),
                            capiRelay.setConsent('ldu'), capiRelay.track('Lead')]""")
    # Then the page saw no error, ids are still UUIDs, and each failed send was retried once
    # (two sends: the change of consent sends what was tracked before it)
    wait_for(lambda: page.evaluate("fetchCalls.length") == 4, what="the retries")
    assert no_errors(page) == []
    assert UUID4.match(ids[0]) and UUID4.match(ids[5])
    assert page.evaluate("capiRelay.consent()") == "ldu"


def test_debug_log_never_prints_user_data(site, recorder, page):
    # Given debug logging and an event with customer information
    lines: list[str] = []
    page.on("console", lambda m: lines.append(m.text))
    page.goto(site.page("/debug.html", "", head=init(recorder.endpoint, debug=True)))
    # When it is tracked and sent
    with page.expect_console_message(lambda m: "answered" in m.text):
        page.evaluate("capiRelay.track('Lead', {}, {em: 'canary-51b7@example.com', ph: '+15550100'})")
    wait_for(recorder.events, what="the event")
    # Then the console shows the event but not the values
    assert any("Lead" in line for line in lines)
    assert not [line for line in lines if "canary-51b7" in line or "15550100" in line]


# The Pixel's base code stub (calls queue until fbevents.js loads), for the mirror to watch.
PIXEL_STUB = """<script>window.fbq = function () {
  fbq.callMethod ? fbq.callMethod.apply(fbq, arguments) : fbq.queue.push(arguments); };
  fbq.queue = [];</script>"""
RESULTS = "<script>window.results = []; function recordResult(r) { results.push(r); }</script>"


def at_least(count: int, get: Any) -> Any:
    """A poll for wait_for: what `get()` returns once it has `count` items, else nothing."""
    return lambda: found if len(found := get()) >= count else []


def init_recording(endpoint: str, **options: Any) -> str:
    """capiRelay.init whose onResult keeps every result in window.results."""
    plain = json.dumps({"endpoint": endpoint, **options})
    return RESULTS + f"<script>capiRelay.init(Object.assign({plain}, {{onResult: recordResult}}));</script>"


def test_max_batch_splits_each_pixels_events_keeping_their_ids(site, recorder, page):
    # Given a page whose Pixel code tracks for two pixels, mirrored, at most 3 events a request
    page.goto(
        site.page("/two-pixels.html", "", head=PIXEL_STUB + init(recorder.endpoint, mirror=True, maxBatch=3))
    )
    # When it tracks 7 events for one pixel and 5 for the other in one task
    ids = page.evaluate(
        """() => { const ids = {'111': [], '222': []};
        for (let i = 0; i < 12; i++) {
          const pixel = i % 2 && i < 10 ? '222' : '111', id = 'ev-' + i;
          fbq('trackSingle', pixel, 'Lead', {n: i}, {eventID: id});
          ids[pixel].push(id);
        }
        return ids; }"""
    )
    # Then each request holds one pixel's events, at most 3, in the order tracked, each event once
    posts = wait_for(at_least(5, recorder.posts), what="five requests")
    by_pixel: dict[str, list[list[str]]] = {}
    for post in posts:
        by_pixel.setdefault(post.json["pixel_id"], []).append([e["event_id"] for e in post.json["data"]])
    # (the requests are in flight together: they may arrive in any order, so they are read in the
    # order of their first event)
    for pixel, chunks in by_pixel.items():
        chunks.sort(key=lambda chunk: ids[pixel].index(chunk[0]) if chunk[0] in ids[pixel] else -1)
    assert {pixel: [len(chunk) for chunk in chunks] for pixel, chunks in by_pixel.items()} == {
        "111": [3, 3, 1],
        "222": [3, 2],
    }
    assert {pixel: [i for chunk in chunks for i in chunk] for pixel, chunks in by_pixel.items()} == ids
    assert no_errors(page) == []


@pytest.mark.parametrize("value", [0, -5, "many", None])
def test_max_batch_that_is_not_a_positive_number_means_20(site, recorder, page, value):
    # Given a page that sets maxBatch to something unusable
    page.goto(site.page("/odd-batch.html", "", head=init(recorder.endpoint, maxBatch=value)))
    # When it tracks 25 events in one task
    page.evaluate("for (let i = 0; i < 25; i++) capiRelay.track('Lead', {n: i})")
    # Then they go as the relay takes them from a browser: 20, then 5
    posts = wait_for(at_least(2, recorder.posts), what="two requests")
    assert sorted(len(p.json["data"]) for p in posts) == [5, 20]
    assert no_errors(page) == []


def test_on_result_says_beacon_when_no_answer_can_be_read(site, recorder, page):
    # Given an old browser without fetch, and a page listening to onResult
    no_fetch = "<script>delete window.fetch; window.fetch = undefined;</script>"
    page.goto(site.page("/old-results.html", "", head=no_fetch + init_recording(recorder.endpoint)))
    # When an event is tracked
    event_id = page.evaluate("capiRelay.track('Lead')")
    # Then it goes by sendBeacon and onResult hears so, with no status (a beacon is never answered)
    wait_for(recorder.posts, what="the beacon")
    [result] = wait_for(lambda: page.evaluate("results"), what="the result")
    assert (result["eventId"], result["sentVia"], result["status"], result["queued"]) == (
        event_id,
        "beacon",
        None,
        False,
    )


def test_on_result_says_unreachable_then_gave_up_when_the_relay_is_down(site, page):
    # Given a page whose relay is not running
    dead = f"http://127.0.0.1:{free_port()}/events"
    page.goto(site.page("/down.html", "", head=init_recording(dead)))
    # When an event is tracked
    event_id = page.evaluate("capiRelay.track('Lead')")
    # Then onResult hears that the relay was unreachable, will be retried, and then that the snippet gave up
    first, last = wait_for(at_least(2, lambda: page.evaluate("results")), what="two results")
    unreachable = [{"field": None, "code": "relay_unreachable"}]
    assert (first["eventId"], first["status"], first["retrying"], first["errors"]) == (
        event_id,
        0,
        True,
        unreachable,
    )
    assert (last["eventId"], last["status"], last["retrying"], last["errors"]) == (
        event_id,
        0,
        False,
        unreachable,
    )
    assert {first["sentVia"], last["sentVia"]} == {"fetch"}
    assert no_errors(page) == []
