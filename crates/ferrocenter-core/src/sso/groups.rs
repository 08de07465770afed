//! SSO groups: list, get, create, delete, and their members. Members are users of the local
//! SSO domain, or groups of a federated directory named `domain\group` (how vCenter lets an
//! operator give an AD group a role: the guide's "add a user or group from your AD FS
//! environment to a group in vCenter Server"); other groups inside groups are not supported (a
//! group's role reaches its direct members only). The groups of table 4-2 always exist and
//! cannot be deleted.
//!
//! A federated group has no account here, so it is kept by name in one setting
//! ([`EXTERNAL_MEMBERS_KEY`]: SSO group → external group names, lower-case) rather than as a
//! membership row; a token exchange reads it to give a federated user the roles of the SSO
//! groups holding any of its directory groups.
use std::collections::BTreeMap;

use serde_json::json;
use tracing::info;

use super::EVENT_ENTITY;
use crate::appliance::accounts::text;
use crate::auth::{
    Caller, Group, Privilege, Role, ADMINISTRATORS_GROUP, BASH_SHELL_ADMINISTRATORS_GROUP,
};
use crate::model::new_uuid;
use crate::{Core, CoreError};

/// The groups of table 4-2, made at the first start.
const BUILT_IN: [&str; 2] = [ADMINISTRATORS_GROUP, BASH_SHELL_ADMINISTRATORS_GROUP];

/// The setting holding the SSO groups' federated (external) group members.
pub const EXTERNAL_MEMBERS_KEY: &str = "sso.groups.external_members";

/// SSO group name → its external members (`domain\group`, lower-case).
type ExternalMembers = BTreeMap<String, Vec<String>>;

/// A federated directory's group as a member name: `domain\group`, both parts non-empty and
/// printable; `None` when `raw` is no such name (a local user's).
pub fn external_group(field: &str, raw: &str) -> Result<Option<String>, CoreError> {
    let Some((domain, group)) = raw.split_once('\\') else {
        return Ok(None);
    };
    let bad = |s: &str| s.trim().is_empty() || s.contains('\\') || s.chars().any(char::is_control);
    if bad(domain) || bad(group) || raw.len() > 512 {
        return Err(CoreError::invalid(
            field,
            "a federated group is named domain\\group (the domain of its users' UPNs)",
        ));
    }
    Ok(Some(format!(
        "{}\\{}",
        domain.trim().to_lowercase(),
        group.trim().to_lowercase()
    )))
}

/// An SSO group as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoGroup {
    pub name: String,
    pub domain: String,
    pub description: String,
    /// The role its members receive (table 4-2), if any.
    pub role: Option<Role>,
    pub built_in: bool,
    /// Member users, by name, then federated groups (`domain\group`).
    pub members: Vec<String>,
}

impl Core {
    async fn sso_group(&self, name: &str) -> Result<Group, CoreError> {
        self.store
            .find_group(&self.sso_realm(), name)
            .await?
            .ok_or_else(|| CoreError::not_found("SSO group", name))
    }

    async fn external_members(&self) -> Result<ExternalMembers, CoreError> {
        self.sso_setting(EXTERNAL_MEMBERS_KEY).await
    }

    async fn put_external_members(&self, all: &ExternalMembers) -> Result<(), CoreError> {
        let json = serde_json::to_string(all)
            .map_err(|e| CoreError::internal(format!("{EXTERNAL_MEMBERS_KEY}: {e}")))?;
        Ok(self.store.put_setting(EXTERNAL_MEMBERS_KEY, &json).await?)
    }

    /// The highest role the SSO groups holding any of `groups` (federated `domain\group`
    /// names, lower-case) give; `None` when no group holding one carries a role.
    pub(crate) async fn role_of_external_groups(
        &self,
        groups: &[String],
    ) -> Result<Option<Role>, CoreError> {
        let holding: Vec<String> = self
            .external_members()
            .await?
            .into_iter()
            .filter(|(_, members)| members.iter().any(|m| groups.contains(m)))
            .map(|(name, _)| name)
            .collect();
        if holding.is_empty() {
            return Ok(None);
        }
        // The setting keys groups lower-case; the store keeps their spelling.
        Ok(self
            .store
            .list_groups(&self.sso_realm())
            .await?
            .into_iter()
            .filter(|g| holding.contains(&g.name.to_lowercase()))
            .filter_map(|g| g.role)
            .max())
    }

