"""Fail when a tracked file reads a fixed path outside the repository: `/tmp/...`, a home directory.

Why: a test that loads `/tmp/perf/proposed/client_ip.py` passes only on the machine where someone left
that file, and tests a module the relay never ships. A fresh clone must need nothing but its own files.

What counts: in Python, a string literal (f-strings included; docstrings and comments are prose, not
reads) naming a path under `/tmp/`, `/var/tmp/`, `/root`, `/home/` or `~/`, and `Path.home()`; in
shell, Makefiles, YAML, TOML, JS and HTML, the same paths and `$HOME` outside comments. Paths the code
creates at run time (`tempfile`, `mktemp`) never appear as literals, so they pass. A line that
really must name such a path (a mount point, say) says why with the marker `hermetic: ok` on that
line or the line above.
Data (JSON, text) and docs (Markdown) are not scanned: they are not run.

Usage: python tools/check_hermetic.py [repo root]. Exits 1 and lists file:line: path for each read.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MARKER = "hermetic: ok"
# a path outside the repo, not the tail of a URL or of a longer path ("https://x.io/home/", "a/root")
# hermetic: ok (the next line is the pattern itself)
OUTSIDE = re.compile(r"""(?<![\w.$/~%-])(?:/(?:var/)?tmp/[^\s'"`)]+|/root(?![\w.-])|/home/[^\s'"`)]*|~/)""")
HOME_VAR = re.compile(r"\$\$?\{?HOME\b")
WEB_URL = re.compile(r"""https?://[^\s'"`]*$""")  # the text just before a match, when it is in a URL
TEXT_SUFFIXES = {".sh", ".bash", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".js", ".mjs", ".html", ".mk"}
TEXT_NAMES = {"Makefile", "Dockerfile"}
SKIP_DIRS = {".git", ".venv", ".tools", "build", ".aws-sam", "node_modules", "__pycache__"}


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text}"


def tracked_files(root: Path) -> list[Path]:
    """What git tracks under root (what a clone gets); every file but tool folders without git."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=True, timeout=60
        ).stdout
        return [root / name for name in out.decode().split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        return [p for p in root.rglob("*") if p.is_file() and not SKIP_DIRS & set(p.relative_to(root).parts)]


def scanned_kind(path: Path) -> str | None:
    """'python', 'text' (comment lines start with # or //) or None for data and docs."""
    if path.suffix == ".py":
        return "python"
    if path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES:
        return "text"
    if not path.suffix:
        try:
            with path.open("rb") as handle:
                first = handle.readline(200)
        except OSError:
            return None
        if first.startswith(b"#!") and b"python" in first:
            return "python"
        if first.startswith(b"#!"):
            return "text"
    return None


def outside_paths(text: str) -> list[str]:
    """The fixed outside paths named in a piece of code (file:// URLs count; http(s) URLs do not)."""
    text = text.replace("file://", "file: ")
    return [m.group(0) for m in OUTSIDE.finditer(text) if not WEB_URL.search(text, 0, m.start())]


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings (prose, not reads)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _is_path_home(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "home"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "Path"
    )


def python_findings(source: str, name: str) -> list[Finding]:
    """Fixed outside paths in string literals, and Path.home(), of one Python source."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return text_findings(source, name)
    lines = source.splitlines()
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        hit = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            hit = next(iter(outside_paths(node.value)), None)
        elif _is_path_home(node):
            hit = "Path.home()"
        if hit is None:
            continue
        line = getattr(node, "lineno", 1)
        end = getattr(node, "end_lineno", line) or line
        if not any(MARKER in text for text in lines[max(line - 2, 0) : end]):
            found.append(Finding(name, line, hit))
    return found


def _uncommented(line: str) -> str:
    """The line without its # or // comment (a comment starts the line or follows a space)."""
    stripped = line.lstrip()
    if stripped.startswith(("#", "//", "/*", "*")):
        return ""
    return re.split(r"\s(?:#|//)", line, maxsplit=1)[0]


def text_findings(source: str, name: str) -> list[Finding]:
    """Fixed outside paths and $HOME in one shell/Makefile/YAML/JS/... source, comments ignored."""
    found = []
    previous = ""
    for number, line in enumerate(source.splitlines(), 1):
        marked, previous = MARKER in line or MARKER in previous, line
        if marked:
            continue
        code = _uncommented(line)
        for path in (*outside_paths(code), *(m.group(0) for m in HOME_VAR.finditer(code))):
            found.append(Finding(name, number, path))
    return found


def check(root: Path, files: list[Path] | None = None) -> list[Finding]:
    """Every fixed outside path read by the given files (default: the tracked ones) under root."""
    found: list[Finding] = []
    for path in files if files is not None else tracked_files(root):
        kind = scanned_kind(path) if path.is_file() else None
        if kind is None:
            continue
        source = path.read_text(encoding="utf-8", errors="replace")
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        scan = python_findings if kind == "python" else text_findings
        found += scan(source, name)
    return sorted(found)


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else Path(__file__).resolve().parent.parent).resolve()
    found = check(root)
    for finding in found:
        print(finding)
    if found:
        print(
            f"{len(found)} fixed path(s) outside the repository: a fresh clone does not have them. "
            "Use tempfile, a path under the repo, or mark a line that must name one with "
            f"'{MARKER}' and why.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
