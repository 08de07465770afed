//! Failed-login counting that does not hand an attacker a denial of service.
//!
//! Failures count per (account, source address). A first failure is free (a typo retried at
//! once works); after each further one the next attempt from that source must wait a delay
//! that doubles per failure (`backoff_base`, capped at `backoff_cap`),
//! and `max_failures` of them within `window` lock the account for that source for `duration`
//! (vSphere 8 hardening: 5 failures within 180 s lock, unlock after 15 minutes). Someone guessing
//! from elsewhere therefore cannot lock the administrator out. A backstop counts the account's
//! failures from every source together: `account_max_failures` of them (a much higher number,
//! against guessing spread over many addresses) lock the account everywhere. A lock ends by
//! itself, or when the appliance's `root` unlocks the account.
//!
//! Keyed by the normalised login name, whether or not the account exists, so that a lockout
//! answer cannot be used to discover accounts.
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use time::OffsetDateTime;

#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    /// Failures from one source within `window` that lock the account for that source.
    pub max_failures: u32,
    /// Failures older than this no longer count.
    pub window: Duration,
    /// How long a lock lasts.
    pub duration: Duration,
    /// The wait after a source's second failure; it doubles with each further failure.
    pub backoff_base: Duration,
    /// The longest wait between two attempts before the lock.
    pub backoff_cap: Duration,
    /// Failures from all sources within `window` that lock the account everywhere.
    pub account_max_failures: u32,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            max_failures: 5,
            window: Duration::from_secs(180),
            duration: Duration::from_secs(15 * 60),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            account_max_failures: 50,
        }
    }
}

/// What a failure brought about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The source must wait this long before its next attempt.
    Delayed(Duration),
    /// The account is locked for this source.
    LockedForSource,
    /// The account is locked for every source (the backstop).
    LockedEverywhere,
}

#[derive(Debug, Default)]
struct Entry {
    failures: Vec<OffsetDateTime>,
    /// No attempt succeeds before this (backoff, or a lock).
    closed_until: Option<OffsetDateTime>,
}

impl Entry {
    fn live(&self, now: OffsetDateTime, window: Duration) -> bool {
        self.closed_until.is_some_and(|u| u > now)
            || self.failures.iter().any(|f| *f + window > now)
    }
}

#[derive(Debug, Default)]
struct Counts {
    /// `account|source`.
    by_source: HashMap<String, Entry>,
    /// `account`.
    by_account: HashMap<String, Entry>,
}

#[derive(Debug, Default)]
pub struct Lockout {
    /// Set at start from the configuration, then from the stored SSO lockout policy.
    policy: Mutex<LockoutPolicy>,
    counts: Mutex<Counts>,
}

/// Past this many tracked keys, stale ones are dropped so random names cannot grow memory.
const PRUNE_ABOVE: usize = 10_000;

fn source_key(account: &str, source: Option<IpAddr>) -> String {
    match source {
        Some(ip) => format!("{account}|{ip}"),
        None => format!("{account}|-"),
    }
}

impl Lockout {
    pub fn new(policy: LockoutPolicy) -> Self {
        Lockout {
            policy: Mutex::new(policy),
            counts: Mutex::new(Counts::default()),
        }
    }

    pub fn policy(&self) -> LockoutPolicy {
        *self.policy.lock()
    }

    /// Replaces the policy; counts and locks already made keep their times.
    pub fn set_policy(&self, policy: LockoutPolicy) {
        *self.policy.lock() = policy;
    }

    /// Whether an attempt on `account` from `source` may succeed now (no lock, no backoff).
    pub fn admits(&self, account: &str, source: Option<IpAddr>, now: OffsetDateTime) -> bool {
        let counts = self.counts.lock();
        let open = |e: Option<&Entry>| e.and_then(|e| e.closed_until).is_none_or(|u| u <= now);
        open(counts.by_source.get(&source_key(account, source)))
            && open(counts.by_account.get(account))
    }

    /// The wait before the next attempt after `n` failures (1-based), before the lock: none
    /// after the first, then `backoff_base` doubling.
    fn backoff(&self, n: u32) -> Duration {
        if n < 2 {
            return Duration::ZERO;
        }
        let factor = 1u32.checked_shl(n - 2).unwrap_or(u32::MAX);
        let p = self.policy();
        p.backoff_base.saturating_mul(factor).min(p.backoff_cap)
    }

    /// Records a failed attempt on `account` from `source`.
    pub fn record_failure(
        &self,
        account: &str,
        source: Option<IpAddr>,
        now: OffsetDateTime,
    ) -> Failure {
        let p = self.policy();
        let mut counts = self.counts.lock();
        if counts.by_source.len() + counts.by_account.len() > PRUNE_ABOVE {
            counts.by_source.retain(|_, e| e.live(now, p.window));
            counts.by_account.retain(|_, e| e.live(now, p.window));
        }
        let account_entry = counts.by_account.entry(account.to_string()).or_default();
        account_entry.failures.retain(|f| *f + p.window > now);
        account_entry.failures.push(now);
        if p.account_max_failures > 0
            && account_entry.failures.len() >= p.account_max_failures as usize
        {
            account_entry.closed_until = Some(now + p.duration);
            account_entry.failures.clear();
            return Failure::LockedEverywhere;
        }
        let entry = counts
            .by_source
            .entry(source_key(account, source))
            .or_default();
        entry.failures.retain(|f| *f + p.window > now);
        entry.failures.push(now);
        let n = entry.failures.len() as u32;
        if p.max_failures > 0 && n >= p.max_failures {
            entry.closed_until = Some(now + p.duration);
            entry.failures.clear();
            return Failure::LockedForSource;
        }
        let wait = self.backoff(n);
        entry.closed_until = (!wait.is_zero()).then_some(now + wait);
        Failure::Delayed(wait)
    }

