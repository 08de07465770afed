//! Identities, sessions, roles and the one authorization check every binding goes through.
mod admission;
mod identity;
mod lockout;
pub mod password;
mod roles;
mod sessions;
pub mod signed_requests;
mod tickets;
mod token_sessions;
pub mod tokens;

pub use admission::{default_hash_workers, HashGate, LoginThrottle};
pub(crate) use identity::validate_domain_name;
pub use identity::{
    parse_login_name, validate_account_name, Group, LoginRefusal, PasswordAging, PasswordDays,
    Principal, Realm, ACCOUNT_NAME_MAX_CHARS, ACCOUNT_NAME_PATTERN,
};
pub use lockout::{Failure, Lockout, LockoutPolicy};
pub use password::{
    generate_password, hash_password, validate_new_password, verify_password, PasswordRule,
};
pub use roles::{
    privileges_of, Privilege, Role, ADMINISTRATORS_GROUP, BASH_SHELL_ADMINISTRATORS_GROUP,
};
pub use sessions::{SessionKind, SessionPolicy, SessionToken, SessionView, Sessions};
pub use token_sessions::TokenLogin;

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tracing::{info, warn};

use crate::model::new_uuid;
use crate::ports::{Clock, Store, StoreError};
use crate::CoreError;

/// Which listener a login arrives on: the appliance listener takes local accounts by bare name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// The main API listener (`/api`, `/rest`, `/sdk`, `/zstack`).
    Api,
    /// The appliance management listener (port 5480).
    Appliance,
}

/// Where a request arrives: the listener, the kind of session its surface uses, and the
/// caller's address. Logins are counted per address, and a session is found only by requests
/// of its own kind on its own listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub listener: Listener,
    pub kind: SessionKind,
    pub peer: Option<IpAddr>,
}

impl Origin {
    pub fn new(listener: Listener, kind: SessionKind, peer: Option<IpAddr>) -> Self {
        Origin {
            listener,
            kind,
            peer,
        }
    }
}

/// A vSphere-kind request of unknown address (in-process callers and tests).
impl From<Listener> for Origin {
    fn from(listener: Listener) -> Self {
        Origin::new(listener, SessionKind::Vsphere, None)
    }
}

#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub sso_domain: String,
    pub sessions: SessionPolicy,
    pub lockout: LockoutPolicy,
    /// Password hashes computed at once, at most.
    pub hash_workers: usize,
    /// How long a login waits for a hashing slot before it is refused.
    pub hash_wait: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            sso_domain: DEFAULT_SSO_DOMAIN.to_string(),
            sessions: SessionPolicy::default(),
            lockout: LockoutPolicy::default(),
            hash_workers: default_hash_workers(),
            hash_wait: Duration::from_secs(2),
        }
    }
}

pub const DEFAULT_SSO_DOMAIN: &str = "vsphere.local";
pub const ADMINISTRATOR: &str = "administrator";
pub const ROOT: &str = "root";

/// An authenticated caller, as every core operation receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub principal_id: String,
    /// `administrator@vsphere.local` or `root`.
    pub user: String,
    pub realm: Realm,
    /// The effective role: the principal's own, raised by its groups.
    pub role: Role,
}

impl Caller {
    /// vAPI's spelling of the user: `VSPHERE.LOCAL\administrator`, or the bare local name.
    pub fn domain_qualified(&self) -> String {
        match &self.realm {
            Realm::Sso { domain } => {
                let name = self.user.split('@').next().unwrap_or(&self.user);
                format!("{}\\{}", domain.to_ascii_uppercase(), name)
            }
            Realm::Local => self.user.clone(),
        }
    }
}

/// What the first start created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// The accounts were created with the given password.
    Created,
    /// The store already held the accounts; nothing was changed.
    AlreadyInitialised,
}

const INITIALISED_KEY: &str = "auth.initialised";

pub struct AuthService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: AuthConfig,
    sessions: Sessions,
    lockout: Lockout,
    tickets: tickets::Tickets,
    hashing: HashGate,
    /// The edge's per-address login budget, plugged in by the listeners.
    throttle: OnceLock<Arc<dyn LoginThrottle>>,
    /// Password verifications run: every login attempt costs one, locked or not.
    verifications: AtomicU64,
    /// The SSO domain's name: the configured one until a setup (`deployment`) names another,
    /// which the store then keeps (`sso.domain_name`).
    domain: parking_lot::RwLock<String>,
}

