// Meta's Node Business SDK pointed at the relay, as docs/graph-endpoint.md tells a user to do.
// Usage: node send_events.js <relay base URL> <access token> <pixel id> <case>
// Prints one JSON line: {"ok": true, "events_received": n, "fbtrace_id": …} or
// {"ok": false, "status": …, "code": …, "subcode": …, "type": …, "message": …}.
'use strict';

const bizSdk = require('facebook-nodejs-business-sdk');

const [relayUrl, token, pixelId, which] = process.argv.slice(2);

// The one line a user adds: FacebookAdsApi.GRAPH is a getter, so it is redefined, not assigned.
Object.defineProperty(bizSdk.FacebookAdsApi, 'GRAPH', { get: () => relayUrl });

const { EventRequest, ServerEvent, UserData, CustomData } = bizSdk;
const now = Math.floor(Date.now() / 1000);

function purchase(id, withValue = true) {
  const userData = new UserData()
    .setEmails(['graph.canary@shop.example'])
    .setClientIpAddress('203.0.113.9')
    .setClientUserAgent('Mozilla/5.0 (node canary)');
  const customData = withValue ? new CustomData().setValue(9.99).setCurrency('eur') : new CustomData();
  return new ServerEvent()
    .setEventName('Purchase')
    .setEventTime(now - 5)
    .setEventId(id)
    .setEventSourceUrl('https://shop.example/thanks')
    .setActionSource('website')
    .setUserData(userData)
    .setCustomData(customData);
}

const cases = {
  two: () => [purchase('node-a'), purchase('node-b')],
  invalid: () => [purchase('node-ok'), purchase('node-bad', false)],
};

const request = new EventRequest(token, pixelId).setEvents(cases[which]());
if (which === 'two') request.setTestEventCode('NODE42');

request.execute().then(
  (response) => {
    console.log(JSON.stringify({ ok: true, events_received: response.events_received, fbtrace_id: response.fbtrace_id }));
  },
  (error) => {
    const body = error.response || {};
    console.log(
      JSON.stringify({
        ok: false,
        name: error.name,
        status: error.status,
        code: body.code,
        subcode: body.error_subcode,
        type: body.type,
        message: body.message,
      }),
    );
  },
);
