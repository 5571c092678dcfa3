"""The edge-of-stability derivation script: quick mode meets the acceptance figures; a run too
short to reach the edge fails loudly (OracleMismatch naming the failed checks)."""
import importlib.util
import json
from pathlib import Path

import pytest

from ibsym.core.errors import OracleMismatch
from ibsym.core.export import compile_latex, pdflatex_available

SCRIPT = Path(__file__).resolve().parents[2] / "derivations" / "cohen_2021_edge_of_stability.py"


def _load():
    spec = importlib.util.spec_from_file_location("_dyn_cohen", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_too_short_a_run_fails_loudly(tmp_path, monkeypatch):
    mod = _load()
    assert mod.IBSYM_DERIVATION is True
    monkeypatch.setattr(mod, "QUICK", {"n": 60, "steps": 30, "every": 10})
    monkeypatch.setattr(mod, "GAP_QUICK", {"eta": 0.5, "n": 60, "width": 4, "steps": 50})
    with pytest.raises(OracleMismatch, match="progressive sharpening") as exc:
        mod.main(tmp_path, quick=True)
    assert "reaches the edge of stability" in str(exc.value)


@pytest.mark.slow
def test_quick_mode_meets_acceptance(tmp_path):
    res = _load().main(tmp_path, quick=True)         # ~40 s on one core
    assert res["name"] == SCRIPT.stem and len(res["checks"]) == 18
    assert all(c["ok"] for c in res["checks"]), [c for c in res["checks"] if not c["ok"]]
    data = json.loads((tmp_path / "edge_of_stability.json").read_text())
    assert data["passed"] is True and len(data["runs"]) == 5
    for f in res["files"]:
        assert (tmp_path / f).exists(), f
    if pdflatex_available():
        assert compile_latex(tmp_path / "edge_of_stability.tex").exists()
