//! Sessions: random tokens with an idle timeout and an absolute lifetime, held in memory.
//!
//! Each session has a kind (vSphere: vAPI and vim share it; ZStack) and the listener it was made
//! on, and is found only by a request of the same kind on the same listener: a ZStack token is
//! no vAPI token, and the appliance's `root` session does not reach the main listener. Every
//! session, ZStack's fixed-lifetime ones too, ends at the idle timeout and at the absolute
//! lifetime.
//!
//! Like vCenter, a restart ends every session; clients log in again.
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::Duration;

use rand::RngCore;
use time::OffsetDateTime;

use super::{Caller, Listener};

#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub idle_timeout: Duration,
    pub max_lifetime: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle_timeout: Duration::from_secs(30 * 60),
            max_lifetime: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// Which protocol family a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// vAPI (`/api`, `/rest`, JSON-RPC) and vim (`/sdk`): vCenter shares these sessions.
    Vsphere,
    /// ZStack (`/zstack`): LogInByAccount's fixed-lifetime sessions.
    Zstack,
}

/// What a caller may learn about its own session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// Names the session without being able to use it (vim UserSession.key): random, distinct
    /// from the token.
    pub key: String,
    pub user: String,
    pub created: OffsetDateTime,
    pub last_accessed: OffsetDateTime,
    /// When a fixed-lifetime session ends.
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(Debug)]
struct Session {
    key: String,
    caller: Caller,
    kind: SessionKind,
    listener: Listener,
    /// A fixed end (ZStack sessions), before the idle timeout and lifetime if earlier.
    expires_at: Option<OffsetDateTime>,
    created: OffsetDateTime,
    last_accessed: OffsetDateTime,
}

/// A session token: 128 random bits as 32 hex digits. Its Debug form hides the value so that a
/// stray `{:?}` cannot log it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

#[derive(Debug)]
pub struct Sessions {
    policy: SessionPolicy,
    live: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    pub fn new(policy: SessionPolicy) -> Self {
        Sessions {
            policy,
            live: Mutex::new(HashMap::new()),
        }
    }

    pub fn create(
        &self,
        caller: Caller,
        kind: SessionKind,
        listener: Listener,
        now: OffsetDateTime,
    ) -> SessionToken {
        self.insert(caller, kind, listener, now, None)
    }

    /// A session that ends at a fixed time, or earlier at the idle timeout; the end is capped
    /// by the absolute lifetime.
    pub fn create_fixed(
        &self,
        caller: Caller,
        kind: SessionKind,
        listener: Listener,
        now: OffsetDateTime,
        lifetime: Duration,
    ) -> (SessionToken, OffsetDateTime) {
        let end = now + lifetime.min(self.policy.max_lifetime);
        (self.insert(caller, kind, listener, now, Some(end)), end)
    }

    /// Moves a fixed-lifetime session's end to `duration` from now, never past its absolute
    /// lifetime. Only sessions of `kind` on `listener` are found.
    pub fn renew(
        &self,
        token: &str,
        kind: SessionKind,
        listener: Listener,
        now: OffsetDateTime,
        duration: Duration,
    ) -> Option<OffsetDateTime> {
        let mut live = self.live.lock();
        let s = live.get_mut(token)?;
        if s.kind != kind || s.listener != listener || s.expires_at.is_none() {
            return None;
        }
        if self.expired(s, now) {
            live.remove(token);
            return None;
        }
        let end = (now + duration).min(s.created + self.policy.max_lifetime);
        s.expires_at = Some(end);
        s.last_accessed = now;
        Some(end)
    }

    fn insert(
        &self,
        caller: Caller,
        kind: SessionKind,
        listener: Listener,
        now: OffsetDateTime,
        expires_at: Option<OffsetDateTime>,
    ) -> SessionToken {
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let key = hex::encode(bytes);
        self.live.lock().insert(
            token.clone(),
            Session {
                key,
                caller,
                kind,
                listener,
                expires_at,
                created: now,
                last_accessed: now,
            },
        );
        SessionToken(token)
    }

    fn expired(&self, s: &Session, now: OffsetDateTime) -> bool {
        s.expires_at.is_some_and(|end| now >= end)
            || now - s.last_accessed >= self.policy.idle_timeout
            || now - s.created >= self.policy.max_lifetime
    }

    /// The caller behind a live token of `kind` made on `listener`, marking the session used.
    /// Expired sessions are removed; another kind's or listener's session is not found.
    pub fn resolve(
        &self,
        token: &str,
        kind: SessionKind,
        listener: Listener,
        now: OffsetDateTime,
    ) -> Option<(Caller, SessionView)> {
        let mut live = self.live.lock();
        let expired = match live.get(token) {
            None => return None,
            Some(s) if s.kind != kind || s.listener != listener => return None,
            Some(s) => self.expired(s, now),
        };
        if expired {
            live.remove(token);
            return None;
        }
        let s = live.get_mut(token)?;
        let view = SessionView {
            key: s.key.clone(),
            expires_at: s.expires_at,
            user: s.caller.user.clone(),
            created: s.created,
            last_accessed: s.last_accessed,
        };
        s.last_accessed = now;
        Some((s.caller.clone(), view))
    }

    /// The user of the live session named by `key`, if any.
    pub fn user_of_key(&self, key: &str, now: OffsetDateTime) -> Option<String> {
        let live = self.live.lock();
        live.values()
            .find(|s| s.key == key && !self.expired(s, now))
            .map(|s| s.caller.user.clone())
    }

    /// Ends the session named by `key`; false if there is none.
    pub fn remove_key(&self, key: &str) -> bool {
        let mut live = self.live.lock();
        let before = live.len();
        live.retain(|_, s| s.key != key);
        live.len() != before
    }

    /// Ends every session of the principal; how many there were.
    pub fn remove_principal(&self, principal_id: &str) -> usize {
        let mut live = self.live.lock();
        let before = live.len();
        live.retain(|_, s| s.caller.principal_id != principal_id);
        before - live.len()
    }

    /// Ends the session behind `token` if it is of `kind` and was made on `listener`.
    pub fn remove(&self, token: &str, kind: SessionKind, listener: Listener) -> bool {
        let mut live = self.live.lock();
        match live.get(token) {
            Some(s) if s.kind == kind && s.listener == listener => live.remove(token).is_some(),
            _ => false,
        }
    }

    /// Drops expired sessions; returns how many. Called periodically so idle ones free memory.
    pub fn sweep(&self, now: OffsetDateTime) -> usize {
        let mut live = self.live.lock();
        let before = live.len();
        live.retain(|_, s| !self.expired(s, now));
        before - live.len()
    }

    pub fn count(&self) -> usize {
        self.live.lock().len()
    }
}
