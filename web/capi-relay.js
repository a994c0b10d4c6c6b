/*! capi-relay browser snippet | MIT | https://github.com/capi-relay/capi-relay
 *
 * Sends every conversion twice with ONE event_id: to the Meta Pixel (fbq) and to your capi-relay
 * endpoint, so Meta deduplicates the pair and keeps the event even when the Pixel is blocked.
 *
 *   <script src="/capi-relay.js"></script>
 *   <script>capiRelay.init({endpoint: "https://capi.example.com/events"});</script>
 *   ... capiRelay.track("Purchase", {value: 42.5, currency: "EUR"}, {em: "a@example.com"});
 *
 * Or keep the Pixel code you have: capiRelay.init({endpoint: ..., mirror: true}) sends every
 * fbq('track' | 'trackCustom' | 'trackSingle' | 'trackSingleCustom', ...) the page makes to the relay too
 * (docs/pixel-mirror.md).
 *
 * Design choices (see README.md (Add it to your website)):
 * - Body is JSON sent as text/plain: a CORS "simple request", so no preflight round trip, and it works
 *   with keepalive and sendBeacon while the page unloads. The relay parses the body as JSON whatever the
 *   content type, and checks the Origin header itself (a simple request is not preflighted).
 * - Events tracked in the same task go out together, at most maxBatch (20) a request: the relay gives a
 *   caller admitted by its Origin alone (a browser) 20 events a request. A 413 all the same (a relay set
 *   lower) sends each half again, down to one event. pagehide flushes anything still pending.
 * - init({onResult: function (r) {...}}) hears, per event, what became of it: {eventId, eventName,
 *   pixelId, status, queued, errors: [{field, code}], sentVia: "fetch"|"beacon"|"held", retrying}.
 * - Consent 'denied' holds events in memory (never stored) and sends them if consent is granted on this
 *   page; they are gone when the page goes away. 'ldu' sends with Limited Data Use [LDU], 0, 0.
 *   A Google Consent Mode object ({ad_storage, ad_user_data, ad_personalization, limited_data_use})
 *   sends, and lets the relay drop what it forbids; ad_storage 'denied' also keeps the snippet away
 *   from the _fbp/_fbc cookies. Anything unrecognised counts as 'denied'.
 * - Nothing here throws into the page: every entry point is wrapped and failures are swallowed
 *   (logged to the console only with {debug: true}, and never with user_data values).
 * - Mirror: the Pixel's base code defines a stub fbq that queues calls until fbevents.js loads and sets
 *   fbq.callMethod. We watch both doors (the queue's push and callMethod, through accessors on the stub)
 *   instead of replacing window.fbq: the page, the base code, fbevents.js and libraries that hold a
 *   reference to fbq all keep the very same function, and fbevents.js still gets each call once.
 */
