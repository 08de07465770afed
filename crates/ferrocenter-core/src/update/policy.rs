//! The update policy (`appliance.update.policy`): which repository the scheduled checks ask
//! (`custom_URL`, with a login and whether its certificate is checked), when they run
//! (`check_schedule`, weekly times in UTC) and whether an update they find is staged at once
//! (`auto_stage`). Kept as one setting of the store, its password sealed with the server's key.
//!
//! ferrocenter never installs by itself: `auto_update` is always false and `manual_control`
//! always true (install is an operator's call, seeds/003 chapter 9: "giving you the option to
//! initiate only the update phase manually").
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, Weekday};

use crate::auth::{Caller, Privilege};
use crate::ports::LocationSecret;
use crate::weekly::{check_time, day_name, next_due, parse_day, Recurrence};
use crate::{Core, CoreError};

const KEY: &str = "appliance.update.policy";

/// The event a change records.
pub const CHANGED_EVENT: &str = "com.ferrocenter.appliance.update.policy.changed";

/// More than one check an hour on every day of the week is not a schedule anyone needs, and
/// the list is kept in one setting.
pub const CHECK_TIMES_MAX: usize = 7 * 24;

/// One weekly check time, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckTime {
    #[serde(with = "day_serde")]
    pub day: Weekday,
    pub hour: u8,
    pub minute: u8,
}

impl CheckTime {
    fn recurrence(self) -> Recurrence {
        Recurrence {
            minute: self.minute,
            hour: self.hour,
            days: vec![self.day],
        }
    }
}

/// The policy as stored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdatePolicy {
    pub custom_url: Option<String>,
    pub username: Option<String>,
    /// Sealed with the server's key.
    pub password: Option<String>,
    pub check_schedule: Vec<CheckTime>,
    pub auto_stage: bool,
    pub certificate_check: bool,
    /// Its last change: check times before it are not owed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for UpdatePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdatePolicy")
            .field("custom_url", &self.custom_url)
            .field("username", &self.username)
            .field("check_schedule", &self.check_schedule)
            .field("auto_stage", &self.auto_stage)
            .field("certificate_check", &self.certificate_check)
            .finish_non_exhaustive()
    }
}

impl Default for UpdatePolicy {
    /// No repository of its own, no scheduled check, nothing staged by itself, certificates
    /// checked.
    fn default() -> Self {
        UpdatePolicy {
            custom_url: None,
            username: None,
            password: None,
            check_schedule: Vec::new(),
            auto_stage: false,
            certificate_check: true,
            updated_at: None,
        }
    }
}

impl UpdatePolicy {
    /// The first scheduled check time after `after`; none without a schedule.
    pub fn next_check(&self, after: OffsetDateTime) -> Option<OffsetDateTime> {
        self.check_schedule
            .iter()
            .map(|t| next_due(&t.recurrence(), after))
            .min()
    }
}

/// `policy.config` as a request gives it, before the rules.
#[derive(Clone, Default)]
pub struct PolicySpec {
    pub custom_url: Option<String>,
    pub username: Option<String>,
    pub password: Option<LocationSecret>,
    pub check_schedule: Vec<CheckTimeSpec>,
    pub auto_stage: bool,
    pub certificate_check: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct CheckTimeSpec {
    pub day: String,
    pub hour: i64,
    pub minute: i64,
}

/// `policy.info`: the policy as `get` shows it (never the password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInfo {
    pub custom_url: Option<String>,
    pub default_url: String,
    pub username: Option<String>,
    pub check_schedule: Vec<CheckTime>,
    pub auto_stage: bool,
    pub auto_update: bool,
    pub manual_control: bool,
    pub certificate_check: bool,
}

