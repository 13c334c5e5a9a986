-- The schema of a new store, written by the test `a_new_file_gets_the_schema_the_migrations_build`
-- (src/sqlite/migrate.rs) from what the migrations build. Do not edit.
CREATE TABLE source_state (
        source     TEXT PRIMARY KEY,
        state      TEXT    NOT NULL,
        updated_ms INTEGER NOT NULL
    );
CREATE TABLE runs (
        id          INTEGER PRIMARY KEY,
        source      TEXT    NOT NULL,
        started_ms  INTEGER NOT NULL,
        finished_ms INTEGER,
        status      TEXT,                       -- NULL until finished
        error       TEXT,
        points      INTEGER NOT NULL DEFAULT 0,
        inserted    INTEGER NOT NULL DEFAULT 0,
        revised     INTEGER NOT NULL DEFAULT 0,
        requests    INTEGER NOT NULL DEFAULT 0,
        retries     INTEGER NOT NULL DEFAULT 0,
        throttled   INTEGER NOT NULL DEFAULT 0
    , heartbeat_ms INTEGER);
CREATE INDEX runs_by_source ON runs (source, id);
CREATE TABLE quota_usage (
        key       TEXT    NOT NULL,
        window_ms INTEGER NOT NULL,
        units     INTEGER NOT NULL,
        PRIMARY KEY (key, window_ms)
    ) WITHOUT ROWID;
CREATE TABLE imported_sources (
        source      TEXT PRIMARY KEY,
        client      TEXT    NOT NULL,
        file        TEXT    NOT NULL,
        imported_ms INTEGER NOT NULL
    );
CREATE TABLE store_checks (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        checked_ms INTEGER NOT NULL,
        took_ms    INTEGER NOT NULL
    );
CREATE TABLE quota_stated (
        key       TEXT    NOT NULL,             -- platform@host:port/budget
        bucket    TEXT    NOT NULL,
        budget    TEXT    NOT NULL,             -- the budget as the connector names it
        remaining INTEGER NOT NULL,
        cost      INTEGER NOT NULL,             -- what one request costs
        resets_ms INTEGER NOT NULL,
        PRIMARY KEY (key, bucket)
    ) WITHOUT ROWID;
CREATE TABLE metrics (
        id          INTEGER PRIMARY KEY,
        name        TEXT    NOT NULL,
        entity_kind TEXT    NOT NULL,
        UNIQUE (name, entity_kind)
    );
CREATE TABLE point_attrs (
        id       INTEGER PRIMARY KEY,
        kind     TEXT    NOT NULL,
        platform TEXT    NOT NULL,
        unit     TEXT    NOT NULL,
        raw_name TEXT    NOT NULL,
        UNIQUE (raw_name, unit, kind, platform)
    );
CREATE TABLE entity_names (
        id   INTEGER PRIMARY KEY,
        name TEXT
    );
CREATE INDEX entity_names_by_name ON entity_names (name);
CREATE TABLE dimension_sets (
        id         INTEGER PRIMARY KEY,
        dimensions TEXT    NOT NULL UNIQUE      -- canonical JSON object, '{}' when none
    );
CREATE TABLE "samples" (
        entity_ref     INTEGER NOT NULL,        -- entities (id)
        dimensions_ref INTEGER NOT NULL,        -- dimension_sets (id)
        metric_id      INTEGER NOT NULL,
        start_ms       INTEGER NOT NULL,        -- `at` of a gauge, `start` of a sum (unix ms, UTC)
        end_ms         INTEGER NOT NULL,        -- equal to start_ms for a gauge, `end` of a sum
        value          REAL    NOT NULL,
        observed_ms    INTEGER NOT NULL,        -- when this value was first pulled
        attrs          INTEGER NOT NULL,        -- kind, platform, unit, raw name
        renamed        INTEGER,                 -- NULL: the entity's name
        PRIMARY KEY (entity_ref, dimensions_ref, metric_id, start_ms, end_ms)
    ) WITHOUT ROWID;
CREATE TABLE "point_revisions" (
        id             INTEGER PRIMARY KEY,
        entity_ref     INTEGER NOT NULL,
        dimensions_ref INTEGER NOT NULL,
        metric_id      INTEGER NOT NULL,
        start_ms       INTEGER NOT NULL,
        end_ms         INTEGER NOT NULL,
        value          REAL    NOT NULL,
        attrs          INTEGER NOT NULL,
        renamed        INTEGER,                 -- NULL: the entity's name
        observed_ms    INTEGER NOT NULL,        -- when the old value was first pulled
        superseded_ms  INTEGER NOT NULL         -- when a different value replaced it
    );
CREATE INDEX point_revisions_by_sample
        ON point_revisions (entity_ref, dimensions_ref, metric_id, start_ms, end_ms);
CREATE TABLE source_kinds (
        id          INTEGER PRIMARY KEY,
        source      TEXT    NOT NULL,
        entity_kind TEXT    NOT NULL,
        UNIQUE (source, entity_kind)
    );
CREATE TABLE "entities" (
        id          INTEGER PRIMARY KEY,
        source_kind INTEGER NOT NULL,           -- source_kinds (id)
        entity_id   TEXT    NOT NULL,
        entity_name TEXT,                       -- as first written
        -- Finds an entity by its key, and a source's accounts without
        -- walking its posts (through their source_kinds rows).
        UNIQUE (source_kind, entity_id)
    );
CREATE VIEW points AS
        SELECT v.entity_ref AS entity_ref, v.dimensions_ref AS dimensions_ref,
               v.metric_id AS metric_id, k.source AS source, k.entity_kind AS entity_kind,
               e.entity_id AS entity_id, m.name AS metric, d.dimensions AS dimensions,
               v.start_ms AS start_ms, v.end_ms AS end_ms, v.value AS value, a.unit AS unit,
               a.kind AS kind, a.platform AS platform,
               CASE WHEN v.renamed IS NULL THEN e.entity_name ELSE n.name END AS entity_name,
               a.raw_name AS raw_name, v.observed_ms AS observed_ms
        FROM samples v JOIN entities e ON e.id = v.entity_ref
        JOIN source_kinds k ON k.id = e.source_kind
        JOIN dimension_sets d ON d.id = v.dimensions_ref
        JOIN metrics m ON m.id = v.metric_id
        JOIN point_attrs a ON a.id = v.attrs
        LEFT JOIN entity_names n ON n.id = v.renamed;
CREATE VIEW revisions AS
        SELECT r.entity_ref AS entity_ref, r.dimensions_ref AS dimensions_ref,
               r.metric_id AS metric_id, r.start_ms AS start_ms, r.end_ms AS end_ms,
               r.value AS value, a.unit AS unit,
               CASE WHEN r.renamed IS NULL THEN e.entity_name ELSE n.name END AS entity_name,
               a.raw_name AS raw_name, r.observed_ms AS observed_ms,
               r.superseded_ms AS superseded_ms
        FROM point_revisions r JOIN entities e ON e.id = r.entity_ref
        JOIN point_attrs a ON a.id = r.attrs
        LEFT JOIN entity_names n ON n.id = r.renamed;
