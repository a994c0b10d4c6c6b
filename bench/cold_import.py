"""Cold start as Lambda pays it: a fresh interpreter importing the handler module, ours vs an SDK one.

Each sample is a new `python` process that times only the import (interpreter start-up is the same for
both and is left out), in CPU time, which a busy machine does not inflate; wall time is kept beside it
(on an idle machine the two agree). Ours: functions/ingest/app.py with the environment the template
sets and PYTHONPATH=layers, as Lambda loads it. Theirs: what a hand-written SDK Lambda imports - boto3
(for its secret) and facebook_business' serverside API. One unmeasured warm-up each writes the .pyc
files, as a deployed package would have them; samples alternate so drift hits both sides alike.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INGEST_APP = ROOT / "functions" / "ingest" / "app.py"

_TIMER = """
import time
t0, c0 = time.perf_counter(), time.process_time()
{body}
t1, c1 = time.perf_counter(), time.process_time()
import json
modules = len(__import__("sys").modules)
print(json.dumps({{"wall_ms": (t1 - t0) * 1e3, "cpu_ms": (c1 - c0) * 1e3, "modules": modules}}))
"""

RELAY_IMPORT = f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("app", {str(INGEST_APP)!r})
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
assert callable(module.lambda_handler)
"""

SDK_IMPORT = """
import boto3
from facebook_business.api import FacebookAdsApi
from facebook_business.adobjects.serverside.action_source import ActionSource
from facebook_business.adobjects.serverside.custom_data import CustomData
from facebook_business.adobjects.serverside.event import Event
from facebook_business.adobjects.serverside.event_request import EventRequest
from facebook_business.adobjects.serverside.user_data import UserData
"""


def lambda_env() -> dict[str, str]:
    """The environment the ingest function gets from the template; no endpoint is ever contacted."""
    # the parent's AWS/Meta settings stay out; so does PYTHONDONTWRITEBYTECODE (a deployed package has .pyc)
    skip = ("AWS_", "META_", "POWERTOOLS_", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "layers"), str(ROOT)]),
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",  # discard port: an accidental call fails fast, locally
        META_PIXEL_ID="1234567890",
        META_API_VERSION="v24.0",
        META_GRAPH_URL="http://127.0.0.1:9",
        SECRET_ID="capi-relay/meta",
        RETRY_QUEUE_URL="http://127.0.0.1:9/000000000000/capi-relay-retry",
        DLQ_URL="http://127.0.0.1:9/000000000000/capi-relay-dlq",
        ALLOWED_ORIGINS="https://shop.example.com",
        ALLOWED_URL_DOMAINS="shop.example.com",
        POWERTOOLS_SERVICE_NAME="capi-relay",
        METRICS_NAMESPACE="CapiRelay",
        POWERTOOLS_METRICS_NAMESPACE="CapiRelay",
    )
    return env


def _sample(body: str, timeout: float = 60.0) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _TIMER.format(body=body)],
        env=lambda_env(),
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"import failed: {last}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(runs: int = 9) -> dict:
    """Median import time of each side over `runs` fresh interpreters, and the ratio ours / SDK's."""
    relay_ok = INGEST_APP.exists()
    sides = {"relay": RELAY_IMPORT, "sdk": SDK_IMPORT}
    samples: dict[str, list[float]] = {"relay": [], "sdk": []}
    wall: dict[str, list[float]] = {"relay": [], "sdk": []}
    modules: dict[str, int] = {}
    errors: dict[str, str] = {}
    if not relay_ok:
        errors["relay"] = f"{INGEST_APP.relative_to(ROOT)} not found"
    for name, body in sides.items():
        if name in errors:
            continue
        try:
            _sample(body)  # warm-up: writes .pyc files
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            errors[name] = str(exc)
    for _ in range(runs):
        for name, body in sides.items():
            if name in errors:
                continue
            result = _sample(body)
            samples[name].append(result["cpu_ms"])
            wall[name].append(result["wall_ms"])
            modules[name] = result["modules"]
    med = {k: statistics.median(v) if v else None for k, v in samples.items()}
    ratio = med["relay"] / med["sdk"] if med["relay"] and med["sdk"] else None
    return {
        "relay_cold_import_ms": med["relay"],
        "sdk_cold_import_ms": med["sdk"],
        "import_ratio": ratio,
        "relay_wall_ms": statistics.median(wall["relay"]) if wall["relay"] else None,
        "sdk_wall_ms": statistics.median(wall["sdk"]) if wall["sdk"] else None,
        "relay_modules_loaded": modules.get("relay"),
        "sdk_modules_loaded": modules.get("sdk"),
        "runs": runs,
        "samples_cpu_ms": samples,
        "errors": errors,
    }


