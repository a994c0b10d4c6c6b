"""No tracked file reads a fixed path outside the repository; and the detector that says so is precise.

A test that loads a file from `/tmp` or a home directory passes only on the machine where the file
was left behind. The planted files below spell such paths with placeholders ({tmp}, {home}) so
this file does not trip the check it tests.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tools import check_hermetic

ROOT = Path(__file__).resolve().parents[2]
TMP = "/" + "tmp"
SPELLED = {"tmp": TMP, "home": "/" + "home", "root": "/" + "root", "tilde": "~" + "/"}


def plant(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).format(**SPELLED))
    return path


def findings(folder: Path, name: str, text: str) -> list[str]:
    path = plant(folder, name, text)
    return [str(f) for f in check_hermetic.check(folder, [path])]


def test_no_tracked_file_reads_a_fixed_path_outside_the_repository():
    # Given the repository as git tracks it (what a fresh clone gets)
    # When every script, test, Makefile and template is scanned
    found = check_hermetic.check(ROOT)
    # Then none reads /tmp/..., a home directory or ~/...
    assert [str(f) for f in found] == []


# --- the detector catches what a careless test or script would do -------------------------------------


def test_a_test_loading_a_module_from_tmp_is_caught(tmp_path):
    # Given the kind of test that started this: it loads a proposal left in /tmp
    text = """
        import importlib.util

        spec = importlib.util.spec_from_file_location("x", "{tmp}/perf/proposed/client_ip.py")
    """
    # When it is scanned
    # Then the line and the path are named
    assert findings(tmp_path, "tests/test_x.py", text) == [
        f"tests/test_x.py:4: {TMP}/perf/proposed/client_ip.py"
    ]


@pytest.mark.parametrize(
    "line",
    [
        'DATA = open("{home}/alice/data.json").read()',
        'CONFIG = f"{home}/{{user}}/.config/x.toml"',
        'CREDS = Path("{tilde}.aws/credentials")',
        'KEY = "{root}/.ssh/id_rsa"',
        'CACHE = "/var{tmp}/shared-cache/places.json"',
        "CACHE = Path.home() / '.cache'",
        'SQL = ("select", "{tmp}/dump.sql")[1]',
    ],
    ids=["home", "f-string", "tilde", "root", "var-tmp", "path-home", "in-expression"],
)
def test_fixed_outside_paths_in_python_are_caught(tmp_path, line):
    # Given a Python module whose code names a path outside the repo
    # When it is scanned
    found = findings(tmp_path, "mod.py", line + "\n")
    # Then it is reported on its line
    assert len(found) == 1 and found[0].startswith("mod.py:1: ")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("run.sh", "#!/bin/bash\ncat {tmp}/fixtures.json | jq .\n"),
        ("Makefile", "data:\n\tcp $$HOME/.cache/places.json layers/\n"),
        ("tools/fetch", "#!/bin/sh\n. ${{HOME}}/.profile\n"),
        ("template.yaml", "Resources:\n  X:\n    Path: {root}/cfg.json\n"),
        ("web/x.js", "fetch('file://{home}/bob/x.json');\n"),
        ("tools/gen", "#!/usr/bin/env python3\nopen('{tmp}/x')\n"),
    ],
    ids=["shell", "makefile-home", "shebang-sh-home", "yaml", "js", "shebang-python"],
)
def test_fixed_outside_paths_in_scripts_and_config_are_caught(tmp_path, name, text):
    # Given a script or config file that reads from /tmp or a home directory
    # When it is scanned
    # Then it is reported
    assert len(findings(tmp_path, name, text)) == 1


def test_the_command_line_fails_on_a_planted_file_in_a_git_clone(tmp_path):
    # Given a git repository where someone committed a test reading from /tmp
    plant(tmp_path, "tests/test_bad.py", 'FIXTURE = "{tmp}/fixture.bin"\n')
    plant(tmp_path, "ok.py", "import tempfile\n")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    # When the check runs as `make lint` runs it
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "check_hermetic.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Then it fails and names the file, the line and the path
    assert done.returncode == 1
    assert f"tests/test_bad.py:1: {TMP}/fixture.bin" in done.stdout
    assert "fresh clone" in done.stderr


def test_untracked_files_are_not_the_repositorys_business(tmp_path):
    # Given a clone with a stray, untracked scratch file reading /tmp
    plant(tmp_path, "scratch.py", 'open("{tmp}/x")\n')
    plant(tmp_path, "kept.py", "X = 1\n")
    subprocess.run(["git", "-C", str(tmp_path), "init", "-q"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "kept.py"], check=True)
    # When the repository is checked
    # Then only tracked files count
    assert check_hermetic.check(tmp_path) == []


# --- and lets through what is not a fixed outside read ------------------------------------------------


def test_paths_the_code_creates_with_tempfile_pass(tmp_path):
    # Given code that makes its own temporary files and folders
    text = """
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "x.json").write_text("{{}}")
        log = tempfile.NamedTemporaryFile(prefix="capi-relay-e2e-", suffix=".log", delete=False)
        scratch = Path(tempfile.gettempdir()) / "capi-relay-cache"
        tmp_dir = tempfile.mkdtemp(dir=scratch)
    """
    # When it is scanned
    # Then nothing is reported
    assert findings(tmp_path, "mod.py", text) == []


def test_shell_that_creates_its_own_temporary_folder_passes(tmp_path):
    # Given a script that makes its folder with mktemp and mounts a fresh tmpfs on /tmp
    text = """
        #!/bin/bash
        work=$(mktemp -d "${{TMPDIR:-/var/tmp}}/ci.XXXXXX")  # a comment may say {tmp}/old-way
        # cat {home}/me/notes  (a comment, not a read)
        mount -t tmpfs tmpfs {tmp}
        cp -r "$work/x" "$work/y"
    """
    # When it is scanned
    # Then nothing is reported
    assert findings(tmp_path, "tools/ci.sh", text) == []


def test_prose_urls_and_relative_paths_pass(tmp_path):
    # Given docstrings and comments about /tmp, URLs whose path has /home/, and repo-relative paths
    text = '''
        """Loads nothing from {tmp}/x: this docstring only talks about it."""

        # an old version read {home}/me/data.json
        URL = "https://example.com{home}/page?next={root}"
        PAGE = "https://shop.example{tmp}/cart"
        DATA = "layers/capi_relay/data{tmp}/places.json"
        HERE = "build{tmp}/x"


        def f():
            """Never reads {tilde}.aws."""
    '''
    # When it is scanned
    # Then nothing is reported
    assert findings(tmp_path, "mod.py", text) == []


def test_a_line_marked_with_its_reason_passes(tmp_path):
    # Given a line that must name such a path, and says why
    text = 'MOUNT_POINT = "{tmp}/ci"  # hermetic: ok (we mount it ourselves)\n'
    # When it is scanned
    # Then it passes, and the same line without the marker does not
    assert findings(tmp_path, "mod.py", text) == []
    assert len(findings(tmp_path, "other.py", text.split("  #")[0] + "\n")) == 1


def test_a_marker_on_the_line_above_covers_only_the_next_line(tmp_path):
    # Given a shell script with a marked line followed by an unmarked one
    text = """
        # hermetic: ok (a case pattern that refuses paths under /tmp, read nothing)
        case "$dir" in {tmp}/*) exit 2 ;; esac
        cat {tmp}/later.json
    """
    # When it is scanned
    # Then only the unmarked read is reported
    assert findings(tmp_path, "tools/x.sh", text) == [f"tools/x.sh:4: {TMP}/later.json"]


def test_data_and_docs_are_not_scanned(tmp_path):
    # Given a JSON data file and a Markdown page that mention such paths
    json_file = plant(tmp_path, "vectors.json", '["{tmp}/x", "{home}/y"]\n')
    doc = plant(tmp_path, "docs/guide.md", "Write the secret to {tmp}/secret.json, then delete it.\n")
    # When they are checked
    # Then they are skipped (they are not run)
    assert check_hermetic.check(tmp_path, [json_file, doc]) == []


def test_outside_a_git_checkout_every_file_but_tool_folders_is_checked(tmp_path):
    # Given an unpacked source archive (no .git) with a bad script, and a virtualenv beside it
    plant(tmp_path, "tools/fetch.sh", "#!/bin/sh\ncp {tmp}/places.json .\n")
    plant(tmp_path, ".venv/lib/site.py", 'HOME = "{home}/me"\n')
    # When the folder is checked
    # Then the script is caught and the virtualenv is not the project's code
    assert [str(f) for f in check_hermetic.check(tmp_path)] == [f"tools/fetch.sh:2: {TMP}/places.json"]
