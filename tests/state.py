"""What the tests read from (and, to arrange a case, write to) the database, by name.

Why one module: a test states what it means ("one answer was saved", "nobody was paid
twice"), not how the tables spell it today, so a schema change edits this file instead of
a hundred assertions, and two tests asking the same question ask it the same way.
Readers return whole rows as named tuples (columns in schema order, so ``SELECT *`` and
index-based checks still hold) and the test picks the fields it asserts on.

Every function takes ``where``: the bot's ``Database`` (SQLite or PostgreSQL), a path to
the file or a ``postgresql://`` URL (a bot in another process, a CLI run) or an open
connection (``sqlite3``'s, one that holds a lock the test is about, or
``storage.pgside``'s). Reads go through a connection of their own: it sees every
committed write and never a half-done one (SQLite's WAL, PostgreSQL's snapshots), and it
works the same for all of them. The few questions only SQLite can answer (the storage
class of a value) have a PostgreSQL spelling next to them.

SQL text in tests/ lives here only, apart from tests whose subject IS the SQL, listed
with their reasons in ``TESTS_SQL_ALLOWED`` in tests/test_layers.py (which checks it):
storage/db.py itself (test_database.py); a version-8 file built by hand for a migration
(test_money_bounds.py ``old_database``); the statements the ledger's triggers and unique
key must refuse (two tests of test_ledger.py); the write lock taken as another program
takes it, and transactions against it (test_e2e_busy.py, test_loader.py); the disk
filled under the bot's own connection and the import's query plans (test_loader.py); and
the detector's own word list (test_layers.py). test_query_plans.py reads storage's
statements, it writes none.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from bot.clock import to_iso
from storage.connection import SideConnection
from storage.dialect import is_postgres
from tests.where import Where, connection, given

Row = TypeVar("Row", bound=tuple[Any, ...])


@contextlib.contextmanager
def snapshot(where: Where) -> Iterator[SideConnection]:
    """One read transaction: several readers given it see the same moment, even while
    the bot goes on writing (a caller's own connection is used as it is)."""
    if given(where):
        yield where  # type: ignore[misc]
        return
    with connection(where) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ" if is_postgres(conn)
                     else "BEGIN")
        try:
            yield conn
        finally:
            conn.execute("ROLLBACK")


