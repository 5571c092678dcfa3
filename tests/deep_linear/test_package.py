"""The deep-linear domain's layout: one concept per module, the symbolic ones free of NumPy,
and ``ibsym.deep_linear`` as its public face."""
import ast
import importlib
import importlib.util
from pathlib import Path

import ibsym.deep_linear as dl

PKG = Path(dl.__file__).parent
SYMBOLIC = ("symbols", "flows", "solutions", "learning", "finite_step")
NUMERIC = ("blas", "layers", "problems", "training", "nuclear_norm", "predictions",
           "flow_experiments", "recovery", "checks")


def _imported(path: Path) -> set[str]:
    """Every module an import statement (at module level or late) of the file names."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
    return out


def test_the_modules_are_the_listed_concepts():
    found = {p.stem for p in PKG.glob("*.py")} - {"__init__"}
    assert found == set(SYMBOLIC) | set(NUMERIC)


def test_symbolic_modules_import_no_numerics():
    numeric = {"numpy", "scipy", "matplotlib"} | {f"ibsym.deep_linear.{m}" for m in NUMERIC}
    for name in SYMBOLIC:
        mods = _imported(PKG / f"{name}.py")
        bad = {m for m in mods if m.split(".")[0] in numeric or m in numeric
               or m.startswith("ibsym.numeric")}
        assert not bad, (name, bad)


def test_the_package_re_exports_every_public_name_of_its_modules():
    exported = set(dl.__all__)
    assert len(exported) == len(dl.__all__)
    for name in SYMBOLIC + NUMERIC:
        mod = importlib.import_module(f"ibsym.deep_linear.{name}")
        for public in mod.__all__:
            if name == "symbols" and public != "check_depth":
                continue                      # the symbols N, SIGMA, S … stay in symbols.py
            assert public in exported, f"{name}.{public}"
            assert getattr(dl, public) is getattr(mod, public)
    assert {n for n in exported if not hasattr(dl, n)} == set()


def test_the_old_module_paths_are_gone():
    for old in ("spectral", "factorization"):
        assert importlib.util.find_spec(f"ibsym.deep_linear.{old}") is None
