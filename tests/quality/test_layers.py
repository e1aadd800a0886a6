"""The import graph of app/: no circles, and the layers below the domains know none of them.

Read from the source (every ``import`` and ``from … import``, at module level or inside a
function; only those under ``if TYPE_CHECKING:`` are left out, since they never run), so
that a circle hidden in a function-level import counts as one. An edge is what a module
names: ``from app.storage import get_store`` is an edge to ``app.storage``. The packages
Python runs on the way to a submodule are not edges of their own: a package that gathers
its submodules (``app/domains/__init__.py``, the domain list) would otherwise be a circle
with each of them by construction.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from app.config import PROJECT_ROOT

APP = PROJECT_ROOT / "app"
# Below the domains: they may import the domain list (``app.domains``, plain declarations)
# but no module of a domain.
LOWER_LAYERS = ("app.core", "app.auth", "app.tenants", "app.storage", "app.config", "app.worker")


def _modules() -> dict[str, Path]:
    found = {}
    for path in APP.rglob("*.py"):
        parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The module that ``import name`` runs last (``a.b.C`` is module ``a.b``'s attribute)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for body in node.body for n in ast.walk(body))
    return skipped


def _imports(module: str, path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    skipped = _type_checking_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            target = _owner(name)
            if target is not None and target.startswith("app"):
                yield target


def _graph() -> dict[str, set[str]]:
    graph = {module: set(_imports(module, path)) for module, path in MODULES.items()}
    for module, targets in graph.items():
        targets.discard(module)
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_import_circles() -> None:
    circles = _circles(_graph())
    assert not circles, "import circles (each a set of modules that import each other):\n" + "\n".join(
        f"- {len(c)} modules: {', '.join(c)}" for c in circles)


def test_the_layers_below_the_domains_know_none() -> None:
    graph = _graph()
    crossings = sorted(f"{module} imports {target}" for module, targets in graph.items()
                       if module.startswith(LOWER_LAYERS) for target in targets
                       if target.startswith("app.domains."))
    assert not crossings, "modules below the domains import a domain's modules:\n" + "\n".join(crossings)


def test_the_circle_finder_finds_circles() -> None:
    # The gate is only as good as its finder: a known circle and a known chain.
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
