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
# Graph errors: one metric per class, no total (the dashboard adds them up; a metric-month is $0.30)
META_ERRORS_BY_CLASS = {  # capi_relay.errors: MetaError.error_class → metric
    "transient": "MetaErrorsTransient",
    "token": "MetaErrorsToken",  # TokenErrorsAlarm
    "permanent": "MetaErrorsPermanent",
}
SECRET_ERRORS = "SecretErrors"  # noqa: S105 (a metric name) the secret could not be read: not Meta's fault
# Match-key coverage is a dashboard view no alarm reads: the ingest function's one INFO line per request
# carries the counts under these fields (only those above zero) and the dashboard's Logs Insights
# widget sums them, instead of six custom metrics ($1.80 a month) and their bytes in every EMF document.
# Not named like the keys themselves: relay_aws.log_privacy masks `em`, `ph`, ... at any depth.
MATCH_KEY_LOG_FIELDS = {  # capi_relay RelayResult.match_keys key → log field
    "em": "k_em",
    "ph": "k_ph",
    "fbp": "k_fbp",
    "fbc": "k_fbc",
    "external_id": "k_xid",
    "ip_ua": "k_ipua",
}
REQUEST_LOG_MESSAGE = "relayed"  # the message of that line (the dashboard's query filters on it)
ACCEPTED_LOG_FIELD = "accepted"  # events of the request not rejected: the coverage's denominator
VOLUME_CHANGE_PERCENT = "VolumeChangePercent"  # published by functions/volume_watch
