"""capi_relay is plain Python: importable with AWS libraries blocked, without network, and cheaply."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

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
    assert found["public"]["relay"] == "function" and found["public"]["redeliver"] == "function"
    assert found["public"]["MetaClient"] == "type" and found["public"]["BadRequest"] == "type"


def test_relay_stays_the_function_after_its_module_is_imported():
    # Given the submodule capi_relay.relay imported first (Python binds it on the package)
    found = run(
        """
        import capi_relay.relay, capi_relay.redeliver
        from capi_relay import relay, redeliver
        print(json.dumps({"relay": callable(relay) and relay.__name__,
                          "redeliver": callable(redeliver) and redeliver.__name__}))
        """
    )
    # Then the package's names are still the use-case functions
    assert found == {"relay": "relay", "redeliver": "redeliver"}
