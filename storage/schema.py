"""Schema migrations, applied in order: one numbered list that both backends run.

SQLite keeps how many have run in ``PRAGMA user_version``, PostgreSQL in the table
``tapwork_schema``. An entry is one SQL text both run (SQLite's; PostgreSQL runs it
through ``storage.dialect.ddl_for_postgres``, which maps the column types), or a
``Migration`` pair where the two truly differ (the ledger's triggers).

Never edit a migration that has shipped: add a new one.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.dialect import POSTGRESQL, ddl_for_postgres


@dataclass(frozen=True)
class Migration:
    """One migration in each dialect's own words (``postgresql`` as PostgreSQL runs it,
    not translated)."""

    sqlite: str
    postgresql: str


def script(entry: str | Migration, dialect: str) -> str:
    """The text ``dialect`` runs for one entry of ``MIGRATIONS``."""
    if isinstance(entry, Migration):
        return entry.postgresql if dialect == POSTGRESQL else entry.sqlite
    return ddl_for_postgres(entry) if dialect == POSTGRESQL else entry


#: the ledger refuses changes on PostgreSQL as the SQLite triggers do (and TRUNCATE,
#: which SQLite does not have); an application role without UPDATE and DELETE on the
#: table is the second line (README, "PostgreSQL")
_PG_APPEND_ONLY = """
    CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'the ledger is append-only'; END $$;
    CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
        FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
    CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
        FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
    CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
"""
_SQLITE_APPEND_ONLY = """    CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
    CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
