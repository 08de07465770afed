//! The SSO domain's password and lockout policies: what they hold, their defaults (the
//! VMware vSphere 8 security configuration guide's hardening values) and their checks.
//! Both are stored as settings; the lockout policy is applied to the one login path
//! (`auth::Lockout`) at start and whenever it is set.
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::auth::password::{PASSWORD_MAX_BYTES, PASSWORD_MIN_CHARS};
use crate::auth::{LockoutPolicy, PasswordRule};
use crate::CoreError;

/// The setting holding [`SsoPasswordPolicy`] (JSON).
pub const PASSWORD_POLICY_KEY: &str = "sso.password_policy";
/// The setting holding [`SsoLockoutPolicy`] (JSON).
pub const LOCKOUT_POLICY_KEY: &str = "sso.lockout_policy";

/// The most earlier passwords a history may remember (vCenter SSO allows up to 24; each entry costs a
/// hash verification on every change).
pub const HISTORY_MAX: u32 = 24;
/// The longest password lifetime, in days (as local accounts' day counts are bounded).
pub const LIFETIME_MAX_DAYS: u32 = 99_999;
/// The most failed attempts before a lock that may be configured.
pub const ATTEMPTS_MAX: u32 = 100;
/// The longest failed-attempt interval and unlock time, in seconds (one day).
pub const SECONDS_MAX: u64 = 86_400;

/// What every new password of an SSO user must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoPasswordPolicy {
    pub min_length: u32,
    pub max_length: u32,
    pub min_uppercase: u32,
    pub min_lowercase: u32,
    pub min_numeric: u32,
    /// Characters that are neither letters nor digits.
    pub min_special: u32,
    /// How many of the user's latest passwords (the current one included) a new one may not
    /// repeat; 0 remembers none.
    pub history: u32,
    /// Days a password lives before logins with it are refused; 0 is forever.
    pub max_lifetime_days: u32,
}

impl Default for SsoPasswordPolicy {
    /// vSphere 8 hardening: at least 15 characters with one of each class, the last 5
    /// passwords not reused, a 90-day lifetime; vCenter SSO's default longest password (20).
    fn default() -> Self {
        SsoPasswordPolicy {
            min_length: 15,
            max_length: 20,
            min_uppercase: 1,
            min_lowercase: 1,
            min_numeric: 1,
            min_special: 1,
            history: 5,
            max_lifetime_days: 90,
        }
    }
}

impl SsoPasswordPolicy {
    fn rule(&self) -> PasswordRule {
        PasswordRule {
            min_length: self.min_length as usize,
            min_uppercase: self.min_uppercase as usize,
            min_lowercase: self.min_lowercase as usize,
            min_digits: self.min_numeric as usize,
            min_special: self.min_special as usize,
        }
    }

    /// Checks a new password's composition (not its history); the error names `field`.
    pub fn check(&self, field: &str, password: &str) -> Result<(), CoreError> {
        self.rule().check(field, password)?;
        if password.chars().count() > self.max_length as usize {
            return Err(CoreError::invalid(
                field,
                format!("must be at most {} characters long", self.max_length),
            ));
        }
        Ok(())
    }

    /// Whether the policy can be met and stays within the server's bounds; the error names
    /// the field (`policy.min_length`).
    pub fn validate(&self) -> Result<(), CoreError> {
        let longest = PASSWORD_MAX_BYTES as u32;
        if !(PASSWORD_MIN_CHARS as u32..=longest).contains(&self.min_length) {
            return Err(CoreError::invalid(
                "policy.min_length",
                format!("must be {PASSWORD_MIN_CHARS} to {longest}"),
            ));
        }
        if !(self.min_length..=longest).contains(&self.max_length) {
            return Err(CoreError::invalid(
                "policy.max_length",
                format!("must be min_length ({}) to {longest}", self.min_length),
            ));
        }
        let classes = [
            ("policy.min_uppercase", self.min_uppercase),
            ("policy.min_lowercase", self.min_lowercase),
            ("policy.min_numeric", self.min_numeric),
            ("policy.min_special", self.min_special),
        ];
        let mut sum = 0u32;
        for (field, n) in classes {
            sum = sum.saturating_add(n);
            if sum > self.max_length {
                return Err(CoreError::invalid(
                    field,
                    format!(
                        "makes the character classes need more than max_length ({}) characters",
                        self.max_length
                    ),
                ));
            }
        }
        if self.history > HISTORY_MAX {
            return Err(CoreError::invalid(
                "policy.history",
                format!("must be 0 to {HISTORY_MAX}"),
            ));
        }
        if self.max_lifetime_days > LIFETIME_MAX_DAYS {
            return Err(CoreError::invalid(
                "policy.max_lifetime_days",
                format!("must be 0 (never expires) to {LIFETIME_MAX_DAYS}"),
            ));
        }
        Ok(())
    }

    /// The password days an SSO user's password lives by.
    pub fn lifetime_days(&self) -> Option<i64> {
        (self.max_lifetime_days > 0).then_some(i64::from(self.max_lifetime_days))
    }
}

