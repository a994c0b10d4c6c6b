"""capi_relay is plain Python: importable with AWS libraries blocked, without network, and cheaply."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: AWS modules cannot be imported, sockets cannot connect or resolve.
GUARD = textwrap.dedent(
    """
    import importlib.abc, json, pkgutil, socket, sys

    BLOCKED = ("boto3", "botocore", "aws_lambda_powertools", "relay_aws")

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked in this test")
            return None

    sys.meta_path.insert(0, Block())

    def no_network(*args, **kwargs):
        raise OSError("network is blocked in this test")

    socket.socket.connect = no_network
    socket.socket.connect_ex = no_network
    socket.getaddrinfo = no_network
    socket.create_connection = no_network
    """
)


def run(code: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", GUARD + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "layers")},
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_import_is_cheap_and_loads_neither_requests_nor_phonenumbers():
    # Given a fresh interpreter with AWS libraries and the network blocked
    # When only the package is imported
    found = run(
        """
        import capi_relay
        print(json.dumps({"loaded": sorted(m for m in ("requests", "phonenumbers", "urllib3",
                                                         "capi_relay.relay") if m in sys.modules)}))
        """
    )
    # Then nothing heavy came with it
    assert found["loaded"] == []


def test_every_module_imports_without_aws_libraries_or_network():
    # When every module of the package and every public name are imported
    found = run(
        """
        import capi_relay
        names = [m.name for m in pkgutil.iter_modules(capi_relay.__path__)]
        for name in names:
            __import__(f"capi_relay.{name}")
        public = {name: type(getattr(capi_relay, name)).__name__ for name in capi_relay.__all__}
        print(json.dumps({"modules": names, "public": public,
                          "aws": [m for m in sys.modules if m.split(".")[0] in BLOCKED]}))
        """
    )
    # Then all of them loaded, none reached for AWS, and the contract's names are there
    assert {"relay", "redeliver", "meta_client", "validate", "enrich", "parse", "batch", "model"} <= set(
        found["modules"]
    )
    assert found["aws"] == []
    assert (
        found["public"]["relay_request"] == "function" and found["public"]["redeliver_message"] == "function"
    )
    assert found["public"]["MetaClient"] == "type" and found["public"]["BadRequest"] == "type"


def test_the_ingest_use_case_loads_no_dataclasses_and_rare_rules_only_with_a_value_that_needs_them():
    # Given a fresh interpreter with AWS libraries and the network blocked
    # When the ingest use case is imported, then customer data with a birth date and a postcode is normalized
    found = run(
        """
        import hashlib
        import capi_relay.relay
        watched = ("dataclasses", "capi_relay.graph_shape", "capi_relay.birthdate", "capi_relay.postcodes")
        at_import = [m for m in watched if m in sys.modules]
        from capi_relay.normalize import normalize_user_data
        out, warnings = normalize_user_data({"db": "1990-02-01", "zp": "94025-1234"}, "us")
        plain = {"db": "19900201", "zp": "94025"}
        expected = {key: hashlib.sha256(value.encode()).hexdigest() for key, value in plain.items()}
        print(json.dumps({"at_import": at_import, "after": [m for m in watched if m in sys.modules],
                          "hashed": out == expected, "warnings": warnings}))
        """
    )
    # Then a cold start pays for none of them; the value that needs a rule loads it, and it works
    assert found["at_import"] == []
    assert found["after"] == ["capi_relay.birthdate", "capi_relay.postcodes"]
    assert found["hashed"] is True and found["warnings"] == []


def test_a_quiet_container_never_imports_orjson_and_a_busy_one_does():
    # Given a fresh interpreter (a cold start) with the Graph client's body writer
    found = run(
        """
        import capi_relay.relay, capi_relay.meta_client
        from capi_relay.json_codec import FAST_AFTER_EVENTS, GraphBodyWriter
        writer = GraphBodyWriter()
        payload = {"data": [{"event_name": "Purchase"}], "access_token": "t"}
        at_import = "orjson" in sys.modules
        for _ in range(FAST_AFTER_EVENTS - 1):  # a quiet shop's container: one browser event at a time
            writer(payload, 1)
        quiet = ("orjson" in sys.modules, writer.codec)
        writer(payload, 1)
        busy = ["orjson" in sys.modules, writer.codec]
        print(json.dumps({"at_import": at_import, "quiet": quiet, "busy": busy}))
        """
    )
    # Then neither the cold start nor the quiet container paid for orjson; the busy one did
    assert found == {"at_import": False, "quiet": [False, "json"], "busy": [True, "orjson"]}


@pytest.mark.parametrize("modules_first", [True, False], ids=["modules-first", "names-first"])
def test_use_case_functions_and_their_modules_both_import_in_either_order(modules_first):
    # Given the submodules and the package's lazy names, imported in either order
    # (Python binds a submodule on its package when it loads it: the names must not collide)
    found = run(
        f"""
        import importlib
        import capi_relay

        def modules():
            return {{n: type(importlib.import_module(f"capi_relay.{{n}}")).__name__
                     for n in ("relay", "redeliver")}}

        def names():
            return {{n: getattr(capi_relay, n).__name__ for n in ("relay_request", "redeliver_message")}}

        first, second = (modules, names) if {modules_first!r} else (names, modules)
        first()
        second()
        import capi_relay.relay, capi_relay.redeliver
        from capi_relay import relay_request, redeliver_message
        print(json.dumps({{"names": names(), "modules": modules(),
                          "attrs": [type(capi_relay.relay).__name__, type(capi_relay.redeliver).__name__],
                          "same": relay_request is capi_relay.relay.relay_request
                                  and redeliver_message is capi_relay.redeliver.redeliver_message}}))
        """
    )
    # Then the functions are the use cases and the package's attributes are their modules
    assert found == {
        "names": {"relay_request": "relay_request", "redeliver_message": "redeliver_message"},
        "modules": {"relay": "module", "redeliver": "module"},
        "attrs": ["module", "module"],
        "same": True,
    }


def test_type_checkers_see_every_lazy_name_from_the_module_that_loads_it():
    # Given the package's lazy names and the imports it shows type checkers (never run)
    source = (ROOT / "layers" / "capi_relay" / "__init__.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    guarded = next(
        node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    shown = {
        alias.name: node.module.removeprefix("capi_relay.")
        for node in guarded.body
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
        if alias.asname == alias.name  # `X as X`: re-exported under strict mypy
    }
    exports = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "_EXPORTS"
    )
    # Then both say the same thing: what mypy checks is what __getattr__ loads
    assert shown == exports