    async fn sso_group_view(&self, g: Group) -> Result<SsoGroup, CoreError> {
        let members = self.store.group_members(&g.id).await?;
        let external = self
            .external_members()
            .await?
            .remove(&g.name.to_lowercase())
            .unwrap_or_default();
        Ok(SsoGroup {
            built_in: BUILT_IN.contains(&g.name.as_str()),
            domain: g.realm.store_key().to_string(),
            members: members
                .into_iter()
                .map(|p| p.name)
                .chain(external)
                .collect(),
            name: g.name,
            description: g.description,
            role: g.role,
        })
    }

    async fn group_event(
        &self,
        kind: &str,
        caller: &Caller,
        g: &Group,
        message: String,
        user: Option<&str>,
    ) {
        self.record_event(
            kind,
            EVENT_ENTITY,
            &g.id,
            &g.name,
            &caller.user,
            message,
            json!({"group": g.name, "user": user}),
        )
        .await;
    }

    /// `sso.groups.list`.
    pub async fn sso_groups_list(&self, caller: &Caller) -> Result<Vec<SsoGroup>, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let mut out = Vec::new();
        for g in self.store.list_groups(&self.sso_realm()).await? {
            out.push(self.sso_group_view(g).await?);
        }
        Ok(out)
    }

    /// `sso.groups.get`.
    pub async fn sso_group_get(&self, caller: &Caller, name: &str) -> Result<SsoGroup, CoreError> {
        self.auth.authorize(caller, Privilege::SystemRead)?;
        let name = self.sso_name("name", name)?;
        let g = self.sso_group(&name).await?;
        self.sso_group_view(g).await
    }

    /// `sso.groups.create`: a group without a role (table 4-2's groups carry the roles).
    pub async fn sso_group_create(
        &self,
        caller: &Caller,
        name: &str,
        description: &str,
    ) -> Result<SsoGroup, CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let name = self.sso_name("spec.name", name)?;
        let description = text("spec.description", description)?.unwrap_or_default();
        let _writes = self.account_writes.lock().await;
        let taken = self
            .store
            .list_groups(&self.sso_realm())
            .await?
            .into_iter()
            .any(|g| g.name.eq_ignore_ascii_case(&name));
        if taken {
            return Err(CoreError::AlreadyExists {
                what: "SSO group".into(),
                name,
            });
        }
        let g = Group {
            id: new_uuid(),
            realm: self.sso_realm(),
            name,
            role: None,
            description,
        };
        self.store.insert_group(&g).await?;
        info!(group = %g.name, by = %caller.user, "SSO group created");
        self.group_event(
            "com.ferrocenter.sso.GroupCreatedEvent",
            caller,
            &g,
            format!("Created SSO group {}", g.name),
            None,
        )
        .await;
        self.sso_group_view(g).await
    }

    /// `sso.groups.delete`: the group and its memberships; its members' sessions end (their
    /// role may fall). Table 4-2's groups cannot be deleted.
    pub async fn sso_group_delete(&self, caller: &Caller, name: &str) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let name = self.sso_name("name", name)?;
        let _writes = self.account_writes.lock().await;
        let g = self.sso_group(&name).await?;
        if BUILT_IN.contains(&g.name.as_str()) {
            return Err(CoreError::invalid(
                "name",
                format!(
                    "'{}' is a built-in group (table 4-2): it cannot be deleted",
                    g.name
                ),
            ));
        }
        let members = self.store.group_members(&g.id).await?;
        if !self.store.delete_group(&g.id).await? {
            return Err(CoreError::not_found("SSO group", &g.name));
        }
        for m in &members {
            self.auth.end_sessions_of(&m.id);
        }
        let mut external = self.external_members().await?;
        if external.remove(&g.name.to_lowercase()).is_some() {
            self.put_external_members(&external).await?;
        }
        info!(group = %g.name, by = %caller.user, "SSO group deleted");
        self.group_event(
            "com.ferrocenter.sso.GroupRemovedEvent",
            caller,
            &g,
            format!("Deleted SSO group {}", g.name),
            None,
        )
        .await;
        Ok(())
    }

    /// `sso.groups.add_members`: users of the local SSO domain, or federated groups named
    /// `domain\group`. Every name is checked before any is added; members already in stay.
    pub async fn sso_group_add_members(
        &self,
        caller: &Caller,
        name: &str,
        users: &[String],
    ) -> Result<(), CoreError> {
        self.change_members(caller, name, users, true).await
    }

    /// `sso.groups.remove_members`: every name must be a member; the removed users' sessions
    /// end (their role may fall).
    pub async fn sso_group_remove_members(
        &self,
        caller: &Caller,
        name: &str,
        users: &[String],
    ) -> Result<(), CoreError> {
        self.change_members(caller, name, users, false).await
    }

    async fn change_members(
        &self,
        caller: &Caller,
        name: &str,
        users: &[String],
        add: bool,
    ) -> Result<(), CoreError> {
        self.auth
            .authorize(caller, Privilege::ApplianceManageAccounts)?;
        let name = self.sso_name("name", name)?;
        if users.is_empty() {
            return Err(CoreError::invalid("users", "must name at least one user"));
        }
        let _writes = self.account_writes.lock().await;
        let g = self.sso_group(&name).await?;
        let current = self.store.group_members(&g.id).await?;
        let mut principals = Vec::new();
        let mut all_external = self.external_members().await?;
        let external = all_external.entry(g.name.to_lowercase()).or_default();
        let mut external_changed = Vec::new();
        for (i, u) in users.iter().enumerate() {
            let field = format!("users[{i}]");
            if let Some(x) = external_group(&field, u)? {
                let present = external.contains(&x);
                if !add && !present {
                    return Err(CoreError::invalid(
                        &field,
                        format!("'{x}' is not a member of {}", g.name),
                    ));
                }
                if add != present && !external_changed.contains(&x) {
                    external_changed.push(x);
                }
                continue;
            }
            let user = self.sso_name(&field, u)?;
            let p = self
                .store
                .find_principal(&self.sso_realm(), &user.to_ascii_lowercase())
                .await?
                .ok_or_else(|| {
                    CoreError::invalid(
                        &field,
                        format!(
                            "names no user of {} (groups hold users only)",
                            self.auth.sso_domain()
                        ),
                    )
                })?;
            if !add && !current.iter().any(|m| m.id == p.id) {
                return Err(CoreError::invalid(
                    &field,
                    format!("'{}' is not a member of {}", p.name, g.name),
                ));
            }
            principals.push(p);
        }
        if !external_changed.is_empty() {
            if add {
                external.extend(external_changed.iter().cloned());
            } else {
                external.retain(|m| !external_changed.contains(m));
            }
            all_external.retain(|_, m| !m.is_empty());
            self.put_external_members(&all_external).await?;
            // A federated session keeps the role it was given; a removed group's users lose
            // it at their next exchange (their sessions are not tracked by directory group).
        }
        for x in &external_changed {
            let what = if add { "added to" } else { "removed from" };
            info!(group = %g.name, member = %x, by = %caller.user, "federated group {what} SSO group");
            self.group_event(
                "com.ferrocenter.sso.GroupMembershipChangedEvent",
                caller,
                &g,
                format!("Federated group {x} {what} group {}", g.name),
                Some(x),
            )
            .await;
        }
        for p in &principals {
            if add {
                self.store.add_group_member(&g.id, &p.id).await?;
            } else {
                self.store.remove_group_member(&g.id, &p.id).await?;
                self.auth.end_sessions_of(&p.id);
            }
        }
        let what = if add { "added to" } else { "removed from" };
        for p in &principals {
            info!(group = %g.name, user = %p.login_name(), by = %caller.user, "SSO user {what} group");
            self.group_event(
                "com.ferrocenter.sso.GroupMembershipChangedEvent",
                caller,
                &g,
                format!("SSO user {} {what} group {}", p.login_name(), g.name),
                Some(&p.login_name()),
            )
            .await;
        }
        Ok(())
    }
}