/// When failed logins lock an SSO user, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoLockoutPolicy {
    /// Failures from one address within the interval that lock the account for it.
    pub max_failed_attempts: u32,
    pub failed_attempt_interval_secs: u64,
    /// How long a lock lasts before it ends by itself.
    pub auto_unlock_secs: u64,
}

impl Default for SsoLockoutPolicy {
    /// vSphere 8 hardening: 5 failures within 180 s lock the account for 900 s.
    fn default() -> Self {
        SsoLockoutPolicy::from(LockoutPolicy::default())
    }
}

impl From<LockoutPolicy> for SsoLockoutPolicy {
    fn from(p: LockoutPolicy) -> Self {
        SsoLockoutPolicy {
            max_failed_attempts: p.max_failures,
            failed_attempt_interval_secs: p.window.as_secs(),
            auto_unlock_secs: p.duration.as_secs(),
        }
    }
}

impl SsoLockoutPolicy {
    /// `base` (the backoff and the backstop the policy does not name) with these values.
    pub fn applied_to(&self, base: LockoutPolicy) -> LockoutPolicy {
        LockoutPolicy {
            max_failures: self.max_failed_attempts,
            window: Duration::from_secs(self.failed_attempt_interval_secs),
            duration: Duration::from_secs(self.auto_unlock_secs),
            ..base
        }
    }

    pub fn validate(&self) -> Result<(), CoreError> {
        if !(1..=ATTEMPTS_MAX).contains(&self.max_failed_attempts) {
            return Err(CoreError::invalid(
                "policy.max_failed_attempts",
                format!("must be 1 to {ATTEMPTS_MAX}"),
            ));
        }
        for (field, v) in [
            (
                "policy.failed_attempt_interval_secs",
                self.failed_attempt_interval_secs,
            ),
            ("policy.auto_unlock_secs", self.auto_unlock_secs),
        ] {
            if !(1..=SECONDS_MAX).contains(&v) {
                return Err(CoreError::invalid(
                    field,
                    format!("must be 1 to {SECONDS_MAX} seconds"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_hardening_values_and_valid() {
        let p = SsoPasswordPolicy::default();
        assert_eq!((p.min_length, p.history, p.max_lifetime_days), (15, 5, 90));
        p.validate().unwrap();
        let l = SsoLockoutPolicy::default();
        assert_eq!(
            (
                l.max_failed_attempts,
                l.failed_attempt_interval_secs,
                l.auto_unlock_secs
            ),
            (5, 180, 900)
        );
        l.validate().unwrap();
    }

    #[test]
    fn a_password_is_checked_for_length_and_each_class() {
        let p = SsoPasswordPolicy::default();
        p.check("password", "Fifteen-chars-1").unwrap();
        for (bad, says) in [
            ("Short-pass-1", "at least 15"),
            ("Much-too-long-password-1", "at most 20"),
            ("fifteen-chars-1", "upper-case"),
            ("FIFTEEN-CHARS-1", "lower-case"),
            ("Fifteen-chars-x", "digits"),
            ("Fifteencharsxx1", "other than letters"),
        ] {
            let e = p.check("spec.password", bad).unwrap_err().to_string();
            assert!(
                e.contains("spec.password") && e.contains(says),
                "{bad}: {e}"
            );
            assert!(!e.contains(bad), "the error repeats the password");
        }
    }

    #[test]
    fn impossible_policies_name_their_field() {
        let base = SsoPasswordPolicy::default();
        for (p, field) in [
            (
                SsoPasswordPolicy {
                    min_length: 4,
                    ..base
                },
                "policy.min_length",
            ),
            (
                SsoPasswordPolicy {
                    max_length: 10,
                    ..base
                },
                "policy.max_length",
            ),
            (
                SsoPasswordPolicy {
                    min_special: 19,
                    ..base
                },
                "policy.min_special",
            ),
            (
                SsoPasswordPolicy {
                    history: 25,
                    ..base
                },
                "policy.history",
            ),
        ] {
            let e = p.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{e}");
        }
        let e = SsoLockoutPolicy {
            max_failed_attempts: 0,
            ..Default::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("policy.max_failed_attempts"), "{e}");
        let e = SsoLockoutPolicy {
            auto_unlock_secs: 0,
            ..Default::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("policy.auto_unlock_secs"), "{e}");
    }

    #[test]
    fn the_lockout_policy_keeps_the_backoff_it_does_not_name() {
        let base = LockoutPolicy::default();
        let applied = SsoLockoutPolicy {
            max_failed_attempts: 3,
            failed_attempt_interval_secs: 60,
            auto_unlock_secs: 120,
        }
        .applied_to(base);
        assert_eq!(applied.max_failures, 3);
        assert_eq!(applied.window, Duration::from_secs(60));
        assert_eq!(applied.duration, Duration::from_secs(120));
        assert_eq!(applied.backoff_base, base.backoff_base);
        assert_eq!(applied.account_max_failures, base.account_max_failures);
    }
}
