//! The per-address login budget the listeners share, plugged into the core's password check
//! (every surface's logins pass through it). The limiter itself is `ferrocenter_http`'s, the
//! same code the agent uses.
use std::net::IpAddr;
use std::time::Duration;

use ferrocenter_core::auth::LoginThrottle;
use ferrocenter_http::login_limit::LoginLimiter;

pub struct LoginBudget(pub LoginLimiter);

impl LoginThrottle for LoginBudget {
    fn admit(&self, peer: IpAddr) -> Result<(), Duration> {
        self.0.admit(peer).map_err(|t| t.retry_after)
    }

    fn succeeded(&self, peer: IpAddr) {
        self.0.refund(peer);
    }
}
