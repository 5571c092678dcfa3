"""The folder tree is the architecture: imports point one way and no module graph has a circle.

Layers, bottom to top (a module may import its own layer and the layers below it):

    core          errors, parsing, losses, result records, notation, progress, export
    bea           the one backward-error-analysis procedure, its algebras and analyses (symbolic)
    numeric       compiled kernels, optimizer runs, jets, the verifier
    wide_relu, deep_linear      application domains (neither imports the other)
    plots         figures
    reproduce, cli, ibsym/__init__, ibsym/__main__      presentation on top

Every import is counted, at module level or inside a function ("late" imports), except that a
late import may reach *within its own sub-package* (a result record calling the analysis built on
it).  Module-level imports must form no circle among ibsym modules.
"""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "ibsym"

LAYER = {"core": 0, "bea": 1, "numeric": 2, "wide_relu": 3, "deep_linear": 3, "limits": 3, "dynamics": 3, "plots": 4,
         "reproduce": 5, "report": 5, "cli": 5, "__init__": 5, "__main__": 5}
DOMAINS = {"wide_relu", "deep_linear", "limits", "dynamics"}
SYMBOLIC = {"core", "bea"}
NUMERIC_LIBS = {"numpy", "scipy", "matplotlib"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def resolve(node: ast.ImportFrom, path: Path, mods: dict) -> list[str]:
    """The ibsym modules an ``from … import …`` statement reaches."""
    if node.level:
        pkg = module_name(path).split(".")
        if path.name != "__init__.py":
            pkg = pkg[:-1]
        base = pkg[:len(pkg) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    out = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        out.append(sub if sub in mods else target)
    return out


def imports(path: Path, mods: dict, *, module_level_only: bool = False):
    """Yield ``(imported, is_late)`` for every import in the file."""
    tree = ast.parse(path.read_text())

    def visit(node, late):
        for child in ast.iter_child_nodes(node):
            is_late = late or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.ImportFrom):
                for t in resolve(child, path, mods):
                    yield t, late
            elif isinstance(child, ast.Import):
                for a in child.names:
                    yield a.name, late
            yield from visit(child, is_late)

    for name, late in visit(tree, False):
        if module_level_only and late:
            continue
        yield name, late


def group(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_graph(mods: dict) -> dict[str, set[str]]:
    graph = {}
    for m, p in mods.items():
        deps = set()
        for t, _ in imports(p, mods, module_level_only=True):
            while t and t not in mods:
                t = t.rpartition(".")[0]
            if t and t != m and t != "ibsym" and t.startswith("ibsym."):
                deps.add(t)
        graph[m] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    colour, stack = {}, []

    def dfs(v):
        colour[v] = 1
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if colour.get(w) == 1:
                return stack[stack.index(w):] + [w]
            if w not in colour:
                c = dfs(w)
                if c:
                    return c
        colour[v] = 2
        stack.pop()
        return None

    for v in sorted(graph):
        if v not in colour:
            c = dfs(v)
            if c:
                return c
    return None


def test_every_module_belongs_to_a_layer():
    for m in modules():
        if m == "ibsym":
            continue
        assert group(m) in LAYER, f"{m}: a new sub-package needs a layer in tests/test_layers.py"


def test_symbolic_layers_do_not_import_numerics():
    mods = modules()
    for m, p in mods.items():
        if group(m) not in SYMBOLIC:
            continue
        for t, _ in imports(p, mods):
            assert t.split(".")[0] not in NUMERIC_LIBS, f"{m} imports {t}"


def test_imports_point_down():
    mods = modules()
    for m, p in mods.items():
        if m == "ibsym":
            continue
        g = group(m)
        for t, late in imports(p, mods):
            if not t.startswith("ibsym.") or t == "ibsym":
                continue
            tg = group(t)
            if tg == g:
                continue
            assert LAYER[tg] <= LAYER[g], f"{m} imports {t} (upward: {tg} is above {g})"
            assert not (g in DOMAINS and tg in DOMAINS), f"{m} imports {t}: domains are independent"


def test_no_import_circle():
    cycle = find_cycle(module_graph(modules()))
    assert cycle is None, "module-level import circle: " + " -> ".join(cycle)


def test_cycle_detector_finds_a_reintroduced_circle():
    graph = module_graph(modules())
    graph["ibsym.core.errors"] = graph["ibsym.core.errors"] | {"ibsym.bea.equations"}
    cycle = find_cycle(graph)
    assert cycle is not None and "ibsym.core.errors" in cycle


def test_modules_stay_small():
    for m, p in modules().items():
        n = len(p.read_text().splitlines())
        assert n <= 800, f"{m} has {n} lines: one concept per file"
