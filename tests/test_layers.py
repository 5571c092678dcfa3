"""Imports point one way: foundation → problems → derivation → numerics → presentation → applications."""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "ibsym"

LAYER = {
    "errors": 0, "notation": 0, "parsing": 0, "results": 0, "progress": 0, "trees": 0, "diffring": 0,
    "losses": 1, "optimizers": 1, "densities": 1,
    "algebras": 2, "series": 2, "bea": 2, "equations": 2, "potentials": 2, "zeta": 2,
    "componentwise": 2,
    "transient": 2,
    "spectral": 2,
    "numerics": 3, "verify": 3, "jets": 3, "splines": 3, "relu_nets": 3, "factorization": 3,
    "export": 4, "plots": 4,
    "reproduce": 5, "cli": 5, "__main__": 5, "__init__": 5,
}
SYMBOLIC = {m for m, l in LAYER.items() if l <= 2}
# export is presentation but the result objects use its LaTeX document builder
EXCEPTIONS = {("equations", "export"), ("verify", "export"), ("reproduce", "export"),
              ("componentwise", "export")}


def _module(path: Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    return rel.parts[0]


def _imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level >= 1:
                base = (node.module or "").split(".")[0]
                if node.level == 2 or (node.level == 1 and path.parent != PKG):
                    yield "ibsym", base or (node.names[0].name if node.names else "")
                else:
                    yield "ibsym", base or node.names[0].name
            else:
                yield (node.module or "").split(".")[0], ""
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name.split(".")[0], ""


def test_symbolic_modules_do_not_import_numerics():
    for path in PKG.rglob("*.py"):
        mod = _module(path)
        if mod not in SYMBOLIC:
            continue
        for top, _ in _imports(path):
            assert top not in {"numpy", "scipy", "matplotlib"}, f"{path.name} imports {top}"


def test_imports_point_down():
    for path in PKG.rglob("*.py"):
        mod = _module(path)
        if mod not in LAYER:
            continue
        for top, sub in _imports(path):
            if top != "ibsym" or sub not in LAYER:
                continue
            if (mod, sub) in EXCEPTIONS:
                continue
            assert LAYER[sub] <= LAYER[mod], f"{path.relative_to(PKG)} imports {sub} (upward)"
