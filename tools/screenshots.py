"""Write PNGs of the example shop and the sandbox's Test Events page, for the README and docs.

Usage: python tools/screenshots.py [docs/img]  (`make screenshots`). Starts the local stack on free
ports, drives the example shop in Debian's Chromium through a few outcomes (sent, refused by Meta,
retried after a 503, Limited Data Use), then photographs both pages. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "layers")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CODE = "TEST4242"


def _wait(check: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        time.sleep(0.1)


def _settled(page: Any) -> bool:
    """Every row of the shop's relay-answer table has a final answer."""
    states = page.eval_on_selector_all("#event-rows .state", "s => s.map(x => x.textContent)")
    return len(states) == 4 and not any(s.startswith("sending") for s in states)


def _drive_shop(page: Any, sandbox: Any) -> None:
    page.fill("#email", "jo@example.com")
    page.click("#view")
    sandbox.add_fault({"kind": "reject", "event_name": "AddToCart"})
    page.click("#cart")
    _wait(lambda: "refused" in page.inner_text("#event-rows"), "the refusal")
    sandbox.add_fault({"kind": "5xx", "status": 503, "count": 1})
    page.click("#buy")
    _wait(lambda: "queued" in page.inner_text("#event-rows"), "the queued purchase")
    page.click("[data-consent=ldu]")
    page.click("#custom")


def main(out: Path) -> None:
    os.environ.update(PORT="0", AWS_SERVER_PORT="0", SANDBOX_PORT="0", RETRY_BASE_DELAY_S="0.5")
    from playwright.sync_api import sync_playwright

    from local.run import LocalStack

    out.mkdir(parents=True, exist_ok=True)
    stack = LocalStack()
    try:
        info = stack.start()
        with sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"]
            )
            context = browser.new_context(viewport={"width": 1100, "height": 900}, device_scale_factor=1)
            shop = context.new_page()
            shop.goto(f"{info['example_page']}&test_event_code={CODE}")
            _drive_shop(shop, stack.sandbox)
            _wait(lambda: _settled(shop), "the relay's answers")
            shop.screenshot(path=str(out / "example-shop.png"), full_page=True)

            tab = context.new_page()
            tab.goto(f"{info['sandbox']}/?test_event_code={CODE}")
            _wait(lambda: "Attempt 2" in tab.inner_text("#events"), "the retried purchase on the page")
            tab.click("#events details.event.server:has(.badge.retry) summary")
            tab.wait_for_timeout(300)  # one frame for the opened row to lay out before the photo
            tab.screenshot(path=str(out / "test-events.png"), full_page=True)
            browser.close()
    finally:
        stack.stop()
    print(f"wrote {out / 'example-shop.png'} and {out / 'test-events.png'}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "img"))
