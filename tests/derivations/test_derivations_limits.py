"""The ibsym.limits derivation scripts run (quick mode), agree with their oracles and catch wrong ones."""
import importlib.util
import json
from pathlib import Path

import pytest

from ibsym.core.errors import OracleMismatch
from ibsym.core.export import compile_latex, pdflatex_available

DERIV = Path(__file__).resolve().parents[2] / "derivations"
SCRIPTS = [DERIV / "min_norm_least_squares.py", DERIV / "gunasekar_2018_geometry.py",
           DERIV / "woodworth_2020_kernel_rich.py"]


def _load(path):
    spec = importlib.util.spec_from_file_location(f"_lim_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_derivation_quick(path, tmp_path):
    mod = _load(path)
    assert mod.IBSYM_DERIVATION is True
    res = mod.main(tmp_path, quick=True)
    assert res["name"] == path.stem and res["summary"] and res["reference"]
    assert len(res["checks"]) >= 9 and all(c["ok"] for c in res["checks"]), \
        [c for c in res["checks"] if not c["ok"]]
    for f in res["files"]:
        assert (tmp_path / f).exists(), f
    assert any(f.endswith(".png") for f in res["files"])
    assert json.loads((tmp_path / "summary.json").read_text())["name"] == path.stem
    tex = [f for f in res["files"] if f.endswith(".tex")]
    assert tex
    if pdflatex_available():
        assert compile_latex(tmp_path / tex[0]).exists()


def test_wrong_oracle_is_caught(tmp_path, monkeypatch):
    mod = _load(SCRIPTS[0])
    monkeypatch.setattr(mod, "ISSUE_LIMIT", ("2/3", "14/3", "-4"))
    with pytest.raises(OracleMismatch, match="exactly"):
        mod.main(tmp_path, quick=True)
