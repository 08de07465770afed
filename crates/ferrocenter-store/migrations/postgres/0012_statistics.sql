CREATE TABLE stat_items (
    num BIGSERIAL PRIMARY KEY,
    id  TEXT NOT NULL UNIQUE
);

CREATE TABLE stat_samples (
    item  BIGINT NOT NULL,
    at    BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (item, at)
);

CREATE TABLE stat_aggregates (
    item   BIGINT NOT NULL,
    span   BIGINT NOT NULL,
    bucket BIGINT NOT NULL,
    n      BIGINT NOT NULL,
    total  DOUBLE PRECISION NOT NULL,
    low    DOUBLE PRECISION NOT NULL,
    high   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (item, span, bucket)
);
