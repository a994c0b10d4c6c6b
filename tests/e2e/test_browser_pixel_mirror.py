"""`capiRelay.init({endpoint, mirror: true})` on a page that keeps its Meta Pixel code, in headless Chromium.

Two Pixel clients, each as a shop has it: (a) Meta's published base code, and (b) the npm package
`react-facebook-pixel` (its UMD build, installed by `make npm-deps`). Both load fbevents.js from
connect.facebook.net; Playwright answers that request with tests/e2e/fixtures/fbevents.js, a stand-in
that treats the base code's stub as the real library does and records every call it runs. The test holds
that answer back until it chooses, so calls made before and after fbevents.js loads are both exercised.

The relay side is `python -m local.run` (tests/e2e/local_stack.py): the snippet posts to the real ingest
handler, which hashes and forwards to the Graph sandbox. Each test reads back its own test_event_code.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser_support import (  # noqa: F401  (the fixtures)
    ERROR_TRAP,
    Recorder,
    Site,
    chromium_fixture,
    page_fixture,
    requests_made_during,
    wait_for,
)
from tests.e2e.local_stack import LocalStackProcess

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
STAND_IN = Path(__file__).with_name("fixtures") / "fbevents.js"
REACT_PIXEL = ROOT / ".tools" / "npm-pixel" / "node_modules" / "react-facebook-pixel" / "dist" / "fb-pixel.js"
PIXEL_ID = "1234567890"
OTHER_PIXEL = "1098765432"
TOKEN = "mirror-token-6a1f"
# Meta's base code as Events Manager hands it out (only the pixel id filled in).
BASE_CODE = """<script>
!function(f,b,e,v,n,t,s)
{if(f.fbq)return;n=f.fbq=function(){n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)};
if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;n.version='2.0';
n.queue=[];t=b.createElement(e);t.async=!0;
t.src=v;s=b.getElementsByTagName(e)[0];
s.parentNode.insertBefore(t,s)}(window, document,'script',
'https://connect.facebook.net/en_US/fbevents.js');
%s
</script>"""
SNIPPET = "<script src='/web/capi-relay.js'></script>"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def script(code: str) -> str:
    return f"<script>{code}</script>"


@pytest.fixture(scope="module")
def stack_server(shop: Site) -> Iterator[LocalStackProcess]:
    """`make run` serving two pixels, allowing the shop's origin only."""
    with LocalStackProcess.running(
        META_ACCESS_TOKEN=TOKEN,
        META_PIXEL_ID=f"{PIXEL_ID},{OTHER_PIXEL}",
        META_API_VERSION="v24.0",
        ALLOWED_ORIGINS=shop.origin,
        MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR="false",  # reset() purges before every test
    ) as stack:
        yield stack


@pytest.fixture
def stack(stack_server: LocalStackProcess) -> LocalStackProcess:
    stack_server.reset(TOKEN)
    return stack_server


@pytest.fixture
def react_pixel() -> Path:
    """The installed package; missing → skip locally, fail in CI (make test installs it)."""
    if not REACT_PIXEL.is_file():
        message = f"react-facebook-pixel is not installed at {REACT_PIXEL}: run `make npm-deps`"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return REACT_PIXEL


class PixelCdn:
    """connect.facebook.net for one page: fbevents.js is answered (with the stand-in) when the test says."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.held: list[Any] = []
        page.route("https://connect.facebook.net/**", self._hold)

    def _hold(self, route: Any) -> None:
        self.held.append(route)

    def load(self) -> None:
        """Let the requested fbevents.js arrive; returns once it has run."""
        # evaluate() lets Playwright dispatch the route event while we poll
        wait_for(lambda: self.page.evaluate("0") == 0 and self.held, what="the fbevents.js request")
        for route in self.held:
            route.fulfill(path=str(STAND_IN), content_type="text/javascript")
        self.page.wait_for_function("window.pixelCalls !== undefined")

    def calls(self) -> list[list]:
        return self.page.evaluate("window.pixelCalls")

    def wait_calls(self, count: int) -> list[list]:
        """The Pixel's calls, once it has run at least `count` of them."""

        def check() -> list[list]:
            found = self.calls()
            return found if len(found) >= count else []

        return wait_for(check, what=f"{count} calls at the Pixel")


