//! Versioned schema migrations of the PostgreSQL database.
//!
//! As with the SQLite file, the schema only moves forward through this
//! ordered list, one transaction per step, with the version in
//! `tally_schema`. Several workers may start at once, so each step holds a
//! transaction-level advisory lock: the first applies it, the others find it
//! applied. A database from a newer build is refused.

use super::{wait, PgStore};
use crate::StoreError;

/// The advisory lock that serialises migrations ("tally" in ASCII).
const LOCK: i64 = 0x0074_616c_6c79;

/// Each entry moves the schema from version `i` to `i + 1`. Append only: never
/// edit a migration that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: the SQLite file's version 5, for a server. A `series` row holds what
    // every point of one (source, metric, dimensions, entity) shares; a
    // `samples` row holds each point, keyed by (series, time), with its
    // attributes beside it. Restated values move to `sample_revisions`. The
    // `points` and `revisions` views read them back in one shape for
    // `tally query` and for BI tools.
    r#"
    CREATE TABLE series (
        id          bigserial PRIMARY KEY,
        source      text NOT NULL,
        metric      text NOT NULL,
        dimensions  text NOT NULL,              -- canonical JSON object, '{}' when none
        entity_kind text NOT NULL,
        entity_id   text NOT NULL,
        UNIQUE (source, metric, dimensions, entity_kind, entity_id)
    );
    CREATE TABLE samples (
        series_id   bigint           NOT NULL REFERENCES series (id),
        start_at    timestamptz      NOT NULL,  -- `at` of a gauge, `start` of a sum
        end_at      timestamptz      NOT NULL,  -- equal to start_at for a gauge, `end` of a sum
        value       double precision NOT NULL,
        unit        text             NOT NULL,
        kind        text             NOT NULL,
        platform    text             NOT NULL,
        entity_name text,
        raw_name    text             NOT NULL,
        observed_at timestamptz      NOT NULL,  -- when this value was first pulled
        PRIMARY KEY (series_id, start_at, end_at)
    );
    CREATE TABLE sample_revisions (
        id            bigserial        PRIMARY KEY,
        series_id     bigint           NOT NULL,
        start_at      timestamptz      NOT NULL,
        end_at        timestamptz      NOT NULL,
        value         double precision NOT NULL,
        unit          text             NOT NULL,
        entity_name   text,
        raw_name      text             NOT NULL,
        observed_at   timestamptz      NOT NULL,  -- when the old value was first pulled
        superseded_at timestamptz      NOT NULL   -- when a different value replaced it
    );
    CREATE INDEX sample_revisions_by_sample ON sample_revisions (series_id, start_at, end_at);

    CREATE VIEW points AS
        SELECT v.series_id, s.source, s.entity_kind, s.entity_id, s.metric, s.dimensions,
               v.start_at, v.end_at, v.value, v.unit, v.kind, v.platform, v.entity_name,
               v.raw_name, v.observed_at
        FROM samples v JOIN series s ON s.id = v.series_id;
    CREATE VIEW revisions AS
        SELECT series_id, start_at, end_at, value, unit, entity_name, raw_name,
               observed_at, superseded_at
        FROM sample_revisions;

    CREATE TABLE source_state (
        source     text PRIMARY KEY,
        state      jsonb       NOT NULL,
        updated_at timestamptz NOT NULL
    );
    CREATE TABLE runs (
        id           bigserial   PRIMARY KEY,
        source       text        NOT NULL,
        started_at   timestamptz NOT NULL,
        finished_at  timestamptz,
        status       text,                      -- NULL until finished
        error        text,
        points       bigint NOT NULL DEFAULT 0,
        inserted     bigint NOT NULL DEFAULT 0,
        revised      bigint NOT NULL DEFAULT 0,
        requests     bigint NOT NULL DEFAULT 0,
        retries      bigint NOT NULL DEFAULT 0,
        throttled    bigint NOT NULL DEFAULT 0,
        heartbeat_at timestamptz
    );
    CREATE INDEX runs_by_source ON runs (source, id);
    CREATE TABLE quota_usage (
        key          text        NOT NULL,
        window_start timestamptz NOT NULL,
        units        bigint      NOT NULL,
        PRIMARY KEY (key, window_start)
    );
    CREATE TABLE imported_sources (
        source      text PRIMARY KEY,
        client      text        NOT NULL,
        file        text        NOT NULL,
        imported_at timestamptz NOT NULL
    );
    "#,
    // 2: several `tally run` workers on one database. `workers` holds each
    // live worker and when it last said so; `leases` gives a credential's
    // sources to one worker at a time, so its pacing and quota hold across
    // workers; `pull_slots` records which worker took each planned pull
    // (source, planned time), so none runs twice and a dead worker's
    // unfinished ones are taken over. `runs.worker` names who pulled.
    r#"
    CREATE TABLE workers (
        id         text PRIMARY KEY,
        host       text        NOT NULL,
        pid        bigint      NOT NULL,
        started_at timestamptz NOT NULL,
        seen_at    timestamptz NOT NULL
    );
    CREATE TABLE leases (
        key        text PRIMARY KEY,
        label      text        NOT NULL,        -- the key without the credential's fingerprint
        worker     text        NOT NULL,
        expires_at timestamptz NOT NULL
    );
    CREATE TABLE pull_slots (
        source     text        NOT NULL,
        slot_at    timestamptz NOT NULL,
        worker     text        NOT NULL,
        claimed_at timestamptz NOT NULL,
        done_at    timestamptz,
        takeovers  integer     NOT NULL DEFAULT 0,
        PRIMARY KEY (source, slot_at)
    );
    CREATE INDEX pull_slots_open ON pull_slots (worker) WHERE done_at IS NULL;
    ALTER TABLE runs ADD COLUMN worker text;
    "#,
    // 3: quota a platform states in its answers, as the SQLite file's
    // version 7: the latest statement of each bucket of a budget.
    r#"
    CREATE TABLE quota_stated (
        key       text        NOT NULL,         -- platform@host:port/budget
        bucket    text        NOT NULL,
        budget    text        NOT NULL,         -- the budget as the connector names it
        remaining bigint      NOT NULL,
        cost      bigint      NOT NULL,         -- what one request costs
        resets_at timestamptz NOT NULL,
        PRIMARY KEY (key, bucket)
    );
    "#,
];

/// The schema version this build writes.
pub(super) fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the database up to [`latest_version`], refusing newer ones.
pub(super) fn migrate(store: &mut PgStore) -> Result<(), StoreError> {
    let label = store.label.clone();
    let known = latest_version();
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        let fail = |source| StoreError::PgMigration {
            url: label.clone(),
            version,
            detail: super::detail(&source),
            source,
        };
        let tx = wait(store.client.transaction()).map_err(fail)?;
        wait(tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])).map_err(fail)?;
        wait(tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS tally_schema (version bigint NOT NULL);
             INSERT INTO tally_schema SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM tally_schema);",
        ))
        .map_err(fail)?;
        let found: i64 = wait(tx.query_one("SELECT version FROM tally_schema", &[]))
            .map_err(fail)?
            .try_get(0)
            .map_err(fail)?;
        if found > known {
            return Err(StoreError::TooNew {
                path: label,
                found,
                known,
            });
        }
        if found >= version {
            continue;
        }
        wait(tx.batch_execute(sql)).map_err(fail)?;
        wait(tx.execute("UPDATE tally_schema SET version = $1", &[&version])).map_err(fail)?;
        wait(tx.commit()).map_err(fail)?;
    }
    Ok(())
}