impl AuthService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: AuthConfig) -> Self {
        AuthService {
            sessions: Sessions::new(config.sessions),
            lockout: Lockout::new(config.lockout),
            tickets: Default::default(),
            hashing: HashGate::new(config.hash_workers, config.hash_wait),
            throttle: OnceLock::new(),
            verifications: AtomicU64::new(0),
            domain: parking_lot::RwLock::new(config.sso_domain.clone()),
            store,
            clock,
            config,
        }
    }

    pub fn sso_domain(&self) -> String {
        self.domain.read().clone()
    }

    /// Back to the configured SSO domain's name (a rollback emptied the store).
    pub fn reset_sso_domain(&self) {
        *self.domain.write() = self.config.sso_domain.clone();
    }

    /// Names the SSO domain (a setup's `sso_domain_name`, or the stored one at start).
    pub fn set_sso_domain(&self, name: &str) {
        *self.domain.write() = name.to_ascii_lowercase();
    }

    /// Plugs in the edge's per-address login budget; the first one set stays.
    pub fn set_login_throttle(&self, throttle: Arc<dyn LoginThrottle>) {
        let _ = self.throttle.set(throttle);
    }

    async fn hash(&self, secret: String) -> Result<String, CoreError> {
        self.hashing.run(move || hash_password(&secret)).await?
    }

    async fn verify(&self, secret: String, hash: String) -> Result<bool, CoreError> {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        self.hashing
            .run(move || verify_password(&secret, &hash))
            .await
    }

    /// First start: the SSO domain with `administrator` in superAdmin, the groups of table 4-2,
    /// and the local account `root`, all with `password`. Later starts change nothing.
    pub async fn bootstrap(&self, password: &str) -> Result<Bootstrap, CoreError> {
        if self.is_initialised().await? {
            return Ok(Bootstrap::AlreadyInitialised);
        }
        validate_new_password("admin_password", password)?;
        self.make_domain(password).await?;
        self.ensure_principal(Realm::Local, ROOT, password, Role::SuperAdmin)
            .await?;
        self.mark_initialised().await?;
        info!(domain = %self.sso_domain(), "created the SSO domain, its administrator and the local root account");
        Ok(Bootstrap::Created)
    }

    /// Whether the store holds a set-up SSO domain (a first start or a setup made it).
    pub async fn is_initialised(&self) -> Result<bool, CoreError> {
        Ok(self.store.get_setting(INITIALISED_KEY).await?.is_some())
    }

    /// Records that the SSO domain is set up: later starts leave the accounts alone.
    pub async fn mark_initialised(&self) -> Result<(), CoreError> {
        Ok(self.store.put_setting(INITIALISED_KEY, "1").await?)
    }

    /// The SSO domain's groups of table 4-2 and `administrator` (superAdmin, in both groups)
    /// with `admin_password`; an `administrator` already there is given that password.
    pub async fn make_domain(&self, admin_password: &str) -> Result<(), CoreError> {
        let sso = Realm::sso(self.sso_domain());
        for (name, role, description) in [
            (
                ADMINISTRATORS_GROUP,
                Role::Admin,
                "Administrators of the vCenter Server configuration",
            ),
            (
                BASH_SHELL_ADMINISTRATORS_GROUP,
                Role::SuperAdmin,
                "Super administrators: accounts and shell",
            ),
        ] {
            if self.store.find_group(&sso, name).await?.is_none() {
                self.store
                    .insert_group(&Group {
                        id: new_uuid(),
                        realm: sso.clone(),
                        name: name.to_string(),
                        role: Some(role),
                        description: description.to_string(),
                    })
                    .await?;
            }
        }
        let admin = self
            .set_or_create(sso.clone(), ADMINISTRATOR, admin_password)
            .await?;
        for g in [ADMINISTRATORS_GROUP, BASH_SHELL_ADMINISTRATORS_GROUP] {
            let group = self
                .store
                .find_group(&sso, g)
                .await?
                .ok_or_else(|| CoreError::internal(format!("group {g} vanished")))?;
            if !self
                .store
                .groups_of(&admin.id)
                .await?
                .iter()
                .any(|x| x.id == group.id)
            {
                self.store.add_group_member(&group.id, &admin.id).await?;
            }
        }
        Ok(())
    }

    /// The local `root` with this password: created (superAdmin) if absent, else given it.
    pub async fn set_root_password(&self, password: &str) -> Result<Principal, CoreError> {
        self.set_or_create(Realm::Local, ROOT, password).await
    }

    /// A superAdmin account with this password, enabled: created if absent, else updated.
    async fn set_or_create(
        &self,
        realm: Realm,
        name: &str,
        password: &str,
    ) -> Result<Principal, CoreError> {
        let Some(mut p) = self.store.find_principal(&realm, name).await? else {
            return self
                .create_principal(realm, name, password, Role::SuperAdmin, None)
                .await;
        };
        validate_new_password("password", password)?;
        let (hash, verifier) = self.hash_credentials(password).await?;
        p.password_hash = hash;
        p.digest_verifier = Some(verifier);
        p.role = Role::SuperAdmin;
        p.disabled = false;
        self.store.update_principal(&p).await?;
        Ok(p)
    }

    async fn ensure_principal(
        &self,
        realm: Realm,
        name: &str,
        password: &str,
        role: Role,
    ) -> Result<Principal, CoreError> {
        if let Some(p) = self.store.find_principal(&realm, name).await? {
            return Ok(p);
        }
        self.create_principal(realm, name, password, role, None)
            .await
    }

    /// Creates a user in an SSO domain or a local account.
    pub async fn create_principal(
        &self,
        realm: Realm,
        name: &str,
        password: &str,
        role: Role,
        full_name: Option<String>,
    ) -> Result<Principal, CoreError> {
        let mut p = self.new_principal(realm, name, password, role).await?;
        p.full_name = full_name;
        self.insert_principal(&p).await?;
        Ok(p)
    }

    /// A principal not stored yet: the name checked and lower-cased, the password checked
    /// against the floor every password meets and hashed; enabled, its password never
    /// expiring. The caller adjusts it and stores it with [`AuthService::insert_principal`].
    pub async fn new_principal(
        &self,
        realm: Realm,
        name: &str,
        password: &str,
        role: Role,
    ) -> Result<Principal, CoreError> {
        validate_account_name("username", name)?;
        validate_new_password("password", password)?;
        let (hash, verifier) = self.hash_credentials(password).await?;
        let now = self.clock.now();
        Ok(Principal {
            id: new_uuid(),
            realm,
            name: name.to_ascii_lowercase(),
            password_hash: hash,
            digest_verifier: Some(verifier),
            role,
            full_name: None,
            email: None,
            description: None,
            disabled: false,
            created_at: now,
            password_changed_at: now,
            aging: PasswordAging::default(),
        })
    }

    /// Stores a new principal; a taken name is `AlreadyExists`.
    pub async fn insert_principal(&self, p: &Principal) -> Result<(), CoreError> {
        match self.store.insert_principal(p).await {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(_)) => Err(CoreError::AlreadyExists {
                what: "user".into(),
                name: p.login_name(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// The password's hash and the verifier of its digest (digest logins), computed within
    /// the hashing bound. The caller has checked the password against its rule.
    pub async fn hash_credentials(&self, password: &str) -> Result<(String, String), CoreError> {
        let hash = self.hash(password.to_string()).await?;
        let verifier = self.hash(password::digest_hex(password)).await?;
        Ok((hash, verifier))
    }

    /// Whether `password` is the principal's current one, for a change that must prove it
    /// (`old_password`). Counted like a login from no known address: wrong answers back off
    /// and lock this check (not logins from real addresses), so a stolen session cannot be
    /// used to guess the password at hashing speed.
    pub async fn verify_current_password(
        &self,
        p: &Principal,
        password: &str,
    ) -> Result<bool, CoreError> {
        let key = lockout_key(&p.realm, &p.name);
        let now = self.clock.now();
        let open = self.lockout.admits(&key, None, now);
        let ok = self
            .verify(password.to_string(), p.password_hash.clone())
            .await?;
        if ok && open {
            self.lockout.record_success(&key, None);
            return Ok(true);
        }
        if !ok {
            self.lockout.record_failure(&key, None, now);
        }
        Ok(false)
    }

    /// Ends every session of a principal (its access changed under it); how many ended.
    pub fn end_sessions_of(&self, principal_id: &str) -> usize {
        self.sessions.remove_principal(principal_id)
    }

    pub async fn add_to_group(
        &self,
        realm: &Realm,
        group: &str,
        principal: &Principal,
    ) -> Result<(), CoreError> {
        let g = self
            .store
            .find_group(realm, group)
            .await?
            .ok_or_else(|| CoreError::not_found("group", group))?;
        self.store.add_group_member(&g.id, &principal.id).await?;
        Ok(())
    }

    /// Checks a name and password. Every failure is the same `Unauthenticated`, whether the
    /// account is missing, disabled, locked, its password expired or wrong.
    pub async fn authenticate(
        &self,
        origin: impl Into<Origin>,
        username: &str,
        password: &str,
    ) -> Result<Caller, CoreError> {
        self.check_secret(origin.into(), username, Secret::Password(password))
            .await
    }

    /// Like `authenticate`, with the SHA-512 hex digest of the password instead of the password
    /// (ZStack's LogInByAccount). Accounts whose digest verifier is not set yet fail until they
    /// log in once with the password.
    pub async fn authenticate_digest(
        &self,
        origin: impl Into<Origin>,
        username: &str,
        digest: &str,
    ) -> Result<Caller, CoreError> {
        self.check_secret(origin.into(), username, Secret::Digest(digest))
            .await
    }

    /// The one password check. Every attempt takes from its address's budget first, and
    /// every attempt that gets past it pays one password verification — an unknown name, a
    /// locked account or one waiting out its backoff too — so the answer's timing reveals
    /// neither existence nor a lock.
    async fn check_secret(
        &self,
        origin: Origin,
        username: &str,
        secret: Secret<'_>,
    ) -> Result<Caller, CoreError> {
        let admitted = self.admit_attempt(origin)?;
        let given = match secret {
            Secret::Password(pw) => pw.to_string(),
            // Digests are compared in one spelling.
            Secret::Digest(d) => d.trim().to_ascii_lowercase(),
        };
        let Ok((realm, name)) = parse_login_name(
            username,
            origin.listener == Listener::Appliance,
            &self.sso_domain(),
        ) else {
            self.verify(given, password::decoy_hash().to_string())
                .await?;
            return Err(CoreError::Unauthenticated);
        };
        let key = lockout_key(&realm, &name);
        let now = self.clock.now();
        let open = self.lockout.admits(&key, origin.peer, now);
        let principal = self.store.find_principal(&realm, &name).await?;
        let stored = principal.as_ref().and_then(|p| match secret {
            Secret::Password(_) => Some(p.password_hash.clone()),
            Secret::Digest(_) => p.digest_verifier.clone(),
        });
        let hash = stored.unwrap_or_else(|| password::decoy_hash().to_string());
        let ok = self.verify(given, hash).await?;
        if ok && !open {
            // The right secret during a lock or backoff: refused like a wrong one, not counted.
            warn!(user = %username_for_log(&name, &realm), "login refused: account locked or waiting out its backoff for this address");
            return Err(CoreError::Unauthenticated);
        }
        let refusal = principal.as_ref().and_then(|p| p.login_refusal(now));
        if let (true, Some(why)) = (ok, refusal) {
            info!(user = %username_for_log(&name, &realm), "login refused: {}", why.as_str());
        }
        match principal {
            Some(mut p) if ok && refusal.is_none() => {
                self.lockout.record_success(&key, origin.peer);
                self.attempt_succeeded(admitted);
                if let (Secret::Password(pw), None) = (secret, &p.digest_verifier) {
                    // Accounts made before digest logins get their verifier on first use: only
                    // that field, and only if the password is still the one just checked.
                    let verifier = self.hash(password::digest_hex(pw)).await?;
                    self.store
                        .set_digest_verifier_if_unset(&p.id, &p.password_hash, &verifier)
                        .await?;
                    p.digest_verifier = Some(verifier);
                }
                let role = self.effective_role(&p).await?;
                Ok(Caller {
                    principal_id: p.id.clone(),
                    user: p.login_name(),
                    realm: p.realm.clone(),
                    role,
                })
            }
            _ => {
                let user = username_for_log(&name, &realm);
                let peer = origin.peer.map(|p| p.to_string()).unwrap_or_default();
                match self.lockout.record_failure(&key, origin.peer, now) {
                    Failure::Delayed(_) => info!(%user, %peer, "login failed"),
                    Failure::LockedForSource => {
                        warn!(%user, %peer, "account locked for this address after repeated login failures");
                    }
                    Failure::LockedEverywhere => {
                        warn!(%user, "account locked for every address: too many login failures from all addresses together");
                    }
                }
                Err(CoreError::Unauthenticated)
            }
        }
    }

    /// Takes one login attempt from the origin's address budget (every kind of login spends
    /// it); the address to give it back to when the login succeeds ([`Self::attempt_succeeded`]).
    fn admit_attempt(&self, origin: Origin) -> Result<Option<IpAddr>, CoreError> {
        let Some((peer, t)) = origin.peer.zip(self.throttle.get()) else {
            return Ok(None);
        };
        t.admit(peer)
            .map_err(|wait| CoreError::TooManyLoginAttempts {
                scope: " from this address".into(),
                retry_after_secs: wait.as_millis().div_ceil(1000).max(1) as u64,
            })?;
        Ok(Some(peer))
    }

    /// Gives an admitted attempt back to its address's budget.
    fn attempt_succeeded(&self, admitted: Option<IpAddr>) {
        if let (Some(peer), Some(t)) = (admitted, self.throttle.get()) {
            t.succeeded(peer);
        }
    }

    /// The address budget a token login spends before its token is read (`login_by_token`).
    pub(crate) fn admit_token_attempt(&self, origin: Origin) -> Result<(), CoreError> {
        self.admit_attempt(origin).map(|_| ())
    }

    /// Whether the subject of a verified token may act from `origin` now: an account locked for
    /// this address (or everywhere), or waiting out its backoff, is refused like a wrong
    /// credential, for a session as for a single call.
    pub(crate) fn admit_token_subject(
        &self,
        origin: Origin,
        caller: &Caller,
    ) -> Result<(), CoreError> {
        let name = caller.user.split('@').next().unwrap_or(&caller.user);
        let key = lockout_key(&caller.realm, name);
        if !self.lockout.admits(&key, origin.peer, self.clock.now()) {
            warn!(user = %caller.user, "token refused: account locked or waiting out its backoff for this address");
            return Err(CoreError::Unauthenticated);
        }
        Ok(())
    }

    /// Opens a session for a caller a verified token speaks for (`Core::login_by_token`,
    /// `Core::login_with_token`, `Core::exchange_token`),
    /// under Login's rules: an account locked for this address (or everywhere) is refused
    /// like a wrong credential; the session is of the origin's kind, on its listener. A token
    /// login neither counts as a failure nor clears the password failures.
    pub(crate) fn open_token_session(
        &self,
        origin: Origin,
        caller: Caller,
    ) -> Result<SessionToken, CoreError> {
        self.admit_token_subject(origin, &caller)?;
        let now = self.clock.now();
        self.attempt_succeeded(origin.peer);
        let user = caller.user.clone();
        let token = self
            .sessions
            .create(caller, origin.kind, origin.listener, now);
        info!(%user, "session opened (token login)");
        Ok(token)
    }

    async fn effective_role(&self, p: &Principal) -> Result<Role, CoreError> {
        let groups = self.store.groups_of(&p.id).await?;
        Ok(groups
            .iter()
            .filter_map(|g| g.role)
            .chain(std::iter::once(p.role))
            .max()
            .unwrap_or(p.role))
    }

    /// Authenticates and opens a session.
    pub async fn login(
        &self,
        origin: impl Into<Origin>,
        username: &str,
        password: &str,
    ) -> Result<(SessionToken, Caller), CoreError> {
        let origin = origin.into();
        let caller = self.authenticate(origin, username, password).await?;
        let token = self.sessions.create(
            caller.clone(),
            origin.kind,
            origin.listener,
            self.clock.now(),
        );
        info!(user = %caller.user, "session opened");
        Ok((token, caller))
    }

    /// Digest login with a session of fixed lifetime (ZStack's, not sliding), capped by the
    /// absolute lifetime and ended earlier by the idle timeout. Returns the token, the caller
    /// and when the session ends at the latest.
    pub async fn login_digest(
        &self,
        origin: Origin,
        username: &str,
        digest: &str,
        lifetime: Duration,
    ) -> Result<(SessionToken, Caller, time::OffsetDateTime), CoreError> {
        let caller = self.authenticate_digest(origin, username, digest).await?;
        let now = self.clock.now();
        let (token, expires) =
            self.sessions
                .create_fixed(caller.clone(), origin.kind, origin.listener, now, lifetime);
        info!(user = %caller.user, "session opened (digest login)");
        Ok((token, caller, expires))
    }

    /// Moves a fixed-lifetime session's end to `duration` from now, never past the absolute
    /// lifetime; returns the new end. Only a fixed-lifetime session of the origin's kind on
    /// its listener is renewed (a vSphere session never is).
    pub fn renew_session(
        &self,
        origin: Origin,
        token: &str,
        duration: Duration,
    ) -> Result<time::OffsetDateTime, CoreError> {
        self.sessions
            .renew(
                token,
                origin.kind,
                origin.listener,
                self.clock.now(),
                duration,
            )
            .ok_or(CoreError::Unauthenticated)
    }

    /// The caller behind a session token of the origin's kind made on its listener; touching
    /// it resets the idle timer.
    pub fn resolve_session(
        &self,
        origin: impl Into<Origin>,
        token: &str,
    ) -> Result<(Caller, SessionView), CoreError> {
        let origin = origin.into();
        self.sessions
            .resolve(token, origin.kind, origin.listener, self.clock.now())
            .ok_or(CoreError::Unauthenticated)
    }

    /// A one-time clone ticket for the session behind `token`.
    pub fn acquire_clone_ticket(&self, origin: Origin, token: &str) -> Result<String, CoreError> {
        self.resolve_session(origin, token)?;
        Ok(self.tickets.issue(token, self.clock.now()))
    }

    /// Opens a new session with the identity of the ticket's session. A used, expired or
    /// unknown ticket, or one whose session has ended, is refused like a wrong password.
    pub fn clone_session(
        &self,
        origin: Origin,
        ticket: &str,
    ) -> Result<(SessionToken, Caller), CoreError> {
        let source = self
            .tickets
            .redeem(ticket, self.clock.now())
            .ok_or(CoreError::InvalidLogin)?;
        let (caller, _) = self
            .resolve_session(origin, &source)
            .map_err(|_| CoreError::InvalidLogin)?;
        let token = self.sessions.create(
            caller.clone(),
            origin.kind,
            origin.listener,
            self.clock.now(),
        );
        info!(user = %caller.user, "session cloned from a ticket");
        Ok((token, caller))
    }

    pub fn logout(&self, origin: impl Into<Origin>, token: &str) -> Result<(), CoreError> {
        let origin = origin.into();
        if self.sessions.remove(token, origin.kind, origin.listener) {
            Ok(())
        } else {
            Err(CoreError::Unauthenticated)
        }
    }

    /// vim SessionIsActive: whether the session named by `key` is live and belongs to `user`.
    pub fn session_is_active(
        &self,
        caller: &Caller,
        key: &str,
        user: &str,
    ) -> Result<bool, CoreError> {
        self.authorize(caller, Privilege::SessionsValidateSession)?;
        let owner = self.sessions.user_of_key(key, self.clock.now());
        Ok(owner.is_some_and(|o| {
            o.eq_ignore_ascii_case(user) || o.eq_ignore_ascii_case(&qualified_to_upn(user))
        }))
    }

    /// vim TerminateSession: ends other sessions by key. Unknown keys are NotFound and the
    /// caller's own session may not be named; nothing ends unless every key is valid.
    pub fn terminate_sessions(
        &self,
        caller: &Caller,
        own_key: &str,
        keys: &[String],
    ) -> Result<(), CoreError> {
        self.authorize(caller, Privilege::SessionsTerminateSession)?;
        let now = self.clock.now();
        for k in keys {
            if k == own_key {
                return Err(CoreError::invalid(
                    "sessionId",
                    "names the caller's own session; use Logout",
                ));
            }
            if self.sessions.user_of_key(k, now).is_none() {
                return Err(CoreError::not_found("session", k));
            }
        }
        for k in keys {
            self.sessions.remove_key(k);
        }
        info!(count = keys.len(), by = %caller.user, "sessions terminated");
        Ok(())
    }

    /// Ends every lock, backoff and failure count of an SSO account, so its owner can log in
    /// at once. A ferrocenter extension (vSphere's local accounts API unlocks nothing): only the
    /// appliance's local `root`, on the appliance listener, may call it — the account that
    /// still works when the SSO administrator is locked out.
    pub fn unlock_account(
        &self,
        caller: &Caller,
        origin: Origin,
        username: &str,
    ) -> Result<bool, CoreError> {
        if !(caller.realm == Realm::Local
            && caller.user == ROOT
            && origin.listener == Listener::Appliance)
        {
            return Err(CoreError::NoPermission {
                privilege: UNLOCK_PRIVILEGE.to_string(),
            });
        }
        let (realm, name) = parse_login_name(username, false, &self.sso_domain())
            .map_err(|_| CoreError::invalid("user", "is not an SSO account name (name@domain)"))?;
        let key = lockout_key(&realm, &name);
        let had = self.lockout.unlock(&key);
        info!(user = %username_for_log(&name, &realm), by = %caller.user, "account unlocked");
        Ok(had)
    }

    /// The lockout policy logins are counted against now.
    pub fn lockout_policy(&self) -> LockoutPolicy {
        self.lockout.policy()
    }

    /// Replaces the lockout policy (the stored SSO policy, at start and when it is set).
    pub fn set_lockout_policy(&self, policy: LockoutPolicy) {
        self.lockout.set_policy(policy);
    }

    /// Ends every lock, backoff and failure count of the account; whether there was any.
    /// The caller has authorized the unlock (`sso::users`, `unlock_account`).
    pub fn clear_lockout(&self, realm: &Realm, name: &str) -> bool {
        self.lockout.unlock(&lockout_key(realm, name))
    }

    /// Whether `password` matches a stored hash (a password history's), within the hashing
    /// bound; not counted as a login.
    pub async fn password_matches(&self, password: &str, hash: &str) -> Result<bool, CoreError> {
        self.verify(password.to_string(), hash.to_string()).await
    }

    /// Password verifications run so far (each login attempt runs exactly one).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    pub fn sweep_sessions(&self) -> usize {
        self.sessions.sweep(self.clock.now())
    }

    pub fn session_count(&self) -> usize {
        self.sessions.count()
    }

    /// Whether the caller may have the server post a result to a URL it names (ZStack's
    /// `X-Web-Hook`): the server then sends requests on the caller's behalf, so only a caller
    /// whose role may change the inventory (the role every operation that runs as a job
    /// needs) may ask for it.
    pub fn authorize_web_hook(&self, caller: &Caller) -> Result<(), CoreError> {
        if caller.role >= Role::Admin {
            Ok(())
        } else {
            Err(CoreError::NoPermission {
                privilege: format!("of the {} role (web hooks)", Role::Admin),
            })
        }
    }

    /// The one authorization check. Every core operation calls it with the privilege it needs.
    pub fn authorize(&self, caller: &Caller, privilege: Privilege) -> Result<(), CoreError> {
        if caller.role.grants(privilege) {
            Ok(())
        } else {
            Err(CoreError::NoPermission {
                privilege: privilege.as_str().to_string(),
            })
        }
    }
}

/// The key lockout counts an account under: its realm and its name in that realm.
fn lockout_key(realm: &Realm, name: &str) -> String {
    format!("{}|{}", realm.store_key(), name)
}

fn username_for_log(name: &str, realm: &Realm) -> String {
    match realm {
        Realm::Sso { domain } => format!("{name}@{domain}"),
        Realm::Local => name.to_string(),
    }
}

/// What `unlock_account` answers callers other than the appliance's root with.
pub const UNLOCK_PRIVILEGE: &str = "Ferrocenter.Accounts.Unlock";

/// `VSPHERE.LOCAL\name` (how vim shows users) as `name@vsphere.local` (how sessions hold them).
fn qualified_to_upn(user: &str) -> String {
    match user.split_once('\\') {
        Some((domain, name)) => format!("{name}@{domain}").to_ascii_lowercase(),
        None => user.to_ascii_lowercase(),
    }
}

/// What a login presents: the password, or its SHA-512 hex digest.
#[derive(Clone, Copy)]
enum Secret<'a> {
    Password(&'a str),
    Digest(&'a str),
}
