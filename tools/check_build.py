"""Check what `sam build` produced before anyone deploys it: the layer has what Lambda will import.

Usage: python tools/check_build.py [build/sam]. Exits 1 with the reasons when something is wrong;
prints each artifact's zipped size (what Lambda stores and what a cold start downloads).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

LAYER = "CapiRelayLayer"
FUNCTIONS = ("IngestFunction", "RetryFunction", "VolumeWatchFunction")
LAYER_MUST_HAVE = ("capi_relay", "relay_aws", "aws_lambda_powertools", "requests", "phonenumbers", "orjson")
LAYER_MUST_NOT_HAVE = ("boto3", "botocore")  # the Lambda runtime provides them; a copy only adds size
IMPORTS = "import capi_relay, relay_aws, phonenumbers, requests, aws_lambda_powertools"
UNZIPPED_LIMIT = 250 * 1024 * 1024  # Lambda: function + layers, unzipped


def zipped_size(root: Path) -> int:
    """Bytes of a deflated zip of the directory, built in memory like `sam deploy` uploads it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root))
    return buffer.tell()


def unzipped_size(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def check_layer(layer: Path) -> list[str]:
    problems = []
    python = layer / "python"
    if not python.is_dir():
        return [f"{python} is missing (the layer must put packages under python/)"]
    problems += [f"layer lacks python/{name}" for name in LAYER_MUST_HAVE if not (python / name).is_dir()]
    problems += [f"layer ships python/{name}" for name in LAYER_MUST_NOT_HAVE if (python / name).exists()]
    for path in python.rglob("*"):
        relative = path.relative_to(layer)
        test_dir = path.is_dir() and path.name == "tests"
        test_file = path.is_file() and path.name.startswith("test_") and path.suffix == ".py"
        # bytecode only for Lambda's Python (layers/Makefile, PYTHON313); anything else is dead weight
        stray_bytecode = path.suffix == ".pyc" and not path.name.endswith(".cpython-313.pyc")
        if test_dir or test_file or stray_bytecode:
            problems.append(f"layer ships {relative}")
    problems += check_imports(python)
    return problems


def check_imports(python: Path) -> list[str]:
    """Import the pure-Python layer with nothing else on the path (-S: no site-packages, no venv)."""
    modules = IMPORTS.removeprefix("import ")
    # where each came from: a file, or a namespace package's first directory
    probe = f"{IMPORTS}\nprint(*[m.__file__ or list(m.__path__)[0] for m in ({modules},)], sep=chr(10))"
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(python), "PYTHONDONTWRITEBYTECODE": "1"}
    with tempfile.TemporaryDirectory() as cwd:  # not the repo: its layers/ must not be found
        done = subprocess.run(
            [sys.executable, "-S", "-c", probe], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
        )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [f"the layer does not import ({IMPORTS}): {last}"]
    outside = [line for line in done.stdout.split() if not line.startswith(str(python))]
    return [f"imported from outside the layer: {path}" for path in outside]


def check_functions(build: Path) -> list[str]:
    return [f"{name}/app.py is missing" for name in FUNCTIONS if not (build / name / "app.py").is_file()]


def main(argv: list[str]) -> int:
    build = Path(argv[1] if len(argv) > 1 else "build/sam").resolve()
    if not build.is_dir():
        print(f"{build} does not exist: run sam build first", file=sys.stderr)
        return 1
    problems = check_layer(build / LAYER) + check_functions(build)
    total = 0
    print(f"{'artifact':<22}{'zipped KB':>12}{'unzipped KB':>14}")
    for name in (LAYER, *FUNCTIONS):
        root = build / name
        if root.is_dir():
            unzipped = unzipped_size(root)
            total += unzipped
            print(f"{name:<22}{zipped_size(root) / 1024:>12.1f}{unzipped / 1024:>14.1f}")
    if total > UNZIPPED_LIMIT:
        problems.append(f"{total / 1e6:.1f} MB unzipped is over Lambda's 250 MB limit")
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    if not problems:
        print("build ok: layer imports cleanly under", sys.version.split()[0])
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