def shop_page(shop: Site, path: str, *parts: str) -> str:
    """A page made of `parts` in order (after the error trap); returns its URL."""
    shop.pages[path] = (
        f"<!doctype html><html><head><meta charset='utf-8'>{ERROR_TRAP}{''.join(parts)}</head>"
        "<body><p>shop</p></body></html>"
    )
    return shop.origin + path


def mirror_init(stack: LocalStackProcess, code: str, **options: Any) -> str:
    config = {"endpoint": stack.info["events_url"], "mirror": True, "testEventCode": code, **options}
    return script(f"capiRelay.init({json.dumps(config)});")


def arrived(stack: LocalStackProcess, code: str, count: int) -> list[dict]:
    """Wait until `count` events with this code reached the sandbox; return the sandbox's records."""

    def check() -> list[dict]:
        found = stack.graph_events(code)
        return found if len(found) >= count else []

    return wait_for(check, what=f"{count} event(s) {code} at the Graph sandbox")


def by_name(records: list[dict]) -> dict[str, dict]:
    found = {r["event"]["event_name"]: r["event"] for r in records}
    assert len(found) == len(records), "one event per name expected"
    return found


def event_id_of(call: list) -> str:
    return call[-1]["eventID"]


def open_page(page: Any, url: str) -> PixelCdn:
    cdn = PixelCdn(page)
    page.goto(url, wait_until="domcontentloaded")  # "load" would wait for the held fbevents.js
    return cdn


# --- (a) Meta's base code -------------------------------------------------------------------------


def test_base_code_calls_before_and_after_fbevents_reach_meta_with_the_pixels_event_ids(
    shop, stack, code, page
):
    # Given a shop page with Meta's base code (init with advanced matching, PageView), a ViewContent
    # tracked before capi-relay.js has loaded, and then the one changed line: init with mirror: true
    base = BASE_CODE % (
        f"fbq('init', '{PIXEL_ID}', {{em: ' Shopper@Example.com ', external_id: 'cust-7'}});"
        "\nfbq('track', 'PageView');"
    )
    early = script(
        "fbq('track', 'ViewContent', {content_ids: ['SKU-1'], content_type: 'product'}, {eventID: 'vc-1'});"
    )
    cdn = open_page(page, shop_page(shop, "/base.html", base, early, SNIPPET, mirror_init(stack, code)))
    # When the page tracks through the stub while fbevents.js is still loading ...
    page.evaluate(
        "window.pageOptions = {};"
        "fbq('track', 'AddToCart', {value: 25, currency: 'EUR'}, pageOptions);"
        "fbq('trackCustom', 'SizeChosen', {size: '42'})"
    )
    # ... and, once it has loaded (fbevents.js installed fbq.callMethod), buys and leaves a lead
    cdn.load()
    page.evaluate(
        "fbq('track', 'Purchase', {value: 89.9, currency: 'EUR'}, {eventID: 'order-1'});"
        f"fbq('trackSingle', '{PIXEL_ID}', 'Lead', {{}})"
    )
    # Then the Pixel got every call once, in order, as the page made it plus an eventID where none was given
    calls = cdn.wait_calls(7)
    assert [c[:-1] for c in calls[1:]] == [
        ["track", "PageView", {}],
        ["track", "ViewContent", {"content_ids": ["SKU-1"], "content_type": "product"}],
        ["track", "AddToCart", {"value": 25, "currency": "EUR"}],
        ["trackCustom", "SizeChosen", {"size": "42"}],
        ["track", "Purchase", {"value": 89.9, "currency": "EUR"}],
        ["trackSingle", PIXEL_ID, "Lead", {}],
    ]
    assert calls[0] == ["init", PIXEL_ID, {"em": " Shopper@Example.com ", "external_id": "cust-7"}]
    assert [set(c[-1]) for c in calls[1:]] == [{"eventID"}] * 6
    assert event_id_of(calls[2]) == "vc-1" and event_id_of(calls[5]) == "order-1"
    assert page.evaluate("pageOptions") == {}  # the page's own options object is left as it was
    # And Meta got one event per call under the id the Pixel got, with the pixel's user data hashed
    events = by_name(arrived(stack, code, 6))
    pixel_ids = {c[2] if c[0] == "trackSingle" else c[1]: event_id_of(c) for c in calls[1:]}
    assert {name: e["event_id"] for name, e in events.items()} == pixel_ids
    assert all(r["pixel_id"] == PIXEL_ID for r in stack.graph_events(code))
    for event in events.values():
        assert event["user_data"]["em"] == sha("shopper@example.com")
        assert event["user_data"]["external_id"] == sha("cust-7")
        assert event["action_source"] == "website"
    assert events["Purchase"]["custom_data"] == {"value": 89.9, "currency": "EUR"}
    assert events["ViewContent"]["custom_data"]["content_ids"] == ["SKU-1"]
    assert "shopper" not in json.dumps(stack.graph_events(code)).lower()
    assert page.evaluate("pageErrors") == []


