//! The per-source-address login budget, shared by the server's listeners and the agent: one
//! token bucket per address (an IPv6 address counts by its /64, what one machine usually
//! holds). A login attempt takes a token before any password work; a successful login gives it
//! back, so only failures (and attempts in flight) spend the budget. An empty bucket refuses
//! the attempt with the time until the next token, which the surfaces send as `Retry-After`.
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How many login attempts an address may make: `burst` at once, then `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginRate {
    pub burst: u32,
    pub per_minute: u32,
}

impl Default for LoginRate {
    /// 30 at once, then one every two seconds: far above what a person or a script that
    /// logs in correctly needs (successes are refunded), far below a password-guessing storm.
    fn default() -> Self {
        LoginRate {
            burst: 30,
            per_minute: 30,
        }
    }
}

/// A refused attempt: the address is over its budget until `retry_after` has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many login attempts from this address; retry after {} s", retry_after_secs(*.retry_after))]
pub struct Throttled {
    pub retry_after: Duration,
}

/// Whole seconds, rounded up and at least 1, as `Retry-After` wants them.
pub fn retry_after_secs(d: Duration) -> u64 {
    (d.as_millis().div_ceil(1000) as u64).max(1)
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Past this many tracked addresses, the full buckets (which hold no information) are
/// dropped, so a flood of source addresses cannot grow memory without bound.
const PRUNE_ABOVE: usize = 50_000;

#[derive(Debug)]
pub struct LoginLimiter {
    rate: LoginRate,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl LoginLimiter {
    pub fn new(rate: LoginRate) -> Self {
        LoginLimiter {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn per_sec(&self) -> f64 {
        f64::from(self.rate.per_minute) / 60.0
    }

    fn refill(&self, b: &mut Bucket, now: Instant) {
        let gained = now.saturating_duration_since(b.at).as_secs_f64() * self.per_sec();
        b.tokens = (b.tokens + gained).min(f64::from(self.rate.burst));
        b.at = now;
    }

    /// Takes one attempt from `peer`'s budget, or says how long to wait.
    pub fn admit(&self, peer: IpAddr) -> Result<(), Throttled> {
        self.admit_at(peer, Instant::now())
    }

    pub fn admit_at(&self, peer: IpAddr, now: Instant) -> Result<(), Throttled> {
        let key = source_key(peer);
        let mut buckets = self.buckets.lock();
        if buckets.len() > PRUNE_ABOVE {
            let full = f64::from(self.rate.burst);
            let per_sec = self.per_sec();
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_sec < full
            });
        }
        let b = buckets.entry(key).or_insert(Bucket {
            tokens: f64::from(self.rate.burst),
            at: now,
        });
        self.refill(b, now);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Ok(());
        }
        let per_sec = self.per_sec();
        let retry_after = if per_sec > 0.0 {
            Duration::from_secs_f64((1.0 - b.tokens) / per_sec)
        } else {
            Duration::from_secs(3600)
        };
        Err(Throttled { retry_after })
    }

    /// Gives back the attempt of a login that succeeded.
    pub fn refund(&self, peer: IpAddr) {
        let now = Instant::now();
        let mut buckets = self.buckets.lock();
        if let Some(b) = buckets.get_mut(&source_key(peer)) {
            self.refill(b, now);
            b.tokens = (b.tokens + 1.0).min(f64::from(self.rate.burst));
        }
    }
}

/// IPv4 addresses count alone; IPv6 ones by their /64 (an IPv4-mapped one as IPv4).
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_burst_is_taken_then_attempts_wait_for_the_refill() {
        let l = LoginLimiter::new(LoginRate {
            burst: 3,
            per_minute: 60,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.admit_at(ip("10.0.0.1"), t0).is_ok());
        }
        let refused = l.admit_at(ip("10.0.0.1"), t0).unwrap_err();
        assert_eq!(retry_after_secs(refused.retry_after), 1);
        assert!(l.admit_at(ip("10.0.0.2"), t0).is_ok(), "another address");
        assert!(l
            .admit_at(ip("10.0.0.1"), t0 + Duration::from_millis(1001))
            .is_ok());
    }

    #[test]
    fn a_success_gives_its_attempt_back() {
        let l = LoginLimiter::new(LoginRate {
            burst: 1,
            per_minute: 0,
        });
        let a = ip("10.0.0.1");
        assert!(l.admit(a).is_ok());
        l.refund(a);
        assert!(l.admit(a).is_ok());
        assert!(l.admit(a).is_err());
    }

    #[test]
    fn ipv6_addresses_of_one_64_share_a_budget() {
        let l = LoginLimiter::new(LoginRate {
            burst: 1,
            per_minute: 0,
        });
        assert!(l.admit(ip("2001:db8::1")).is_ok());
        assert!(l.admit(ip("2001:db8::2")).is_err());
        assert!(l.admit(ip("2001:db8:0:1::1")).is_ok());
    }
}
