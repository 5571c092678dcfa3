""".ci/setup: continues with a warning where there is no apt-get, installs only when the
package definition changed, and is quiet unless pip fails (issue 9, set-up and packaging).

The script runs in a copy of the checkout's top level with a fake ``.venv/bin/python`` (it logs
its calls and prints pip-like deprecation noise) and a PATH holding only the basic tools it
needs -- no apt-get, no pdflatex, no sudo -- so nothing is installed for real.
"""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ["bash", "cat", "sha256sum", "cut", "id", "mktemp", "rm", "dirname", "head"]

FAKE_PYTHON = """#!/bin/bash
here="$(cd "$(dirname "$0")/../.." && pwd)"
echo "$*" >> "$here/calls.log"
case "$1" in
  -V|--version) echo "Python 3.11.99" ;;
  -c) [ -f "$here/installed" ] ;;
  -m)
    for i in $(seq 50); do echo "DEPRECATION: noise line $i" >&2; done
    if [ -f "$here/pip-fails" ]; then echo "ERROR: pip could not install" >&2; exit 1; fi
    case "$*" in *" -e "*) touch "$here/installed" ;; esac ;;
esac
"""


@pytest.fixture
def fake_root(tmp_path):
    root = tmp_path / "checkout"
    (root / ".ci").mkdir(parents=True)
    shutil.copy2(ROOT / ".ci" / "setup", root / ".ci" / "setup")
    for name in ("pyproject.toml", "setup.py"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, root / name)
    py = root / ".venv" / "bin" / "python"
    py.parent.mkdir(parents=True)
    py.write_text(FAKE_PYTHON)
    py.chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS + ["seq", "touch"]:
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return root, str(bin_dir)


def _setup(root, path):
    env = {"PATH": path, "HOME": str(root), "TMPDIR": str(root)}
    return subprocess.run([shutil.which("bash"), str(root / ".ci" / "setup")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=60)


def _pip_calls(root):
    log = root / "calls.log"
    return [ln for ln in log.read_text().splitlines() if ln.startswith("-m pip")] \
        if log.exists() else []


def test_no_apt_get_warns_and_continues_quietly(fake_root):
    root, path = fake_root
    assert not shutil.which("apt-get", path=path) and not shutil.which("pdflatex", path=path)
    r = _setup(root, path)
    assert r.returncode == 0, r.stderr
    assert "PDF report (report.pdf) will be skipped" in r.stderr
    assert "DEPRECATION" not in r.stderr + r.stdout           # pip's noise is kept aside
    assert len(r.stderr.splitlines()) <= 5 and r.stdout == ""
    assert "no pdflatex" in r.stderr.splitlines()[-1]
    assert _pip_calls(root) == ["-m pip install -q --upgrade pip", "-m pip install -q -e .[test]"]
    assert list(root.glob("tmp*")) == []                       # its temporary log removed


def test_a_second_run_does_not_reinstall_until_the_package_changes(fake_root):
    root, path = fake_root
    assert _setup(root, path).returncode == 0
    first = len(_pip_calls(root))
    r = _setup(root, path)
    assert r.returncode == 0 and len(_pip_calls(root)) == first
    assert "nothing to do" in r.stderr
    with open(root / "pyproject.toml", "a") as fh:
        fh.write("\n# a new dependency\n")
    assert _setup(root, path).returncode == 0
    assert len(_pip_calls(root)) == first + 2


def test_a_failing_pip_is_shown_and_fails(fake_root):
    root, path = fake_root
    (root / "pip-fails").touch()
    r = _setup(root, path)
    assert r.returncode == 1
    assert "ERROR: pip could not install" in r.stderr and "pip install failed" in r.stderr
    assert not (root / ".venv" / ".ibsym-setup-stamp").exists()


def test_ci_run_is_setup_then_the_readme_test_command():
    text = (ROOT / ".ci" / "run").read_text()
    assert "bash .ci/setup && .venv/bin/python -m pytest" in text
    assert "bash .ci/setup && .venv/bin/python -m pytest" in (ROOT / "README.md").read_text()


def test_setup_is_valid_bash():
    assert subprocess.run(["bash", "-n", str(ROOT / ".ci" / "setup")]).returncode == 0