def test_snippet_loaded_after_fbevents_mirrors_later_calls_with_the_pixels_user_data(shop, stack, code, page):
    # Given a page whose Pixel has loaded and run its queue before capi-relay.js is even there
    base = BASE_CODE % f"fbq('init', '{PIXEL_ID}', {{ph: '+1 (555) 010-0199'}}); fbq('track', 'PageView');"
    cdn = open_page(page, shop_page(shop, "/late.html", base))
    cdn.load()
    cdn.wait_calls(2)
    page.add_script_tag(url=shop.origin + "/web/capi-relay.js")
    page.evaluate(
        "config => capiRelay.init(config)",
        {"endpoint": stack.info["events_url"], "mirror": True, "testEventCode": code},
    )
    # When the page tracks a purchase
    page.evaluate("fbq('track', 'Purchase', {value: 12, currency: 'USD'})")
    # Then Meta has it under the Pixel's id, with the phone fbevents.js had been given (from fbq.getState())
    [record] = arrived(stack, code, 1)
    calls = cdn.wait_calls(3)
    assert record["event"]["event_id"] == event_id_of(calls[2])
    assert record["event"]["user_data"]["ph"] == sha("15550100199")


def test_consent_revoked_through_fbq_holds_events_until_granted(shop, stack, code, page):
    # Given a page whose consent banner revoked consent before the Pixel's init (Meta's documented order)
    base = BASE_CODE % (
        f"fbq('consent', 'revoke'); fbq('init', '{PIXEL_ID}', {{em: 'later@example.com'}});"
        " fbq('track', 'PageView');"
    )
    cdn = open_page(page, shop_page(shop, "/eu.html", base, SNIPPET, mirror_init(stack, code)))
    cdn.load()
    # When the visitor adds to cart, and the snippet's own track() is used too
    _, requests = requests_made_during(
        page,
        "fbq('track', 'AddToCart', {value: 10, currency: 'EUR'});"
        " capiRelay.track('Lead', {}, {}, {eventId: 'own-1'})",
        marker=stack.info["api"] + "/health",
    )
    # Then nothing went to the relay, and the Pixel ran the consent call only
    assert requests == [stack.info["api"] + "/health"]
    assert stack.graph_events(code) == []
    assert cdn.calls() == [["consent", "revoke"]]
    # When consent is granted
    page.evaluate("fbq('consent', 'grant')")
    # Then the held events reach Meta, under the ids the Pixel got, and the Pixel ran each call once
    events = by_name(arrived(stack, code, 3))
    calls = cdn.wait_calls(6)
    assert [c[:2] for c in calls] == [
        ["consent", "revoke"],
        ["consent", "grant"],
        ["init", PIXEL_ID],
        ["track", "PageView"],
        ["track", "AddToCart"],
        ["track", "Lead"],
    ]
    assert events["PageView"]["event_id"] == event_id_of(calls[3])
    assert events["AddToCart"]["event_id"] == event_id_of(calls[4])
    assert events["Lead"]["event_id"] == event_id_of(calls[5]) == "own-1"
    assert events["AddToCart"]["user_data"]["em"] == sha("later@example.com")


