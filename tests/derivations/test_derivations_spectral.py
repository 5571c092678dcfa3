"""The deep-linear-network derivation scripts run (quick mode), agree with their oracles and export."""
import ast
import importlib.util
import json
from pathlib import Path

import pytest

from ibsym.core.export import compile_latex

DERIV = Path(__file__).resolve().parents[2] / "derivations"
SCRIPTS = [DERIV / "arora_2019_deep_matrix_factorization.py", DERIV / "saxe_2014_learning_curves.py"]
ALLOWED = {"ibsym", "__future__", "math", "sys", "pathlib", "fractions", "json"}


def _load(path):
    spec = importlib.util.spec_from_file_location(f"_dln_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_scripts_import_only_ibsym_and_the_standard_library():
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
    assert len(res["checks"]) >= 20 and all(c["ok"] for c in res["checks"]), \
        [c for c in res["checks"] if not c["ok"]]
    for f in res["files"]:
        assert (tmp_path / f).exists(), f
    assert sum(f.endswith(".png") for f in res["files"]) >= 3
    tex = [f for f in res["files"] if f.endswith(".tex")]
    assert tex and compile_latex(tmp_path / tex[0]).exists()
    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["name"] == path.stem
