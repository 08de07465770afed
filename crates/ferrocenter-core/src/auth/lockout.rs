//! Failed-login counting: N failures within a window lock an account name for a while.
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::Duration;

use time::OffsetDateTime;

#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub window: Duration,
    pub duration: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            max_failures: 5,
            window: Duration::from_secs(3 * 60),
            duration: Duration::from_secs(5 * 60),
        }
    }
}

#[derive(Debug, Default)]
struct Entry {
    failures: Vec<OffsetDateTime>,
    locked_until: Option<OffsetDateTime>,
}

/// Keyed by the normalised login name, whether or not the account exists, so that a lockout
/// answer cannot be used to discover accounts.
#[derive(Debug, Default)]
pub struct Lockout {
    policy: LockoutPolicy,
    entries: Mutex<HashMap<String, Entry>>,
}

/// Past this many tracked names, stale ones are dropped so random names cannot grow memory.
const PRUNE_ABOVE: usize = 10_000;

impl Lockout {
    pub fn new(policy: LockoutPolicy) -> Self {
        Lockout {
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn is_locked(&self, key: &str, now: OffsetDateTime) -> bool {
        let entries = self.entries.lock();
        matches!(entries.get(key).and_then(|e| e.locked_until), Some(until) if until > now)
    }

    /// Records a failure; returns true if this failure locked the name.
    pub fn record_failure(&self, key: &str, now: OffsetDateTime) -> bool {
        let mut entries = self.entries.lock();
        if entries.len() > PRUNE_ABOVE {
            let window = self.policy.window;
            entries.retain(|_, e| {
                e.locked_until.is_some_and(|u| u > now)
                    || e.failures.iter().any(|f| *f + window > now)
            });
        }
        let entry = entries.entry(key.to_string()).or_default();
        let window = self.policy.window;
        entry.failures.retain(|f| *f + window > now);
        entry.failures.push(now);
        if self.policy.max_failures > 0 && entry.failures.len() >= self.policy.max_failures as usize
        {
            entry.locked_until = Some(now + self.policy.duration);
            entry.failures.clear();
            return true;
        }
        false
    }

    pub fn record_success(&self, key: &str) {
        self.entries.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
    }

    #[test]
    fn five_failures_within_three_minutes_lock_for_five_minutes() {
        let l = Lockout::new(LockoutPolicy::default());
        for i in 0..4 {
            assert!(!l.record_failure("u", t(i * 10)));
        }
        assert!(!l.is_locked("u", t(45)));
        assert!(l.record_failure("u", t(50)));
        assert!(l.is_locked("u", t(51)));
        assert!(l.is_locked("u", t(50 + 299)));
        assert!(!l.is_locked("u", t(50 + 300)));
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let l = Lockout::new(LockoutPolicy::default());
        for i in 0..4 {
            l.record_failure("u", t(i));
        }
        assert!(!l.record_failure("u", t(200)));
        assert!(!l.is_locked("u", t(201)));
    }

    #[test]
    fn success_resets_the_count() {
        let l = Lockout::new(LockoutPolicy::default());
        for i in 0..4 {
            l.record_failure("u", t(i));
        }
        l.record_success("u");
        assert!(!l.record_failure("u", t(5)));
    }
}