/// A repository URL: http or https with a host, errors naming `field`.
pub fn check_repository_url(field: &str, url: &str) -> Result<(), CoreError> {
    let parsed = url::Url::parse(url)
        .map_err(|e| CoreError::invalid(field, format!("'{url}' is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(CoreError::invalid(
            field,
            format!("'{url}': an update repository is reached over http or https"),
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(CoreError::invalid(field, format!("'{url}' names no host")));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(CoreError::invalid(
            field,
            "give the login as username and password, not inside the URL",
        ));
    }
    Ok(())
}

/// The rules of `policy.set`, errors naming `policy.<field>`. `previous` decides whether an
/// absent password keeps the stored one.
fn validate(
    spec: PolicySpec,
    previous: &UpdatePolicy,
    seal: impl Fn(&str) -> Result<String, CoreError>,
) -> Result<UpdatePolicy, CoreError> {
    let custom_url = spec
        .custom_url
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty());
    if let Some(u) = &custom_url {
        check_repository_url("policy.custom_URL", u)?;
    }
    let username = spec.username.filter(|u| !u.is_empty());
    if let Some(u) = &username {
        if u.len() > 256 || u.chars().any(char::is_control) || u.contains(':') {
            return Err(CoreError::invalid(
                "policy.username",
                "must be at most 256 characters, without ':' or control characters",
            ));
        }
    }
    let password = match spec.password {
        Some(p) if !p.expose().is_empty() => {
            if username.is_none() {
                return Err(CoreError::invalid(
                    "policy.password",
                    "a password needs a username",
                ));
            }
            Some(seal(p.expose())?)
        }
        // An absent password keeps the stored one only for the same repository and user, so a
        // password is never sent to a server it was not given for.
        _ if custom_url == previous.custom_url && username == previous.username => {
            previous.password.clone()
        }
        _ => None,
    };
    if spec.check_schedule.len() > CHECK_TIMES_MAX {
        return Err(CoreError::invalid(
            "policy.check_schedule",
            format!(
                "at most {CHECK_TIMES_MAX} check times, {} given",
                spec.check_schedule.len()
            ),
        ));
    }
    let mut check_schedule: Vec<CheckTime> = Vec::with_capacity(spec.check_schedule.len());
    for (i, t) in spec.check_schedule.iter().enumerate() {
        let at = format!("policy.check_schedule[{i}]");
        let day = parse_day(&t.day).ok_or_else(|| {
            CoreError::invalid(
                format!("{at}.day"),
                format!("{:?} is not a day of the week (MONDAY to SUNDAY)", t.day),
            )
        })?;
        let (hour, minute) = check_time(&at, t.hour, t.minute)?;
        let time = CheckTime { day, hour, minute };
        if check_schedule.contains(&time) {
            return Err(CoreError::invalid(
                at,
                format!(
                    "{} {hour:02}:{minute:02} is listed twice",
                    day_name(time.day)
                ),
            ));
        }
        check_schedule.push(time);
    }
    if spec.auto_stage && check_schedule.is_empty() {
        return Err(CoreError::invalid(
            "policy.auto_stage",
            "staging automatically needs a check_schedule to find updates",
        ));
    }
    Ok(UpdatePolicy {
        custom_url,
        username,
        password,
        check_schedule,
        auto_stage: spec.auto_stage,
        certificate_check: spec.certificate_check.unwrap_or(true),
        updated_at: None,
    })
}

impl Core {
    pub(crate) async fn read_update_policy(&self) -> Result<UpdatePolicy, CoreError> {
        match self.store.get_setting(KEY).await? {
            None => Ok(UpdatePolicy::default()),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                CoreError::internal(format!("the stored setting {KEY} is unreadable: {e}"))
            }),
        }
    }

    /// The update policy (`appliance.update.policy.get`).
    pub async fn update_policy(&self, caller: &Caller) -> Result<PolicyInfo, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let p = self.read_update_policy().await?;
        Ok(PolicyInfo {
            custom_url: p.custom_url,
            default_url: self.config.update.default_url.clone(),
            username: p.username,
            check_schedule: p.check_schedule,
            auto_stage: p.auto_stage,
            auto_update: false,
            manual_control: true,
            certificate_check: p.certificate_check,
        })
    }

    /// Replaces the update policy (`appliance.update.policy.set`), refused whole naming the
    /// field when one is not valid.
    pub async fn set_update_policy(
        &self,
        caller: &Caller,
        spec: PolicySpec,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceAdminister)?;
        let previous = self.read_update_policy().await?;
        let mut policy = validate(spec, &previous, |p| self.secrets.seal(p))?;
        policy.updated_at = Some(self.clock.now());
        let text = serde_json::to_string(&policy)
            .map_err(|e| CoreError::internal(format!("{KEY} could not be written: {e}")))?;
        self.store.put_setting(KEY, &text).await?;
        let schedule = policy
            .check_schedule
            .iter()
            .map(|t| format!("{} {:02}:{:02}", day_name(t.day), t.hour, t.minute))
            .collect::<Vec<_>>()
            .join(", ");
        let message = format!(
            "Update policy set: repository {}, checks {}, auto stage {}",
            policy.custom_url.as_deref().unwrap_or("(default)"),
            if schedule.is_empty() {
                "never"
            } else {
                &schedule
            },
            if policy.auto_stage { "on" } else { "off" },
        );
        tracing::info!(user = %caller.user, "{message}");
        self.record_event(
            CHANGED_EVENT,
            "appliance",
            "update.policy",
            "update policy",
            &caller.user,
            message,
            serde_json::json!({
                "custom_URL": policy.custom_url,
                "auto_stage": policy.auto_stage,
                "check_schedule": schedule,
            }),
        )
        .await;
        Ok(())
    }
}

