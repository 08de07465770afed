//! Software update of ferrocenter itself (`appliance.update`, management guide chapter 9).

pub mod policy;

use std::time::Duration;

/// What the update service needs from the server's configuration.
#[derive(Debug, Clone)]
pub struct UpdateConfig {
    /// The repository checked when neither the request nor the policy names one
    /// (`policy.info.default_URL`); empty: none.
    pub default_url: String,
    /// How often the policy's check schedule looks at the clock.
    pub schedule_tick: Duration,
}

impl Default for UpdateConfig {
    fn default() -> Self {
        UpdateConfig {
            default_url: String::new(),
            schedule_tick: Duration::from_secs(5),
        }
    }
}
