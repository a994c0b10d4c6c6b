"""What the sandbox's Test Events page shows: every delivery folded into one row per event, with badges.

Meta's Test Events tool is where an advertiser checks an integration; this is its local stand-in, and
it shows more than Meta does, because the sandbox also sees what failed: a refused event and why
(Graph code/subcode/message), an event that arrived on its n-th attempt, a Pixel event and a relay
event Meta would deduplicate (same pixel, `event_name` and `event_id`), Limited Data Use, test codes,
and how many match keys an event carried. The page itself (test_events_page/) only renders this JSON,
as text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from local.graph_validation import MATCH_KEYS

# A rough guide to which keys help Meta match a person (hashed identifiers and click ids first), not
# Meta's Event Match Quality formula, which is not published.
WEIGHTS = {
    "em": 4.0,
    "ph": 3.0,
    "external_id": 2.0,
    "fbc": 2.0,
    "fbp": 2.0,
    "client_ip_address": 1.0,
    "client_user_agent": 1.0,
    "fn": 1.0,
    "ln": 1.0,
    "db": 1.0,
    "ge": 0.5,
    "ct": 0.5,
    "st": 0.5,
    "zp": 0.5,
    "country": 0.5,
}
_TOTAL = sum(WEIGHTS.values())
MAX_PIXEL_REPORT_BYTES = 64 * 1024
_TEXT_LIMIT = 500  # a Pixel report's strings; Meta caps event names far lower


def match_score(user_data: Any) -> dict:
    """0–10 from the keys present (weighted), the keys present, and the missing ones, weightiest first."""
    data = user_data if isinstance(user_data, Mapping) else {}
    present = [k for k in MATCH_KEYS if data.get(k) not in (None, "", [])]
    missing = sorted((k for k in WEIGHTS if k not in present), key=lambda k: (-WEIGHTS[k], k))
    points = sum(WEIGHTS.get(k, 0.0) for k in present)
    score = round(10 * points / _TOTAL, 1)
    grade = "good" if score >= 6 else "ok" if score >= 4 else "poor"
    return {"score": score, "grade": grade, "keys": present, "missing": missing}


def parse_pixel_report(body: Any) -> dict:
    """A Pixel event as the example page's stand-in Pixel reports it; ValueError names the bad field."""
    if not isinstance(body, Mapping):
        raise ValueError("body must be a JSON object")
    unknown = sorted(
        set(body) - {"pixel_id", "event_name", "event_id", "custom_data", "test_event_code", "url"}
    )
    if unknown:
        raise ValueError(f"unknown key(s): {', '.join(str(k)[:40] for k in unknown)}")
    name = body.get("event_name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("event_name must be a non-empty string")
    report: dict[str, Any] = {"event_name": name[:_TEXT_LIMIT]}
    for key in ("pixel_id", "event_id", "test_event_code", "url"):
        value = body.get(key)
        if value is None or value == "":
            report[key] = None
        elif isinstance(value, str | int) and not isinstance(value, bool):
            report[key] = str(value)[: _TEXT_LIMIT * 4 if key == "url" else _TEXT_LIMIT]
        else:
            raise ValueError(f"{key} must be a string")
    custom = body.get("custom_data")
    if custom is not None and not isinstance(custom, Mapping):
        raise ValueError("custom_data must be an object")
    report["custom_data"] = dict(custom) if custom else None
    return report


def _key(pixel_id: Any, event: Mapping) -> tuple | None:
    event_id = event.get("event_id")
    if event_id in (None, ""):
        return None
    return (str(pixel_id), str(event.get("event_name")), str(event_id))


def _server_rows(deliveries: Iterable[Mapping]) -> list[dict]:
    """One row per event: its last delivery, with every earlier attempt in its history."""
    rows: dict[Any, dict] = {}
    for delivery in deliveries:
        event = delivery["event"]
        key = _key(delivery["pixel_id"], event) or ("#", delivery["seq"])
        attempt = {
            "attempt": delivery["attempt"],
            "at": delivery["at"],
            "outcome": delivery["outcome"],
            "error": delivery.get("error"),
            "fbtrace_id": delivery["fbtrace_id"],
        }
        history = rows[key]["attempts"] if key in rows else []
        rows.pop(key, None)  # re-inserted: the order of rows is the order of their last delivery
        rows[key] = {
            "id": f"#{delivery['seq']}",
            "source": "server",
            "status": delivery["outcome"],
            "received_at": delivery["at"],
            "pixel_id": delivery["pixel_id"],
            "event_name": event.get("event_name"),
            "event_id": event.get("event_id"),
            "action_source": event.get("action_source"),
            "test_event_code": delivery["test_event_code"],
            "api_version": delivery["api_version"],
            "fbtrace_id": delivery["fbtrace_id"],
            "attempt": delivery["attempt"],
            "attempts": [*history, attempt],
            "error": delivery.get("error"),
            "match": match_score(event.get("user_data")),
            "payload": event,
        }
    return list(rows.values())


def _pixel_rows(reports: Iterable[Mapping]) -> list[dict]:
    return [
        {
            "id": f"#{report['seq']}",
            "source": "browser",
            "status": "received",
            "received_at": report["at"],
            "pixel_id": report["pixel_id"],
            "event_name": report["event_name"],
            "event_id": report["event_id"],
            "action_source": "website",
            "test_event_code": report["test_event_code"],
            "attempt": 1,
            "attempts": [],
            "error": None,
            "match": None,
            "payload": {
                k: report[k]
                for k in ("event_name", "event_id", "custom_data", "url")
                if report.get(k) is not None
            },
        }
        for report in reports
    ]


def _badges(row: dict, pairs: Mapping[tuple, list[dict]]) -> list[dict]:
    badges = [{"kind": row["source"], "label": "Browser" if row["source"] == "browser" else "Server"}]
    key = _key(row["pixel_id"], row)
    partners = [
        p
        for p in (pairs.get(key[1:], []) if key else [])
        if p["source"] != row["source"]
        and (p["pixel_id"] in (None, row["pixel_id"]) or row["pixel_id"] is None)
    ]
    if row["status"] == "received" and partners:
        other = partners[0]
        badges.append(
            {
                "kind": "dedup",
                "label": "Deduplicated",
                "title": f"{other['source'].capitalize()} event {other['id']} has the same event_id and "
                "event_name: Meta counts the pair once",
                "with": other["id"],
            }
        )
    error = row.get("error") or {}
    if row["status"] == "refused":
        sub = f"/{error['error_subcode']}" if error.get("error_subcode") is not None else ""
        badges.append(
            {
                "kind": "refused",
                "label": f"Refused: code {error.get('code')}{sub}",
                "title": ": ".join(
                    str(t) for t in (error.get("error_user_title"), error.get("error_user_msg")) if t
                )
                or error.get("message"),
            }
        )
    elif row["status"] == "failed":
        badges.append(
            {
                "kind": "failed",
                "label": f"Not delivered: HTTP {error.get('http_status')}",
                "title": f"{error.get('message')} — the relay keeps it in its retry queue",
            }
        )
    if row["attempt"] > 1:
        badges.append(
            {
                "kind": "retry",
                "label": f"Attempt {row['attempt']}",
                "title": "Delivered again with the same event_id: "
                + "; ".join(f"attempt {a['attempt']} {a['outcome']}" for a in row["attempts"]),
            }
        )
    if "LDU" in (row["payload"].get("data_processing_options") or []):
        badges.append({"kind": "ldu", "label": "LDU", "title": "Limited Data Use (data_processing_options)"})
    if row["test_event_code"]:
        badges.append(
            {"kind": "test", "label": f"Test: {row['test_event_code']}", "title": "test_event_code"}
        )
    return badges


def timeline(
    deliveries: Iterable[Mapping], pixel_reports: Iterable[Mapping], filters: Mapping[str, str]
) -> dict:
    """The page's JSON: rows newest first (after the filters), and the names and codes to filter by."""
    rows = _server_rows(deliveries) + _pixel_rows(pixel_reports)
    pairs: dict[tuple, list[dict]] = {}
    for row in rows:
        key = _key(row["pixel_id"], row)
        if key and row["status"] == "received":
            pairs.setdefault(key[1:], []).append(row)
    for row in rows:
        row["badges"] = _badges(row, pairs)
    rows.sort(key=lambda r: (r["received_at"], int(r["id"][1:])), reverse=True)
    names = sorted({str(r["event_name"]) for r in rows})
    codes = sorted({r["test_event_code"] for r in rows if r["test_event_code"]})
    name, code = filters.get("event_name"), filters.get("test_event_code")
    shown = [
        r
        for r in rows
        if (not name or r["event_name"] == name) and (not code or r["test_event_code"] == code)
    ]
    return {"events": shown[:500], "total": len(shown), "event_names": names, "test_event_codes": codes}
