import json
from tests.integration.lambda_events import http_event

def test_smoke(handlers, graph_sandbox, capsys, local_aws):
    status, body = handlers.ingest(http_event())
    print(status, body)
    print(json.dumps(graph_sandbox.events(), indent=1)[:3000])
    graph_sandbox.add_fault({"kind": "5xx", "count": 1})
    status, body = handlers.ingest(http_event(sample_name="batch.json"))
    print(status, body)
    print(local_aws.messages("retry")[0]["json"])
    status, body = handlers.ingest(http_event(sample_name="invalid.json"))
    print(status, body)
    status, body = handlers.ingest(http_event(sample_name="browser_with_cookies_fbclid.json"))
    print(status, body, graph_sandbox.events()[-1])
    assert 0