def test_data_processing_options_go_with_later_events(shop, stack, code, page):
    # Given a page that sets Limited Data Use for California through the Pixel
    base = BASE_CODE % (
        "fbq('dataProcessingOptions', ['LDU'], 1, 1000);"
        f" fbq('init', '{PIXEL_ID}', {{external_id: 'u-1'}}); fbq('track', 'PageView');"
    )
    cdn = open_page(page, shop_page(shop, "/ldu.html", base, SNIPPET, mirror_init(stack, code)))
    cdn.load()
    # When the visitor later opts back in to full processing, and buys
    page.evaluate("fbq('dataProcessingOptions', []); fbq('track', 'Purchase', {value: 3, currency: 'USD'})")
    # Then the PageView carried LDU with California, the Purchase none
    events = by_name(arrived(stack, code, 2))
    view, purchase = events["PageView"], events["Purchase"]
    assert view["data_processing_options"] == ["LDU"]
    assert (view["data_processing_options_country"], view["data_processing_options_state"]) == (1, 1000)
    assert purchase["data_processing_options"] == []
    assert cdn.calls()[0] == ["dataProcessingOptions", ["LDU"], 1, 1000]


def test_each_pixel_gets_its_own_event_and_user_data(shop, stack, code, page):
    # Given a page with two pixels, each initialised with its own advanced matching
    base = BASE_CODE % (
        f"fbq('init', '{PIXEL_ID}', {{em: 'one@example.com'}}); fbq('init', '{OTHER_PIXEL}', {{fn: 'Zoë'}});"
    )
    cdn = open_page(page, shop_page(shop, "/two.html", base, SNIPPET, mirror_init(stack, code)))
    cdn.load()
    # When one event goes to all pixels and one to the second pixel only
    page.evaluate(
        "fbq('track', 'Purchase', {value: 5, currency: 'EUR'});"
        f"fbq('trackSingleCustom', '{OTHER_PIXEL}', 'Quiz', {{score: 3}}, {{eventID: 'quiz-1'}})"
    )
    # Then each pixel has its events under the Pixel's id, each with its own user data
    records = arrived(stack, code, 3)
    calls = cdn.wait_calls(4)
    seen = sorted((r["pixel_id"], r["event"]["event_name"], r["event"]["event_id"]) for r in records)
    purchase_id = event_id_of(calls[2])
    assert seen == sorted(
        [
            (PIXEL_ID, "Purchase", purchase_id),
            (OTHER_PIXEL, "Purchase", purchase_id),
            (OTHER_PIXEL, "Quiz", "quiz-1"),
        ]
    )
    for record in records:
        user_data = record["event"]["user_data"]
        if record["pixel_id"] == PIXEL_ID:
            assert user_data["em"] == sha("one@example.com") and "fn" not in user_data
        else:
            assert user_data["fn"] == sha("zoë") and "em" not in user_data


def test_page_sees_the_pixels_own_results_and_errors_and_the_mirror_never_throws(shop, stack, code, page):
    # Given a mirrored page whose fbq.callMethod (another Pixel build) returns values and throws
    base = BASE_CODE % f"fbq('init', '{PIXEL_ID}');"
    cdn = open_page(page, shop_page(shop, "/odd.html", base, SNIPPET, mirror_init(stack, code)))
    cdn.load()
    page.evaluate(
        "window.seen = []; fbq.callMethod = function (m) { seen.push([].slice.call(arguments));"
        " if (m === 'boom') throw new TypeError('pixel says no'); return 'result of ' + m; }; 0"
    )
    # When the page calls it, with a call the mirror cannot read (params whose getter throws) among them
    outcome = page.evaluate(
        """() => {
        const out = {direct: fbq.callMethod('getState'), viaStub: fbq('track', 'Lead')};
        try { fbq('boom'); } catch (e) { out.error = e.constructor.name + ': ' + e.message; }
        const hostile = {};
        Object.defineProperty(hostile, 'value', {enumerable: true, get() { throw new Error('x'); }});
        fbq('track', 'Donate', hostile, {eventID: 'donate-1'});
        return out; }"""
    )
    # Then the page got the Pixel's own answers and exception, the Pixel every call, Meta the readable one
    assert outcome == {"direct": "result of getState", "viaStub": None, "error": "TypeError: pixel says no"}
    assert page.evaluate("seen.map(c => c[0])") == ["getState", "track", "boom", "track"]
    [record] = arrived(stack, code, 1)
    assert record["event"]["event_name"] == "Lead"
    assert record["event"]["event_id"] == page.evaluate("seen[1][3].eventID")
    assert page.evaluate("pageErrors") == []


