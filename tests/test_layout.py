"""The code's layout: the Lite coach's sub-packages say their job, imports run one way with no circle anywhere in
llaqo, and no module is much over 400 lines.

Read from the source (the AST), so nothing is imported: a circle that Python happens to tolerate still fails.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LITE = REPO / "llaqo" / "lite"
# The order imports run in, lowest first: a module may import from its own layer and the ones before it.
LAYERS = ("config", "hearing", "measures", "alignment", "analysis", "answers", "practice", "evidence", "coach", "cli")
MAX_LINES = 420  # about 400: a module longer than this has more than one job to split by


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in (REPO / "llaqo").rglob("*.py")}


def imports(path: Path, *, nested: bool) -> set[str]:
    """The llaqo modules a file imports: at its top level, or (nested) anywhere, in functions and
    TYPE_CHECKING blocks too."""
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree) if nested else tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("llaqo"):
            names = {f"{node.module}.{a.name}" for a in node.names}
            out |= {n if n in MODULES else node.module for n in names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("llaqo")}
    return out & MODULES.keys()


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def layer(module: str) -> int | None:
    """A llaqo.lite module's place in LAYERS (None outside llaqo.lite, or for the package itself and synth)."""
    parts = module.split(".")
    return LAYERS.index(parts[2]) if parts[:2] == ["llaqo", "lite"] and len(parts) > 2 and parts[2] in LAYERS else None


def test_every_lite_sub_package_says_its_job():
    packages = [p for p in LITE.iterdir() if p.is_dir() and p.name != "__pycache__"]
    assert {p.name for p in packages} == set(LAYERS) - {"config", "analysis", "coach", "cli"}
    for package in packages:
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
        assert doc and len(doc.splitlines()) == 2, f"{package.name}/__init__.py: a two-line docstring"


def test_lite_imports_run_one_way():
    against = [
        f"{m} imports {d}"
        for m, path in MODULES.items()
        for d in imports(path, nested=True)
        if layer(m) is not None and layer(d) is not None and layer(d) > layer(m)
    ]
    assert not against


def test_no_import_circle():
    top = {m: imports(p, nested=False) - {m} for m, p in MODULES.items()}
    assert not circles(top)
    # Function-level and TYPE_CHECKING imports too: a circle deferred into a function is still one.
    nested = {m: imports(p, nested=True) - {m} for m, p in MODULES.items()}
    assert not circles(nested)


def test_the_circle_check_can_fail():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_is_much_over_400_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these by job: {long}"
