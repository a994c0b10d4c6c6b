"""The CloudWatch names the code emits and the template alarms on, in one place so a rename breaks a test.

tests/integration/test_template_monitoring.py checks every alarm and dashboard metric in template.yaml
against these names and against the names the code really emits.
"""

NAMESPACE = "CapiRelay"
SERVICE = "capi-relay"  # default POWERTOOLS_SERVICE_NAME; Powertools Metrics adds it as dimension `service`
SERVICE_DIMENSION = "service"

EVENTS_RECEIVED = "EventsReceived"
EVENTS_SENT = "EventsSent"
EVENTS_QUEUED = "EventsQueued"
EVENTS_REJECTED = "EventsRejected"
EVENTS_DEAD_LETTERED = "EventsDeadLettered"
REQUESTS_REFUSED = "RequestsRefused"  # 401/403: strangers, counted apart so they cannot mask a drop in volume
META_ERRORS = "MetaErrors"  # every Graph error; one metric per class below (no extra dimension: cheaper)
META_ERRORS_BY_CLASS = {  # capi_relay.errors: MetaError.error_class → metric
    "transient": "MetaErrorsTransient",
    "token": "MetaErrorsToken",  # TokenErrorsAlarm
    "permanent": "MetaErrorsPermanent",
}
MATCH_KEYS = {  # capi_relay RelayResult.match_keys key → events carrying it (dashboard: match-key coverage)
    "em": "MatchKeyEm",
    "ph": "MatchKeyPh",
    "fbp": "MatchKeyFbp",
    "fbc": "MatchKeyFbc",
    "external_id": "MatchKeyExternalId",
    "ip_ua": "MatchKeyIpUa",
}
VOLUME_CHANGE_PERCENT = "VolumeChangePercent"  # published by functions/volume_watch
