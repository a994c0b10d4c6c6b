"""Field paths safe to log and answer with: our field names kept, any other key name replaced by "*".

A caller's own key names can be personal data (``{"jo@example.com": 1}``), and error and warning paths
end up in logs. A path names only what Meta or this relay defines; whatever else is a placeholder.
"""

from __future__ import annotations

PLACEHOLDER = "*"

# fmt: off
# Meta's server event parameters: what an event may carry at its top level
EVENT_FIELDS = frozenset({
    "event_name", "event_time", "user_data", "custom_data", "event_source_url", "opt_out", "event_id",
    "action_source", "data_processing_options", "data_processing_options_country",
    "data_processing_options_state", "referrer_url", "customer_segmentation", "app_data",
    "original_event_data", "attribution_data", "messaging_channel",
})
# Meta's customer information parameters (capi_relay.normalize: HASHED_FIELDS | PASSTHROUGH_FIELDS)
USER_DATA_FIELDS = frozenset({
    "em", "ph", "fn", "ln", "ct", "st", "zp", "country", "db", "ge", "external_id",
    "client_ip_address", "client_user_agent", "fbc", "fbp", "subscription_id", "fb_login_id", "lead_id",
    "anon_id", "madid", "page_id", "page_scoped_user_id", "ctwa_clid", "ig_account_id", "ig_sid",
})
# Meta's standard custom data parameters, and the fields of a `contents` item
CUSTOM_DATA_FIELDS = frozenset({
    "value", "currency", "content_name", "content_category", "content_ids", "contents", "content_type",
    "order_id", "predicted_ltv", "num_items", "search_string", "status", "delivery_category",
    "id", "quantity", "item_price", "title", "description", "brand", "category",
})
# the request's own fields and what this relay names in errors
REQUEST_FIELDS = frozenset({
    "body", "data", "request", "event", "pixel_id", "test_event_code", "consent", "headers", "query",
    "ad_user_data", "ad_storage", "ad_personalization", "limited_data_use",
    "origin", "referer", "x-api-key", "x-capi-signature", "x-capi-timestamp", "x-capi-consent", "sec-gpc",
    "partner_agent", "namespace_id", "upload_tag", "upload_id", "upload_source",
})
# fmt: on
KNOWN = EVENT_FIELDS | USER_DATA_FIELDS | CUSTOM_DATA_FIELDS | REQUEST_FIELDS


def safe_path(path: str) -> str:
    """ "custom_data.jo@example.com.x" → "custom_data.*.*"; list indexes and our names are kept.

    Not cached: the paths hold the caller's key names, which must not outlive the request.
    """
    if not path:
        return path
    parts = path.split(".")
    if all(part in KNOWN or part.isdigit() for part in parts):
        return path
    return ".".join(part if part in KNOWN or part.isdigit() else PLACEHOLDER for part in parts)
