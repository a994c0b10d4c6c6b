/*! capi-relay browser snippet | MIT | https://github.com/capi-relay/capi-relay
 *
 * Sends every conversion twice with ONE event_id: to the Meta Pixel (fbq) and to your capi-relay
 * endpoint, so Meta deduplicates the pair and keeps the event even when the Pixel is blocked.
 *
 *   <script src="/capi-relay.js"></script>
 *   <script>capiRelay.init({endpoint: "https://capi.example.com/events"});</script>
 *   ... capiRelay.track("Purchase", {value: 42.5, currency: "EUR"}, {em: "a@example.com"});
 *
 * Design choices (see README.md (Add it to your website)):
 * - Body is JSON sent as text/plain: a CORS "simple request", so no preflight round trip, and it works
 *   with keepalive and sendBeacon while the page unloads. The relay parses the body as JSON whatever the
 *   content type, and checks the Origin header itself (a simple request is not preflighted).
 * - Events tracked in the same task go out in one request; pagehide flushes anything still pending.
 * - Consent 'denied' holds events in memory (never stored) and sends them if consent is granted on this
 *   page; they are gone when the page goes away. 'ldu' sends with Limited Data Use [LDU], 0, 0.
 *   A Google Consent Mode object ({ad_storage, ad_user_data, ad_personalization, limited_data_use})
 *   sends, and lets the relay drop what it forbids; ad_storage 'denied' also keeps the snippet away
 *   from the _fbp/_fbc cookies. Anything unrecognised counts as 'denied'.
 * - Nothing here throws into the page: every entry point is wrapped and failures are swallowed
 *   (logged to the console only with {debug: true}, and never with user_data values).
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

  function applyConsent(ev) {
    // Meta: Limited Data Use with country 0 and state 0 lets Meta geolocate the user.
    if (consent === "ldu") {
      ev.data_processing_options = ["LDU"];
      ev.data_processing_options_country = 0;
      ev.data_processing_options_state = 0;
    }
    return ev;
  }

  function pixel(name, customData, id) {
    var fbq = window.fbq;
    if (typeof fbq !== "function") return;
    try {
      var method = STANDARD.indexOf(" " + name + " ") >= 0 ? "track" : "trackCustom";
      // Meta: the Pixel's eventID and the server's event_id must match for deduplication.
      if (cfg.pixelId) {
        fbq(method === "track" ? "trackSingle" : "trackSingleCustom", cfg.pixelId, name, customData || {},
          {eventID: id});
      } else fbq(method, name, customData || {}, {eventID: id});
    } catch (e) { log("warn", "fbq failed", String(e)); }
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

  // One retry for what the network or the relay can recover from; a 4xx will not get better.
  function post(body, unloading, attempt) {
    var big = byteLength(body) > KEEPALIVE_LIMIT;
    if (unloading && !big && beacon(body)) return;
    if (typeof window.fetch !== "function") { if (!big) beacon(body); return; }
    var again = function (why) {
      if (attempt > 0) { log("warn", "send failed, giving up", why); return; }
      log("warn", "send failed, retrying once", why);
      window.setTimeout(function () { post(body, false, 1); }, RETRY_DELAY_MS);
    };
    try {
      window.fetch(cfg.endpoint, {
        method: "POST", body: body, keepalive: !big, mode: "cors", credentials: "omit",
        headers: {"Content-Type": "text/plain;charset=UTF-8"}
      }).then(function (res) {
        if (res.status >= 500 || res.status === 429) again("status " + res.status);
        else if (res.status >= 400) {
          res.json().then(function (j) { log("warn", "relay refused (" + res.status + ")", j && j.errors); },
            function () { log("warn", "relay refused (" + res.status + ")"); });
        } else log("info", "relay answered " + res.status);
      }, function (e) { again(String(e)); });
    } catch (e) {
      if (big || !beacon(body)) again(String(e));
    }
  }

  function flush(unloading) {
    scheduled = false;
    if (!pending.length || !cfg) return;
    var events = pending;
    pending = [];
    var body = {data: events};
    if (cfg.testEventCode) body.test_event_code = cfg.testEventCode;
    if (cfg.pixelId) body.pixel_id = cfg.pixelId;
    if (typeof consent === "object") body.consent = copy(consent); // the relay applies it (capi_relay.consent)
    try { post(JSON.stringify(body), !!unloading, 0); } catch (e) { log("warn", "send failed", String(e)); }
  }

  function enqueue(ev) {
    pending.push(ev);
    if (scheduled) return;
    scheduled = true;
    // End of the current task: batches a PageView + ViewContent fired together, and still runs before
    // a navigation started in the same task can unload the page.
    var run = function () { flush(false); };
    if (typeof window.queueMicrotask === "function") window.queueMicrotask(run);
    else if (window.Promise) window.Promise.resolve().then(run);
    else window.setTimeout(run, 0);
  }

  // call = [eventName, eventId, customData, userData, eventTime]; the Pixel and the relay get the same id.
  function fire(call) {
    pixel(call[0], call[2], call[1]);
    enqueue(applyConsent(buildEvent(call[0], call[1], call[2], call[3], call[4])));
    log("info", "tracked " + call[0] + " " + call[1]);
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
      var call = [eventName, id, customData, userData, Math.floor(new Date().getTime() / 1000)];
      if (!cfg) { if (preInit.push(call) > HELD_LIMIT) preInit.shift(); return id; }
      if (consent === "denied") { hold(call); return id; }
      fire(call);
    } catch (e) { log("warn", "track failed", String(e)); }
    return id;
  }

  function hold(call) {
    held.push(call);
    if (held.length > HELD_LIMIT) held.shift();
    log("info", "held until consent: " + call[0] + " " + call[1]);
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
      if (consent === "denied" || !cfg) return;
      var list = held;
      held = [];
      for (var i = 0; i < list.length; i++) fire(list[i]);
    } catch (e) { log("warn", "setConsent failed", String(e)); }
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
        cookies: o.cookies !== false
      };
      if (o.consent !== undefined) consent = readConsent(o.consent);
      var early = preInit;
      preInit = [];
      for (var i = 0; i < early.length; i++) {
        if (consent === "denied") hold(early[i]);
        else fire(early[i]);
      }
      log("info", "ready, consent " + JSON.stringify(consent));
    } catch (e) { /* never break the host page */ }
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
