"""The Jin & Montúfar derivation scripts run (quick mode), agree with their oracles and export."""
import ast
import importlib.util
import json
from pathlib import Path

import pytest

from ibsym.core.export import compile_latex

DERIV = Path(__file__).resolve().parents[2] / "derivations"
SCRIPTS = sorted(DERIV.glob("jin_montufar_2023_*.py"))
ALLOWED = {"ibsym", "__future__", "math", "sys", "pathlib", "fractions", "json"}


def _load(path):
    spec = importlib.util.spec_from_file_location(f"_jm_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_there_are_three_scripts_importing_only_ibsym_and_stdlib():
    assert {p.stem for p in SCRIPTS} >= {"jin_montufar_2023_gaussian",
                                         "jin_montufar_2023_uniform_spline",
                                         "jin_montufar_2023_designed_penalty"}
    for p in SCRIPTS:
        for node in ast.walk(ast.parse(p.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [(node.module or "").split(".")[0]]
            assert set(names) <= ALLOWED, f"{p.name} imports {names}"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_derivation_quick(path, tmp_path):
    res = _load(path).main(tmp_path, quick=True)
    assert res["name"] == path.stem and res["summary"] and res["reference"]
    assert res["checks"] and all(c["ok"] for c in res["checks"]), \
        [c for c in res["checks"] if not c["ok"]]
    for f in res["files"]:
        assert (tmp_path / f).exists(), f
    assert any(f.endswith(".png") for f in res["files"])
    tex = [f for f in res["files"] if f.endswith(".tex")]
    assert tex and compile_latex(tmp_path / tex[0]).exists()
    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["name"] == path.stem
