CREATE TABLE stat_items (
    num INTEGER PRIMARY KEY,
    id  TEXT NOT NULL UNIQUE
);

CREATE TABLE stat_samples (
    item  INTEGER NOT NULL,
    at    INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (item, at)
) WITHOUT ROWID;

CREATE TABLE stat_aggregates (
    item   INTEGER NOT NULL,
    span   INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    n      INTEGER NOT NULL,
    total  REAL NOT NULL,
    low    REAL NOT NULL,
    high   REAL NOT NULL,
    PRIMARY KEY (item, span, bucket)
) WITHOUT ROWID;
