import json
from pathlib import Path

from ibsym.cli import main
from ibsym.reproduce import find_derivations, reproduce

ROOT = Path(__file__).resolve().parents[2]


def test_barrett_dherin_derivation_agrees_with_its_oracles(tmp_path):
    res = reproduce(["barrett_dherin_2021_igr"], tmp_path, quick=True, progress=False)
    assert res["ok"], res
    r = res["results"][0]
    assert r["status"] == "ok" and all(c["ok"] for c in r["checks"])
    slopes = [c["value"] for c in r["checks"] if c["name"].startswith("bilinear from")]
    assert [round(s) for s in slopes] == [1, 2, 3, 4]
    out = tmp_path / "barrett_dherin_2021_igr"
    for f in ["orders.png", "trajectories.png", "gd_bilinear.tex", "gd_bilinear.json",
              "gd_generic.tex", "modified_loss.json"]:
        assert (out / f).stat().st_size > 200, f
    assert json.loads((out / "modified_loss.json").read_text())["valid_order"] == 1
    md = (tmp_path / "report.md").read_text()
    assert "Implicit gradient regularization" in md and "| yes |" in md
    assert (tmp_path / "report.pdf").stat().st_size > 5000


def test_a_disagreeing_derivation_fails_the_run(tmp_path, capsys):
    d = tmp_path / "derivs"
    d.mkdir()
    (d / "wrong.py").write_text(
        "from ibsym.core.errors import OracleMismatch\n"
        "IBSYM_DERIVATION = True\n"
        "def main(out, *, quick=False):\n"
        "    raise OracleMismatch('slope 1.2, expected 2')\n")
    (d / "fine.py").write_text(
        "IBSYM_DERIVATION = True\n"
        "def main(out, *, quick=False):\n"
        "    return {'title': 'fine', 'checks': [{'name': 'x', 'value': 1, 'oracle': 1, 'ok': True}]}\n")
    code = main(["reproduce", "--derivations", str(d), "--out", str(tmp_path / "o")])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and not out["ok"]
    st = {r["name"]: r["status"] for r in out["results"]}
    assert st == {"fine": "ok", "wrong": "mismatch"}
    assert "slope 1.2, expected 2" in (tmp_path / "o" / "report.md").read_text()
    assert main(["reproduce", "nonexistent", "--derivations", str(d)]) == 2


def test_every_derivation_script_follows_the_contract():
    import ast
    # ibsym's public API plus the standard library and NumPy (problem data, residual checks);
    # never SymPy/SciPy internals: a derivation reaches the engine through ibsym only
    allowed = {"ibsym", "pathlib", "sys", "fractions", "json", "math", "time", "__future__", "numpy"}
    scripts = sorted(p.stem for p in (ROOT / "derivations").glob("*.py"))
    assert sorted(find_derivations(ROOT / "derivations")) == scripts, "every script is marked"
    for name, path in find_derivations(ROOT / "derivations").items():
        tree = ast.parse(path.read_text())
        assert ast.get_docstring(tree), f"{name} needs a docstring naming its paper"
        funcs = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert "main" in funcs, name
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mods = [(node.module or "").split(".")[0]]
            else:
                continue
            assert set(mods) <= allowed, f"{name} imports {mods}: derivations use the public API only"
