//! Backup schedules (`recovery.backup.schedules`, seeds/003 "Schedule a Backup Job"): a
//! location, the parts, when to run (minute, hour, days of the week, in UTC) and how many
//! archives to keep. Each run writes `<location>/<system name>/S_<version>_<UTC time>`; once it
//! succeeds, the oldest scheduled archives beyond `max_count` in that directory are deleted.
//!
//! The scheduler wakes every `RecoveryConfig::schedule_check` and fires each enabled schedule
//! whose next due time (after its last run or its last change) has passed. A due time missed
//! while the server was down fires once when it starts again, not once per missed time. A run
//! due while another backup or restore runs is skipped with a warning event and waits for the
//! next due time.
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::backup_job::{BackupJob, BackupJobType, BackupRequest};
use super::layout::{archive_name, below, parse_archive_name};
use super::manifest::this_version;
use super::{location_type_of, parse_parts, request_location, PartId};
use crate::auth::{Caller, Privilege};
use crate::ports::{Location, LocationSecret, LocationType, StoreError};
use crate::tasks::TaskState;
use crate::ticker::Ticker;
use crate::weekly::check_time;
pub use crate::weekly::{day_name, next_due, parse_day, Recurrence};
use crate::{Core, CoreError};

/// A schedule as stored. The passwords are sealed with the server's secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct BackupSchedule {
    pub id: String,
    pub parts: Vec<String>,
    pub location: String,
    pub location_type: LocationType,
    pub location_user: Option<String>,
    /// Sealed.
    pub location_password: Option<String>,
    /// Sealed; none for unencrypted archives.
    pub backup_password: Option<String>,
    pub enable: bool,
    /// None: it runs only when asked (`run`).
    pub recurrence: Option<Recurrence>,
    /// None: every archive is kept.
    pub max_count: Option<u32>,
    pub created_at: OffsetDateTime,
    /// Its last change: due times before it are not owed.
    pub updated_at: OffsetDateTime,
    pub last_run_at: Option<OffsetDateTime>,
}

impl fmt::Debug for BackupSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupSchedule")
            .field("id", &self.id)
            .field("parts", &self.parts)
            .field("location", &self.location)
            .field("location_type", &self.location_type)
            .field("location_user", &self.location_user)
            .field("enable", &self.enable)
            .field("recurrence", &self.recurrence)
            .field("max_count", &self.max_count)
            .field("last_run_at", &self.last_run_at)
            .finish_non_exhaustive()
    }
}

/// `recurrence_info` as a request gives it, checked by the core.
#[derive(Debug, Clone, Default)]
pub struct RecurrenceSpec {
    pub minute: i64,
    pub hour: i64,
    /// Day names (`MONDAY`); absent or empty: every day.
    pub days: Option<Vec<String>>,
}

/// `create_spec` and `update_spec`: on update an absent field keeps its value.
#[derive(Clone, Default)]
pub struct ScheduleSpec {
    pub parts: Option<Vec<String>>,
    pub backup_password: Option<LocationSecret>,
    pub location: Option<String>,
    pub location_user: Option<String>,
    pub location_password: Option<LocationSecret>,
    pub enable: Option<bool>,
    pub recurrence: Option<RecurrenceSpec>,
    /// `retention_info.max_count`.
    pub max_count: Option<i64>,
}

/// A schedule as `get` and `list` show it (no passwords).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleInfo {
    pub id: String,
    pub parts: Vec<String>,
    pub location: String,
    pub location_user: Option<String>,
    pub enable: bool,
    pub recurrence: Option<Recurrence>,
    pub max_count: Option<u32>,
    pub last_run_at: Option<OffsetDateTime>,
}

/// A schedule id: 1 to 64 letters, digits, `.`, `_` or `-`.
fn check_id(id: &str) -> Result<(), CoreError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(
            "schedule",
            "must be 1 to 64 letters, digits, '.', '_' or '-'",
        ))
    }
}

fn check_recurrence(r: &RecurrenceSpec) -> Result<Recurrence, CoreError> {
    let (hour, minute) = check_time("spec.recurrence_info", r.hour, r.minute)?;
    let mut days = Vec::new();
    for name in r.days.iter().flatten() {
        let d = parse_day(name).ok_or_else(|| {
            CoreError::invalid(
                "spec.recurrence_info.days",
                format!("{name:?} is not a day of the week (MONDAY to SUNDAY)"),
            )
        })?;
        if !days.contains(&d) {
            days.push(d);
        }
    }
    days.sort_by_key(|d| d.number_days_from_monday());
    Ok(Recurrence { minute, hour, days })
}

