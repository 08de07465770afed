//! Agent accounts and sessions. root's password is human-chosen and hashed with argon2id; the
//! managing server's service account has a long random password, so a salted SHA-256 is as
//! strong there and keeps logins cheap when thousands of hosts reconnect at once.
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use ferrocenter_agent_client::wire::ErrorCode;

/// The administrator's name unless the agent was given another (a KVM host's admin need not be
/// called root; ZStack's examples log in as `userName`).
pub const ROOT: &str = "root";
pub const SESSION_IDLE: Duration = Duration::from_secs(30 * 60);

/// Service account passwords must be long: they are verified with a fast hash.
const MIN_SERVICE_PASSWORD: usize = 16;

/// The root password's rule (8 to 256 bytes) and its argon2id hash: every way of setting root's
/// password (agent start, a simulated fleet, a change through the API) comes through here.
pub fn hash_root_password(pw: &str) -> Result<String, ApiError> {
    if pw.len() < 8 || pw.len() > 256 {
        return Err(ApiError::invalid("password", "must be 8 to 256 bytes long"));
    }
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(pw.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("hashing the password: {e}")))
}

/// Digests of (hash, password) pairs that verified, so a correct root login costs one argon2
/// run per process rather than one per login: thousands of simulated hosts share one root hash,
/// and a reconnecting server logs in to each. Only successes are kept, so guessing still pays
/// argon2 for every attempt.
static VERIFIED: Mutex<Option<HashSet<[u8; 32]>>> = Mutex::new(None);
const VERIFIED_MAX: usize = 1024;

fn verify_argon2(pw: &str, phc: &str) -> bool {
    let key: [u8; 32] = Sha256::digest(format!("{phc}\u{0}{pw}").as_bytes()).into();
    if VERIFIED.lock().as_ref().is_some_and(|s| s.contains(&key)) {
        return true;
    }
    let ok = PasswordHash::new(phc)
        .map(|h| Argon2::default().verify_password(pw.as_bytes(), &h).is_ok())
        .unwrap_or(false);
    if ok {
        let mut cache = VERIFIED.lock();
        let set = cache.get_or_insert_with(HashSet::new);
        if set.len() >= VERIFIED_MAX {
            set.clear();
        }
        set.insert(key);
    }
    ok
}

fn salted_sha256(salt: &str, pw: &str) -> String {
    hex::encode(Sha256::digest(format!("{salt}:{pw}").as_bytes()))
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceAccount {
    pub salt: String,
    pub hash: String,
}

/// Persisted part of the accounts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountsState {
    /// The administrator account's name.
    #[serde(default = "default_root_user")]
    pub root_user: Arc<str>,
    /// argon2id PHC string; shared (`Arc`) across simulated agents with the same password.
    pub root_hash: Arc<str>,
    pub service: HashMap<String, ServiceAccount>,
}

fn default_root_user() -> Arc<str> {
    ROOT.into()
}

impl AccountsState {
    pub fn new(root_user: &str, root_hash: Arc<str>) -> Self {
        AccountsState {
            root_user: root_user.into(),
            root_hash,
            service: HashMap::new(),
        }
    }
}

#[derive(Debug)]
pub struct Accounts {
    pub state: AccountsState,
    sessions: HashMap<String, (String, Instant)>,
}

pub fn validate_account_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(ApiError::invalid(
            "name",
            "must be 1 to 64 letters, digits, '.', '_' or '-'",
        ));
    }
    Ok(())
}

impl Accounts {
    pub fn new(state: AccountsState) -> Self {
        Accounts {
            state,
            sessions: HashMap::new(),
        }
    }

    pub fn is_root(&self, user: &str) -> bool {
        user == &*self.state.root_user
    }

    pub fn root_user(&self) -> String {
        self.state.root_user.to_string()
    }

