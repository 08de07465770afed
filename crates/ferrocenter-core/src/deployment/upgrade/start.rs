//! `upgrade.start` and `upgrade.cancel`: the move itself, as steps with progress recorded in
//! the deployment record (a kill leaves a record the next start turns into FAILED):
//!
//! 1. `validate` — the source reached again (pinned, logged in) and checked as `check` does;
//! 2. `export` — the source writes a backup archive through its backup machinery, encrypted
//!    under a password this server generates for the move, and this server downloads it over
//!    the same pinned connection; the source removes its copy whatever happens;
//! 3. `import` — the archive's `common` part replaces this store's content in one transaction
//!    (restore's import: secrets sealed again under this server's key), keeping this server's
//!    own uuid and deployment record, then what the core holds in memory is read again;
//! 4. `history` — the source's history (the `seat` part; without its statistics for
//!    EVENTS_TASKS) is staged for the history import and imported now, or once CONFIGURED with
//!    `defer_import`;
//! 5. `services` — the store recorded as the data dir's own, the main listener started (when
//!    it cannot bind, the question `services.listen` decides, as in an install);
//! 6. `hosts` — last, host by host: each agent is claimed for this server with the imported
//!    service account (`force`), so until its claim moves the source still manages it.
//!
//! Nothing before `import` changes this server; nothing at all changes the source but the
//! claims in `hosts` (and its export, removed at once).
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::auth::{generate_password, Caller, Listener, Privilege, Realm, Role};
use crate::deployment::spec_problems::invalid_spec;
use crate::deployment::steps::{Begin, Plan};
use crate::deployment::{
    notification, record as deployment_record, text, Notifications, Operation,
};
use crate::history_import::{HistorySource, HistoryTables, Status as HistoryStatus};
use crate::inventory::{ConnectionState, Host, HostFilter};
use crate::ports::LocationSecret;
use crate::ports::SourceSession;
use crate::recovery::{open_archive, restore_archive, PartId};
use crate::{Core, CoreError};

use super::check::{about_problems, source_problem};
use super::record;
use super::spec::{DataSet, UpgradeSpec};

/// The upgrade's steps.
const PLAN: Plan = Plan {
    kind: "upgrade",
    noun: "upgrade",
    title: "Upgrade:",
    steps: &[
        ("validate", "the upgrade checks"),
        ("export", "the source's export"),
        ("import", "the source's configuration and inventory"),
        ("history", "the source's history"),
        ("services", "the services"),
        ("hosts", "moving the hosts"),
    ],
    no_return_from: "services",
};

/// Hosts claimed at once.
const HOSTS_AT_ONCE: usize = 64;

/// A pause before each host's claim in milliseconds (default 0, at most a minute), read from
/// the store once the import ran (so set on the source): lets an operator, or a test, watch
/// or interrupt a move host by host.
pub const HOST_PAUSE_KEY: &str = "deployment.upgrade.host_pause_ms";
const MAX_HOST_PAUSE_MS: u64 = 60_000;

/// The length of the password the export is encrypted under (made here, never stored).
const EXPORT_PASSWORD_LEN: usize = 40;

/// Where the downloaded archive waits on this server: under the restore staging, which a
/// start clears, so a killed upgrade leaves nothing behind.
fn staging(core: &Core, id: &str) -> PathBuf {
    core.config
        .recovery
        .work_dir
        .join("restore-staging")
        .join(format!("upgrade-{id}"))
}

