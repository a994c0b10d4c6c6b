"""template.yaml's alarms and dashboard watch the metrics the code really emits, the way it emits them.

A metric renamed in code (or in the template) would leave an alarm watching nothing, silently, forever:
CloudWatch accepts an alarm on a metric that does not exist. So this test reads the template and scans
the code (AST, no import of the handlers) for every `add_metric(name=...)` (Powertools EMF) and
`put_metric(namespace, name, ...)` (relay_aws.cloudwatch) call, resolving names through
relay_aws.metric_names.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from relay_aws import metric_names

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
EMITTING_CODE = sorted(
    [*(ROOT / "layers" / "relay_aws").glob("*.py"), *(ROOT / "functions").glob("*/app.py")]
)
EMIT_CALLS = {"add_metric": ("name", 0), "put_metric": ("metric_name", 1)}  # keyword, position


# --- the template, CloudFormation tags and all ---------------------------------------------------


class CfnLoader(yaml.SafeLoader):
    """Reads !Ref, !Sub, !GetAtt ... as the JSON form CloudFormation gives them ({"Fn::Sub": ...})."""


def _cfn_tag(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


FRONT_DOORS = ("HttpApi", "FunctionUrl")  # template.yaml's FrontDoor parameter


def resolve_front_door(node: Any, front_door: str) -> Any:
    """The template as CloudFormation sees it for one FrontDoor: `Fn::If` on UseHttpApi/UseFunctionUrl
    resolved, `AWS::NoValue` dropped; every other condition is left as written."""
    if isinstance(node, list):
        return [resolve_front_door(item, front_door) for item in node]
    if not isinstance(node, dict):
        return node
    choice = node.get("Fn::If")
    if isinstance(choice, list) and choice[0] in ("UseHttpApi", "UseFunctionUrl"):
        holds = (choice[0] == "UseHttpApi") == (front_door == "HttpApi")
        return resolve_front_door(choice[1] if holds else choice[2], front_door)
    return {k: resolve_front_door(v, front_door) for k, v in node.items() if v != {"Ref": "AWS::NoValue"}}


@pytest.fixture(scope="module", params=FRONT_DOORS)
def template(request) -> dict:
    raw = yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=CfnLoader)  # noqa: S506 (SafeLoader)
    resolved = resolve_front_door(raw, request.param)
    resolved["FrontDoor"] = request.param
    return resolved


@pytest.fixture(scope="module")
def alarms(template) -> dict[str, dict]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def alarm_metrics(props: dict) -> list[dict]:
    """Every metric an alarm reads: {namespace, name, dimensions, stat}, single-metric or metric math."""
    if "MetricName" in props:
        return [
            {
                "namespace": props["Namespace"],
                "name": props["MetricName"],
                "dimensions": props.get("Dimensions", []),
                "stat": props.get("Statistic"),
            }
        ]
    found = []
    for query in props.get("Metrics", []):
        if "MetricStat" in query:
            stat = query["MetricStat"]
            found.append(
                {
                    "id": query["Id"],
                    "namespace": stat["Metric"]["Namespace"],
                    "name": stat["Metric"]["MetricName"],
                    "dimensions": stat["Metric"].get("Dimensions", []),
                    "stat": stat["Stat"],
                }
            )
    return found


def _stand_ins(text: str) -> str:
    return re.sub(r"\$\{([^}]+)\}", lambda m: f"<{m.group(1)}>", text)


def dashboard_body(template: dict) -> dict:
    """The dashboard JSON with its !Sub variables put in and every other ${...} a stand-in, parsed."""
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    variables: dict = {}
    if isinstance(body, list):  # !Sub [text, {name: value}]: the front door's rows
        body, variables = body
    assert isinstance(body, str), "DashboardBody is a !Sub of one JSON string"
    for name, value in variables.items():
        text = value["Fn::Sub"] if isinstance(value, dict) else value
        body = body.replace("${" + name + "}", _stand_ins(text))
    numeric = body.replace("${VolumeDropThresholdPercent}", "20")
    return json.loads(_stand_ins(numeric))


def dashboard_metric_rows(body: dict) -> list[list]:
    return [row for widget in body["widgets"] for row in widget.get("properties", {}).get("metrics", [])]


# --- what the code emits -------------------------------------------------------------------------


def _names_aliases(tree: ast.Module) -> tuple[set[str], dict[str, str]]:
    """Local names of the metric_names module, and names imported from it (local → constant)."""
    modules, constants = set(), {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "relay_aws":
            modules |= {a.asname or a.name for a in node.names if a.name == "metric_names"}
        if isinstance(node, ast.ImportFrom) and node.module == "relay_aws.metric_names":
            constants |= {a.asname or a.name: a.name for a in node.names}
        if isinstance(node, ast.Import):
            modules |= {a.asname for a in node.names if a.name == "relay_aws.metric_names" and a.asname}
    return modules, constants


def _constant(node: ast.AST, modules: set[str], constants: dict[str, str]) -> Any:
    """The metric_names value an expression names: `names.X`, imported `X`, `names.X.get/items/values`."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
        return getattr(metric_names, node.attr)
    if isinstance(node, ast.Name) and node.id in constants:
        return getattr(metric_names, constants[node.id])
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return _constant(node.func.value, modules, constants)  # names.X.get(k) / .items() / .values()
    if isinstance(node, ast.Subscript):
        return _constant(node.value, modules, constants)  # names.X[k]
    return None


