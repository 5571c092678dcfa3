"""The classification-limit derivation scripts (issue 12) run in quick mode, agree with their
oracles, write their files, and fail loudly against a wrong oracle."""
import importlib.util
import json
from pathlib import Path

import pytest

from ibsym.core.errors import OracleMismatch

DERIV = Path(__file__).resolve().parents[2] / "derivations"
SCRIPTS = sorted(p for p in (DERIV / n for n in ("soudry_2018_max_margin.py",
                                                 "gunasekar_2018_steepest_classification.py",
                                                 "xu_2021_importance_weights.py",
                                                 "lyu_li_2020_kkt.py")) if p.exists())


def _load(path):
    spec = importlib.util.spec_from_file_location(f"_cls_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if p.stem == "lyu_li_2020_kkt"
                                  else p for p in SCRIPTS], ids=lambda p: p.stem)   # lyu: ~25 s
def test_derivation_quick(path, tmp_path):
    mod = _load(path)
    assert mod.IBSYM_DERIVATION is True
    res = mod.main(tmp_path, quick=True)
    assert res["name"] == path.stem and res["summary"] and res["reference"]
    assert len(res["checks"]) >= 6 and all(c["ok"] for c in res["checks"]), \
        [c for c in res["checks"] if not c["ok"]]
    for f in res["files"]:
        assert (tmp_path / f).exists(), f
    assert any(f.endswith(".png") for f in res["files"])
    assert json.loads((tmp_path / "summary.json").read_text())["name"] == path.stem


def test_wrong_oracle_is_caught(tmp_path, monkeypatch):
    mod = _load(DERIV / "soudry_2018_max_margin.py")
    monkeypatch.setattr(mod, "ALPHA", (1.0, 0.5, 0.0, 0.0))
    with pytest.raises(OracleMismatch, match="dual variables"):
        mod.main(tmp_path, quick=True)
