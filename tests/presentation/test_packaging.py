"""The wheel ships the package, its derivation scripts and the licence -- and nothing the main job
writes (issue 9, set-up and packaging).

The wheel is built from a copy of the sources (so the checkout gets no ``build/`` or
``*.egg-info``), with the test environment's setuptools and no network (``--no-build-isolation``).
A fresh virtual environment then gets the wheel (``--no-deps``; the dependencies come from this
environment's site-packages through a path file) and runs ``ibsym reproduce`` from an empty
folder: the derivations must be found inside the installed package.
"""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from ibsym.reproduce import find_derivations

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["pyproject.toml", "setup.py", "LICENSE", "README.md", "ibsym", "derivations"]


def _setuptools_ok() -> bool:
    try:
        import setuptools
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 77


pytestmark = pytest.mark.skipif(not _setuptools_ok(),
                                reason="needs setuptools>=77 (the test extra; run .ci/setup)")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(p, src / name)
    (src / "ibsym-out" / "gd").mkdir(parents=True)        # what `ibsym reproduce` leaves here
    (src / "ibsym-out" / "gd" / "report.json").write_text("{}")
    (src / "ibsym-out" / "report.md").write_text("# old report\n")
    dist = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                           "--no-build-isolation", "--no-index", "-w", str(dist), str(src)],
                          capture_output=True, text=True, timeout=300, cwd=src)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (whl,) = dist.glob("ibsym-*.whl")
    return whl


def test_the_wheel_ships_derivations_and_licence_but_no_outputs(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    shipped = sorted(Path(n).stem for n in names if n.startswith("ibsym/_derivations/"))
    assert shipped == sorted(find_derivations(ROOT / "derivations"))
    assert len(shipped) >= 9
    assert not [n for n in names if n.startswith(("ibsym-out", "tests/", "derivations/"))
                or "report.md" in n]
    assert all(n.startswith(("ibsym/", "ibsym-")) for n in names), names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: MIT" in meta and "License-File: LICENSE" in meta
    assert "ibsym/reproduce.py" in names and "ibsym/cli/__init__.py" in names


def test_reproduce_runs_from_an_installed_wheel(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True,
                   timeout=120)
    py = env_dir / "bin" / "python"
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q",
                           "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # dependencies (sympy, numpy, ...) from this environment, after the venv's own packages
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    here = sysconfig.get_paths()["purelib"]
    Path(site, "zz_test_dependencies.pth").write_text(here + "\n")
    work = tmp_path / "empty"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["MPLBACKEND"] = "Agg"
    where = subprocess.run([str(py), "-c", "import ibsym, ibsym.reproduce as r; "
                            "print(ibsym.__file__); print(r.DEFAULT_DIR)"],
                           capture_output=True, text=True, cwd=work, env=env, timeout=120)
    assert where.returncode == 0, where.stderr
    module, default_dir = where.stdout.split()
    assert module.startswith(str(env_dir)) and default_dir.endswith("ibsym/_derivations")
    run = subprocess.run([str(env_dir / "bin" / "ibsym"), "reproduce", "barrett_dherin_2021_igr",
                          "--quick", "--out", "D"], capture_output=True, text=True, cwd=work,
                         env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    res = json.loads(run.stdout)
    assert res["ok"] and [r["status"] for r in res["results"]] == ["ok"]
    summary = json.loads((work / "D" / "summary.json").read_text())
    assert summary["ok"] and summary["results"][0]["name"] == "barrett_dherin_2021_igr"
    assert json.loads((work / "D" / "barrett_dherin_2021_igr" / "gd_bilinear.json").read_text())[
        "verified"] is True
    listed = subprocess.run([str(env_dir / "bin" / "ibsym"), "reproduce", "--list"],
                            capture_output=True, text=True, cwd=work, env=env, timeout=120)
    assert listed.stdout.split() == sorted(find_derivations(ROOT / "derivations"))