fn check_max_count(n: i64) -> Result<u32, CoreError> {
    u32::try_from(n)
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| CoreError::invalid("spec.retention_info.max_count", "must be at least 1"))
}

/// The request's fields are named under `spec.` in a schedule's errors.
/// The checks `create` makes of a whole spec short of reaching its location: what an
/// infrastructure profile's validation asks of the schedules it carries.
pub(crate) fn check_spec_offline(id: &str, spec: &ScheduleSpec) -> Result<(), CoreError> {
    check_id(id)?;
    let location = spec
        .location
        .as_deref()
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| CoreError::invalid("spec.location", "is required"))?;
    location_type_of(location).map_err(|e| under_spec(e.into()))?;
    if let Some(parts) = &spec.parts {
        parse_parts(parts).map_err(|e| under_spec(e.into()))?;
    }
    if let Some(r) = &spec.recurrence {
        check_recurrence(r)?;
    }
    if let Some(n) = spec.max_count {
        check_max_count(n)?;
    }
    Ok(())
}

fn under_spec(e: CoreError) -> CoreError {
    match e {
        CoreError::InvalidArgument { field, reason } if !field.starts_with("spec.") => {
            CoreError::InvalidArgument {
                field: format!("spec.{field}"),
                reason,
            }
        }
        other => other,
    }
}

fn info_of(s: &BackupSchedule) -> ScheduleInfo {
    ScheduleInfo {
        id: s.id.clone(),
        parts: s.parts.clone(),
        location: s.location.clone(),
        location_user: s.location_user.clone(),
        enable: s.enable,
        recurrence: s.recurrence.clone(),
        max_count: s.max_count,
        last_run_at: s.last_run_at,
    }
}

fn store_err(e: StoreError, id: &str) -> CoreError {
    match e {
        StoreError::Conflict(_) => CoreError::AlreadyExists {
            what: "backup schedule".into(),
            name: id.into(),
        },
        other => other.into(),
    }
}

impl Core {
    /// `schedules.create`: checks every field and that the location takes a write with these
    /// credentials, so a schedule that could never run is refused now, not at 3 a.m.
    pub async fn backup_schedule_create(
        &self,
        caller: &Caller,
        id: &str,
        spec: ScheduleSpec,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        check_id(id)?;
        let location = spec
            .location
            .clone()
            .filter(|l| !l.trim().is_empty())
            .ok_or_else(|| CoreError::invalid("spec.location", "is required"))?;
        let now = self.clock.now();
        let mut s = BackupSchedule {
            id: id.to_string(),
            // As vCenter: every part selected by default unless the spec says otherwise.
            parts: PartId::ALL
                .into_iter()
                .filter(|p| p.info().selected_by_default)
                .map(|p| p.as_str().to_string())
                .collect(),
            location_type: location_type_of(&location).map_err(|e| under_spec(e.into()))?,
            location,
            location_user: None,
            location_password: None,
            backup_password: None,
            enable: true,
            recurrence: None,
            max_count: None,
            created_at: now,
            updated_at: now,
            last_run_at: None,
        };
        self.apply_spec(&mut s, spec, true).await?;
        self.store
            .insert_backup_schedule(&s)
            .await
            .map_err(|e| store_err(e, id))?;
        info!(schedule = %id, location = %s.location, "backup schedule created");
        Ok(())
    }

    /// `schedules.update`: the fields given replace the schedule's; the location is checked
    /// again when it or its credentials change.
    pub async fn backup_schedule_update(
        &self,
        caller: &Caller,
        id: &str,
        spec: ScheduleSpec,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let mut s = self.schedule(id).await?;
        if let Some(l) = &spec.location {
            if l.trim().is_empty() {
                return Err(CoreError::invalid("spec.location", "must not be empty"));
            }
            s.location_type = location_type_of(l).map_err(|e| under_spec(e.into()))?;
            s.location = l.clone();
        }
        s.updated_at = self.clock.now();
        self.apply_spec(&mut s, spec, false).await?;
        if !self.store.update_backup_schedule(&s).await? {
            return Err(CoreError::not_found("backup schedule", id));
        }
        info!(schedule = %id, "backup schedule updated");
        Ok(())
    }

