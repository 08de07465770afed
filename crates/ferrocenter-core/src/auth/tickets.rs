//! Clone tickets (seeds/002, vim AcquireCloneTicket/CloneSession): a one-time secret, valid for
//! a short while, that gives a new connection the identity of an existing session without a
//! password. A ticket dies when used, when it expires, or when its session ends.
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::Duration;

use rand::RngCore;
use time::OffsetDateTime;

pub const TICKET_LIFETIME: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub struct Tickets {
    /// ticket → (source session token, expiry)
    live: Mutex<HashMap<String, (String, OffsetDateTime)>>,
}

impl Tickets {
    pub fn issue(&self, session_token: &str, now: OffsetDateTime) -> String {
        let mut b = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut b);
        let ticket = format!("cst-{}", hex::encode(b));
        let mut live = self.live.lock();
        live.retain(|_, (_, exp)| *exp > now);
        live.insert(
            ticket.clone(),
            (session_token.to_string(), now + TICKET_LIFETIME),
        );
        ticket
    }

    /// The session a ticket was issued for; the ticket is consumed either way.
    pub fn redeem(&self, ticket: &str, now: OffsetDateTime) -> Option<String> {
        let (token, exp) = self.live.lock().remove(ticket)?;
        (exp > now).then_some(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_expire_and_are_single_use() {
        let t0 = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let tickets = Tickets::default();
        let a = tickets.issue("session-a", t0);
        assert_eq!(tickets.redeem(&a, t0).as_deref(), Some("session-a"));
        assert_eq!(tickets.redeem(&a, t0), None);
        let b = tickets.issue("session-a", t0);
        assert_eq!(tickets.redeem(&b, t0 + TICKET_LIFETIME), None);
    }
}