# --- (b) react-facebook-pixel, from npm ---------------------------------------------------------------


@pytest.mark.parametrize("order", ["react-pixel-first", "snippet-first"])
def test_react_facebook_pixel_calls_reach_meta(shop, stack, code, page, react_pixel, order):
    # Given a React shop that bundles react-facebook-pixel, before or after capi-relay.js
    page.route(f"{shop.origin}/vendor/fb-pixel.js", lambda r: r.fulfill(path=str(react_pixel)))
    vendor = "<script src='/vendor/fb-pixel.js'></script>"
    parts = [vendor, SNIPPET] if order == "react-pixel-first" else [SNIPPET, vendor]
    cdn = open_page(page, shop_page(shop, f"/react-{order}.html", *parts, mirror_init(stack, code)))
    # When the app, long after the page's scripts ran, initialises the Pixel and tracks before and after
    # fbevents.js has loaded
    page.evaluate(
        "const P = ReactPixel.default;"
        f" P.init('{PIXEL_ID}', {{em: 'React.Fan@Example.com', fn: 'Ada'}}, {{autoConfig: false}});"
        " P.pageView(); P.track('ViewContent', {content_ids: ['SKU-9']})"
    )
    cdn.load()
    page.evaluate(
        "const P = ReactPixel.default;"
        " P.track('Purchase', {value: 30, currency: 'EUR'}); P.trackCustom('Shared', {network: 'x'})"
    )
    # Then the Pixel got the library's calls unmodified but for the eventID, in order ...
    calls = cdn.wait_calls(6)
    assert calls[:2] == [
        ["set", "autoConfig", False, PIXEL_ID],
        ["init", PIXEL_ID, {"em": "React.Fan@Example.com", "fn": "Ada"}],
    ]
    assert [c[:3] for c in calls[2:]] == [
        ["track", "PageView", {}],
        ["track", "ViewContent", {"content_ids": ["SKU-9"]}],
        ["track", "Purchase", {"value": 30, "currency": "EUR"}],
        ["trackCustom", "Shared", {"network": "x"}],
    ]
    # ... and Meta got each under the same id, with the advanced matching hashed
    events = by_name(arrived(stack, code, 4))
    assert {name: e["event_id"] for name, e in events.items()} == {c[1]: event_id_of(c) for c in calls[2:]}
    for event in events.values():
        assert event["user_data"]["em"] == sha("react.fan@example.com")
        assert event["user_data"]["fn"] == sha("ada")
    assert events["Shared"]["custom_data"] == {"network": "x"}
    assert page.evaluate("pageErrors") == []


# --- the snippet alone, against a recording endpoint ---------------------------------------------------


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    server.start()
    yield server
    server.stop()


def test_with_pixel_id_only_that_pixels_calls_are_mirrored(shop, recorder, page):
    # Given a page with two pixels, and a relay that serves only the first (pixelId in init)
    base = BASE_CODE % f"fbq('init', '{PIXEL_ID}'); fbq('init', '{OTHER_PIXEL}');"
    config = {"endpoint": recorder.endpoint, "mirror": True, "pixelId": PIXEL_ID}
    cdn = open_page(
        page, shop_page(shop, "/one.html", base, SNIPPET, script(f"capiRelay.init({json.dumps(config)})"))
    )
    cdn.load()
    # When the page tracks for all pixels, then for each one
    page.evaluate(
        "fbq('track', 'Lead', {}, {eventID: 'all-1'});"
        f"fbq('trackSingle', '{OTHER_PIXEL}', 'Lead', {{}}, {{eventID: 'other-1'}});"
        f"fbq('trackSingle', '{PIXEL_ID}', 'Lead', {{}}, {{eventID: 'mine-1'}})"
    )
    # Then the relay got the first pixel's two events, in one request for that pixel
    [post] = wait_for(recorder.posts, what="the request")
    assert post.json["pixel_id"] == PIXEL_ID
    assert [e["event_id"] for e in post.json["data"]] == ["all-1", "mine-1"]
    calls = cdn.wait_calls(5)
    assert calls[3] == ["trackSingle", OTHER_PIXEL, "Lead", {}, {"eventID": "other-1"}]