    /// Checks and applies everything but the location's URL (set by the caller), then checks
    /// the location if anything that reaches it changed.
    async fn apply_spec(
        &self,
        s: &mut BackupSchedule,
        spec: ScheduleSpec,
        creating: bool,
    ) -> Result<(), CoreError> {
        let reaches_location = creating
            || spec.location.is_some()
            || spec.location_user.is_some()
            || spec.location_password.is_some();
        if let Some(parts) = spec.parts {
            let parsed = parse_parts(&parts).map_err(|e| under_spec(e.into()))?;
            s.parts = parsed.iter().map(|p| p.as_str().to_string()).collect();
        }
        if let Some(pw) = spec.backup_password {
            s.backup_password = if pw.expose().is_empty() {
                None
            } else {
                Some(self.secrets.seal(pw.expose())?)
            };
        }
        if let Some(u) = spec.location_user {
            s.location_user = Some(u).filter(|u| !u.is_empty());
        }
        if let Some(pw) = spec.location_password {
            s.location_password = Some(self.secrets.seal(pw.expose())?);
        }
        if let Some(e) = spec.enable {
            s.enable = e;
        }
        if let Some(r) = &spec.recurrence {
            s.recurrence = Some(check_recurrence(r)?);
        }
        if let Some(n) = spec.max_count {
            s.max_count = Some(check_max_count(n)?);
        }
        if reaches_location {
            let loc = self.location_of(s)?;
            self.backup_target
                .check(&loc)
                .await
                .map_err(|e| under_spec(e.into()))?;
        }
        Ok(())
    }

    /// The schedule's location with its credentials opened, read as every request's is.
    fn location_of(&self, s: &BackupSchedule) -> Result<Location, CoreError> {
        let password = s
            .location_password
            .as_deref()
            .map(|p| self.secrets.open(p).map(LocationSecret::new))
            .transpose()?;
        request_location(
            s.location_type,
            &s.location,
            s.location_user.as_deref(),
            password,
        )
        .map_err(under_spec)
    }

    async fn schedule(&self, id: &str) -> Result<BackupSchedule, CoreError> {
        self.store
            .get_backup_schedule(id)
            .await?
            .ok_or_else(|| CoreError::not_found("backup schedule", id))
    }

    /// `schedules.get`.
    pub async fn backup_schedule_get(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<ScheduleInfo, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        Ok(info_of(&self.schedule(id).await?))
    }

