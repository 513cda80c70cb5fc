"""The package is laid out by stage, and its imports say so: nothing imports upward, and no module imports
one that imports it back. Checked from the source with ``ast`` (function-level imports count too)."""
from __future__ import annotations

import ast
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A layer may import itself and the layers named here, nothing else of ours. qa.config (the QA_ variables)
# is the floor every layer reads. The top layer is the package root (qa/__init__.py) with options,
# pipeline, retriever and library; serve/ and eval/ sit on it; cli on all.
BELOW_TOP = {"config", "ingest", "text", "index", "answer"}
ALLOWED = {
    "config": set(),
    "ingest": {"config"},
    "text": {"config"},
    "index": {"config", "ingest", "text"},
    "answer": {"config", "index", "text"},
    "top": BELOW_TOP,
    "serve": {"top"} | BELOW_TOP,
    "eval": {"top"} | BELOW_TOP,
    "cli": {"top", "serve", "eval"} | BELOW_TOP,
}
TOP = {"qa", "qa.options", "qa.pipeline", "qa.retriever", "qa.library"}


def modules(root: Path, package: str = "qa") -> dict[str, Path]:
    """Dotted name -> file, for every module of ``package`` under ``root`` (a package is its __init__)."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def import_graph(root: Path, package: str = "qa") -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports, wherever in the file the import is.

    ``from X import name`` counts as importing ``X.name`` when that is a module, else ``X``. The parent
    packages Python runs on the way to a module are not counted: a subpackage's __init__ holds only
    its docstring, and the package root is the public API, which imports down.
    """
    mods = modules(root, package)
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        is_pkg = path.name == "__init__.py"
        here = name.split(".") if is_pkg else name.split(".")[:-1]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[:len(here) - (node.level - 1)]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in mods else mod for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in mods:  # `import qa.index.store.x`: the longest module prefix
                    t = t.rpartition(".")[0]
                if t and t != name:
                    edges.add(t)
        graph[name] = edges
    return graph


def layer(module: str) -> str:
    if module == "qa.config":
        return "config"
    if module in TOP:
        return "top"
    if module == "qa.cli":
        return "cli"
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in ALLOWED and parts[1] not in ("top", "cli"):
        return parts[1]
    raise AssertionError(f"{module}: in no layer; place it in a subpackage or add it to the layer table")


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for mod, targets in sorted(graph.items()):
        own = layer(mod)
        for t in sorted(targets):
            if layer(t) != own and layer(t) not in ALLOWED[own]:
                bad.append(f"{mod} ({own}) imports {t} ({layer(t)})")
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def problems(graph: dict[str, set[str]]) -> list[str]:
    return upward_imports(graph) + [f"import cycle: {' <-> '.join(c)}" for c in cycles(graph)]


def test_the_layers_hold():
    graph = import_graph(ROOT)
    assert {layer(m) for m in graph} == set(ALLOWED)
    assert problems(graph) == []


def test_each_subpackage_says_what_lives_there_and_what_it_may_import():
    for pkg in ("ingest", "text", "index", "answer", "serve", "eval"):
        doc = ast.get_docstring(ast.parse((ROOT / "qa" / pkg / "__init__.py").read_text(encoding="utf-8")))
        assert doc and "import" in doc, pkg


def test_an_index_module_importing_serve_fails(tmp_path):
    """The check reads the files: a copy of the package where index/store.py imports serve/ fails it."""
    shutil.copytree(ROOT / "qa", tmp_path / "qa", ignore=shutil.ignore_patterns("data", "__pycache__"))
    store = tmp_path / "qa" / "index" / "store.py"
    store.write_text(store.read_text(encoding="utf-8") + "\n\ndef _page():\n    from ..serve import app\n",
                     encoding="utf-8")
    found = problems(import_graph(tmp_path))
    assert "qa.index.store (index) imports qa.serve.app (serve)" in found


def test_a_module_importing_one_that_imports_it_back_fails():
    graph = import_graph(ROOT)
    assert "qa.index.ann" in graph["qa.index.store"]
    graph["qa.index.ann"].add("qa.index.store")  # same layer, so only the cycle check can catch it
    assert upward_imports(graph) == []
    assert cycles(graph) == [["qa.index.ann", "qa.index.store"]]
    graph["qa.index.ann"].discard("qa.index.store")
    graph["qa.ingest.formats"].add("qa.cli")  # the old circle's shape, from the bottom: upward and a cycle
    assert "qa.ingest.formats (ingest) imports qa.cli (cli)" in problems(graph)
    assert any("qa.cli" in c and "qa.ingest.formats" in c for c in cycles(graph))


# -- private names stay private --------------------------------------------------------------------------
def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_names(root: Path) -> set[str]:
    """Every private name qa defines: module-level names, functions, classes, methods and ``self._x``."""
    names: set[str] = set()
    for path in modules(root).values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and _private(node.name):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and _private(node.id):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _private(node.attr):
                names.add(node.attr)
    return names


def private_uses(path: Path, private: set[str], package: str | None) -> list[str]:
    """Where ``path`` reaches a private name of qa from outside: ``from qa… import _x`` (for a module of qa,
    from another subpackage), or ``obj._x`` for a private name qa defines (``self._x`` and ``cls._x`` are the
    class's own)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("qa") and not node.level:
            for a in node.names:
                if _private(a.name) and (package is None or not (node.module or "").startswith(package)):
                    out.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {node.module}.{a.name}")
        elif isinstance(node, ast.ImportFrom) and node.level >= 2:  # from ..other import _x
            for a in node.names:
                if _private(a.name):
                    out.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {'.' * node.level}{node.module}.{a.name}")
        elif isinstance(node, ast.Attribute) and _private(node.attr) and node.attr in private \
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            if package is None or (isinstance(node.value, ast.Name) and node.value.id in _foreign_modules(path)):
                out.append(f"{path.relative_to(ROOT)}:{node.lineno} uses .{node.attr}")
    return out


def _foreign_modules(path: Path) -> set[str]:
    """Names under which a module of qa imports modules of another subpackage (``from ..index import lexical``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level >= 2:
            names |= {a.asname or a.name for a in node.names}
    return names


def test_no_code_outside_a_module_reaches_its_private_names():
    private = private_names(ROOT)
    bad = []
    for folder in ("training", "benchmarks", "tests"):
        for path in sorted((ROOT / folder).glob("*.py")):
            bad += private_uses(path, private, None)
    for name, path in modules(ROOT).items():
        parts = name.split(".")
        bad += private_uses(path, private, ".".join(parts[:2]) if len(parts) > 2 else name)
    assert bad == []