def _fetch(where: Where, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
    with connection(where) as conn:
        return [tuple(r) for r in conn.execute(sql, tuple(args))]


def _write(where: Where, sql: str, args: Sequence[object] = ()) -> None:
    with connection(where) as conn:
        conn.execute(sql, tuple(args))
        if conn.in_transaction:
            conn.execute("COMMIT")


def _table(where: Where, table: str, row: type[Row]) -> list[Row]:
    """Every row of ``table`` in insertion order, as ``row`` (named by its columns)."""
    columns = ", ".join(row._fields)  # type: ignore[attr-defined]
    with connection(where) as conn:
        order = _ORDER.get(table, "id")
        if not is_postgres(conn) and table in _ORDER and table != "update_claims":
            order = "rowid"
        return [row(*r) for r in _fetch(conn, f"SELECT {columns} FROM {table} ORDER BY {order}")]


#: tables without an id: SQLite gives them in insertion order (rowid), PostgreSQL has no
#: such order, so by key (the order the bot writes them in)
_ORDER = {"quiz_questions": "attempt_id, position", "qualifications": "worker_id, project_id",
          "update_claims": "update_id"}


def _count(where: Where, table: str) -> int:
    return int(_fetch(where, f"SELECT count(*) FROM {table}")[0][0])


# -- rows ---------------------------------------------------------------------------------


class Assignment(NamedTuple):
    id: int
    item_id: int
    worker_id: int
    project_id: int
    status: str
    created_at: str
    expires_at: str
    delivered_at: str | None
    chat_id: int | None
    message_id: int | None
    answer: str | None
    answered_at: str | None
    seconds: float | None
    answer_message_id: int | None
    gold_correct: int | None
    too_fast: int
    unit_id: int | None


class Item(NamedTuple):
    id: int
    project_id: int
    ext_id: str
    text: str | None
    media_id: int | None
    gold: str | None
    quiz: int
    explain: str | None
    prelabel: str | None
    answers: int
    leases: int
    state: int
    created_at: str
    label: str | None
    confidence: float | None
    lang: str | None
    need: int


class LedgerEntry(NamedTuple):
    id: int
    worker_id: int
    currency: str
    kind: str
    bucket: str
    amount: int
    project_id: int | None
    unit_id: int | None
    payout_id: int | None
    assignment_id: int | None
    reason: str | None
    detail: str | None
    key: str
    created_at: str


class Unit(NamedTuple):
    id: int
    worker_id: int
    project_id: int
    size: int
    answers: int
    status: str
    created_at: str
    last_answer_at: str
    auto_at: str
    checked_at: str | None
    settled_at: str | None
    accuracy: float | None
    outcome: str | None


class Notice(NamedTuple):
    """One row of the outbox: a message to a worker, sent or still to send."""

    id: int
    worker_id: int
    kind: str
    payload: str
    key: str
    created_at: str
    not_before: str | None
    sent_at: str | None
    attempts: int
    claim: str | None
    claimed_at: str | None
    outcome: str | None
    #: why a notice failed for good (one this version cannot read)
    error: str | None


class QuizQuestion(NamedTuple):
    attempt_id: int
    position: int
    item_id: int
    answer: str | None
    correct: int | None
    answered_at: str | None
    message_id: int | None


class QuizAttempt(NamedTuple):
    id: int
    worker_id: int
    project_id: int
    phase: str
    status: str
    started_at: str
    finished_at: str | None


class Qualification(NamedTuple):
    worker_id: int
    project_id: int
    status: str
    attempts: int
    trained: int
    retry_at: str | None
    reason: str | None
    checks_from: int | None
    updated_at: str
    exam_answers: int
    exam_right: int


class UpdateClaim(NamedTuple):
    update_id: int
    claim: str
    claimed_at: str
    done_at: str | None


def assignments(where: Where) -> list[Assignment]:
    """Every task ever handed out, in the order they were."""
    return _table(where, "assignments", Assignment)


def items(where: Where) -> list[Item]:
    """Every item of every project (normal, gold and quiz), in import order."""
    return _table(where, "items", Item)


def ledger_entries(where: Where) -> list[LedgerEntry]:
    """The whole ledger in the order it was written."""
    return _table(where, "ledger", LedgerEntry)


def units(where: Where) -> list[Unit]:
    """Settlement units, oldest first."""
    return _table(where, "units", Unit)


def outbox_rows(where: Where) -> list[Notice]:
    """Every notice queued for a worker, oldest first."""
    return _table(where, "outbox", Notice)


def quiz_questions(where: Where) -> list[QuizQuestion]:
    return _table(where, "quiz_questions", QuizQuestion)


def quiz_attempts(where: Where) -> list[QuizAttempt]:
    return _table(where, "quiz_attempts", QuizAttempt)


def qualifications(where: Where) -> list[Qualification]:
    return _table(where, "qualifications", Qualification)


def update_claims(where: Where) -> list[UpdateClaim]:
    """Telegram updates claimed in webhook mode (``storage/updates.py``)."""
    return _table(where, "update_claims", UpdateClaim)


# -- questions tests ask again and again ---------------------------------------------------


def answered(where: Where, worker_id: int | None = None) -> list[Assignment]:
    """Saved answers (of one worker, or of everyone), in the order they were given."""
    return [a for a in assignments(where)
            if a.status == "answered" and worker_id in (None, a.worker_id)]


def answered_count(where: Where) -> int:
    """How many answers were saved: a repeat, a forgery or a refused tap adds none."""
    return len(answered(where))


def with_items(where: Where) -> list[tuple[Assignment, Item]]:
    """Each assignment with the item it showed, in assignment order."""
    with snapshot(where) as conn:
        by_id = {i.id: i for i in items(conn)}
        return [(a, by_id[a.item_id]) for a in assignments(conn)]


def counted_assignments(where: Where) -> list[tuple[Item, tuple[int, int]]]:
    """Each item with how many of its assignments are answered and how many open: the
    item's ``answers`` and ``leases`` counters must equal them."""
    tally: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    with snapshot(where) as conn:
        for a in assignments(conn):
            if a.status in ("answered", "open"):
                tally[a.item_id][a.status == "open"] += 1
        return [(i, (tally[i.id][0], tally[i.id][1])) for i in items(conn)]


def quiz_attempt_count(where: Where, worker_id: int | None = None) -> int:
    return sum(1 for t in quiz_attempts(where) if worker_id in (None, t.worker_id))


def languages_shown(where: Where, worker_id: int) -> set[str]:
    """The languages of every item this worker was given: tasks, gold checks, quiz."""
    with snapshot(where) as conn:
        by_id = {i.id: i for i in items(conn)}
        attempts = {t.id for t in quiz_attempts(conn) if t.worker_id == worker_id}
        shown = [a.item_id for a in assignments(conn) if a.worker_id == worker_id]
        shown += [q.item_id for q in quiz_questions(conn) if q.attempt_id in attempts]
    return {str(by_id[i].lang) for i in shown}


def stored_amounts(where: Where) -> list[tuple[str, int]]:
    """Each entry's amount with the storage class SQLite keeps it in ("integer", "real",
    …): money must be stored as integer micros, not merely read back as one."""
    with connection(where) as conn:
        kind = ("CASE WHEN pg_typeof(amount) = 'bigint'::regtype THEN 'integer'"
                " ELSE pg_typeof(amount)::text END" if is_postgres(conn) else "typeof(amount)")
        return [(str(t), a) for t, a in _fetch(conn, f"SELECT {kind}, amount FROM ledger"
                                                     " ORDER BY id")]


def ledger_count(where: Where) -> int:
    return _count(where, "ledger")


def bucket_sums(where: Where) -> dict[tuple[int, str, str], int]:
    """(worker, currency, bucket) -> micros, summed from the raw entries: the truth every
    balance shown to a worker or operator must agree with."""
    total: dict[tuple[int, str, str], int] = defaultdict(int)
    for e in ledger_entries(where):
        total[(e.worker_id, e.currency, e.bucket)] += e.amount
    return dict(total)


def duplicate_keys(where: Where) -> dict[str, list[str]]:
    """Idempotency keys used more than once, per table (ledger, outbox): always none."""
    found: dict[str, list[str]] = {}
    with snapshot(where) as conn:
        tables = (("ledger", [e.key for e in ledger_entries(conn)]),
                  ("outbox", [n.key for n in outbox_rows(conn)]))
    for table, keys in tables:
        found[table] = sorted({k for k in keys if keys.count(k) > 1})
    return found


def notice_outcomes(where: Where) -> dict[str, int]:
    """Outbox rows by what became of them: "open" (not sent yet), "sent" or the failure
    recorded as their outcome."""
    counts: dict[str, int] = defaultdict(int)
    for n in outbox_rows(where):
        counts["open" if n.sent_at is None else (n.outcome or "sent")] += 1
    return dict(counts)


def payload(notice: Notice) -> dict[str, Any]:
    """A notice's JSON payload as a dict."""
    return dict(json.loads(notice.payload))


def without_consent(where: Where) -> dict[str, int]:
    """Work, quiz attempts and money (operator bonuses aside) of workers who never agreed
    to the terms: each must be 0."""
    with snapshot(where) as conn:
        strangers = {w for w, in _fetch(conn, "SELECT id FROM workers"
                                              " WHERE consent_at IS NULL")}
        return {
            "assignments": sum(1 for a in assignments(conn) if a.worker_id in strangers),
            "quiz_attempts": sum(1 for t in quiz_attempts(conn) if t.worker_id in strangers),
            "ledger": sum(1 for e in ledger_entries(conn)
                          if e.worker_id in strangers and e.kind != "bonus"),
        }


def gold_standing(where: Where) -> dict[tuple[int, int], tuple[int, int]]:
    """(worker, project) -> (gold checks answered, answered right)."""
    standing: dict[tuple[int, int], tuple[int, int]] = {}
    for a in assignments(where):
        if a.gold_correct is not None:
            checked, right = standing.get((a.worker_id, a.project_id), (0, 0))
            standing[(a.worker_id, a.project_id)] = (checked + 1, right + a.gold_correct)
    return standing


def project_names(where: Where) -> dict[int, str]:
    """Project id -> name."""
    return {i: str(n) for i, n in _fetch(where, "SELECT id, name FROM projects")}


def broadcast_count(where: Where) -> int:
    return _count(where, "broadcasts")


def payout_count(where: Where) -> int:
    return _count(where, "payouts")


def project_count(where: Where) -> int:
    return _count(where, "projects")


def project_id_of(where: Where, name: str) -> int:
    return int(_fetch(where, "SELECT id FROM projects WHERE name = ?", (name,))[0][0])


def project_specs_valid(where: Where) -> list[bool]:
    """Whether each stored project document is valid JSON, as SQLite itself reads it
    (PostgreSQL: as Python reads it; its json type refuses NaN as SQLite does)."""
    with connection(where) as conn:
        if not is_postgres(conn):
            return [bool(v) for v, in _fetch(conn, "SELECT json_valid(spec) FROM projects")]
        specs = [str(spec) for spec, in _fetch(conn, "SELECT spec FROM projects ORDER BY id")]

    def valid(spec: str) -> bool:
        try:
            json.loads(spec, parse_constant=lambda word: 1 / 0)
        except (ValueError, ZeroDivisionError):
            return False
        return True

    return [valid(spec) for spec in specs]


def staged_rows(where: Where) -> dict[str, int]:
    """Rows an import keeps while it runs (staging tables): none once it is over."""
    with snapshot(where) as conn:
        return {t: _count(conn, t) for t in ("imports", "import_items", "import_media")}


def new_items_events(where: Where) -> int:
    """How often workers were to be told of new items."""
    return int(_fetch(where, "SELECT count(*) FROM project_events"
                             " WHERE kind = 'new_items'")[0][0])


def broadcast_statuses(where: Where, broadcast_id: int) -> dict[int, str]:
    """Each recipient of a broadcast and where their message stands."""
    return {int(r[0]): str(r[1]) for r in _fetch(
        where, "SELECT worker_id, status FROM broadcast_targets WHERE broadcast_id = ?",
        (broadcast_id,))}


def broadcast_ids(where: Where) -> list[int]:
    """Every broadcast's id, oldest first."""
    return [int(r[0]) for r in _fetch(where, "SELECT id FROM broadcasts ORDER BY id")]


def table_count(where: Where, table: str) -> int:
    """Rows in ``table``: for a test that checks a command saved nothing, anywhere."""
    return _count(where, table)


def dashboard_link_hashes(where: Where) -> list[tuple[str, int, str | None]]:
    """(token_hash, operator_id, used_at) of every stored dashboard sign-in link."""
    return [(str(r[0]), int(r[1]), r[2]) for r in _fetch(
        where, "SELECT token_hash, operator_id, used_at FROM dashboard_links ORDER BY created_at")]


def operator_actions(where: Where) -> list[tuple[int, str, int, str]]:
    """(operator, action, worker, reason) of every dashboard action, oldest first."""
    return [(int(r[0]), str(r[1]), int(r[2]), str(r[3])) for r in _fetch(
        where, "SELECT operator_id, action, worker_id, reason FROM operator_actions"
               " ORDER BY created_at, rowid")]


# -- arranging a case the application offers no way to reach -------------------------------


def put_raw_notice(where: Where, worker_id: int, kind: str, payload: str, key: str) -> None:
    """An outbox row as written by hand: an older version's format, or one no version
    can read (an unknown kind, a broken payload), due at once."""
    _write(where, "INSERT INTO outbox (worker_id, kind, payload, key, created_at, not_before)"
           " VALUES (?, ?, ?, ?, '2020-01-01', '2020-01-01')",
           (worker_id, kind, payload, key))


def pause_all_projects(where: Where) -> None:
    """As an older version left them; today only /pause does it, one project at a time."""
    _write(where, "UPDATE projects SET status = 'paused'")


def set_broadcast_rate(where: Where, broadcast_id: int, rate: int) -> None:
    """Slow one broadcast down so a test can stop it half way."""
    _write(where, "UPDATE broadcasts SET rate = ? WHERE id = ?", (rate, broadcast_id))


def make_gold_every(where: Where, project: int, every: int) -> None:
    """Turn every ``every``-th item (by id) of a project into a "positive" gold check."""
    _write(where, "UPDATE items SET gold = 'positive' WHERE project_id = ? AND id % ? = 0",
           (project, every))


def add_quiz_items(where: Where, project: int, ext_ids: Sequence[str]) -> None:
    """Quiz questions (text "q", answer "positive") stored without an import, so no
    notice of new work is queued for them."""
    for ext_id in ext_ids:
        _write(where, "INSERT INTO items (project_id, ext_id, text, gold, quiz, created_at)"
                      " VALUES (?, ?, 'q', 'positive', 1, '')", (project, ext_id))


def add_waiting_unit(where: Where, unit_id: int, worker_id: int, project: int, size: int,
                     at: str) -> None:
    """A settlement unit holding ``size`` answers, waiting to be judged, as an older
    version left it (its earnings are the test's to write)."""
    with connection(where) as conn:
        _write(conn, "INSERT INTO units (id, worker_id, project_id, size, answers, status,"
                     " created_at, last_answer_at, auto_at) VALUES (?, ?, ?, ?, ?, 'waiting',"
                     " ?, ?, ?)", (unit_id, worker_id, project, size, size, at, at, at))
        if is_postgres(conn):  # an id given by hand: the next one comes after it
            _write(conn, "SELECT setval(pg_get_serial_sequence('units', 'id'),"
                         " (SELECT max(id) FROM units))")


def cap_pages(conn: sqlite3.Connection, spare: int | None) -> None:
    """Let the file grow by only ``spare`` pages more, as a full disk would (``None``:
    no cap again)."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    limit = 1073741823 if spare is None else pages + spare
    conn.execute(f"PRAGMA max_page_count = {limit}")


def age_update_claims(where: Where, update_ids: Sequence[int], seconds: float) -> None:
    """Unfinished claims of these updates as if taken ``seconds`` ago: the claim timeout
    a dead replica's claims wait out (60 s), passed without waiting for it."""
    at = to_iso(datetime.now(UTC) - timedelta(seconds=seconds))
    for update_id in update_ids:
        _write(where, "UPDATE update_claims SET claimed_at = ?"
                      " WHERE update_id = ? AND done_at IS NULL", (at, update_id))


def expire_lease(where: Where, assignment_id: int) -> None:
    """An open task's lease as if it ran out (the shortest a project allows is a minute)."""
    _write(where, "UPDATE assignments SET expires_at = '2000-01-01T00:00:00.000000Z'"
                  " WHERE id = ? AND status = 'open'", (assignment_id,))
