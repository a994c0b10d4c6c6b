// The sandbox's Test Events page: fetches /_sandbox/test-events and draws it, without reloading.
// Event data comes from strangers (any site can post to a relay): it only ever reaches the page as
// text (textContent, attribute values), never as markup.
(function () {
  "use strict";
  var POLL_MS = 2000;
  var list = document.getElementById("events");
  var status = document.getElementById("status");
  var fEvent = document.getElementById("f-event");
  var fCode = document.getElementById("f-code");
  var opened = {}; // row ids the user opened: kept open across updates
  var last = null; // the JSON last drawn: nothing changes on screen while the data does not
  var timer = null;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function add(parent) {
    for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.appendChild(arguments[i]);
    return parent;
  }

  function time(epoch) {
    var d = new Date(epoch * 1000);
    return d.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false});
  }

  function badge(b) {
    var node = el("span", "badge " + b.kind, b.label);
    if (b.title) node.title = b.title;
    return node;
  }

  function field(dl, name, value, cls) {
    add(dl, el("dt", null, name), el("dd", cls || null, value === null || value === undefined ? "—" : value));
  }

  function attempts(row) {
    if (!row.attempts || row.attempts.length < 2) return null;
    var ol = el("ol", "attempts");
    row.attempts.forEach(function (a) {
      var text = "attempt " + a.attempt + " at " + time(a.at) + ": " + a.outcome;
      if (a.error) text += " — HTTP " + a.error.http_status + ", code " + a.error.code + ": " + a.error.message;
      add(ol, el("li", null, text));
    });
    return ol;
  }

  function detail(row) {
    var box = el("div", "detail");
    var dl = el("dl");
    field(dl, "Row", row.id + " (" + row.source + ")");
    field(dl, "Pixel", row.pixel_id);
    field(dl, "event_id", row.event_id, "mono");
    field(dl, "Action source", row.action_source);
    field(dl, "Test event code", row.test_event_code);
    if (row.fbtrace_id) field(dl, "fbtrace_id", row.fbtrace_id, "mono");
    if (row.match) {
      field(dl, "Match keys", row.match.keys.join(", ") || "none");
      field(dl, "Missing", row.match.missing.join(", ") || "none", "missing");
    }
    if (row.error) {
      var e = row.error;
      var sub = e.error_subcode !== undefined && e.error_subcode !== null ? ", subcode " + e.error_subcode : "";
      field(dl, "Meta answered", "HTTP " + e.http_status + ", code " + e.code + sub + ": " + e.message, "error");
      if (e.error_user_msg) field(dl, "Why", e.error_user_msg, "error");
    }
    add(box, dl);
    var tries = attempts(row);
    if (tries) add(box, el("h4", null, "Deliveries"), tries);
    var title = row.source === "browser" ? "What the Pixel reported" :
      row.status === "received" ? "Exactly what Meta received" : "What the relay sent";
    add(box, el("h4", null, title), el("pre", "json", JSON.stringify(row.payload, null, 2)));
    return box;
  }

  function summary(row) {
    var s = el("summary");
    add(s, el("span", "rowid mono", row.id), el("span", "time", time(row.received_at)),
      el("span", "name", row.event_name), el("span", "eid mono", row.event_id || "(no event_id)"));
    if (row.match) {
      var score = el("span", "score " + row.match.grade, row.match.score.toFixed(1) + "/10");
      score.title = "match keys: " + (row.match.keys.join(", ") || "none") +
        (row.match.missing.length ? "; missing: " + row.match.missing.join(", ") : "");
      add(s, score);
    } else add(s, el("span", "score", ""));
    var badges = el("span", "badges");
    row.badges.forEach(function (b) { add(badges, badge(b)); });
    return add(s, badges);
  }

  function draw(data) {
    var rows = data.events || [];
    var nodes = rows.map(function (row) {
      var d = el("details", "event " + row.source + " " + row.status);
      d.setAttribute("data-id", row.id);
      if (opened[row.id]) d.open = true;
      d.addEventListener("toggle", function () {
        if (d.open) opened[row.id] = true; else delete opened[row.id];
      });
      return add(d, summary(row), detail(row));
    });
    if (!nodes.length) nodes = [el("p", "empty", "No events yet. Send one to the relay, or clear the filters.")];
    list.replaceChildren.apply(list, nodes);
  }

  function options(select, values, all) {
    var current = select.value;
    var opts = [el("option", null, all)];
    opts[0].value = "";
    values.forEach(function (v) {
      var o = el("option", null, v);
      o.value = v;
      opts.push(o);
    });
    if (current && values.indexOf(current) < 0) {
      var kept = el("option", null, current);
      kept.value = current;
      opts.push(kept);
    }
    select.replaceChildren.apply(select, opts);
    select.value = current;
  }

  function query() {
    var q = new URLSearchParams();
    if (fEvent.value) q.set("event_name", fEvent.value);
    if (fCode.value) q.set("test_event_code", fCode.value);
    return q.toString();
  }

  function refresh() {
    window.clearTimeout(timer);
    var q = query();
    return fetch("/_sandbox/test-events" + (q ? "?" + q : ""), {cache: "no-store"})
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.text();
      })
      .then(function (text) {
        var data = JSON.parse(text);
        options(fEvent, data.event_names || [], "All events");
        options(fCode, data.test_event_codes || [], "All codes");
        if (text !== last) { draw(data); last = text; }
        status.className = "status";
        status.textContent = data.total + " event(s)" + (q ? " (filtered)" : "") + " · updated " + time(Date.now() / 1000);
      }, function (err) {
        status.className = "status down";
        status.textContent = "The sandbox does not answer (" + err.message + "); retrying";
      })
      .then(function () { timer = window.setTimeout(refresh, POLL_MS); });
  }

  function onFilter() {
    var q = query();
    window.history.replaceState(null, "", q ? "?" + q : window.location.pathname);
    last = null;
    refresh();
  }

  var start = new URLSearchParams(window.location.search);
  options(fEvent, [], "All events");
  options(fCode, [], "All codes");
  // Filters from the address (shareable); options() keeps a value the data does not hold yet.
  [[fEvent, "event_name"], [fCode, "test_event_code"]].forEach(function (pair) {
    var v = start.get(pair[1]);
    if (v) { options(pair[0], [v], pair[0] === fEvent ? "All events" : "All codes"); pair[0].value = v; }
    pair[0].addEventListener("change", onFilter);
  });
  document.getElementById("filters").addEventListener("submit", function (e) { e.preventDefault(); });
  refresh();
})();
