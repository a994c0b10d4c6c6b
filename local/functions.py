"""Load a Lambda handler from functions/<name>/app.py the way Lambda does: by file, after the env is set."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_serial = itertools.count(1)


def cold_start() -> None:
    """Forget what a Lambda container keeps between invocations: settings, clients, the cached secret.

    The next invocation reads the environment again, as a new container would.
    """
    from relay_aws import container

    container.reset()


def load_handler(name: str) -> Callable[[dict, object], dict]:
    """Import functions/<name>/app.py under a fresh module name and return its `lambda_handler`.

    Every app.py is called `app`, so each load gets a unique module name; a fresh load also re-reads
    the module-level objects (logger, metrics) and, through `cold_start`, the environment.
    """
    cold_start()
    path = ROOT / "functions" / name / "app.py"
    if not path.is_file():
        raise FileNotFoundError(f"no handler at {path}")
    module_name = f"capi_relay_fn_{name}_{next(_serial)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(module)
    return module.lambda_handler
