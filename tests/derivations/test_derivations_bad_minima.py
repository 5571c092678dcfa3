"""The bad-minima derivation script: a run too small to memorize anything fails loudly
(OracleMismatch naming the missed acceptance figures); quick mode meets them (slow)."""
import importlib.util
import json
from pathlib import Path

import pytest

from ibsym.core.errors import OracleMismatch

SCRIPT = Path(__file__).resolve().parents[2] / "derivations" / "liu_2020_bad_global_minima.py"


def _load():
    spec = importlib.util.spec_from_file_location("_dyn_liu", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_too_small_a_run_fails_loudly(tmp_path, monkeypatch):
    mod = _load()
    assert mod.IBSYM_DERIVATION is True
    monkeypatch.setattr(mod, "QUICK", {"size": "quick", "n_train": 40, "width": 8, "epochs": 2,
                                       "adversarial_epochs": 1, "adversarial_batch": 20})
    with pytest.raises(OracleMismatch, match="loses >= 10 points") as exc:
        mod.main(tmp_path, quick=True)
    assert "train accuracy" in str(exc.value)
    summary = json.loads((tmp_path / "summary.json").read_text())   # written before raising
    assert summary["name"] == SCRIPT.stem and not all(c["ok"] for c in summary["checks"])


@pytest.mark.slow
def test_quick_mode_meets_acceptance(tmp_path):
    res = _load().main(tmp_path, quick=True)         # ~20 s CPU on one core
    assert res["name"] == SCRIPT.stem and len(res["checks"]) == 11
    assert all(c["ok"] for c in res["checks"]), [c for c in res["checks"] if not c["ok"]]
    data = json.loads((tmp_path / "bad_minima.json").read_text())
    assert data["passed"] is True and len(data["runs"]) == 8
    for f in res["files"]:
        assert (tmp_path / f).exists(), f