impl Core {
    /// `upgrade.start`: checks the spec, records the upgrade as running and runs it in the
    /// background; `deployment.get` follows it.
    pub async fn upgrade_start(&self, caller: &Caller, spec: &Value) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let spec = UpgradeSpec::parse(spec).map_err(|p| invalid_spec(&p))?;
        self.require_awaiting_setup()?;
        let cancel = self
            .begin_setup(
                &PLAN,
                Begin {
                    operation: Operation::Upgrade,
                    description: text(
                        "com.vmware.vcenter.deploy.task.description.op.upgrade",
                        format!("Upgrade from {}.", spec.hostname),
                        vec![spec.hostname.clone()],
                    ),
                    user: caller.user.clone(),
                    install_spec: None,
                    // The import replaces the store's content: a rollback empties it.
                    kept_data: false,
                },
            )
            .await?;
        record::save_spec(self, &spec).await?;
        info!(user = %caller.user, source = %spec.hostname, port = spec.https_port, "upgrade started");
        let core = self.self_arc();
        let user = caller.user.clone();
        tokio::spawn(async move {
            let outcome = core.run_upgrade(&spec, &cancel, &user).await;
            let configured = outcome.is_ok();
            core.finish_setup(&PLAN, &outcome).await;
            if configured && spec.history.is_some_and(|h| h.defer_import) {
                core.start_deferred_history(&user).await;
            }
        });
        Ok(())
    }

    /// `upgrade.cancel`: stops the upgrade at its next step; it ends FAILED. Once the
    /// services start it can no longer be cancelled.
    pub async fn upgrade_cancel(&self, caller: &Caller) -> Result<(), CoreError> {
        self.cancel_setup(caller, Operation::Upgrade, &PLAN).await
    }

    async fn run_upgrade(
        &self,
        spec: &UpgradeSpec,
        cancel: &CancellationToken,
        user: &str,
    ) -> Result<(), CoreError> {
        let id = crate::model::new_uuid();
        let dir = staging(self, &id);
        let r = self.upgrade_steps(spec, cancel, &dir, user).await;
        crate::staging::remove_dir(&dir, "the upgrade's staging");
        r
    }

    async fn upgrade_steps(
        &self,
        spec: &UpgradeSpec,
        cancel: &CancellationToken,
        dir: &Path,
        user: &str,
    ) -> Result<(), CoreError> {
        let now = || self.clock.now();
        let fail = |e: crate::ports::UpgradeSourceError| {
            let p = source_problem(spec, &e);
            CoreError::invalid(format!("spec.{}", p.field), p.reason)
        };

        self.begin_step(&PLAN, "validate", cancel).await?;
        let source = self.open_source(spec).await.map_err(fail)?;
        let about = source.about().await.map_err(fail)?;
        if let Some(p) = about_problems(&about, self.store.schema_version().await?).first() {
            return Err(CoreError::invalid(format!("spec.{}", p.field), &p.reason));
        }
        // This server's own uuid, before the import brings the source's.
        let own_uuid = self.server_uuid().await?;
        let mut found = Notifications::default();
        found.info.push(notification(
            "com.ferrocenter.deployment.upgrade.source",
            format!(
                "The source {} (server {}) runs ferrocenter {} and manages {} hosts and {} VMs.",
                spec.hostname, about.server_uuid, about.version, about.hosts, about.vms
            ),
            now(),
        ));
        self.end_step("validate", found).await?;

        self.begin_step(&PLAN, "export", cancel).await?;
        let password = generate_password(EXPORT_PASSWORD_LEN);
        let bytes = self
            .download_export(source.as_ref(), spec, &password, dir)
            .await?;
        let mut found = Notifications::default();
        found.info.push(notification(
            "com.ferrocenter.deployment.upgrade.exported",
            format!(
                "The source exported its data ({bytes} bytes, encrypted); its copy is removed."
            ),
            now(),
        ));
        self.end_step("export", found).await?;

        self.begin_step(&PLAN, "import", cancel).await?;
        let found = self.import_source(spec, dir, &password, &own_uuid).await?;
        self.end_step("import", found).await?;

        self.begin_step(&PLAN, "history", cancel).await?;
        let found = self.hand_over_history(spec, dir, &password, user).await?;
        self.end_step("history", found).await?;

        self.begin_step(&PLAN, "services", cancel).await?;
        self.deployment
            .host()
            .record_store_identity(&own_uuid)
            .map_err(|e| CoreError::internal(format!("recording the store: {e}")))?;
        let mut found = Notifications::default();
        found.warnings.extend(
            self.start_main_listener(&PLAN, spec.auto_answer, cancel)
                .await?,
        );
        self.end_step("services", found).await?;

        self.begin_step(&PLAN, "hosts", cancel).await?;
        let found = self.move_hosts(&own_uuid).await?;
        self.end_step("hosts", found).await?;
        Ok(())
    }

    /// Has the source export, downloads every file into `dir`, and has the source remove its
    /// export whether the download worked or not. Returns the bytes downloaded.
    async fn download_export(
        &self,
        source: &dyn SourceSession,
        spec: &UpgradeSpec,
        password: &str,
        dir: &Path,
    ) -> Result<u64, CoreError> {
        let fail = |e: crate::ports::UpgradeSourceError| {
            let p = source_problem(spec, &e);
            CoreError::invalid(format!("spec.{}", p.field), p.reason)
        };
        let export = source
            .export_create(password, spec.history.is_some())
            .await
            .map_err(fail)?;
        let got = async {
            std::fs::create_dir_all(dir).map_err(|e| {
                CoreError::internal(format!("cannot stage the export in {}: {e}", dir.display()))
            })?;
            let mut total = 0;
            for f in &export.files {
                if f.name.contains('/') || f.name.starts_with('.') {
                    return Err(CoreError::internal(format!(
                        "the source named an export file '{}' outside its directory",
                        f.name
                    )));
                }
                total += source
                    .download(&export, &f.name, &dir.join(&f.name))
                    .await
                    .map_err(fail)?;
            }
            Ok(total)
        }
        .await;
        if let Err(e) = source.export_delete(&export.export).await {
            warn!(export = %export.export, error = %e, "the source did not remove its upgrade export");
        }
        got
    }

    /// Replaces this store's content with the archive's `common` part, keeping this server's
    /// uuid and deployment record, then reads again what the core holds in memory.
    async fn import_source(
        &self,
        spec: &UpgradeSpec,
        dir: &Path,
        password: &str,
        own_uuid: &str,
    ) -> Result<Notifications, CoreError> {
        let opened = open_archive(dir, Some(password))?;
        restore_archive(
            self.store.as_ref(),
            &self.config.secret_key,
            &opened,
            Some(&[PartId::Common]),
        )
        .await?;
        // The import brought the source's settings: this server keeps its own uuid (agents
        // are claimed for it) and its deployment record and spec.
        self.store
            .put_setting(crate::SERVER_UUID_KEY, own_uuid)
            .await?;
        self.update_deployment(|_| {}).await?;
        record::save_spec(self, spec).await?;
        match self
            .store
            .get_setting(deployment_record::DOMAIN_KEY)
            .await?
        {
            Some(d) => self.auth.set_sso_domain(&d),
            None => self.auth.reset_sso_domain(),
        }
        self.forget_signing_keys();
        self.load_firewall().await?;
        self.load_log_forwarding().await?;
        self.apply_stored_sso_policies().await?;
        self.store
            .put_setting(
                "ceip.enabled",
                if spec.ceip_enabled { "true" } else { "false" },
            )
            .await?;
        // The source's root is this server's root now: the spec's root_password must open it.
        if self
            .auth
            .authenticate(Listener::Appliance, crate::auth::ROOT, &spec.root_password)
            .await
            .is_err()
        {
            return Err(CoreError::invalid(
                "spec.source_appliance.root_password",
                "is not the password of the source's root, which is this server's root now \
                 (the store holds the source's data: roll back and start again with the right \
                 one)",
            ));
        }
        let hosts = self.store.count_hosts(&HostFilter::default()).await?;
        let mut found = Notifications::default();
        found.info.push(notification(
            "com.ferrocenter.deployment.upgrade.imported",
            format!(
                "Imported the source's configuration and inventory ({hosts} hosts); the SSO \
                 domain is {}.",
                self.auth.sso_domain()
            ),
            self.clock.now(),
        ));
        Ok(found)
    }

    /// The upgrade acting on behalf of `user` who started it, after the import (whose
    /// accounts may not hold that user any more).
    fn upgrade_caller(user: &str) -> Caller {
        Caller {
            principal_id: "system".into(),
            user: user.to_string(),
            realm: Realm::Local,
            role: Role::SuperAdmin,
        }
    }

    /// Hands the source's history (the `seat` part of the archive in `dir`) to the history
    /// import (`crate::history_import`): staged now; imported before the server is CONFIGURED,
    /// or, with `defer_import`, started by itself once it is.
    async fn hand_over_history(
        &self,
        spec: &UpgradeSpec,
        dir: &Path,
        password: &str,
        user: &str,
    ) -> Result<Notifications, CoreError> {
        let mut found = Notifications::default();
        let Some(h) = &spec.history else {
            return Ok(found);
        };
        let caller = Self::upgrade_caller(user);
        // EVENTS_TASKS: the export still holds the whole `seat` part; staging leaves the
        // statistics out.
        let which = match h.data_set {
            DataSet::All => HistoryTables::All,
            DataSet::EventsTasks => HistoryTables::EventsTasks,
        };
        let staged = self
            .stage_history_tables(
                &caller,
                HistorySource::Directory {
                    path: dir.to_path_buf(),
                    password: Some(LocationSecret::new(password)),
                },
                which,
            )
            .await?;
        if h.defer_import {
            found.info.push(notification(
                "com.ferrocenter.deployment.upgrade.history_staged",
                format!(
                    "The source's history ({} rows) is staged; its import starts once the \
                     server is set up (vcenter.deployment.import_history).",
                    staged.total
                ),
                self.clock.now(),
            ));
            return Ok(found);
        }
        self.history_import_start(&caller, None).await?;
        loop {
            let info = self.history_import_get(&caller).await?;
            match info.status {
                HistoryStatus::Succeeded => break,
                HistoryStatus::Failed | HistoryStatus::Blocked => {
                    return Err(CoreError::internal(format!(
                        "the history import stopped ({})",
                        info.status.as_str()
                    )))
                }
                HistoryStatus::Pending | HistoryStatus::Running => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            }
        }
        found.info.push(notification(
            "com.ferrocenter.deployment.upgrade.history_imported",
            format!("Imported the source's history ({} rows).", staged.total),
            self.clock.now(),
        ));
        Ok(found)
    }

    /// After a deferred upgrade is CONFIGURED: the staged history starts importing.
    async fn start_deferred_history(&self, user: &str) {
        match self
            .history_import_start(&Self::upgrade_caller(user), None)
            .await
        {
            Ok(()) => info!("the upgrade's deferred history import started"),
            Err(e) => warn!(error = %e, "the upgrade's deferred history import did not start"),
        }
    }

    /// Claims every host's agent for this server with the imported service account, a
    /// bounded number at once: info per host moved, a warning per host not moved (the source
    /// still manages it).
    async fn move_hosts(&self, own_uuid: &str) -> Result<Notifications, CoreError> {
        let hosts = self.store.list_hosts(&HostFilter::default()).await?;
        let pause = std::time::Duration::from_millis(
            self.store
                .get_setting(HOST_PAUSE_KEY)
                .await?
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
                .min(MAX_HOST_PAUSE_MS),
        );
        let sem = Arc::new(tokio::sync::Semaphore::new(HOSTS_AT_ONCE));
        let mut joins = tokio::task::JoinSet::new();
        for h in hosts {
            let core = self.self_arc();
            let uuid = own_uuid.to_string();
            let sem = sem.clone();
            joins.spawn(async move {
                let _permit = sem.acquire_owned().await;
                tokio::time::sleep(pause).await;
                let r = core.move_host(&h, &uuid).await;
                (h, r)
            });
        }
        let mut found = Notifications::default();
        while let Some(j) = joins.join_next().await {
            let Ok((h, r)) = j else { continue };
            let now = self.clock.now();
            match r {
                Ok(state) => found.info.push(notification(
                    "com.ferrocenter.deployment.upgrade.host_moved",
                    format!(
                        "Host {} ({}:{}) is managed by this server now ({}).",
                        h.name,
                        h.address,
                        h.port,
                        state.as_str()
                    ),
                    now,
                )),
                Err(e) => found.warnings.push(notification(
                    "com.ferrocenter.deployment.upgrade.host_not_moved",
                    format!(
                        "Host {} ({}:{}) was not moved: {e}. The source still manages it; \
                         reconnect it here with force once it answers.",
                        h.name, h.address, h.port
                    ),
                    now,
                )),
            }
        }
        found
            .info
            .sort_by(|a, b| a.message.default_message.cmp(&b.message.default_message));
        found
            .warnings
            .sort_by(|a, b| a.message.default_message.cmp(&b.message.default_message));
        Ok(found)
    }

    /// One host: its agent logged in to with the service account and claimed (`force`); a
    /// host the source had connected is connected here, one it had disconnected stays so —
    /// unless its agent is this server's already: an earlier attempt claimed it before it
    /// failed, and the source let it go for that reason alone.
    async fn move_host(&self, h: &Host, own_uuid: &str) -> Result<ConnectionState, CoreError> {
        let agent = self.agents.open(&crate::hosts::endpoint(h));
        let password = self.secrets.open(&h.agent_secret)?;
        agent.login(&h.agent_user, &password).await?;
        let ours_already = agent
            .runtime()
            .await?
            .claim
            .is_some_and(|c| c.server_uuid == own_uuid);
        agent
            .claim(own_uuid, &self.config.hosts.server_address, true)
            .await?;
        let state = match h.connection_state {
            ConnectionState::Disconnected if !ours_already => ConnectionState::Disconnected,
            _ => ConnectionState::Connected,
        };
        if state != h.connection_state {
            let mut moved = h.clone();
            moved.connection_state = state;
            moved.last_op_at = self.clock.now();
            self.store.update_host(&moved).await?;
        }
        Ok(state)
    }
}