"""

_MONEY = """
    CREATE TABLE ledger (
        id INTEGER PRIMARY KEY,
        worker_id INTEGER NOT NULL REFERENCES workers(id),
        currency TEXT NOT NULL,
        kind TEXT NOT NULL,          -- earning | release | discount | bonus | payout | reversal
        bucket TEXT NOT NULL,        -- pending | available | reserved | paid
        amount INTEGER NOT NULL,     -- micros, signed; balances are sums, never stored
        project_id INTEGER REFERENCES projects(id),
        unit_id INTEGER,
        payout_id INTEGER,
        assignment_id INTEGER,
        reason TEXT,                 -- a code the phone turns into a sentence
        detail TEXT,                 -- JSON: the facts behind the reason
        key TEXT NOT NULL UNIQUE,    -- idempotency: one key never makes two entries
        created_at TEXT NOT NULL
    );
    CREATE INDEX ledger_by_worker ON ledger (worker_id, currency, bucket);
    CREATE INDEX ledger_by_time ON ledger (worker_id, created_at);
    CREATE INDEX ledger_by_project ON ledger (project_id, kind);
    CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
    CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
    CREATE TABLE units (
        id INTEGER PRIMARY KEY,
        worker_id INTEGER NOT NULL REFERENCES workers(id),
        project_id INTEGER NOT NULL REFERENCES projects(id),
        size INTEGER NOT NULL,           -- answers that fill it (settle_unit)
        answers INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL,            -- filling | waiting | settled
        created_at TEXT NOT NULL,
        last_answer_at TEXT NOT NULL,
        auto_at TEXT NOT NULL,           -- paid in full from then on (auto_approve_hours)
        checked_at TEXT,                 -- last judged and found unresolved
        settled_at TEXT,
        accuracy REAL,
        outcome TEXT                     -- full | discounted | auto
    );
    CREATE UNIQUE INDEX one_filling_unit ON units (worker_id, project_id)
        WHERE status = 'filling';
    CREATE INDEX units_waiting ON units (id) WHERE status = 'waiting' AND checked_at IS NULL;
    CREATE INDEX units_overdue ON units (auto_at) WHERE status != 'settled';
    ALTER TABLE assignments ADD COLUMN unit_id INTEGER REFERENCES units(id);
    CREATE INDEX assignments_by_unit ON assignments (unit_id) WHERE unit_id IS NOT NULL;
    CREATE TABLE payouts (
        id INTEGER PRIMARY KEY,
        worker_id INTEGER NOT NULL REFERENCES workers(id),
        currency TEXT NOT NULL,
        amount INTEGER NOT NULL,
        status TEXT NOT NULL,            -- requested | approved | rejected
        reason TEXT,
        requested_at TEXT NOT NULL,
        decided_at TEXT,
        request_key TEXT NOT NULL UNIQUE
    );
    CREATE INDEX payouts_by_status ON payouts (status, id);
    -- shown on /top only after the worker opts in
    ALTER TABLE workers ADD COLUMN display_name TEXT;
    -- messages for workers decided anywhere (a CLI, a job) and sent by the running bot
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        worker_id INTEGER NOT NULL REFERENCES workers(id),
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,           -- JSON
        key TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        not_before TEXT NOT NULL,
        sent_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX outbox_due ON outbox (not_before) WHERE sent_at IS NULL;
    """

MIGRATIONS: list[str | Migration] = [
    # 1: the work loop
    """
    CREATE TABLE workers (
        id INTEGER PRIMARY KEY,                 -- the Telegram user id
        first_name TEXT NOT NULL DEFAULT '',
        language TEXT NOT NULL DEFAULT 'en',
        consent_at TEXT,                        -- NULL until the worker agreed
        active INTEGER NOT NULL DEFAULT 1,      -- 0 once they blocked the bot
        created_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL
    );
    CREATE TABLE projects (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        spec TEXT NOT NULL,                     -- the validated project document, JSON
        status TEXT NOT NULL DEFAULT 'open',    -- open | paused
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE media (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,                     -- photo | voice | audio
        mime TEXT NOT NULL,
        filename TEXT NOT NULL,
        width INTEGER,
        height INTEGER,
        duration INTEGER,
        data BLOB NOT NULL,
        file_id TEXT                            -- Telegram's id after the first upload
    );
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        ext_id TEXT NOT NULL,
        text TEXT,
        media_id INTEGER REFERENCES media(id),
        gold TEXT,
        quiz INTEGER NOT NULL DEFAULT 0,
        explain TEXT,                           -- JSON {lang: text}
        prelabel TEXT,
        answers INTEGER NOT NULL DEFAULT 0,     -- answered assignments
        leases INTEGER NOT NULL DEFAULT 0,      -- open assignments
        state INTEGER NOT NULL DEFAULT 0,       -- 0 fresh, 1 started, 2 full, 3 done
        created_at TEXT NOT NULL,
        UNIQUE (project_id, ext_id)
    );
    CREATE INDEX items_to_serve ON items (project_id, state, id) WHERE state < 2 AND quiz = 0;
    CREATE INDEX items_by_state ON items (project_id, state);
    CREATE TABLE assignments (
        id INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL REFERENCES items(id),
        worker_id INTEGER NOT NULL REFERENCES workers(id),
        project_id INTEGER NOT NULL REFERENCES projects(id),
        status TEXT NOT NULL,                   -- open | answered | skipped | expired | released
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        delivered_at TEXT,                      -- when the task reached the phone
        chat_id INTEGER,
        message_id INTEGER,
        answer TEXT,
        answered_at TEXT,
        seconds REAL,                           -- delivered -> answered
        answer_message_id INTEGER,              -- the worker's reply, for typed answers
        UNIQUE (item_id, worker_id)
    );
    CREATE UNIQUE INDEX one_open_task_per_worker ON assignments (worker_id) WHERE status = 'open';
    CREATE INDEX leases_by_expiry ON assignments (expires_at) WHERE status = 'open';
    CREATE INDEX assignments_by_project ON assignments (project_id, status, item_id);
    CREATE INDEX assignments_by_worker ON assignments (worker_id, status, answered_at);
    CREATE UNIQUE INDEX typed_answer_once ON assignments (worker_id, answer_message_id)
        WHERE answer_message_id IS NOT NULL
    """,
    # 2: qualifying quizzes, gold checks, live confidence per item
    """
    ALTER TABLE items ADD COLUMN label TEXT;                 -- current aggregated answer
    ALTER TABLE items ADD COLUMN confidence REAL;            -- its confidence in [0, 1]
    ALTER TABLE assignments ADD COLUMN gold_correct INTEGER;  -- 1/0 on gold items, else NULL
    ALTER TABLE assignments ADD COLUMN too_fast INTEGER NOT NULL DEFAULT 0;
    DROP INDEX items_to_serve;
    -- equality on (project, state) then id order: the next item is the first entry, with
    -- no sort, however many items there are (a "state < 2" in the WHERE made the planner
    -- range over every open item and sort them: 300 ms an answer at a million items)
    CREATE INDEX items_to_serve ON items (project_id, state, id)
        WHERE quiz = 0 AND gold IS NULL;
    CREATE INDEX gold_items ON items (project_id, id) WHERE gold IS NOT NULL AND quiz = 0;
    CREATE INDEX quiz_items ON items (project_id, id) WHERE quiz = 1;
    CREATE INDEX answers_of_item ON assignments (item_id, status);
    CREATE INDEX recent_answers ON assignments (worker_id, project_id, answered_at)
        WHERE status = 'answered';
    CREATE INDEX gold_answers ON assignments (project_id, worker_id)
        WHERE gold_correct IS NOT NULL;
    CREATE TABLE qualifications (
        worker_id INTEGER NOT NULL REFERENCES workers(id),
        project_id INTEGER NOT NULL REFERENCES projects(id),
        status TEXT NOT NULL,               -- new | passed | failed (the quiz)
        attempts INTEGER NOT NULL DEFAULT 0,
        trained INTEGER NOT NULL DEFAULT 0, -- finished the practice round
        retry_at TEXT,                      -- after a failed exam
        reason TEXT,                        -- set while suspended: why (gold | too_fast | operator)
        checks_from TEXT,                   -- gold and speed rules count answers from here
        updated_at TEXT NOT NULL,
        PRIMARY KEY (worker_id, project_id)
    );
    CREATE TABLE quiz_attempts (
        id INTEGER PRIMARY KEY,
        worker_id INTEGER NOT NULL REFERENCES workers(id),
        project_id INTEGER NOT NULL REFERENCES projects(id),
        phase TEXT NOT NULL,                -- training | exam
        status TEXT NOT NULL,               -- open | done | abandoned
        started_at TEXT NOT NULL,
        finished_at TEXT
    );
    CREATE UNIQUE INDEX one_open_attempt ON quiz_attempts (worker_id, project_id)
        WHERE status = 'open';
    CREATE TABLE quiz_questions (
        attempt_id INTEGER NOT NULL REFERENCES quiz_attempts(id),
        position INTEGER NOT NULL,
        item_id INTEGER NOT NULL REFERENCES items(id),
        answer TEXT,
        correct INTEGER,
        answered_at TEXT,
        message_id INTEGER,                 -- the worker's typed reply, counted once
        PRIMARY KEY (attempt_id, position)
    );
    CREATE UNIQUE INDEX quiz_typed_once ON quiz_questions (attempt_id, message_id)
        WHERE message_id IS NOT NULL
    """,
    # 3: money: an append-only ledger, settlement units, payout requests
    Migration(sqlite=_MONEY, postgresql=ddl_for_postgres(
        _MONEY.replace(_SQLITE_APPEND_ONLY, "")) + _PG_APPEND_ONLY),

    # 4: broadcasts, notification settings, scheduled notices
    """
    CREATE TABLE broadcasts (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        text TEXT,                       -- the operator's words, or NULL for the default
        status TEXT NOT NULL,            -- sending | done
        paid INTEGER NOT NULL DEFAULT 0, -- Telegram's paid broadcast (allow_paid_broadcast)
        rate REAL NOT NULL,              -- messages per second
        operator_chat INTEGER,           -- where live progress is shown
        progress_message INTEGER,
        created_at TEXT NOT NULL,
        finished_at TEXT
    );
    CREATE TABLE broadcast_targets (
        broadcast_id INTEGER NOT NULL REFERENCES broadcasts(id),
        worker_id INTEGER NOT NULL,
        status TEXT NOT NULL,            -- pending | sending | sent | failed | blocked
        attempts INTEGER NOT NULL DEFAULT 0,
        sent_at TEXT,
        PRIMARY KEY (broadcast_id, worker_id)
    ) WITHOUT ROWID;
    CREATE INDEX broadcast_queue ON broadcast_targets (broadcast_id, status, worker_id);
    ALTER TABLE workers ADD COLUMN notify INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE workers ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
    ALTER TABLE workers ADD COLUMN quiet_start INTEGER;   -- minutes after local midnight
    ALTER TABLE workers ADD COLUMN quiet_end INTEGER;
    ALTER TABLE workers ADD COLUMN daily_summary INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE workers ADD COLUMN senior INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE workers ADD COLUMN language_chosen INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE project_notices (
        worker_id INTEGER NOT NULL REFERENCES workers(id),
        project_id INTEGER NOT NULL REFERENCES projects(id),
        last_sent_at TEXT NOT NULL,
        PRIMARY KEY (worker_id, project_id)
    ) WITHOUT ROWID;
    CREATE TABLE project_events (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        kind TEXT NOT NULL,              -- opened | new_items
        created_at TEXT NOT NULL,
        done_at TEXT
    );
    CREATE INDEX project_events_open ON project_events (id) WHERE done_at IS NULL
    """,
    # 5: spare-minute bursts
    """
    ALTER TABLE workers ADD COLUMN burst_from TEXT;
    ALTER TABLE workers ADD COLUMN burst_until TEXT;
    CREATE INDEX bursts_due ON workers (burst_until) WHERE burst_until IS NOT NULL
    """,
    # 6: settling a unit reads its ledger entries by unit, which scanned the whole ledger;
    # per-worker balances and history do as well on ledger_by_time's worker_id prefix, so
    # an answer still writes the same number of ledger index entries
    """
    CREATE INDEX ledger_by_unit ON ledger (unit_id) WHERE unit_id IS NOT NULL;
    DROP INDEX ledger_by_worker
    """,
    # 7: languages (issue 10): every item may have one, every worker reads one or more
    """
    ALTER TABLE items ADD COLUMN lang TEXT NOT NULL DEFAULT '';    -- primary subtag; '' none
    ALTER TABLE workers ADD COLUMN reads TEXT NOT NULL DEFAULT ''; -- e.g. 'en,ko'
    UPDATE workers SET reads = language;
    -- the languages a project's items are in, kept at import ('en,zh'; '' for none), so
    -- serving asks the index once per language the worker and the project share
    ALTER TABLE projects ADD COLUMN languages TEXT NOT NULL DEFAULT '';
    -- equality on (project, lang, state) then id order: the next item in one language is
    -- the first entry, with no sort (see migration 2)
    DROP INDEX items_to_serve;
    CREATE INDEX items_to_serve ON items (project_id, lang, state, id)
        WHERE quiz = 0 AND gold IS NULL;
    DROP INDEX gold_items;
    CREATE INDEX gold_items ON items (project_id, lang, id) WHERE gold IS NOT NULL AND quiz = 0;
    DROP INDEX quiz_items;
    CREATE INDEX quiz_items ON items (project_id, lang, id) WHERE quiz = 1
    """,
    # 8: the ledger refuses REPLACE on any connection. The UPDATE and DELETE triggers do
    # not fire for the delete inside INSERT OR REPLACE unless the connection turned
    # recursive_triggers on, which a plain sqlite3 shell does not; this one refuses any
    # insert that would meet an existing id or key before REPLACE can delete anything
    Migration(sqlite="""
    CREATE TRIGGER ledger_no_replace BEFORE INSERT ON ledger
    WHEN EXISTS (SELECT 1 FROM ledger WHERE key = NEW.key OR id = NEW.id)
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: that entry exists'); END
    """, postgresql="""
    CREATE FUNCTION ledger_no_replace() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM ledger WHERE key = NEW.key)
           OR EXISTS (SELECT 1 FROM ledger WHERE id = NEW.id) THEN
            RAISE EXCEPTION 'the ledger is append-only: that entry exists';
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER ledger_no_replace BEFORE INSERT ON ledger
        FOR EACH ROW EXECUTE FUNCTION ledger_no_replace();
    """),
    # 9: numbers must be finite (issue 11). A project stored before with nan or inf in a
    # number holds NaN or Infinity, which is not JSON to SQLite: json_extract then failed
    # every query reading it (/wallet). Written as JSON: null (the key's default) and
    # 1e999 (beyond any range: loading brings it into range). Only documents SQLite cannot
    # read are touched; JSON writes these words only as values, after ": "
    # (PostgreSQL: nothing to mend; its databases are new, or copied from a SQLite one
    # that ran this already)
    Migration(sqlite="""
    UPDATE projects SET spec = replace(replace(replace(spec,
        ': -Infinity', ': -1e999'), ': Infinity', ': 1e999'), ': NaN', ': null')
    WHERE NOT json_valid(spec)
    """, postgresql=""),
    # 10: imports that never stall the work loop (bot/loader.py). A checked file is staged
    # here batch by batch, hidden from workers, then published into items and media batch
    # by batch; ``imports`` says how far one got, so a process that dies mid-way leaves
    # nothing visible (staging) or is finished by the next one (publishing). No foreign
    # keys: staged rows are deleted in batches, in any order, and never served.
    """
    CREATE TABLE IF NOT EXISTS imports (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL,
        state TEXT NOT NULL,             -- staging | publishing
        new_tasks INTEGER NOT NULL DEFAULT 0,  -- 1: publishing adds work (a new_items event)
        created_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS import_media (
        id INTEGER PRIMARY KEY,
        import_id INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        kind TEXT NOT NULL,
        mime TEXT NOT NULL,
        filename TEXT NOT NULL,
        width INTEGER,
        height INTEGER,
        duration INTEGER,
        data BLOB NOT NULL,
        UNIQUE (import_id, sha256)
    );
    CREATE TABLE IF NOT EXISTS import_items (
        id INTEGER PRIMARY KEY,
        import_id INTEGER NOT NULL,
        ext_id TEXT NOT NULL,
        text TEXT,
        media_sha256 TEXT,               -- import_media, then media, by content hash
        gold TEXT,
        quiz INTEGER NOT NULL,
        explain TEXT,
        prelabel TEXT,
        lang TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS import_items_in_order ON import_items (import_id, id)
    """,
    # 11: a notice is claimed in its own transaction just before it is sent, and marked
    # after, so two deliveries never send it twice and a crash leaves only the notice on
    # the wire in doubt (never sent again); the outcome says how each one ended
    """
    ALTER TABLE outbox ADD COLUMN claim TEXT;       -- the sender's token while in flight
    ALTER TABLE outbox ADD COLUMN claimed_at TEXT;
    -- sent | in_doubt | blocked | gone | stale | failed; NULL while waiting (and for the
    -- notices finished before this migration)
    ALTER TABLE outbox ADD COLUMN outcome TEXT
    """,
    # 12: exports page through a project's items in id order; with only (project_id, state)
    # to go on, every 2,000-item page sorted the whole project (0.6 s a page at a million
    # items). Equality on project_id, then a range on id: a page is a walk of 2,000 entries
    """
    CREATE INDEX IF NOT EXISTS items_in_order ON items (project_id, id) WHERE quiz = 0
    """,
    # 13: why a notice failed for good (one this version cannot read: an unknown kind, a
    # payload that does not parse), so an operator finds it without the log
    """
    ALTER TABLE outbox ADD COLUMN error TEXT
    """,
    # 14: answers go where they change a label (issue 13). ``need`` is a small bucket kept
    # with each answer (0 sure, 1 open, 2 split: bot/domain/routing.py); equality on
    # (project, lang, state, need) then id order keeps the next item the first entry of
    # one index range, with no sort, whichever bucket a worker asks first
    """
    ALTER TABLE items ADD COLUMN need INTEGER NOT NULL DEFAULT 1;
    DROP INDEX items_to_serve;
    CREATE INDEX items_to_serve ON items (project_id, lang, state, need, id)
        WHERE quiz = 0 AND gold IS NULL
    """,
    # 15: the operator dashboard (handlers/web/dashboard). Sign-in links are single-use
    # and short-lived; only the SHA-256 of a link's token is kept, so a copy of the
    # database signs nobody in. Operators' actions from the dashboard (suspend, reinstate)
    # keep who and why. Portable SQL (a PostgreSQL backend runs the same text): BIGINT for
    # Telegram ids past 2**31, ids made by the application rather than by an
    # autoincrement whose spelling differs between backends, no SQLite-only functions.
    """
    CREATE TABLE IF NOT EXISTS dashboard_links (
        token_hash TEXT PRIMARY KEY,      -- hex SHA-256 of the token in the link
        operator_id BIGINT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT                      -- set once: a link signs in one browser, once
    );
    CREATE INDEX IF NOT EXISTS dashboard_links_by_expiry ON dashboard_links (expires_at);
    CREATE TABLE IF NOT EXISTS operator_actions (
        id TEXT PRIMARY KEY,              -- random, made by the application
        operator_id BIGINT NOT NULL,
        action TEXT NOT NULL,             -- suspend | reinstate
        worker_id BIGINT NOT NULL,
        project_id BIGINT NOT NULL,
        reason TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS operator_actions_by_project
        ON operator_actions (project_id, worker_id, created_at)
    """,
    # 16: the exam a worker passed is the start of their gold record (issue 13): its
    # answers and right ones, kept with the qualification so the live estimate reads them
    # by primary key with each answer
    """
    ALTER TABLE qualifications ADD COLUMN exam_answers INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE qualifications ADD COLUMN exam_right INTEGER NOT NULL DEFAULT 0
    """,
    # 17: several replicas behind a webhook (issue 14). Portable SQL (SQLite and
    # PostgreSQL): no rowid alias, integer times where arithmetic happens.
    # ``update_claims``: each Telegram update is claimed by one replica before it is
    # handled (a unique insert), finished when handled, re-claimable once its claim is
    # older than a timeout and still not done; rows older than 48 hours are pruned.
    # ``rate_buckets``: token buckets shared by every replica, in millionths of a token
    # and microseconds since the epoch, so the arithmetic is exact in Python.
    # ``broadcast_targets.claimed_at``: a recipient claimed by a replica that died is
    # told from one another replica is sending to right now.
    """
    CREATE TABLE IF NOT EXISTS update_claims (
        update_id BIGINT NOT NULL PRIMARY KEY,
        claim TEXT NOT NULL,                -- the claiming replica's token
        claimed_at TEXT NOT NULL,
        done_at TEXT                        -- NULL while being handled
    );
    CREATE INDEX IF NOT EXISTS update_claims_by_age ON update_claims (claimed_at);
    CREATE TABLE IF NOT EXISTS rate_buckets (
        name TEXT NOT NULL PRIMARY KEY,
        tokens BIGINT NOT NULL,             -- millionths of a token; negative: a pause
        updated_us BIGINT NOT NULL          -- microseconds since the epoch
    );
    ALTER TABLE broadcast_targets ADD COLUMN claimed_at TEXT
    """,
]