(function (window) {
  "use strict";
  if (!window || (window.capiRelay && window.capiRelay.version)) return;

  var VERSION = "0.1.0";
  var KEEPALIVE_LIMIT = 60000; // bytes; Chromium caps in-flight keepalive bodies at 64 KiB in total
  var URL_LIMIT = 8192; // Meta's cap on event_source_url
  var HELD_LIMIT = 100; // events held while consent is denied (oldest dropped first)
  var FBC_MAX_AGE = 7776000; // 90 days, as the Pixel sets _fbc and _fbp
  var RETRY_DELAY_MS = 1500;
  var MAX_BATCH = 20; // events a request: the relay's BrowserMaxEvents for callers without credentials
  var META_MAX_BATCH = 1000; // Meta's cap on events a request
  var STANDARD = " AddPaymentInfo AddToCart AddToWishlist CompleteRegistration Contact CustomizeProduct " +
    "Donate FindLocation InitiateCheckout Lead PageView Purchase Schedule Search StartTrial " +
    "SubmitApplication Subscribe ViewContent ";

  var cfg = null; // set by init
  var CATEGORIES = ["ad_storage", "ad_user_data", "ad_personalization"]; // Google Consent Mode v2 names
  var consent = "granted"; // "granted" | "denied" | "ldu" | {ad_storage: "granted"|"denied", ...}
  var held = []; // track() calls waiting for consent
  var pending = []; // events waiting for the end of the current task
  var scheduled = false;
  var preInit = []; // track() calls made before init()
  var pixelRevoked = false; // fbq('consent', 'revoke') seen by the mirror, until fbq('consent', 'grant')
  var pixelDpo = null; // {options, country, state} from fbq('dataProcessingOptions', ...)
  var learnedMax = META_MAX_BATCH; // lowered when the relay answers 413 (its limit is below maxBatch)

  function log(level, msg, extra) {
    if (!cfg || !cfg.debug || !window.console) return;
    try { (console[level] || console.log).call(console, "[capi-relay] " + msg, extra === undefined ? "" : extra); }
    catch (e) { /* console may be hostile */ }
  }

  function uuid() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === "function") {
      try { return c.randomUUID(); } catch (e) { /* insecure context: fall through */ }
    }
    var b = new Array(16), i;
    if (c && typeof c.getRandomValues === "function") {
      var u = new Uint8Array(16);
      c.getRandomValues(u);
      for (i = 0; i < 16; i++) b[i] = u[i];
    } else {
      for (i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    }
    b[6] = (b[6] & 0x0f) | 0x40; // RFC 4122 version 4
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = "";
    for (i = 0; i < 16; i++) {
      h += (b[i] + 0x100).toString(16).slice(1);
      if (i === 3 || i === 5 || i === 7 || i === 9) h += "-";
    }
    return h;
  }

  function readCookie(name) {
    try {
      var parts = window.document.cookie ? window.document.cookie.split(";") : [];
      for (var i = 0; i < parts.length; i++) {
        var p = parts[i].replace(/^\s+/, "");
        if (p.indexOf(name + "=") === 0) return decodeURIComponent(p.slice(name.length + 1));
      }
    } catch (e) { /* sandboxed iframe, or cookies disabled */ }
    return null;
  }

  function writeCookie(name, value) {
    try {
      window.document.cookie = name + "=" + encodeURIComponent(value) + "; path=/; max-age=" + FBC_MAX_AGE +
        "; SameSite=Lax" + (window.location.protocol === "https:" ? "; Secure" : "");
    } catch (e) { /* cookies unavailable: we still send the value with this event */ }
  }

  function queryParam(name) {
    try {
      var m = new RegExp("[?&]" + name + "=([^&#]*)").exec(window.location.search);
      return m ? decodeURIComponent(m[1].replace(/\+/g, " ")) : null;
    } catch (e) { return null; }
  }

  // The click id is only in the landing page's URL; keep it as _fbc (Meta's format) the way the Pixel
  // does, so a Purchase three pages later still carries it when the Pixel is blocked.
  function browserIds() {
    if (typeof consent === "object" && consent.ad_storage === "denied") return {};
    var fbp = readCookie("_fbp"), fbc = readCookie("_fbc"), fbclid = queryParam("fbclid");
    var now = new Date().getTime();
    if (fbclid && (!fbc || fbc.split(".").slice(3).join(".") !== fbclid)) {
      fbc = "fb.1." + now + "." + fbclid;
      if (cfg.cookies) writeCookie("_fbc", fbc);
    }
    if (!fbp && cfg.cookies) {
      fbp = "fb.1." + now + "." + Math.floor(1000000000 + Math.random() * 9000000000);
      writeCookie("_fbp", fbp);
    }
    return {fbp: fbp, fbc: fbc};
  }

  function copy(obj) {
    var out = {};
    if (!obj || typeof obj !== "object") return out;
    for (var k in obj) if (Object.prototype.hasOwnProperty.call(obj, k)) out[k] = obj[k];
    return out;
  }

  function buildEvent(name, id, customData, userData, time) {
    var ids = browserIds();
    var ud = copy(userData);
    if (ids.fbp && !ud.fbp) ud.fbp = ids.fbp;
    if (ids.fbc && !ud.fbc) ud.fbc = ids.fbc;
    if (!ud.client_user_agent && window.navigator) ud.client_user_agent = window.navigator.userAgent;
    var ev = {
      event_name: name,
      event_id: id,
      event_time: time,
      event_source_url: String(window.location.href).slice(0, URL_LIMIT),
      action_source: "website",
      user_data: ud
    };
    if (customData && typeof customData === "object") ev.custom_data = copy(customData);
    return ev;
  }

  function applyConsent(ev, dpo) {
    // Meta: Limited Data Use with country 0 and state 0 lets Meta geolocate the user.
    if (consent === "ldu") {
      ev.data_processing_options = ["LDU"];
      ev.data_processing_options_country = 0;
      ev.data_processing_options_state = 0;
    } else if (dpo) { // what the page told the Pixel when the event happened; the relay fills the rest
      ev.data_processing_options = dpo.options.slice();
      if (dpo.country !== null) ev.data_processing_options_country = dpo.country;
      if (dpo.state !== null) ev.data_processing_options_state = dpo.state;
    }
    return ev;
  }

  function pixel(name, customData, id) {
    var fbq = window.fbq;
    if (typeof fbq !== "function") return;
    selfCalls++; // the mirror must not send this call to the relay a second time
    try {
      var method = STANDARD.indexOf(" " + name + " ") >= 0 ? "track" : "trackCustom";
      // Meta: the Pixel's eventID and the server's event_id must match for deduplication.
      if (cfg.pixelId) {
        fbq(method === "track" ? "trackSingle" : "trackSingleCustom", cfg.pixelId, name, customData || {},
          {eventID: id});
      } else fbq(method, name, customData || {}, {eventID: id});
    } catch (e) { log("warn", "fbq failed", String(e)); }
    finally { selfCalls--; }
  }

  function byteLength(s) {
    try { return new Blob([s]).size; } catch (e) { return s.length * 3; }
  }

  function beacon(body) {
    try {
      return !!(window.navigator.sendBeacon &&
        window.navigator.sendBeacon(cfg.endpoint, new Blob([body], {type: "text/plain;charset=UTF-8"})));
    } catch (e) { return false; }
  }

  // What the relay said, per event, to init({onResult}); only field paths and codes (no messages, no
  // values). A callback that throws is the page's bug: it must not stop the events that follow.
  function notify(results) {
    var fn = cfg && cfg.onResult;
    if (typeof fn !== "function") return;
    for (var i = 0; i < results.length; i++) {
      try { fn(results[i]); } catch (e) { log("warn", "onResult threw", String(e)); }
    }
  }

  function errorsFor(index, answer) {
    var all = answer && answer.errors, out = [];
    for (var i = 0; all && i < all.length; i++) {
      var e = all[i];
      if (!e || typeof e !== "object" || (e.index !== null && e.index !== undefined && e.index !== index)) continue;
      var item = {field: e.field === undefined ? null : e.field, code: e.code === undefined ? null : e.code};
      if (e.graph_code !== undefined && e.graph_code !== null) item.graph_code = e.graph_code;
      if (e.graph_subcode !== undefined && e.graph_subcode !== null) item.graph_subcode = e.graph_subcode;
      out.push(item);
    }
    return out;
  }

  // status: the relay's HTTP status; 0 when it could not be reached, null when nobody can know (a
  // beacon is never answered, a held event was not sent).
  function report(batch, via, status, answer, retrying) {
    if (!cfg || typeof cfg.onResult !== "function") return;
    var out = [];
    for (var i = 0; i < batch.data.length; i++) {
      var errors = status === 0 ? [{field: null, code: "relay_unreachable"}] : errorsFor(i, answer);
      out.push({eventId: batch.data[i].event_id, eventName: batch.data[i].event_name,
        pixelId: batch.base.pixel_id || null, status: status, queued: status === 202 && !errors.length,
        errors: errors, sentVia: via, retrying: !!retrying,
        fbtraceId: (answer && typeof answer.fbtrace_id === "string" && answer.fbtrace_id) || null});
    }
    notify(out);
  }

  function bodyOf(batch) {
    var body = {data: batch.data};
    for (var k in batch.base) if (Object.prototype.hasOwnProperty.call(batch.base, k)) body[k] = batch.base[k];
    return JSON.stringify(body);
  }

  // A 413 (too many events, or too many bytes, for this caller): send each half on its own. Every half
  // is smaller, and one event is never split, so this ends; later flushes start at the smaller size.
  function split(batch) {
    var half = Math.ceil(batch.data.length / 2);
    if (half < learnedMax) learnedMax = half;
    log("warn", "relay answered 413: sending " + batch.data.length + " events as two requests");
    post({base: batch.base, data: batch.data.slice(0, half)}, false, 0);
    post({base: batch.base, data: batch.data.slice(half)}, false, 0);
  }

  function answered(batch, res, answer, again) {
    if (res.status === 413 && batch.data.length > 1) { split(batch); return; }
    if (res.status >= 500 || res.status === 429) { again("status " + res.status, res.status, answer); return; }
    if (res.status >= 400) log("warn", "relay refused (" + res.status + ")", answer && answer.errors);
    else log("info", "relay answered " + res.status);
    report(batch, "fetch", res.status, answer, false);
  }

  // One retry for what the network or the relay can recover from; a 4xx will not get better.
  function post(batch, unloading, attempt) {
    var body = bodyOf(batch);
    var big = byteLength(body) > KEEPALIVE_LIMIT;
    if (unloading && !big && beacon(body)) { report(batch, "beacon", null, null, false); return; }
    if (typeof window.fetch !== "function") {
      if (!big && beacon(body)) report(batch, "beacon", null, null, false);
      else report(batch, "beacon", 0, null, false);
      return;
    }
    var again = function (why, status, answer) {
      report(batch, "fetch", status, answer, attempt === 0);
      if (attempt > 0) { log("warn", "send failed, giving up", why); return; }
      log("warn", "send failed, retrying once", why);
      window.setTimeout(function () { post(batch, false, 1); }, RETRY_DELAY_MS);
    };
    try {
      window.fetch(cfg.endpoint, {
        method: "POST", body: body, keepalive: !big, mode: "cors", credentials: "omit",
        headers: {"Content-Type": "text/plain;charset=UTF-8"}
      }).then(function (res) {
        var done = function (answer) {
          try { answered(batch, res, answer, again); } catch (e) { log("warn", "answer failed", String(e)); }
        };
        res.json().then(done, function () { done(null); });
      }, function (e) { again(String(e), 0, null); });
    } catch (e) {
      if (big || !beacon(body)) again(String(e), 0, null);
      else report(batch, "beacon", null, null, false);
    }
  }

  // One request per pixel (the relay takes pixel_id per request; mirrored fbq calls may name several),
  // and at most maxBatch events a request: the relay gives a browser 20 (BrowserMaxEvents).
  function flush(unloading) {
    scheduled = false;
    if (!pending.length || !cfg) return;
    var items = pending, groups = {}, order = [], i, j;
    pending = [];
    for (i = 0; i < items.length; i++) {
      var key = "p" + (items[i].pixel || cfg.pixelId || "");
      if (!groups[key]) { groups[key] = {pixel: items[i].pixel || cfg.pixelId, data: []}; order.push(key); }
      groups[key].data.push(items[i].ev);
    }
    var size = Math.max(1, Math.min(cfg.maxBatch, learnedMax));
    for (i = 0; i < order.length; i++) {
      var group = groups[order[i]], base = {};
      if (cfg.testEventCode) base.test_event_code = cfg.testEventCode;
      if (group.pixel) base.pixel_id = group.pixel;
      if (typeof consent === "object") base.consent = copy(consent); // the relay applies it (capi_relay.consent)
      for (j = 0; j < group.data.length; j += size) {
        try { post({base: base, data: group.data.slice(j, j + size)}, !!unloading, 0); }
        catch (e) { log("warn", "send failed", String(e)); }
      }
    }
  }

  function enqueue(ev, pixelId) {
    pending.push({ev: ev, pixel: pixelId || null});
    if (scheduled) return;
    scheduled = true;
    // End of the current task: batches a PageView + ViewContent fired together, and still runs before
    // a navigation started in the same task can unload the page.
    var run = function () { flush(false); };
    if (typeof window.queueMicrotask === "function") window.queueMicrotask(run);
    else if (window.Promise) window.Promise.resolve().then(run);
    else window.setTimeout(run, 0);
  }

  // call = [eventName, eventId, customData, userData, eventTime, pixelId, mirrored, dataProcessingOptions];
  // the Pixel and the relay get the same id. A mirrored call already went to the Pixel: relay only.
  function fire(call) {
    if (!call[6]) pixel(call[0], call[2], call[1]);
    enqueue(applyConsent(buildEvent(call[0], call[1], call[2], call[3], call[4]), call[7]), call[5]);
    log("info", (call[6] ? "mirrored " : "tracked ") + call[0] + " " + call[1]);
  }

  // Denied by the snippet's own consent, or revoked through fbq('consent', 'revoke'): either holds.
  function blocked() {
    return consent === "denied" || pixelRevoked;
  }

  function submit(call) {
    if (blocked()) hold(call);
    else fire(call);
  }

  function release() {
    if (blocked() || !cfg) return;
    var list = held;
    held = [];
    for (var i = 0; i < list.length; i++) fire(list[i]);
  }

  // options.eventId reuses an id your server already sends for the same event (server-side dedup).
  function track(eventName, customData, userData, options) {
    var id = null;
    try {
      id = options && options.eventId ? String(options.eventId) : uuid();
      if (typeof eventName !== "string" || !eventName) {
        log("warn", "track: eventName must be a non-empty string");
        return id;
      }
      var call = [eventName, id, customData, userData, Math.floor(new Date().getTime() / 1000), null, false,
        pixelDpo];
      if (!cfg) { if (preInit.push(call) > HELD_LIMIT) preInit.shift(); return id; }
      submit(call);
    } catch (e) { log("warn", "track failed", String(e)); }
    return id;
  }

  function hold(call) {
    held.push(call);
    if (held.length > HELD_LIMIT) held.shift();
    log("info", "held until consent: " + call[0] + " " + call[1]);
    notify([{eventId: call[1], eventName: call[0], pixelId: call[5] || (cfg && cfg.pixelId) || null, status: null,
      queued: false, errors: [], sentVia: "held", retrying: false, fbtraceId: null}]);
  }

  // Fail safe: a value we do not understand must not send anything.
  function readConsent(value) {
    if (value === "granted" || value === "denied" || value === "ldu") return value;
    if (!value || typeof value !== "object") {
      log("warn", "consent: use 'granted', 'denied', 'ldu' or a Consent Mode object; treated as denied");
      return "denied";
    }
    var out = {};
    for (var i = 0; i < CATEGORIES.length; i++) {
      var k = CATEGORIES[i];
      if (k in value) out[k] = value[k] === true || value[k] === "granted" ? "granted" : "denied";
    }
    if ("limited_data_use" in value) out.limited_data_use = value.limited_data_use === true;
    return out;
  }

  function setConsent(value) {
    try {
      if (pending.length) flush(false); // events tracked under the old consent leave with it
      consent = readConsent(value);
      release();
    } catch (e) { log("warn", "setConsent failed", String(e)); }
  }

  function batchSize(value) {
    if (value === undefined || value === null) return MAX_BATCH;
    var n = Math.floor(Number(value));
    if (n >= 1) return Math.min(n, META_MAX_BATCH);
    if (window.console) console.warn("[capi-relay] init: maxBatch must be a positive number; using " + MAX_BATCH);
    return MAX_BATCH;
  }

  function init(options) {
    try {
      var o = options || {};
      if (!o.endpoint) { if (window.console) console.warn("[capi-relay] init: endpoint is required"); return; }
      cfg = {
        endpoint: String(o.endpoint),
        pixelId: o.pixelId ? String(o.pixelId) : null,
        testEventCode: o.testEventCode ? String(o.testEventCode) : null,
        debug: !!o.debug,
        cookies: o.cookies !== false,
        mirror: !!o.mirror,
        maxBatch: batchSize(o.maxBatch),
        onResult: typeof o.onResult === "function" ? o.onResult : null
      };
      if (o.consent !== undefined) consent = readConsent(o.consent);
      var early = preInit;
      preInit = [];
      for (var i = 0; i < early.length; i++) submit(early[i]);
      if (cfg.mirror) watchPixel();
      log("info", "ready, consent " + JSON.stringify(consent));
    } catch (e) { /* never break the host page */ }
  }

  // ---- Mirror: the Pixel calls the page already makes also reach the relay (init({mirror: true})) ----
  var AM_KEYS = ["em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country", "external_id"];
  var PIXEL_ID = /^[0-9]{1,20}$/; // the Pixel ignores anything else (INVALID_PIXEL_ID)
  var HOOKED = "__capiRelayMirror";
  var pixelUsers = {}; // "p" + pixel id -> advanced matching from fbq('init', id, userData)
  var pixelOrder = []; // pixel ids in the order the page initialised them
  var selfCalls = 0; // > 0 while the snippet itself calls fbq (capiRelay.track): already on its way
  var inPixel = 0; // > 0 while fbevents.js runs a call: what it re-queues while locked is not a new call
  var releaseAfter = false; // fbq('consent', 'grant') seen: send what was held once the Pixel has it too
  var mirrored = {}, mirroredOrder = []; // calls already sent on: fbevents.js may push them back onto the
  // queue while it is locked (config loading, consent revoked), as a new arguments object

  function pixelIdOf(value) {
    var id = typeof value === "number" ? String(value) : value;
    return typeof id === "string" && PIXEL_ID.test(id) ? id : null;
  }

  function advancedMatching(value) {
    var out = {}, n = 0;
    if (!value || typeof value !== "object") return null;
    for (var i = 0; i < AM_KEYS.length; i++) {
      var v = value[AM_KEYS[i]];
      if (v !== undefined && v !== null && v !== "") { out[AM_KEYS[i]] = v; n++; }
    }
    return n ? out : null;
  }

  // As the Pixel does: a second init of a pixel only fills user data it does not have yet.
  function onInit(id, userData) {
    id = pixelIdOf(id);
    if (!id) return;
    var key = "p" + id;
    if (!Object.prototype.hasOwnProperty.call(pixelUsers, key)) pixelOrder.push(id);
    if (!pixelUsers[key]) pixelUsers[key] = advancedMatching(userData);
  }

  function onConsent(action) {
    if (action === "revoke") pixelRevoked = true;
    else if (action === "grant") { pixelRevoked = false; releaseAfter = true; }
  }

  function oneOf(value, allowed) {
    var n = typeof value === "string" && /^[0-9]+$/.test(value) ? Number(value) : value;
    return typeof n === "number" && (n === allowed[0] || n === allowed[1]) ? n : null;
  }

  // fbq('dataProcessingOptions', ['LDU'], country?, state?): country/state the relay accepts, or let it
  // (and Meta) geolocate.
  function onDpo(options, country, state) {
    var ldu = false;
    if (options && typeof options.length === "number") {
      for (var i = 0; i < options.length; i++) ldu = ldu || String(options[i]).toUpperCase() === "LDU";
    }
    pixelDpo = {options: ldu ? ["LDU"] : [], country: ldu ? oneOf(country, [0, 1]) : null,
      state: ldu ? oneOf(state, [0, 1000]) : null};
  }

  // The pixels a call is for, as the relay should see them (null: the relay's default pixel).
  function targets(single) {
    if (single !== null) return cfg.pixelId && cfg.pixelId !== single ? [] : [single];
    if (cfg.pixelId) return [cfg.pixelId];
    return pixelOrder.length ? pixelOrder.slice() : [null];
  }

  // fbq('track', name, params?, options?) or fbq('trackSingle', pixelId, name, params?, options?).
  // A call without eventID gets one, in a copy of its options, so the Pixel's event and ours deduplicate.
  function onTrack(args, single) {
    var at = single ? 1 : 0;
    var name = args[1 + at], pixelId = single ? pixelIdOf(args[1]) : null;
    if (typeof name !== "string" || !name || (single && !pixelId)) return;
    var to = targets(pixelId);
    if (!to.length) return;
    var optionsAt = 3 + at, options = args[optionsAt], id = null;
    if (options && typeof options === "object" && options.eventID !== undefined && options.eventID !== null &&
        options.eventID !== "") id = String(options.eventID);
    if (id === null) {
      id = uuid();
      var withId = copy(options);
      withId.eventID = id;
      for (var i = args.length; i < optionsAt; i++) args[i] = {}; // fbq('track', 'PageView'): {} for params
      args[optionsAt] = withId;
      if (args.length < optionsAt + 1) args.length = optionsAt + 1; // an arguments object does not grow
    }
    var key = "k" + args[0] + "|" + (pixelId || "") + "|" + name + "|" + id;
    if (Object.prototype.hasOwnProperty.call(mirrored, key)) return; // same call again: Meta dedups it
    mirrored[key] = true;
    if (mirroredOrder.push(key) > 1000) delete mirrored[mirroredOrder.shift()];
    var params = args[2 + at], time = Math.floor(new Date().getTime() / 1000);
    var customData = params && typeof params === "object" ? copy(params) : null;
    for (var j = 0; j < to.length; j++) {
      var users = to[j] ? pixelUsers["p" + to[j]] : null;
      submit([name, id, customData, users, time, to[j], true, pixelDpo]);
    }
  }

  // One fbq(...) call, before the Pixel sees it; may add the eventID to `args` (an array or arguments).
  function mirrorCall(args) {
    try {
      if (!cfg || !cfg.mirror || !args || typeof args.length !== "number") return;
      switch (args[0]) {
        case "init": onInit(args[1], args[2]); break;
        case "consent": onConsent(args[1]); break;
        case "dataProcessingOptions": onDpo(args[1], args[2], args[3]); break;
        case "track": case "trackCustom": onTrack(args, false); break;
        case "trackSingle": case "trackSingleCustom": onTrack(args, true); break;
        default: break;
      }
    } catch (e) { log("warn", "mirror failed", String(e)); }
  }

  function afterCall() {
    if (!releaseAfter) return;
    releaseAfter = false;
    try { release(); } catch (e) { log("warn", "release failed", String(e)); }
  }

  // After fbevents.js: the stub calls fbq.callMethod(...). Same `this`, same result, same exceptions.
  function wrapCallMethod(real) {
    return function () {
      var args = arguments;
      if (!inPixel && !selfCalls) {
        args = Array.prototype.slice.call(arguments);
        mirrorCall(args);
      }
      inPixel++;
      try { return real.apply(this, args); }
      finally { inPixel--; if (!inPixel) afterCall(); }
    };
  }

  // Before fbevents.js: the stub pushes each call's arguments onto fbq.queue; fbevents.js runs them later.
  function watchQueue(queue, mirrorWaiting) {
    if (!queue || typeof queue.push !== "function" || queue[HOOKED] || !Object.isExtensible(queue)) return;
    var push = queue.push;
    Object.defineProperty(queue, HOOKED, {value: true});
    if (mirrorWaiting) {
      for (var i = 0; i < queue.length; i++) mirrorCall(queue[i]);
      afterCall();
    }
    Object.defineProperty(queue, "push", {configurable: true, writable: true, value: function () {
      if (!inPixel && !selfCalls) for (var j = 0; j < arguments.length; j++) mirrorCall(arguments[j]);
      var length = push.apply(this, arguments);
      if (!inPixel) afterCall();
      return length;
    }});
  }

  // The base code's stub: n = function () { n.callMethod ? n.callMethod.apply(n, arguments) :
  // n.queue.push(arguments) }. Accessors keep us in both paths whatever is assigned to them later.
  function watchStub(fbq) {
    if (typeof fbq !== "function" || fbq[HOOKED] || !Object.isExtensible(fbq)) return;
    Object.defineProperty(fbq, HOOKED, {value: true});
    var real = fbq.callMethod, wrapped = typeof real === "function" ? wrapCallMethod(real) : real;
    var queue = fbq.queue;
    Object.defineProperty(fbq, "callMethod", {configurable: true, enumerable: true,
      get: function () { return wrapped; },
      set: function (v) { real = v; wrapped = typeof v === "function" ? wrapCallMethod(v) : v; }});
    Object.defineProperty(fbq, "queue", {configurable: true, enumerable: true,
      get: function () { return queue; },
      set: function (v) {
        queue = v;
        try { watchQueue(v, false); } catch (e) { log("warn", "mirror cannot watch this queue", String(e)); }
      }});
    try { // fbevents.js already ran: learn the pixels (and their user data) it was given
      var state = typeof fbq.getState === "function" ? fbq.getState() : null;
      var pixels = state && state.pixels;
      for (var i = 0; pixels && i < pixels.length; i++) onInit(pixels[i].id, pixels[i].userData);
    } catch (e) { log("warn", "fbq.getState failed", String(e)); }
    watchQueue(queue, true);
  }

  // No fbq yet (a React app calls ReactPixel.init later, or the base code comes after us): catch the
  // moment the base code assigns window.fbq, then step aside with a plain property again.
  function watchPixel() {
    try {
      var current = window.fbq;
      if (typeof current === "function") { watchStub(current); return; }
      var found = Object.getOwnPropertyDescriptor(window, "fbq");
      if ((found && !found.configurable) || (found && found.get)) return;
      var value = current;
      Object.defineProperty(window, "fbq", {configurable: true, enumerable: true,
        get: function () { return value; },
        set: function (v) {
          value = v;
          if (typeof v !== "function") return;
          Object.defineProperty(window, "fbq", {value: v, writable: true, configurable: true, enumerable: true});
          try { watchStub(v); } catch (e) { log("warn", "mirror failed", String(e)); }
        }});
    } catch (e) { log("warn", "mirror unavailable", String(e)); }
  }

  function onHide() {
    try { if (pending.length) flush(true); } catch (e) { /* unloading */ }
  }

  try {
    window.addEventListener("pagehide", onHide);
    window.document.addEventListener("visibilitychange", function () {
      if (window.document.visibilityState === "hidden") onHide();
    });
  } catch (e) { /* no DOM events (worker or odd host) */ }

  window.capiRelay = {
    version: VERSION,
    init: init,
    track: track,
    setConsent: setConsent,
    flush: function () { try { flush(false); } catch (e) { /* never throw */ } },
    consent: function () { return typeof consent === "object" ? copy(consent) : consent; }
  };
})(typeof window !== "undefined" ? window : null);
