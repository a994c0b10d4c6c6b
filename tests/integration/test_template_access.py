"""template.yaml's access settings (issue 14, findings 1 and 2): closed by default, a key from the start.

The environment the template gives the ingest function is read by relay_aws.settings as a deployed
function would read it: a mapping left out, or a parameter defaulting open, fails here.
"""

from __future__ import annotations

import pytest

from relay_aws import settings
from tests.integration.test_template_monitoring import template  # noqa: F401 - the parsed template fixture


@pytest.fixture
def ingest_env(template):  # noqa: F811
    """The ingest function's environment with every parameter at its default."""
    defaults = {name: spec.get("Default") for name, spec in template["Parameters"].items()}
    env = {}
    for name, value in template["Resources"]["IngestFunction"]["Properties"]["Environment"][
        "Variables"
    ].items():
        if isinstance(value, dict) and "Ref" in value and value["Ref"] in defaults:
            env[name] = str(defaults[value["Ref"]])
    return env


def test_open_relay_parameter_defaults_to_closed_and_says_trials_only(template):  # noqa: F811
    parameter = template["Parameters"]["OpenRelay"]
    assert parameter["Default"] == "false" and parameter["AllowedValues"] == ["false", "true"]
    assert "trials only" in parameter["Description"].lower()


def test_deployed_defaults_reach_the_function_closed_with_the_browser_limit(ingest_env):
    loaded = settings.from_env(ingest_env)
    assert ingest_env["OPEN_RELAY"] == "false" and loaded.open_relay is False
    assert loaded.browser_max_events == 20
    assert loaded.secret_max_age_s == 300  # Lambda: new keys apply within five minutes (docs/security.md)


def test_secret_is_created_with_a_random_api_key(template):  # noqa: F811
    generate = template["Resources"]["MetaSecret"]["Properties"]["GenerateSecretString"]
    assert generate["GenerateStringKey"] == "api_keys"
    assert '"access_token": "REPLACE_WITH_META_ACCESS_TOKEN"' in generate["SecretStringTemplate"]
    assert generate["PasswordLength"] >= 32 and generate["ExcludePunctuation"] is True
    assert "SecretString" not in template["Resources"]["MetaSecret"]["Properties"]
