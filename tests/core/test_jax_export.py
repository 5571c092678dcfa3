"""The JAX export checks, run in a process of their own.

JAX starts threads and registers an at-fork hook; other tests fork (the ζ derivation's time
limit runs SymPy in a forked child), and a fork in a process that has imported JAX may deadlock.
So ``jax_export_checks.py`` -- the real assertions -- runs in a separate pytest process and this
test fails with its output when any of them fails.
"""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

# found, not imported: importing JAX here would put its threads into this process
pytestmark = pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                                reason="jax not installed (pip install -e '.[test]')")

CHECKS = Path(__file__).with_name("jax_export_checks.py")


def test_jax_export_checks_pass_in_their_own_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--rootdir", str(CHECKS.parents[2]), str(CHECKS)],
                          capture_output=True, text=True, timeout=600, cwd=CHECKS.parents[2])
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary, summary
