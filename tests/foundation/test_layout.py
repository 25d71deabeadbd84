"""The layout holds (docs/architecture.md): the core knows no domain, no import circle, no module
too long to read, and every domain's package is where the map says.

Read from the source with ``ast`` (every import statement, at module level or inside a function, and
every ``importlib.import_module``/``resources.files`` call with a literal name), not from what
happens to be imported at run time."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CIVIC = Path(__file__).resolve().parents[2] / "civic"
DOMAINS = sorted(p.name for p in CIVIC.iterdir() if p.is_dir() and (p / "__init__.py").exists() and p.name != "core")
# Named by string, not by an import statement.
_NAMING_CALLS = {"import_module", "__import__", "files", "find_spec"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(CIVIC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every civic module ``path`` names: imports anywhere in the file, relative
    imports resolved, ``from civic import x`` as ``civic.x``, literal names given to importlib."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            out.append((node.lineno, base))
            out.extend((node.lineno, f"{base}.{a.name}") for a in node.names)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in _NAMING_CALLS and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                out.append((node.lineno, node.args[0].value))
    return [(line, m) for line, m in out if m == "civic" or m.startswith("civic.")]


def _civic_modules() -> list[Path]:
    return sorted(CIVIC.rglob("*.py"))


def test_the_domains_are_the_packages_the_map_names():
    assert DOMAINS == ["accounts", "budgets", "complaints", "console", "open311", "property", "proposals", "residents",
                       "village", "voting"]
    proposals = CIVIC / "proposals"
    assert (proposals / "contests" / "__init__.py").exists()
    assert (proposals / "deliberation" / "__init__.py").exists()
    assert (proposals / "moderation.py").exists() or (proposals / "moderation" / "__init__.py").exists()


@pytest.mark.parametrize("path", sorted((CIVIC / "core").rglob("*.py")), ids=lambda p: p.name)
def test_the_core_imports_no_domain(path):
    # The one name the core may reach above itself is the app factory (civic.create_app), which a
    # plain RQ worker needs to build an app; it is the composition root, not a domain.
    wrong = [(line, m) for line, m in _imports(path)
             if m.split(".")[1:2] and m.split(".")[1] not in ("core", "extensions", "create_app")]
    assert wrong == [], f"{path.relative_to(CIVIC.parent)} reaches into a domain: {wrong}"


def test_extensions_import_only_the_core():
    wrong = [m for _, m in _imports(CIVIC / "extensions.py") if not m.startswith("civic.core")]
    assert wrong == []


def _graph() -> dict[str, set[str]]:
    """Module → the civic modules it imports (``from a import b`` counts as importing ``a.b`` when
    that is a module, else ``a``)."""
    paths = {_module_name(p): p for p in _civic_modules()}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        targets = set()
        for _, m in _imports(path):
            while m and m not in paths:
                m = m.rpartition(".")[0]
            if m and m != name:
                targets.add(m)
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

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
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circle_through_the_core_or_the_extensions():
    # A package __init__ that re-exports its modules is imported by them only as their parent, so
    # package → own-submodule edges are left out.
    graph = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in _graph().items()}
    core = {m: {t for t in ts if t.startswith(("civic.core", "civic.extensions"))}
            for m, ts in graph.items() if m.startswith(("civic.core", "civic.extensions"))}
    assert _cycles(core) == []


def test_no_import_circle_between_packages():
    # Packages (civic.core, civic.voting, civic.proposals.contests, ...) as nodes: one domain may call
    # another's services, but never both ways round.  civic/__init__.py (the composition root) and
    # civic/models.py, cli.py and demo.py (which gather every domain) sit above all of them.
    top = {"civic", "civic.models", "civic.cli", "civic.demo"}

    def unit(m: str) -> str:
        parts = m.split(".")
        if parts[1] == "extensions":  # db, api, login_manager...: part of the shared core
            return "civic.core"
        if parts[1] == "proposals" and len(parts) > 2 and (CIVIC / "proposals" / parts[2]).is_dir():
            return ".".join(parts[:3])
        return ".".join(parts[:2])

    packages: dict[str, set[str]] = {}
    for m, targets in _graph().items():
        if m in top:
            continue
        packages.setdefault(unit(m), set()).update(unit(t) for t in targets if t not in top and unit(t) != unit(m))
    assert len(packages) >= 9 and _cycles(packages) == []
    # Nothing below reaches up to them (the package itself only for civic.create_app, see above).
    up = [(m, t) for m, ts in _graph().items() if m not in top for t in ts if t in top - {"civic"}]
    assert up == []


@pytest.mark.parametrize("path", _civic_modules(), ids=lambda p: str(p.relative_to(CIVIC)))
def test_no_module_is_longer_than_a_newcomer_reads(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 700, f"{path.relative_to(CIVIC.parent)} has {lines} lines: split it by verb group"