/// Days as the vAPI names them.
mod day_serde {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Weekday;

    pub fn serialize<S: Serializer>(d: &Weekday, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(crate::weekly::day_name(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Weekday, D::Error> {
        let name = String::deserialize(d)?;
        crate::weekly::parse_day(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("{name:?} is not a day")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn field_of(e: CoreError) -> String {
        match e {
            CoreError::InvalidArgument { field, .. } => field,
            other => panic!("not invalid_argument: {other:?}"),
        }
    }

    fn at(day: &str, hour: i64, minute: i64) -> CheckTimeSpec {
        CheckTimeSpec {
            day: day.into(),
            hour,
            minute,
        }
    }

    fn seal(p: &str) -> Result<String, CoreError> {
        Ok(format!("sealed:{p}"))
    }

    #[test]
    fn each_rule_names_its_field() {
        let none = UpdatePolicy::default();
        let bad = |spec: PolicySpec| field_of(validate(spec, &none, seal).unwrap_err());
        for (url, why) in [
            ("ftp://repo", "scheme"),
            ("not a url", "parse"),
            ("https://u:p@repo/x", "login"),
        ] {
            let spec = PolicySpec {
                custom_url: Some(url.into()),
                ..Default::default()
            };
            assert_eq!(bad(spec), "policy.custom_URL", "{why}");
        }
        let schedule = |s: Vec<CheckTimeSpec>| PolicySpec {
            check_schedule: s,
            ..Default::default()
        };
        assert_eq!(
            bad(schedule(vec![at("FRIDAY", 23, 30), at("FUNDAY", 1, 0)])),
            "policy.check_schedule[1].day"
        );
        assert_eq!(
            bad(schedule(vec![at("FRIDAY", 24, 0)])),
            "policy.check_schedule[0].hour"
        );
        assert_eq!(
            bad(schedule(vec![at("FRIDAY", 1, 60)])),
            "policy.check_schedule[0].minute"
        );
        assert_eq!(
            bad(schedule(vec![at("FRIDAY", 1, 0), at("friday", 1, 0)])),
            "policy.check_schedule[1]"
        );
        assert_eq!(
            bad(PolicySpec {
                auto_stage: true,
                ..Default::default()
            }),
            "policy.auto_stage"
        );
        assert_eq!(
            bad(PolicySpec {
                password: Some(LocationSecret::new("pw")),
                ..Default::default()
            }),
            "policy.password"
        );
    }

    #[test]
    fn an_absent_password_is_kept_only_for_the_same_repository_and_user() {
        let spec = |url: &str, user: &str, pw: Option<&str>| PolicySpec {
            custom_url: Some(url.into()),
            username: Some(user.into()),
            password: pw.map(LocationSecret::new),
            ..Default::default()
        };
        let first = validate(
            spec("https://r/a", "u", Some("pw")),
            &UpdatePolicy::default(),
            seal,
        )
        .unwrap();
        assert_eq!(first.password.as_deref(), Some("sealed:pw"));
        let same = validate(spec("https://r/a", "u", None), &first, seal).unwrap();
        assert_eq!(same.password, first.password);
        let moved = validate(spec("https://other/a", "u", None), &first, seal).unwrap();
        assert_eq!(moved.password, None);
        let other_user = validate(spec("https://r/a", "v", None), &first, seal).unwrap();
        assert_eq!(other_user.password, None);
        assert!(first.certificate_check);
    }

    #[test]
    fn the_next_check_is_the_earliest_of_the_schedule() {
        let p = validate(
            PolicySpec {
                // The guide's example: Friday 23:30 and Saturday 12:30.
                check_schedule: vec![at("FRIDAY", 23, 30), at("SATURDAY", 12, 30)],
                auto_stage: true,
                ..Default::default()
            },
            &UpdatePolicy::default(),
            seal,
        )
        .unwrap();
        // 2026-12-11 is a Friday.
        assert_eq!(
            p.next_check(datetime!(2026-12-11 12:00 UTC)),
            Some(datetime!(2026-12-11 23:30 UTC))
        );
        assert_eq!(
            p.next_check(datetime!(2026-12-11 23:30 UTC)),
            Some(datetime!(2026-12-12 12:30 UTC))
        );
        assert_eq!(
            p.next_check(datetime!(2026-12-12 13:00 UTC)),
            Some(datetime!(2026-12-18 23:30 UTC))
        );
        assert_eq!(
            UpdatePolicy::default().next_check(datetime!(2026-12-11 12:00 UTC)),
            None
        );
    }
}
