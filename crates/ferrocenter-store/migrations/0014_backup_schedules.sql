-- Backup schedules (appliance.recovery.backup.schedules). Both passwords are sealed by the
-- core under the data dir's key; no plain password is stored. parts and recurrence_days are
-- comma-separated names (`common,seat`, `MONDAY,FRIDAY`; empty: every day); a NULL hour and
-- minute is a schedule that runs only when asked; a NULL max_count keeps every archive. Times
-- are milliseconds since the epoch, UTC.
CREATE TABLE backup_schedules (
    id                TEXT PRIMARY KEY,
    parts             TEXT NOT NULL,
    location          TEXT NOT NULL,
    location_type     TEXT NOT NULL,
    location_user     TEXT,
    location_password TEXT,
    backup_password   TEXT,
    enable            BOOLEAN NOT NULL,
    recurrence_hour   BIGINT,
    recurrence_minute BIGINT,
    recurrence_days   TEXT NOT NULL,
    max_count         BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    last_run_at       BIGINT
);
