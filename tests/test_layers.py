"""The import contract that README's "Layout" states, checked on the source itself, and
the size of its rooms.

An AST walk rather than import-linter: no new dependency, import-linter has no rule for
SQL text (so this file would be needed anyway), and here every import counts as an edge,
inside functions and under ``TYPE_CHECKING`` too, where cycles used to hide.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage")
SQL_STARTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "PRAGMA", "BEGIN")

# Modules allowed to import `telegram`: the composition root, the handlers, the stand-in.
TELEGRAM_ALLOWED = ("bot.app", "handlers", "bot.sim")

# SQL text outside storage/, each with the reason it stays where it is.
SQL_ALLOWED: dict[str, str] = {}

# The most lines one module of the three packages may have: a module a person can read
# in one sitting and hold in their head (issue 12). A bigger one is split along its seams.
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    """Every module of the three packages by dotted name (packages by their __init__)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()
TREES = {name: ast.parse(path.read_text(), str(path)) for name, path in MODULES.items()}


def _imports(name: str) -> list[tuple[str, int]]:
    """Absolute names this module imports, anywhere in it (functions included), with line."""
    is_package = MODULES[name].name == "__init__.py"
    found: list[tuple[str, int]] = []
    for node in ast.walk(TREES[name]):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            found.append((stem, node.lineno))
            found.extend((f"{stem}.{alias.name}", node.lineno) for alias in node.names)
    return found


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _offending(importers: list[str], forbidden: str) -> list[str]:
    """One line per import statement in ``importers`` that reaches ``forbidden``."""
    seen: dict[str, str] = {}
    for name in importers:
        for target, line in _imports(name):
            if _under(target, forbidden):
                seen.setdefault(f"{MODULES[name].relative_to(ROOT)}:{line}", target)
    return [f"{where} imports {target}" for where, target in seen.items()]


def test_handlers_never_import_storage() -> None:
    """Handlers talk to the application services in bot/, never to the tables."""
    bad = _offending([n for n in MODULES if _under(n, "handlers")], "storage")
    assert not bad, "handlers/ imports storage/:\n" + "\n".join(bad)


def test_only_the_edge_imports_telegram() -> None:
    """The domain stays free of the Telegram library so it can be driven without it."""
    outside = [n for n in MODULES if not any(_under(n, a) for a in TELEGRAM_ALLOWED)]
    bad = _offending(outside, "telegram")
    assert not bad, "telegram imported outside the edge:\n" + "\n".join(bad)


def _sql_constants(name: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(TREES[name]):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            words = node.value.lstrip().split(None, 1)
            if words and words[0].upper() in SQL_STARTS and words[0].isupper():
                found.append((node.lineno, node.value.strip().splitlines()[0][:60]))
    return found


def test_sql_text_lives_in_storage() -> None:
    """Every SQL statement is in storage/, so a backend change touches one package."""
    bad = [
        f"{MODULES[name].relative_to(ROOT)}:{line}: {text}"
        for name in MODULES
        if not _under(name, "storage") and name not in SQL_ALLOWED
        for line, text in _sql_constants(name)
    ]
    assert not bad, "SQL text outside storage/:\n" + "\n".join(bad)


def test_sql_allow_list_is_not_stale() -> None:
    """An allowance for a module that no longer holds SQL must be removed, not kept."""
    stale = [name for name in SQL_ALLOWED if not _sql_constants(name)]
    assert not stale, f"SQL_ALLOWED lists modules without SQL: {stale}"


def _graph() -> dict[str, set[str]]:
    """Module-to-module edges among the three packages; an import of a name resolves to
    the module that defines it, and a package's import of its own children is ignored."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name in MODULES:
        for target, _line in _imports(name):
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name and not _under(target, name):
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    """Imports inside functions count: hiding a cycle in a function still couples both."""
    cycles = _cycles(_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_cycle_finder_sees_a_cycle() -> None:
    """The check itself can fail: a two-module loop is reported."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def _too_long(modules: dict[str, Path], limit: int) -> list[str]:
    """``path: N lines`` for each module over ``limit``, longest first."""
    sizes = [(len(path.read_text().splitlines()), path) for path in modules.values()]
    return [f"{path.relative_to(ROOT)}: {lines} lines"
            for lines, path in sorted(sizes, key=lambda size: -size[0]) if lines > limit]


def test_modules_stay_small() -> None:
    """Every module of bot/, handlers/ and storage/ fits in one reading."""
    long = _too_long(MODULES, MAX_LINES)
    assert not long, (f"modules over {MAX_LINES} lines (split each along its seams into "
                      "well-named modules):\n" + "\n".join(long))
