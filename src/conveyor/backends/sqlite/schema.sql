-- Conveyor's SQLite schema (version 1, in PRAGMA user_version). Times are integer microseconds since the epoch.
CREATE TABLE IF NOT EXISTS tasks (
    id               TEXT PRIMARY KEY,
    type             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    priority         INTEGER NOT NULL,
    queue            TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    created_us       INTEGER NOT NULL,
    run_at_us        INTEGER NOT NULL,
    updated_us       INTEGER,
    started_us       INTEGER,
    finished_us      INTEGER,
    result           TEXT,
    error            TEXT,
    traceback        TEXT,
    timeout_s        REAL,
    idempotency_key  TEXT,
    initiated_by     TEXT,
    handled_by       TEXT,
    progress         REAL,
    progress_message TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    lease_token      TEXT,
    lease_expires_us INTEGER
);

-- Claim order: highest priority, then oldest (ids are time-ordered), pending only; run_at
-- rides along so the claim filters due tasks without reading rows. Claims name this
-- index (INDEXED BY): the planner otherwise prefers tasks_due and sorts every due task.
CREATE INDEX IF NOT EXISTS tasks_claim ON tasks (queue, priority DESC, id, run_at_us)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS tasks_lease ON tasks (lease_expires_us)
    WHERE status = 'processing';
CREATE INDEX IF NOT EXISTS tasks_status ON tasks (status, id);
CREATE UNIQUE INDEX IF NOT EXISTS tasks_idempotency ON tasks (idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Counts kept by triggers in the same transaction, so stats never scan the table.
CREATE TABLE IF NOT EXISTS task_counts (
    queue  TEXT NOT NULL,
    status TEXT NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (queue, status)
) WITHOUT ROWID;

-- Inserts add to the counts once per submit (see inserts.COUNT_INSERTED), not by a trigger
-- per row, which halved the rows a bulk submit could insert per second.
DROP TRIGGER IF EXISTS tasks_count_insert;

CREATE TRIGGER IF NOT EXISTS tasks_count_update AFTER UPDATE OF status ON tasks
WHEN old.status <> new.status BEGIN
    UPDATE task_counts SET n = n - 1 WHERE queue = old.queue AND status = old.status;
    INSERT INTO task_counts (queue, status, n) VALUES (new.queue, new.status, 1)
        ON CONFLICT (queue, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER IF NOT EXISTS tasks_count_delete AFTER DELETE ON tasks BEGIN
    UPDATE task_counts SET n = n - 1 WHERE queue = old.queue AND status = old.status;
END;

-- Totals that only grow (purges do not lower them): the dashboard's rates are their
-- differences. "submitted" counts inserts; each status counts the tasks that entered it.
CREATE TABLE IF NOT EXISTS task_totals (
    event TEXT PRIMARY KEY,
    n     INTEGER NOT NULL
) WITHOUT ROWID;

DROP TRIGGER IF EXISTS tasks_total_insert;  -- as tasks_count_insert

CREATE TRIGGER IF NOT EXISTS tasks_total_update AFTER UPDATE OF status ON tasks
WHEN old.status <> new.status BEGIN
    INSERT INTO task_totals (event, n) VALUES (new.status, 1)
        ON CONFLICT (event) DO UPDATE SET n = n + 1;
END;

CREATE TABLE IF NOT EXISTS workers (
    id          TEXT PRIMARY KEY,
    node        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    started_us  INTEGER NOT NULL,
    last_seen_us INTEGER NOT NULL,
    threads     TEXT NOT NULL,
    info        TEXT NOT NULL
);

-- Lets an idle worker sleep exactly until the next delayed task is due.
CREATE INDEX IF NOT EXISTS tasks_due ON tasks (queue, run_at_us) WHERE status = 'pending';

PRAGMA user_version = 1;

-- Retention purges by finish time.
CREATE INDEX IF NOT EXISTS tasks_finished ON tasks (finished_us) WHERE finished_us IS NOT NULL;