@pytest.mark.parametrize(
    ("setup", "after_init"),
    [
        ("Object.freeze(fbq)", False),
        ("fbq.queue = null", False),
        ("Object.defineProperty(fbq, 'callMethod', {value: undefined, configurable: false})", False),
        (
            "delete window.fbq;"
            " Object.defineProperty(window, 'fbq', {value: undefined, configurable: false})",
            False,
        ),
        ("fbq.queue = Object.freeze([])", True),
        ("Object.freeze(fbq); fbq.callMethod = 5", True),
    ],
    ids=["frozen-stub", "no-queue", "fixed-callMethod", "fixed-window-fbq", "frozen-queue", "odd-callMethod"],
)
def test_mirror_never_throws_into_a_page_with_an_odd_pixel(shop, recorder, page, setup, after_init):
    # Given a page whose Pixel stub is, before or after the snippet's init, in a state it cannot watch
    base = BASE_CODE % f"fbq('init', '{PIXEL_ID}');"
    config = {"endpoint": recorder.endpoint, "mirror": True, "debug": True}
    odd = script(f"try {{ {setup}; }} catch (e) {{ window.setupError = String(e); }}")
    parts = [base, SNIPPET, script(f"capiRelay.init({json.dumps(config)})")]
    parts.insert(len(parts) if after_init else 1, odd)
    open_page(page, shop_page(shop, "/odd-stub.html", *parts))
    # When the page and the snippet go on tracking
    event_id = page.evaluate("try { fbq('track', 'Lead'); } catch (e) {} capiRelay.track('Purchase')")
    # Then the page's own setup ran as written, the snippet's own event still goes out, and nothing threw
    assert page.evaluate("window.setupError") is None
    [event] = wait_for(recorder.events, what="the snippet's own event")
    assert event["event_id"] == event_id
    assert page.evaluate("pageErrors") == []


def test_react_facebook_pixel_consent_holds_events_until_granted(shop, stack, code, page, react_pixel):
    # Given a React shop whose consent banner revokes through the library right after init
    page.route(f"{shop.origin}/vendor/fb-pixel.js", lambda r: r.fulfill(path=str(react_pixel)))
    vendor = "<script src='/vendor/fb-pixel.js'></script>"
    cdn = open_page(page, shop_page(shop, "/react-consent.html", SNIPPET, mirror_init(stack, code), vendor))
    page.evaluate(
        f"const P = ReactPixel.default; P.init('{PIXEL_ID}', {{external_id: 'fan-1'}}); P.revokeConsent()"
    )
    cdn.load()
    # When the visitor adds to cart before deciding
    _, requests = requests_made_during(
        page,
        "ReactPixel.default.track('AddToCart', {value: 7, currency: 'EUR'})",
        marker=stack.info["api"] + "/health",
    )
    # Then nothing reached the relay
    assert requests == [stack.info["api"] + "/health"]
    assert stack.graph_events(code) == []
    # When consent is granted
    page.evaluate("ReactPixel.default.grantConsent()")
    # Then the held event reaches Meta under the id the Pixel got once unlocked, with the user data hashed
    [record] = arrived(stack, code, 1)
    calls = cdn.wait_calls(4)
    assert [c[:2] for c in calls] == [  # in the order the library made them; AddToCart waited for grant
        ["init", PIXEL_ID],
        ["consent", "revoke"],
        ["consent", "grant"],
        ["track", "AddToCart"],
    ]
    assert record["event"]["event_id"] == event_id_of(calls[3])
    assert record["event"]["user_data"]["external_id"] == sha("fan-1")
