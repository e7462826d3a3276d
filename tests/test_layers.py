"""The import contract that README's "Layout" states, checked on the source itself, and
the size of its rooms.

An AST walk rather than import-linter: no new dependency, import-linter has no rule for
SQL text (so this file would be needed anyway), and here every import counts as an edge,
inside functions and under ``TYPE_CHECKING`` too, where cycles used to hide.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage")
SQL_STARTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "PRAGMA", "BEGIN",
              "WITH")
#: a statement in lower case, by its shape rather than its first word, so English ("select
#: one from the menu", "update the quiz standing", "create or update a project") is not
#: taken for SQL: each needs what only a statement has after its first words
_NAME = r"[a-z_][\w.]*"
_ITEM = r"(?:[\w.]+\s*\([^()]*\)|[\w.*]+)(?:\s+as\s+\w+)?"
_AFTER_TABLE = (r"\s*(?:$|;|\)|\s+(?:(?:as\s+)?\w+\s+)?(?:where|join|left|inner|cross|"
                r"natural|group|order|limit|union|on|returning)\b)")
LOWER_SQL = re.compile(
    rf"""^\s*\(?\s*(?:
      select\s+(?:distinct\s+)?{_ITEM}(?:\s*,\s*{_ITEM})*\s+from\s+{_NAME}{_AFTER_TABLE}
    | insert\s+(?:or\s+\w+\s+)?into\s+{_NAME}\s*(?:\(|values\b|select\b|default\s+values)
    | update\s+{_NAME}\s+set\s+[\w.]+\s*=
    | delete\s+from\s+{_NAME}\s*(?:$|;|where\b|returning\b)
    | create\s+(?:unique\s+|temp(?:orary)?\s+)?(?:
          table\s+(?:if\s+not\s+exists\s+)?{_NAME}\s*\(
        | index\s+(?:if\s+not\s+exists\s+)?{_NAME}\s+on\s+{_NAME}\s*\(
        | view\s+(?:if\s+not\s+exists\s+)?{_NAME}\s+as\s+select\b
        | trigger\s+(?:if\s+not\s+exists\s+)?{_NAME}\s+(?:before|after|instead\s+of)\b)
    | alter\s+table\s+{_NAME}\s+(?:add|drop|rename|alter)\b
    | pragma\s+{_NAME}\s*(?:=|\(|;|$)
    | begin\s+(?:(?:immediate|exclusive|deferred)(?:\s+transaction)?|transaction)\s*;?$
    | with\s+(?:recursive\s+)?\w+(?:\s*\([^()]*\))?\s+as\s*\(\s*select\b
    )""", re.VERBOSE | re.DOTALL)

# Modules allowed to import `telegram`: the composition root, the handlers, the stand-in.
TELEGRAM_ALLOWED = ("bot.app", "handlers", "bot.sim")

# SQL text outside storage/, each with the reason it stays where it is.
SQL_ALLOWED: dict[str, str] = {}

# `from storage… import X as X` in bot/ (a storage type handed on as the service's own),
# each with the reason it stays.
REEXPORT_ALLOWED: dict[str, str] = {}

# The most lines one module of the three packages may have: a module a person can read
# in one sitting and hold in their head (issue 12). A bigger one is split along its seams.
MAX_LINES = 500

# Tests read and arrange state through tests/state.py; SQL text elsewhere in tests/ only
# where the SQL itself is the subject. Keys: a file, or "file::top-level function".
TESTS_STATE = "tests/state.py"
TESTS_SQL_ALLOWED: dict[str, str] = {
    "tests/test_database.py": "storage/db.py itself: checkpoints, transactions, the file",
    "tests/test_layers.py": "the detector: its list of statement words",
    "tests/test_ledger.py::test_the_database_refuses_to_change_an_entry":
        "issues the statements the ledger's triggers must refuse",
    "tests/test_ledger.py::test_a_key_never_makes_two_entries":
        "inserts a second entry under a used key, which the schema must refuse",
    "tests/test_e2e_busy.py::test_a_tap_while_another_program_holds_the_lock_is_busy_then"
    "_counts_once": "takes the write lock with BEGIN IMMEDIATE, as another program does",
    "tests/test_e2e_busy.py::test_a_transaction_waits_for_the_lock_within_its_bound":
        "Database.transaction against a held lock: any statement, the lock is the subject",
    "tests/test_e2e_busy.py::test_a_cli_command_on_a_locked_database_says_so_in_one_line":
        "takes the write lock with BEGIN IMMEDIATE, as another program does",
    "tests/test_loader.py::test_checking_ids_never_locks_the_database":
        "a side connection's busy timeout against a writer holding the lock",
    "tests/test_loader.py::test_a_full_disk_in_any_transaction_is_named_not_hidden":
        "caps the bot's own connection (page count) to fill the disk mid-transaction",
    "tests/test_loader.py::test_an_import_never_scans_a_growing_table":
        "query plans: picks storage's statements by their first word",
    "tests/test_postgres.py": "PostgreSQL's own: the statements its ledger triggers refuse, "
                              "its writer lock held by hand, values and rows read back",
    "tests/pg.py": "the test server's databases: created from a template, dropped",
    "tests/test_query_plans_pg.py": "query plans: picks storage's statements by their "
                                    "first word, EXPLAINs them",
    "tests/test_item_languages.py::test_recomputing_the_languages_seeks_the_indexes_never"
    "_scans_items": "query plans: picks storage's statement (a WITH RECURSIVE) by its words, "
                    "EXPLAINs it",
    "tests/test_money_bounds.py::old_database":
        "builds a version-8 file by hand: the schema of then, not of now",
}


def _test_sql() -> dict[str, list[tuple[int, str]]]:
    """SQL text in tests/ by "file::top-level name" (outside the helper module)."""
    found: dict[str, list[tuple[int, str]]] = {}
    for path in sorted((ROOT / "tests").rglob("*.py")):
        where = str(path.relative_to(ROOT))
        if where == TESTS_STATE:
            continue
        for top in ast.parse(path.read_text(), where).body:
            hits = _sql_in(top)
            if hits:
                found.setdefault(f"{where}::{getattr(top, 'name', '')}", []).extend(hits)
    return found


def _test_sql_allowed(key: str) -> bool:
    return key in TESTS_SQL_ALLOWED or key.split("::")[0] in TESTS_SQL_ALLOWED


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


# What each room of bot/ may import from tapwork (its package docstring says why):
# a prefix listed here is allowed, any other tapwork module is not.
TAPWORK = ("bot", "handlers", "storage")
ROOMS: dict[str, tuple[str, ...]] = {
    "bot.domain": ("bot.domain", "bot.clock", "bot.i18n", "bot.aggregation"),
    "bot.render": ("bot.render", "bot.i18n"),
    "bot.intake": ("bot.intake", "bot.domain", "bot.clock", "bot.i18n", "storage"),
    "bot.services": ("bot.services", "bot.domain", "bot.intake", "bot.render",
                     "bot.aggregation", "bot.clock", "bot.config", "bot.files", "bot.i18n",
                     "storage"),
    "storage": ("storage", "bot.domain.records", "bot.domain.notice_kinds",
                "bot.domain.errors"),
}


@pytest.mark.parametrize("room", sorted(ROOMS))
def test_each_room_imports_only_what_its_docstring_allows(room: str) -> None:
    allowed = ROOMS[room]
    bad = sorted({
        f"{MODULES[name].relative_to(ROOT)}:{line} imports {target}"
        for name in MODULES if _under(name, room)
        for target, line in _imports(name)
        if any(_under(target, t) for t in TAPWORK) and target not in ("bot", "storage")
        and not any(_under(target, a) for a in allowed)
    })
    assert not bad, f"{room} reaches outside its room:\n" + "\n".join(bad)


def test_every_package_says_what_it_holds() -> None:
    """A package's docstring is the sign on its door: what lives there, what it may use."""
    bare = [name for name, path in MODULES.items() if path.name == "__init__.py"
            and len((ast.get_docstring(TREES[name]) or "").split()) < 12]
    assert not bare, f"packages without a docstring that says what they hold: {bare}"


def test_only_storage_imports_aiosqlite() -> None:
    """The services and handlers take ``storage.connection.Connection``, the seam a second
    backend (PostgreSQL) plugs into; naming aiosqlite outside storage/ would tie them to
    SQLite again."""
    outside = [n for n in MODULES if not _under(n, "storage")]
    bad = _offending(outside, "aiosqlite")
    assert not bad, "aiosqlite imported outside storage/:\n" + "\n".join(bad)


def _storage_reexports(name: str) -> list[str]:
    """``from storage… import X as X`` lines of a module: the marker of a re-export."""
    return [
        f"{MODULES[name].relative_to(ROOT)}:{node.lineno}: {node.module}.{alias.name}"
        for node in ast.walk(TREES[name])
        if isinstance(node, ast.ImportFrom) and _under(node.module or "", "storage")
        for alias in node.names if alias.asname == alias.name
    ]


def test_services_reexport_no_storage_type() -> None:
    """The services hand out the domain types of bot/domain/records.py, never a backend's row
    type under their own name: a second backend must not change what a handler sees."""
    bad = [line for name in MODULES if _under(name, "bot") and name not in REEXPORT_ALLOWED
           for line in _storage_reexports(name)]
    assert not bad, "bot/ re-exports storage types:\n" + "\n".join(bad)


def test_reexport_allow_list_is_not_stale() -> None:
    stale = [name for name in REEXPORT_ALLOWED if not _storage_reexports(name)]
    assert not stale, f"REEXPORT_ALLOWED lists modules without re-exports: {stale}"


def _origin(module: str, name: str, seen: frozenset[str] = frozenset()) -> str | None:
    """The module that defines ``name`` as seen from ``module``, following ``from … import``
    through the three packages (None for a name from elsewhere, or a builtin)."""
    if module not in MODULES or module in seen:
        return None
    tree = TREES[module]
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef) and node.name == name:
            return module
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return module
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    inner = _origin(f"{node.module}.{alias.name}", "", seen)
                    if f"{node.module}.{alias.name}" in MODULES:  # a module, not a name
                        return inner or f"{node.module}.{alias.name}"
                    return _origin(node.module, alias.name, seen | {module})
    return None


def _annotation_names(tree: ast.Module) -> list[tuple[int, str]]:
    """Every bare name used in an annotation (arguments, returns, annotated names)."""
    annotations: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs,
                        *filter(None, (args.vararg, args.kwarg))):
                if arg.annotation is not None:
                    annotations.append(arg.annotation)
            if node.returns is not None:
                annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
    found = []
    for annotation in annotations:
        for part in ast.walk(annotation):
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                found.extend((part.lineno, n.id) for n in ast.walk(ast.parse(part.value))
                             if isinstance(n, ast.Name))
            elif isinstance(part, ast.Name):
                found.append((part.lineno, part.id))
    return found


def test_handlers_never_name_a_storage_type() -> None:
    """What a handler holds comes from bot/ (records, services), even when it arrives
    through a service module: a name is followed to the module that defines it. A type
    whose re-export ``REEXPORT_ALLOWED`` tolerates is tolerated here too."""
    allowed = {line.rpartition(" ")[2] for name in REEXPORT_ALLOWED
               for line in _storage_reexports(name)}
    bad = sorted({
        f"{MODULES[name].relative_to(ROOT)}:{line}: {word} (from {origin})"
        for name in MODULES if _under(name, "handlers")
        for line, word in _annotation_names(TREES[name])
        if (origin := _origin(name, word)) and _under(origin, "storage")
        and f"{origin}.{word}" not in allowed
    })
    assert not bad, "handlers/ annotations name storage types:\n" + "\n".join(bad)


def test_origin_follows_a_reexport() -> None:
    """The check itself sees through a service module: a handler's ``Worker`` is bot's."""
    assert _origin("handlers.work", "Worker") == "bot.domain.records"
    assert _origin("bot.services.notices", "Notice") == "bot.domain.notice_kinds"


def is_sql(text: str) -> bool:
    """Whether a string starts like an SQL statement: an upper-case statement word, or a
    lower-case statement of SQL's own shape (``LOWER_SQL``)."""
    words = text.lstrip().split(None, 1)
    if not words:
        return False
    if words[0].isupper():
        return words[0] in SQL_STARTS
    return words[0].islower() and LOWER_SQL.match(" ".join(text.split())) is not None


def _sql_in(tree: ast.AST) -> list[tuple[int, str]]:
    """String constants that start like an SQL statement, with their line."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and is_sql(node.value):
            found.append((node.lineno, node.value.strip().splitlines()[0][:60]))
    return found


def _sql_constants(name: str) -> list[tuple[int, str]]:
    return _sql_in(TREES[name])


def test_sql_text_lives_in_storage() -> None:
    """Every SQL statement is in storage/, so a backend change touches one package."""
    bad = [
        f"{MODULES[name].relative_to(ROOT)}:{line}: {text}"
        for name in MODULES
        if not _under(name, "storage") and name not in SQL_ALLOWED
        for line, text in _sql_constants(name)
    ]
    assert not bad, "SQL text outside storage/:\n" + "\n".join(bad)


#: statements as code writes them, in lower case, and English that must not be taken for one
LOWER_STATEMENTS = [
    "select id, spec from projects where name = ?", "select count(*) from items",
    "select * from ledger", "select a.id as id from assignments a join items i on i.id = 1",
    "insert into items (id) values (?)", "insert or ignore into outbox values (?)",
    "update workers set active = 0 where id = ?", "delete from leases where id = ?",
    "delete from leases", "create table t (id integer)",
    "create unique index i on t (id)", "alter table items add column lang text",
    "pragma journal_mode = wal", "begin immediate", "begin transaction",
    "\n    select id\n    from items\n",
    "with due as (select id from units) select * from due",
]
ENGLISH = [
    "select one from the menu", "select a language from the list below",
    "create or update a project from its TOML file", "update %s not claimed, retry",
    "update the quiz standing only", "delete", "Delete this box", "insert into the box",
    "delete from the list what you do not need", "create table of contents", "begin",
    "begin reading the file", "with a simulated crowd", "with one big button per line.",
    "pragma is a word", "alter table manners", "select", "update", "create",
    "Select the items from the pool where they wait",
]


@pytest.mark.parametrize("text", LOWER_STATEMENTS)
def test_lower_case_sql_is_sql(text: str) -> None:
    assert is_sql(text)
    assert is_sql(text.upper())  # and in upper case, as before


@pytest.mark.parametrize("text", ENGLISH)
def test_english_is_not_sql(text: str) -> None:
    assert not is_sql(text)


def test_lower_case_sql_outside_storage_is_found() -> None:
    """A lower-case query in a service is as much SQL out of place as an upper-case one."""
    planted = ast.parse('async def f(conn):\n'
                        '    await conn.execute("select id from items where project_id = ?")\n')
    assert _sql_in(planted) == [(2, "select id from items where project_id = ?")]


def test_sql_allow_list_is_not_stale() -> None:
    """An allowance for a module that no longer holds SQL must be removed, not kept."""
    stale = [name for name in SQL_ALLOWED if not _sql_constants(name)]
    assert not stale, f"SQL_ALLOWED lists modules without SQL: {stale}"


def test_tests_read_state_through_the_helper() -> None:
    """Tests say what they mean (tests/state.py) instead of spelling the schema inline,
    so a schema change edits one module, not a hundred assertions."""
    bad = [f"{key.split('::')[0]}:{line}: {text}"
           for key, hits in _test_sql().items() if not _test_sql_allowed(key)
           for line, text in hits]
    assert not bad, f"SQL text in tests outside {TESTS_STATE}:\n" + "\n".join(bad)


def test_tests_sql_allow_list_is_not_stale() -> None:
    """An allowance for a test that no longer holds SQL must be removed, not kept."""
    found = _test_sql()
    stale = [key for key in TESTS_SQL_ALLOWED
             if not any(k == key or k.split("::")[0] == key for k in found)]
    assert not stale, f"TESTS_SQL_ALLOWED lists tests without SQL: {stale}"


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
