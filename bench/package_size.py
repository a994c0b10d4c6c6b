"""What Lambda downloads on a cold start: the built layer and function artifacts, zipped as SAM would.

Runs `sam build` (the project's own .tools/sam) into build/sam when it has not been built, then zips
each artifact directory in memory (deflate, like `sam package`) and measures it. For comparison, the
same for a hand-written SDK function: facebook-business and everything it pulls in (boto3 excluded,
as the Lambda runtime provides it).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import zipfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "build" / "sam"
SAM = ROOT / ".tools" / "sam" / "bin" / "sam"
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}


def _zip_size(files: list[tuple[Path, str]]) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, arcname in files:
            archive.write(path, arcname)
    return buffer.tell()


def _dir_files(directory: Path) -> list[tuple[Path, str]]:
    return [
        (path, str(path.relative_to(directory)))
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    ]


def _stale() -> bool:
    """True when build/sam is missing or older than a source it is built from."""
    built = BUILD_DIR / "template.yaml"
    if not built.exists():
        return True
    stamp = built.stat().st_mtime
    sources = [ROOT / "template.yaml", ROOT / "layers" / "requirements.txt"]
    for folder in (ROOT / "layers", ROOT / "functions"):
        sources += [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return any(path.exists() and path.stat().st_mtime > stamp for path in sources)


def ensure_built(timeout: float = 900.0) -> str | None:
    """Build with SAM when build/sam is missing or out of date; returns why not, or None when built."""
    if not _stale():
        return None
    if not (ROOT / "template.yaml").exists():
        return "template.yaml not found"
    if not SAM.exists():
        return f"{SAM.relative_to(ROOT)} not found (make sam-cli)"
    env = dict(os.environ, SAM_CLI_TELEMETRY="0")
    proc = subprocess.run(
        [str(SAM), "build", "--template", "template.yaml", "--build-dir", str(BUILD_DIR)],
        cwd=str(ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        tail = " | ".join(proc.stdout.strip().splitlines()[-3:] + proc.stderr.strip().splitlines()[-3:])
        return f"sam build failed: {tail}"
    return None


def artifacts() -> dict[str, dict]:
    """Zipped and unzipped bytes of every artifact directory in build/sam."""
    sizes = {}
    for directory in sorted(p for p in BUILD_DIR.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = _dir_files(directory)
        sizes[directory.name] = {
            "zip_bytes": _zip_size(files),
            "unzipped_bytes": sum(path.stat().st_size for path, _ in files),
            "files": len(files),
        }
    return sizes


def _requirement_names(dist: metadata.Distribution) -> list[str]:
    names = []
    for requirement in dist.requires or []:
        if "extra ==" in requirement:
            continue
        names.append(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0])
    return names


def sdk_closure(root: str = "facebook-business") -> dict | None:
    """facebook-business plus its dependencies, zipped: what an SDK Lambda ships (None when not installed)."""
    try:
        metadata.distribution(root)
    except metadata.PackageNotFoundError:
        return None
    seen: dict[str, metadata.Distribution] = {}
    pending = [root]
    while pending:
        name = pending.pop()
        key = name.lower().replace("_", "-")
        if key in seen or key in RUNTIME_PROVIDED:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[key] = dist
        pending.extend(_requirement_names(dist))
    files = []
    for dist in seen.values():
        for entry in dist.files or []:
            path = Path(dist.locate_file(entry))
            if path.is_file() and "__pycache__" not in path.parts and not str(entry).endswith(".pyc"):
                files.append((path, str(entry)))
    return {
        "distributions": sorted(seen),
        "zip_bytes": _zip_size(files),
        "unzipped_bytes": sum(path.stat().st_size for path, _ in files),
    }


def measure() -> dict:
    """Sizes of our artifacts (built if needed) and of the SDK's dependency closure."""
    problem = ensure_built()
    ours = artifacts() if problem is None else {}
    total = sum(a["zip_bytes"] for a in ours.values())
    return {
        "package_mb": total / 1e6 if ours else None,
        "artifacts": ours,
        "sdk": sdk_closure(),
        "error": problem,
    }