def _bindings(function: ast.AST, modules: set[str], constants: dict[str, str]) -> dict[str, set[str]]:
    """Variables in a function bound to metric names: `m = names.X...`, `for k, m in names.X.items()`."""
    bound: dict[str, set[str]] = {}

    def bind(target: ast.AST, value: Any) -> None:
        if isinstance(value, dict):  # a loop over or a lookup into a dict of names: any of its values
            names = {v for v in value.values() if isinstance(v, str)}
        elif isinstance(value, str):
            names = {value}
        else:
            return
        if isinstance(target, ast.Name):
            bound.setdefault(target.id, set()).update(names)
        elif isinstance(target, ast.Tuple) and len(target.elts) == 2:  # for key, metric in names.X.items()
            bind(target.elts[1], value)

    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                bind(target, _constant(node.value, modules, constants))
        elif isinstance(node, ast.For):
            bind(node.target, _constant(node.iter, modules, constants))
    return bound


def _emit_aliases(function: ast.AST) -> dict[str, str]:
    """`add = metrics.add_metric` → {"add": "add_metric"}."""
    return {
        target.id: node.value.attr
        for node in ast.walk(function)
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr in EMIT_CALLS
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def emitted_metrics(paths: list[Path] = EMITTING_CODE) -> tuple[set[str], list[str]]:
    """Metric names the code emits, and the emit calls whose name could not be resolved (file:line)."""
    emitted: set[str] = set()
    unresolved: list[str] = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules, constants = _names_aliases(tree)
        scopes = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        for scope in scopes:
            aliases = _emit_aliases(scope)
            bound = _bindings(scope, modules, constants)
            for call in ast.walk(scope):
                if not isinstance(call, ast.Call):
                    continue
                func = call.func
                if isinstance(func, ast.Attribute):
                    called = func.attr
                else:
                    called = aliases.get(getattr(func, "id", ""))
                if called not in EMIT_CALLS:
                    continue
                keyword, position = EMIT_CALLS[called]
                arg = next((k.value for k in call.keywords if k.arg == keyword), None)
                if arg is None and len(call.args) > position:
                    arg = call.args[position]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    emitted.add(arg.value)
                elif isinstance(value := _constant(arg, modules, constants), str):
                    emitted.add(value)
                elif isinstance(arg, ast.Name) and arg.id in bound:
                    emitted |= bound[arg.id]
                else:
                    unresolved.append(f"{path.name}:{call.lineno}")
    return emitted, unresolved


@pytest.fixture(scope="module")
def emitted() -> set[str]:
    names, unresolved = emitted_metrics()
    assert not unresolved, f"metric names this test cannot resolve (use relay_aws.metric_names): {unresolved}"
    return names


# --- tests ---------------------------------------------------------------------------------------


SERVICE_DIMENSION = {"Name": metric_names.SERVICE_DIMENSION, "Value": metric_names.SERVICE}
EXPECTED_ALARMS = {
    "VolumeDropAlarm",
    "NoEventsAlarm",
    "DeadLetterQueueNotEmptyAlarm",
    "RetryQueueAgeAlarm",
    "TokenErrorsAlarm",
    "IngestErrorsAlarm",
    "MetaRejectionRateAlarm",
    "VolumeWatchErrorsAlarm",
}


def test_the_scan_finds_what_each_emitter_emits(tmp_path):
    # Given code emitting through each supported form: literal, constant, alias, dict loop, dict lookup
    code = tmp_path / "emitter.py"
    code.write_text(
        "from relay_aws import metric_names as names, cloudwatch\n"
        "def f(metrics, cls, unknown):\n"
        "    add = metrics.add_metric\n"
        "    add(name=names.EVENTS_SENT, unit='Count', value=1)\n"
        "    metrics.add_metric(name='Literal', unit='Count', value=1)\n"
        "    for key, metric in names.META_ERRORS_BY_CLASS.items():\n"
        "        add(name=metric, unit='Count', value=0)\n"
        "    by_class = names.META_ERRORS_BY_CLASS.get(cls)\n"
        "    metrics.add_metric(name=by_class, unit='Count', value=1)\n"
        "    cloudwatch.put_metric('CapiRelay', names.VOLUME_CHANGE_PERCENT, 1.0, timestamp=0)\n"
        "    metrics.add_metric(name=unknown, unit='Count', value=1)\n",
        encoding="utf-8",
    )
    # When it is scanned
    found, unresolved = emitted_metrics([code])
    # Then every name is found and the call it cannot resolve is reported, not ignored
    assert found == {
        "EventsSent",
        "Literal",
        "VolumeChangePercent",
        *metric_names.META_ERRORS_BY_CLASS.values(),
    }
    assert len(unresolved) == 1 and unresolved[0].endswith(":11")


def test_the_expected_alarms_exist(alarms):
    # Given the template / When its alarms are listed / Then each alarm of DESIGN.md §3 is there
    assert set(alarms) >= EXPECTED_ALARMS


@pytest.mark.parametrize("alarm", sorted(EXPECTED_ALARMS))
def test_every_alarm_notifies_the_alarm_topic_when_it_fires_and_when_it_clears(alarms, alarm):
    # Given an alarm / Then both its alarm and OK actions go to the one SNS topic
    assert alarms[alarm]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert alarms[alarm]["OKActions"] == [{"Ref": "AlarmTopic"}]


@pytest.mark.parametrize("alarm", sorted(EXPECTED_ALARMS))
def test_every_alarm_on_a_capirelay_metric_watches_a_metric_the_code_emits(template, alarms, emitted, alarm):
    # Given the namespace and service the functions run with (Globals) and what the code emits
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["METRICS_NAMESPACE"] == metric_names.NAMESPACE
    assert env["POWERTOOLS_SERVICE_NAME"] == metric_names.SERVICE
    # When the alarm's metrics in our namespace are listed
    ours = [m for m in alarm_metrics(alarms[alarm]) if m["namespace"] == metric_names.NAMESPACE]
    # Then each names an emitted metric, with exactly the one dimension Powertools adds
    for metric in ours:
        assert metric["name"] in emitted, f"{alarm} watches {metric['name']}, which no code emits"
        assert metric["dimensions"] == [SERVICE_DIMENSION]
    # ... and no alarm reads a misspelled namespace
    namespaces = {m["namespace"] for m in alarm_metrics(alarms[alarm])}
    assert namespaces <= {metric_names.NAMESPACE, "AWS/SQS", "AWS/Lambda", "AWS/ApiGateway"}


@pytest.mark.parametrize("alarm", sorted(EXPECTED_ALARMS))
def test_count_metrics_are_alarmed_on_their_sum(alarms, alarm):
    # Given an alarm / When it reads an event or error count (anything of ours but the percent)
    counts = [
        m
        for m in alarm_metrics(alarms[alarm])
        if m["namespace"] == metric_names.NAMESPACE and m["name"] != metric_names.VOLUME_CHANGE_PERCENT
    ]
    # Then the statistic is Sum: a count's Average is 1 per request, whatever the volume
    assert all(m["stat"] == "Sum" for m in counts), counts


def test_volume_drop_alarm_fires_below_minus_the_threshold_parameter(template, alarms):
    # Given the volume drop alarm
    alarm = alarms["VolumeDropAlarm"]
    # Then it watches the volume watch's percent, hourly, and fires below −VolumeDropThresholdPercent
    assert alarm["MetricName"] == metric_names.VOLUME_CHANGE_PERCENT
    assert alarm["Period"] == 3600
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert alarm["Threshold"] == {"Fn::Sub": "-${VolumeDropThresholdPercent}"}
    assert template["Parameters"]["VolumeDropThresholdPercent"]["Default"] == 20
    # ... and a missing hour (no baseline yet) neither fires nor clears it
    assert alarm["TreatMissingData"] == "ignore"


def test_no_events_alarm_treats_hours_without_data_as_silence(alarms):
    # Given the no-events alarm
    alarm = alarms["NoEventsAlarm"]
    # Then it fires when every one of the last NoEventsHours hourly sums of EventsReceived is 0 or missing
    assert alarm["MetricName"] == metric_names.EVENTS_RECEIVED
    assert (alarm["Statistic"], alarm["Period"]) == ("Sum", 3600)
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == {"Ref": "NoEventsHours"}
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanOrEqualToThreshold", 0)
    assert alarm["TreatMissingData"] == "breaching"


def test_no_events_window_fits_cloudwatch_evaluation_limit(template):
    # Given the longest NoEventsHours the template allows
    longest = template["Parameters"]["NoEventsHours"]["MaxValue"]
    # Then Period × EvaluationPeriods stays within CloudWatch's 7 days for hourly periods
    assert 3600 * longest <= 7 * 24 * 3600


def test_token_alarm_watches_the_token_class_of_meta_errors(alarms):
    # Given the token alarm / Then it counts token-class Meta errors and fires on any in 2 of 3 periods
    alarm = alarms["TokenErrorsAlarm"]
    assert alarm["MetricName"] == metric_names.META_ERRORS_BY_CLASS["token"]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def queue_name(resource: str) -> dict:
    return {"Fn::GetAtt": [resource, "QueueName"]}


def test_queue_alarms_watch_the_template_queues(alarms):
    # Given the two queue alarms / Then each reads its own queue's SQS metric
    dlq, retry = alarms["DeadLetterQueueNotEmptyAlarm"], alarms["RetryQueueAgeAlarm"]
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": queue_name("DeadLetterQueue")}]
    assert (dlq["MetricName"], dlq["ComparisonOperator"], dlq["Threshold"]) == (
        "ApproximateNumberOfMessagesVisible",
        "GreaterThanThreshold",
        0,
    )
    assert retry["Dimensions"] == [{"Name": "QueueName", "Value": queue_name("RetryQueue")}]
    assert retry["MetricName"] == "ApproximateAgeOfOldestMessage"


def test_ingest_errors_alarm_adds_the_front_doors_5xx_and_ingest_throttles(template, alarms):
    # Given the ingest errors alarm, for the stack's front door
    alarm = alarms["IngestErrorsAlarm"]
    metrics = {m["id"]: m for m in alarm_metrics(alarm)}
    function = [{"Name": "FunctionName", "Value": {"Ref": "IngestFunction"}}]
    # Then it sums the 5xx the callers got (a function error or timeout is one) with the throttles
    if template["FrontDoor"] == "HttpApi":
        assert set(metrics) == {"api5xx", "throttles"}
        assert metrics["api5xx"]["name"] == "5xx"
        assert metrics["api5xx"]["dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}]
    else:
        assert set(metrics) == {"url5xx", "throttles"}
        assert (metrics["url5xx"]["name"], metrics["url5xx"]["dimensions"]) == ("Url5xxCount", function)
    assert (metrics["throttles"]["name"], metrics["throttles"]["dimensions"]) == ("Throttles", function)
    returned = [q for q in alarm["Metrics"] if q.get("ReturnData")]
    assert len(returned) == 1
    assert set(re.findall(r"[a-z]\w*", returned[0]["Expression"].replace("FILL", ""))) == set(metrics)


def test_rejection_rate_alarm_divides_rejected_by_received_above_five_percent(alarms):
    # Given the rejection rate alarm
    alarm = alarms["MetaRejectionRateAlarm"]
    metrics = {m["id"]: m["name"] for m in alarm_metrics(alarm)}
    expression = next(q["Expression"] for q in alarm["Metrics"] if q.get("ReturnData"))
    # Then it is 100 × EventsRejected / EventsReceived, alarming above 5
    assert metrics == {"rejected": metric_names.EVENTS_REJECTED, "received": metric_names.EVENTS_RECEIVED}
    assert "100 * FILL(rejected, 0) / received" in expression
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 5)


def test_dashboard_shows_only_emitted_capirelay_metrics_with_the_service_dimension(template, emitted):
    # Given the dashboard's JSON
    rows = dashboard_metric_rows(dashboard_body(template))
    ours = [row for row in rows if isinstance(row[0], str) and row[0] == metric_names.NAMESPACE]
    # Then every CapiRelay metric on it is one the code emits, with the service dimension
    assert ours
    for row in ours:
        assert row[1] in emitted, f"dashboard shows {row[1]}, which no code emits"
        assert row[2:4] == [metric_names.SERVICE_DIMENSION, metric_names.SERVICE]


def test_dashboard_shows_volume_outcomes_error_classes_and_the_front_door(template):
    # Given the dashboard's JSON
    shown = {row[1] for row in dashboard_metric_rows(dashboard_body(template)) if isinstance(row[0], str)}
    # Then volume, each outcome, each Meta error class and the front door's latency and errors have a line
    front_door = {"HttpApi": {"Latency", "4xx", "5xx"}, "FunctionUrl": {"UrlRequestLatency", "Url5xxCount"}}
    wanted = {
        metric_names.EVENTS_RECEIVED,
        metric_names.VOLUME_CHANGE_PERCENT,
        metric_names.EVENTS_SENT,
        metric_names.EVENTS_QUEUED,
        metric_names.EVENTS_REJECTED,
        metric_names.EVENTS_DEAD_LETTERED,
        *metric_names.META_ERRORS_BY_CLASS.values(),
        "Duration",
        *front_door[template["FrontDoor"]],
    }
    assert wanted <= shown, wanted - shown


def test_no_resource_reads_a_front_door_the_stack_does_not_have(template):
    # Given the template for one FrontDoor / When the resources it creates are listed
    other = {"HttpApi": {"UseFunctionUrl"}, "FunctionUrl": {"UseHttpApi", "HasCustomDomain"}}
    kept = {
        name
        for name, resource in template["Resources"].items()
        if resource.get("Condition") not in other[template["FrontDoor"]]
    }
    absent = set(template["Resources"]) - kept
    # Then nothing it creates (alarms, dashboard) names the other front door's resources
    text = json.dumps({name: template["Resources"][name] for name in kept})
    assert absent and not [name for name in absent if f'"{name}"' in text or "${" + name in text]


def test_match_key_coverage_widget_sums_the_fields_the_ingest_line_carries(template):
    # Given the dashboard's Logs Insights widget over the ingest function's log group
    [widget] = [w for w in dashboard_body(template)["widgets"] if w["type"] == "log"]
    query = widget["properties"]["query"]
    assert query.startswith("SOURCE '/aws/lambda/<IngestFunction>'")
    # Then it reads the request line by its message and every match-key field over the accepted count
    assert f"message = '{metric_names.REQUEST_LOG_MESSAGE}'" in query
    for field in metric_names.MATCH_KEY_LOG_FIELDS.values():
        assert f"sum({field}) / sum({metric_names.ACCEPTED_LOG_FIELD})" in query


def test_dashboard_expressions_use_only_ids_defined_on_their_widget(template):
    # Given each graph with metric math
    for widget in dashboard_body(template)["widgets"]:
        rows = widget.get("properties", {}).get("metrics", [])
        ids = {opts["id"] for row in rows for opts in row if isinstance(opts, dict) and "id" in opts}
        for row in rows:
            for opts in row:
                if isinstance(opts, dict) and "expression" in opts:
                    # Then every id an expression uses is a metric or expression on the same graph
                    used = set(re.findall(r"\b[a-z]\w*\b", opts["expression"]))
                    assert used <= ids, (opts["expression"], used - ids)


def test_dashboard_alarm_widget_lists_every_alarm(template, alarms):
    # Given the dashboard's alarm widget / Then it shows the state of every alarm in the template
    body = dashboard_body(template)
    listed = {a for w in body["widgets"] if w["type"] == "alarm" for a in w["properties"]["alarms"]}
    assert listed == {f"<{name}.Arn>" for name in alarms}