    /// A success from `source` clears that source's count; the account's backstop count
    /// only ages out, so successes elsewhere do not hide guessing spread over many sources.
    pub fn record_success(&self, account: &str, source: Option<IpAddr>) {
        self.counts
            .lock()
            .by_source
            .remove(&source_key(account, source));
    }

    /// Ends every lock, backoff and count of `account`; returns whether there was any.
    pub fn unlock(&self, account: &str) -> bool {
        let mut counts = self.counts.lock();
        let prefix = format!("{account}|");
        let before = counts.by_source.len();
        counts.by_source.retain(|k, _| !k.starts_with(&prefix));
        let had_source = counts.by_source.len() != before;
        counts.by_account.remove(account).is_some() || had_source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
    }

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn the_wait_doubles_per_failure_then_five_lock_for_fifteen_minutes() {
        let l = Lockout::new(LockoutPolicy::default());
        assert_eq!(
            l.record_failure("u", ip(1), t(0)),
            Failure::Delayed(Duration::ZERO),
            "a first failure is free"
        );
        assert!(l.admits("u", ip(1), t(0)));
        let mut at = 0;
        for (i, wait) in [1, 2, 4].into_iter().enumerate() {
            assert_eq!(
                l.record_failure("u", ip(1), t(at)),
                Failure::Delayed(Duration::from_secs(wait)),
                "failure {}",
                i + 2
            );
            assert!(!l.admits("u", ip(1), t(at + wait as i64 - 1)));
            at += wait as i64;
            assert!(l.admits("u", ip(1), t(at)));
        }
        assert_eq!(
            l.record_failure("u", ip(1), t(at)),
            Failure::LockedForSource
        );
        assert!(!l.admits("u", ip(1), t(at + 899)));
        assert!(
            l.admits("u", ip(1), t(at + 900)),
            "unlocked after 15 minutes"
        );
        // After the unlock the count starts again: one failure is free, two a one-second wait.
        assert_eq!(
            l.record_failure("u", ip(1), t(at + 900)),
            Failure::Delayed(Duration::ZERO)
        );
        assert_eq!(
            l.record_failure("u", ip(1), t(at + 900)),
            Failure::Delayed(Duration::from_secs(1))
        );
    }

    #[test]
    fn the_wait_is_capped() {
        let l = Lockout::new(LockoutPolicy {
            max_failures: 100,
            account_max_failures: 0,
            ..LockoutPolicy::default()
        });
        let mut last = Failure::Delayed(Duration::ZERO);
        for i in 0..40 {
            last = l.record_failure("u", ip(1), t(i));
        }
        assert_eq!(last, Failure::Delayed(Duration::from_secs(60)));
    }

    #[test]
    fn a_lock_from_one_source_leaves_others_open() {
        let l = Lockout::new(LockoutPolicy::default());
        for i in 0..5 {
            l.record_failure("admin", ip(66), t(i * 10));
        }
        assert!(!l.admits("admin", ip(66), t(500)));
        assert!(l.admits("admin", ip(1), t(500)));
        assert!(l.admits("admin", None, t(500)));
    }

    #[test]
    fn failures_spread_over_many_sources_lock_the_account_everywhere() {
        let l = Lockout::new(LockoutPolicy::default());
        for i in 0..49 {
            assert_ne!(
                l.record_failure("admin", ip(i as u8), t(i)),
                Failure::LockedEverywhere
            );
        }
        assert_eq!(
            l.record_failure("admin", ip(200), t(49)),
            Failure::LockedEverywhere
        );
        assert!(!l.admits("admin", ip(250), t(50)));
        assert!(l.admits("admin", ip(250), t(49 + 900)));
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let l = Lockout::new(LockoutPolicy::default());
        for i in 0..4 {
            l.record_failure("u", ip(1), t(i * 10));
        }
        assert_eq!(
            l.record_failure("u", ip(1), t(30 + 901)),
            Failure::Delayed(Duration::ZERO),
            "counted as a first failure"
        );
    }

    #[test]
    fn a_new_policy_applies_to_the_next_failure() {
        let l = Lockout::new(LockoutPolicy::default());
        l.set_policy(LockoutPolicy {
            max_failures: 2,
            ..LockoutPolicy::default()
        });
        l.record_failure("u", ip(1), t(0));
        assert_eq!(l.record_failure("u", ip(1), t(1)), Failure::LockedForSource);
        assert_eq!(l.policy().max_failures, 2);
    }

    #[test]
    fn success_resets_the_source_count_and_unlock_ends_everything() {
        let l = Lockout::new(LockoutPolicy::default());
        for i in 0..4 {
            l.record_failure("u", ip(1), t(i * 100));
        }
        l.record_success("u", ip(1));
        assert_eq!(
            l.record_failure("u", ip(1), t(500)),
            Failure::Delayed(Duration::ZERO)
        );
        for i in 0..5 {
            l.record_failure("u", ip(2), t(600 + i * 10));
        }
        assert!(!l.admits("u", ip(2), t(1100)));
        assert!(l.unlock("u"));
        assert!(l.admits("u", ip(2), t(1100)));
        assert!(!l.unlock("u"));
    }
}