    /// `schedules.list`, by id.
    pub async fn backup_schedule_list(
        &self,
        caller: &Caller,
    ) -> Result<Vec<ScheduleInfo>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        Ok(self
            .store
            .list_backup_schedules()
            .await?
            .iter()
            .map(info_of)
            .collect())
    }

    /// `schedules.delete`: the schedule goes; its archives stay where they are.
    pub async fn backup_schedule_delete(&self, caller: &Caller, id: &str) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        if !self.store.delete_backup_schedule(id).await? {
            return Err(CoreError::not_found("backup schedule", id));
        }
        info!(schedule = %id, "backup schedule deleted");
        Ok(())
    }

    /// `schedules.run`: runs the schedule now, whether enabled or not; refused while another
    /// backup or restore runs.
    pub async fn backup_schedule_run(
        &self,
        caller: &Caller,
        id: &str,
        comment: Option<String>,
    ) -> Result<BackupJob, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let s = self.schedule(id).await?;
        self.run_schedule(&s, &caller.user, comment).await
    }

    /// Starts one run of `s` into a new archive under its location, records it, and applies
    /// the retention once the run succeeds.
    pub(crate) async fn run_schedule(
        &self,
        s: &BackupSchedule,
        initiator: &str,
        comment: Option<String>,
    ) -> Result<BackupJob, CoreError> {
        let now = self.clock.now();
        let loc = self.location_of(s)?;
        let system = self.config.recovery.system_name.clone();
        let archive = archive_name(true, this_version(), now);
        let backup_password = s
            .backup_password
            .as_deref()
            .map(|p| self.secrets.open(p).map(LocationSecret::new))
            .transpose()?;
        let job = self
            .backup_start(
                initiator,
                BackupRequest {
                    parts: s.parts.clone(),
                    backup_password,
                    location: below(&loc, &format!("{system}/{archive}")),
                    comment: Some(comment.unwrap_or_else(|| format!("schedule {}", s.id))),
                    job_type: BackupJobType::Scheduled,
                },
            )
            .await?;
        self.store.record_backup_schedule_run(&s.id, now).await?;
        info!(schedule = %s.id, job = %job.id, archive = %archive, "scheduled backup started");
        if let Some(keep) = s.max_count {
            let core = self.self_arc();
            let (job_id, schedule) = (job.id.clone(), s.id.clone());
            let base = below(&loc, &system);
            tokio::spawn(async move {
                match core.tasks.wait(&job_id).await {
                    Ok(t) if t.state == TaskState::Success => {
                        if let Err(e) = core.apply_retention(&base, keep).await {
                            warn!(schedule = %schedule, error = %e, "backup retention failed");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => warn!(job = %job_id, error = %e, "cannot follow a scheduled backup"),
                }
            });
        }
        Ok(job)
    }

    /// Deletes the oldest scheduled archives under `base` (`<location>/<system name>`) beyond
    /// the newest `keep`. Manual archives and anything else there are left alone.
    async fn apply_retention(&self, base: &Location, keep: u32) -> Result<(), CoreError> {
        let entries = self.backup_target.list(base, "").await?;
        let mut archives: Vec<(String, String)> = entries
            .iter()
            .filter(|e| e.is_dir)
            .filter_map(|e| {
                parse_archive_name(&e.name)
                    .filter(|a| a.scheduled)
                    .map(|a| (a.stamp.to_string(), e.name.clone()))
            })
            .collect();
        archives.sort();
        let surplus = archives.len().saturating_sub(keep as usize);
        for (_, name) in archives.into_iter().take(surplus) {
            self.backup_target.delete(base, &name).await?;
            info!(archive = %name, location = %base.url, "old scheduled backup deleted (retention)");
        }
        Ok(())
    }

    /// Starts the scheduler; it runs until `stop` is cancelled.
    pub fn start_backup_schedules(&self, stop: CancellationToken) {
        let core = self.self_arc();
        let every = self.config.recovery.schedule_check;
        tokio::spawn(async move {
            // The due times each schedule was last fired (or skipped) at, in this process: a
            // restart starts empty, which is what makes a missed run fire once at start.
            let mut fired: HashMap<String, OffsetDateTime> = HashMap::new();
            let mut ticker = Ticker::new(every, stop);
            while ticker.next().await {
                core.schedule_round(&mut fired).await;
            }
        });
    }

    /// Fires every enabled schedule whose next due time has passed.
    async fn schedule_round(&self, fired: &mut HashMap<String, OffsetDateTime>) {
        let schedules = match self.store.list_backup_schedules().await {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "backup schedules: cannot list them");
                return;
            }
        };
        let now = self.clock.now();
        fired.retain(|id, _| schedules.iter().any(|s| &s.id == id));
        for s in schedules.iter().filter(|s| s.enable) {
            let Some(r) = &s.recurrence else { continue };
            let anchor = [Some(s.updated_at), s.last_run_at, fired.get(&s.id).copied()]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(s.created_at);
            if next_due(r, anchor) > now {
                continue;
            }
            fired.insert(s.id.clone(), now);
            self.fire(s).await;
        }
    }

    async fn fire(&self, s: &BackupSchedule) {
        let skipped = |why: String| format!("Scheduled backup {} did not run: {why}", s.id);
        let message = match self.recovery.busy() {
            Some(busy) => skipped(format!("{busy}; it runs at its next due time")),
            None => match self
                .run_schedule(s, &format!("schedule {}", s.id), None)
                .await
            {
                Ok(_) => return,
                Err(e) => skipped(e.to_string()),
            },
        };
        warn!(schedule = %s.id, "{message}");
        self.record_event(
            SKIPPED_EVENT,
            "backup_schedule",
            &s.id,
            &s.id,
            "system",
            message,
            serde_json::json!({}),
        )
        .await;
    }
}

/// The event a skipped run records (vim shows it as an `EventEx` of this type id).
pub const SKIPPED_EVENT: &str = "com.ferrocenter.recovery.backup.schedule.skipped";

/// How often the scheduler looks at the clock by default.
pub const DEFAULT_SCHEDULE_CHECK: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;
    use time::Weekday;

    #[test]
    fn recurrence_fields_are_named() {
        let field = |r: RecurrenceSpec| match check_recurrence(&r).unwrap_err() {
            CoreError::InvalidArgument { field, .. } => field,
            e => panic!("{e}"),
        };
        assert_eq!(
            field(RecurrenceSpec {
                hour: 24,
                ..Default::default()
            }),
            "spec.recurrence_info.hour"
        );
        assert_eq!(
            field(RecurrenceSpec {
                minute: -1,
                ..Default::default()
            }),
            "spec.recurrence_info.minute"
        );
        assert_eq!(
            field(RecurrenceSpec {
                days: Some(vec!["FUNDAY".into()]),
                ..Default::default()
            }),
            "spec.recurrence_info.days"
        );
        let r = check_recurrence(&RecurrenceSpec {
            minute: 59,
            hour: 23,
            days: Some(vec!["friday".into(), "MONDAY".into(), "FRIDAY".into()]),
        })
        .unwrap();
        assert_eq!(r.days, vec![Weekday::Monday, Weekday::Friday]);
        assert!(check_max_count(0).is_err());
        assert!(check_id("a/b").is_err());
        assert!(check_id("daily-1").is_ok());
    }
}
