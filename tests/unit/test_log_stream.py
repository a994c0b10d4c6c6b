"""local/log_stream.py writes Lambda's own lines as each LoggingConfig would, and counts every byte.

The bench's log_bytes_per_request is read from these records, so a miscount would be a wrong bill.
"""

from __future__ import annotations

import io
import json
import re
from types import SimpleNamespace

import pytest

from local.log_stream import LogStream

APP_LINE = '{"level":"INFO","message":"relayed","status":200}\n'
EMF_LINE = '{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"service":"capi-relay","EventsReceived":1}\n'


def _invoke(stream: LogStream, request_id: str = "req-1") -> object:
    def handler(event, context):
        stream.write(APP_LINE)
        stream.write(EMF_LINE[:-1])
        stream.write("\n")  # print() writes the newline apart: it belongs to the EMF document
        return {"statusCode": 200}

    return stream.wrap(handler, "ingest", 128)({}, SimpleNamespace(aws_request_id=request_id))


@pytest.mark.parametrize(
    ("log_format", "level", "system_lines"),
    [("JSON", "WARN", 0), ("JSON", "INFO", 3), ("JSON", "DEBUG", 3), ("Text", "WARN", 3)],
)
def test_each_invocation_is_counted_with_the_system_lines_its_config_keeps(log_format, level, system_lines):
    # Given a log stream with one LoggingConfig
    out = io.StringIO()
    stream = LogStream(out, log_format=log_format, system_level=level)
    # When a handler writes one application line and one EMF document
    assert _invoke(stream) == {"statusCode": 200}
    # Then the record splits exactly those bytes, plus what Lambda's own lines took
    [record] = stream.summary("ingest")
    written = out.getvalue()
    assert record["app_bytes"] == len(APP_LINE) and record["emf_bytes"] == len(EMF_LINE)
    assert (
        record["bytes"]
        == len(written.encode())
        == record["app_bytes"] + record["emf_bytes"] + record["system_bytes"]
    )
    lines = written.splitlines()
    assert len(lines) == 2 + system_lines
    if log_format == "Text":  # START / END / REPORT as Lambda writes them, with the request id
        assert lines[0] == "START RequestId: req-1 Version: $LATEST" and lines[3] == "END RequestId: req-1"
        assert re.fullmatch(
            r"REPORT RequestId: req-1\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB"
            r"\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms\t",
            lines[4],
        )
    elif system_lines:  # platform.* records in JSON
        kinds = [json.loads(line)["type"] for line in (lines[0], lines[3], lines[4])]
        assert kinds == ["platform.start", "platform.runtimeDone", "platform.report"]
        assert json.loads(lines[4])["record"]["metrics"]["memorySizeMB"] == 128


def test_only_a_containers_first_invocation_reports_an_init_duration():
    # Given one wrapped handler (one container)
    out = io.StringIO()
    stream = LogStream(out, log_format="Text", system_level="INFO")
    handler = stream.wrap(lambda event, context: None, "ingest", 128)
    # When it is invoked twice / Then only the first REPORT line has an Init Duration
    handler({}, SimpleNamespace(aws_request_id="a"))
    handler({}, SimpleNamespace(aws_request_id="b"))
    reports = [line for line in out.getvalue().splitlines() if line.startswith("REPORT")]
    assert ["Init Duration" in line for line in reports] == [True, False]


def test_an_unknown_log_format_or_level_is_refused():
    with pytest.raises(ValueError, match="log format"):
        LogStream(io.StringIO(), log_format="json")
    with pytest.raises(ValueError, match="system log level"):
        LogStream(io.StringIO(), system_level="WARNING")