def hotspots(top: int = 12) -> list[dict]:
    """Top-level packages by cumulative import time of the ingest handler (python -X importtime)."""
    if not INGEST_APP.exists():
        return []
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", RELAY_IMPORT],
        env=lambda_env(),
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    per_package: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        # "import time:      self [us] |    cumulative | imported package"
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, self_us, _cumulative, name = line.replace("import time:", "|").split("|")
        package = name.strip().split(".")[0]
        per_package[package] = per_package.get(package, 0) + int(self_us.strip())
    ranked = sorted(per_package.items(), key=lambda item: item[1], reverse=True)[:top]
    return [{"package": name, "self_ms": round(us / 1000, 2)} for name, us in ranked]


def find_python313() -> str | None:
    """Lambda's runtime, python3.13, on this machine: $PYTHON313, then PATH, then pyenv's versions."""
    import glob
    import shutil

    candidates = [os.environ.get("PYTHON313") or ""]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False).stdout.strip()
        candidates += sorted(
            glob.glob(os.path.join(root, "versions", "3.13*", "bin", "python3.13")), reverse=True
        )
    candidates.append(shutil.which("python3.13") or "")  # last: pyenv's shim fails when 3.13 is not selected
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            probe = subprocess.run([candidate, "-V"], capture_output=True, text=True, check=False)
            if probe.returncode == 0 and probe.stdout.startswith("Python 3.13"):
                return candidate
    return None


def measure_built_layer(build_dir: Path, runs: int = 9, python: str | None = None) -> dict:
    """Cold import of the *built* ingest function on the built layer, under Python 3.13 (Lambda's runtime).

    What Lambda loads: build_dir/IngestFunction/app.py with build_dir/CapiRelayLayer/python on the
    path (the layer's own .pyc files, when `sam build` compiled them for 3.13) and nothing from this
    checkout. boto3 is the runtime's, not the layer's: a import that needs it here fails loudly.
    """
    python = python or find_python313()
    if python is None:
        return {
            "error": "no python3.13 found (set PYTHON313, put python3.13 on PATH, or install it with pyenv)"
        }
    build_dir = build_dir.resolve()
    app, layer = build_dir / "IngestFunction" / "app.py", build_dir / "CapiRelayLayer" / "python"
    if not app.exists() or not layer.is_dir():
        return {"error": f"no built function and layer under {build_dir} (run `make build`)"}
    body = RELAY_IMPORT.replace(repr(str(INGEST_APP)), repr(str(app)))
    env = {**lambda_env(), "PYTHONPATH": str(layer)}
    samples: list[float] = []
    for index in range(runs + 1):  # the first run writes whatever .pyc the build did not ship
        proc = subprocess.run(
            [python, "-c", _TIMER.format(body=body)],
            env=env,
            cwd=str(build_dir),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return {"error": f"import under {python} failed: {last}", "python": python}
        if index:
            samples.append(json.loads(proc.stdout.strip().splitlines()[-1])["cpu_ms"])
    version = subprocess.run([python, "-V"], capture_output=True, text=True, check=False).stdout.strip()
    return {"relay_cold_import_ms_py313": statistics.median(samples), "python": version, "runs": runs}