    /// Checks credentials. Unknown users and wrong passwords give the same answer.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        if self.is_root(user) {
            return verify_argon2(password, &self.state.root_hash);
        }
        match self.state.service.get(user) {
            Some(a) => salted_sha256(&a.salt, password) == a.hash,
            None => {
                // Spend the same fast hash so a missing account is not quicker to reject.
                let _ = salted_sha256("decoy", password);
                false
            }
        }
    }

    pub fn open_session(&mut self, user: &str) -> String {
        let now = Instant::now();
        self.sessions
            .retain(|_, (_, t)| now.duration_since(*t) < SESSION_IDLE);
        let token = random_hex(16);
        self.sessions.insert(token.clone(), (user.to_string(), now));
        token
    }

    /// The user behind a token, touching the session.
    pub fn resolve(&mut self, token: &str) -> Option<String> {
        let now = Instant::now();
        let (user, last) = self.sessions.get_mut(token)?;
        if now.duration_since(*last) >= SESSION_IDLE {
            self.sessions.remove(token);
            return None;
        }
        *last = now;
        Some(user.clone())
    }

    pub fn close_session(&mut self, token: &str) {
        self.sessions.remove(token);
    }

    pub fn close_all_sessions(&mut self) {
        self.sessions.clear();
    }

    pub fn create_service(&mut self, name: &str, password: &str) -> Result<(), ApiError> {
        validate_account_name(name)?;
        if self.is_root(name) || self.state.service.contains_key(name) {
            return Err(ApiError::invalid_state(format!(
                "account '{name}' already exists"
            )));
        }
        validate_service_password(password)?;
        let salt = random_hex(16);
        self.state.service.insert(
            name.to_string(),
            ServiceAccount {
                hash: salted_sha256(&salt, password),
                salt,
            },
        );
        Ok(())
    }

    pub fn set_password(&mut self, name: &str, password: &str) -> Result<(), ApiError> {
        if self.is_root(name) {
            self.state.root_hash = hash_root_password(password)?.into();
        } else {
            validate_service_password(password)?;
            let salt = random_hex(16);
            let a = self
                .state
                .service
                .get_mut(name)
                .ok_or_else(|| ApiError::not_found("account", name))?;
            a.hash = salted_sha256(&salt, password);
            a.salt = salt;
        }
        // Existing sessions of that account end with its old password.
        self.sessions.retain(|_, (u, _)| u != name);
        Ok(())
    }

    /// Deletes a service account and ends its sessions; the administrator cannot be deleted.
    pub fn remove_service(&mut self, name: &str) -> Result<(), ApiError> {
        if self.is_root(name) {
            return Err(ApiError::invalid_state(
                "the administrator cannot be deleted",
            ));
        }
        self.state
            .service
            .remove(name)
            .ok_or_else(|| ApiError::not_found("account", name))?;
        self.sessions.retain(|_, (u, _)| u != name);
        Ok(())
    }

    pub fn exists(&self, name: &str) -> bool {
        self.is_root(name) || self.state.service.contains_key(name)
    }
}

fn validate_service_password(pw: &str) -> Result<(), ApiError> {
    if pw.len() < MIN_SERVICE_PASSWORD || pw.len() > 256 {
        return Err(ApiError::invalid(
            "password",
            format!("must be {MIN_SERVICE_PASSWORD} to 256 bytes long"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts() -> Accounts {
        Accounts::new(AccountsState::new(
            ROOT,
            hash_root_password("root-pass-1").unwrap().into(),
        ))
    }

    #[test]
    fn the_administrator_may_have_another_name() {
        let mut a = Accounts::new(AccountsState::new(
            "userName",
            hash_root_password("password").unwrap().into(),
        ));
        assert!(a.verify("userName", "password"));
        assert!(!a.verify(ROOT, "password"));
        assert!(a.is_root("userName") && !a.is_root(ROOT));
        assert!(a
            .create_service("userName", "0123456789abcdef0123")
            .is_err());
        // State written before the name was configurable reads back as root.
        let old: AccountsState = serde_json::from_str(r#"{"root_hash":"x","service":{}}"#).unwrap();
        assert_eq!(&*old.root_user, ROOT);
    }

    #[test]
    fn deleting_a_service_account_refuses_root_unknown_and_bad_names() {
        let mut a = accounts();
        a.create_service("vpxuser-1", "0123456789abcdef0123")
            .unwrap();
        let root = a.remove_service(ROOT).unwrap_err().0;
        assert_eq!(root.code, ErrorCode::InvalidState, "{}", root.message);
        let ghost = a.remove_service("ghost").unwrap_err().0;
        assert_eq!(ghost.code, ErrorCode::NotFound, "{}", ghost.message);
        let bad = validate_account_name("a/b").unwrap_err().0;
        assert_eq!(
            (bad.code, bad.field.as_deref()),
            (ErrorCode::InvalidArgument, Some("name"))
        );
        a.remove_service("vpxuser-1").unwrap();
        assert!(!a.exists("vpxuser-1"));
        assert!(!a.verify("vpxuser-1", "0123456789abcdef0123"));
        assert!(a.verify(ROOT, "root-pass-1"), "root is untouched");
    }

    #[test]
    fn root_and_service_logins() {
        let mut a = accounts();
        assert!(a.verify(ROOT, "root-pass-1"));
        assert!(!a.verify(ROOT, "nope"));
        a.create_service("vpxuser-1", "0123456789abcdef0123")
            .unwrap();
        assert!(a.verify("vpxuser-1", "0123456789abcdef0123"));
        assert!(!a.verify("vpxuser-1", "0123456789abcdef0124"));
        assert!(!a.verify("ghost", "0123456789abcdef0123"));
        assert!(a
            .create_service("vpxuser-1", "0123456789abcdef0123")
            .is_err());
        assert!(a.create_service("x", "short").is_err());
    }

    #[test]
    fn password_change_ends_that_accounts_sessions() {
        let mut a = accounts();
        let t = a.open_session(ROOT);
        assert_eq!(a.resolve(&t).as_deref(), Some(ROOT));
        a.set_password(ROOT, "new-root-pass").unwrap();
        assert_eq!(a.resolve(&t), None);
        assert!(a.verify(ROOT, "new-root-pass"));
    }
}
