//! Roles and the vim privileges they grant (management guide, chapter 4).
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The three authorization levels of table 4-2, ordered from least to most powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    #[serde(rename = "operator")]
    Operator,
    #[serde(rename = "admin")]
    Admin,
    #[serde(rename = "superAdmin")]
    SuperAdmin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Operator, Role::Admin, Role::SuperAdmin];

    /// The local role name of table 4-2.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::SuperAdmin => "superAdmin",
        }
    }

    /// The SSO group table 4-2 maps this level to. Operator and admin share a group: within it
    /// the principal's own role tells them apart.
    pub fn sso_group(self) -> &'static str {
        match self {
            Role::Operator | Role::Admin => ADMINISTRATORS_GROUP,
            Role::SuperAdmin => BASH_SHELL_ADMINISTRATORS_GROUP,
        }
    }

    pub fn grants(self, privilege: Privilege) -> bool {
        privilege.minimum_role() <= self
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            "superAdmin" => Ok(Role::SuperAdmin),
            other => Err(format!(
                "unknown role '{other}' (expected operator, admin or superAdmin)"
            )),
        }
    }
}

pub const ADMINISTRATORS_GROUP: &str = "SystemConfiguration.Administrators";
pub const BASH_SHELL_ADMINISTRATORS_GROUP: &str = "SystemConfiguration.BashShellAdministrators";

/// Privileges, named as vim names them where vim has the privilege.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Privilege {
    SystemAnonymous,
    SystemView,
    SystemRead,
    GlobalCancelTask,
    SessionsTerminateSession,
    SessionsValidateSession,
    HostConfigConnection,
    HostConfigMaintenance,
    HostConfigPower,
    HostConfigSettings,
    GlobalSetCustomField,
    AlarmToggle,
    ResourceMigrate,
    HostInventoryAddStandaloneHost,
    HostInventoryAddHostToCluster,
    HostInventoryRemoveHostFromCluster,
    HostInventoryCreateCluster,
    HostInventoryEditCluster,
    HostInventoryDeleteCluster,
    DatacenterCreate,
    /// Rename, describe, enable or disable a datacenter.
    DatacenterReconfigure,
    DatacenterDelete,
    FolderCreate,
    VirtualMachinePowerOn,
    VirtualMachinePowerOff,
    VirtualMachineCreate,
    VirtualMachineDelete,
    VirtualMachineConfigCpuCount,
    VirtualMachineConfigMemory,
    /// Change the appliance's configuration (services, networking, shutdown).
    ApplianceAdminister,
    /// Add or alter accounts; the guide reserves this for superAdmin.
    ApplianceManageAccounts,
    /// ferrocenter's own diagnostic operations.
    FerrocenterDiagnostics,
    /// Read the identity provider configuration (management guide, chapter 3, federation).
    VcIdentityProvidersRead,
    /// Create, update or delete identity providers.
    VcIdentityProvidersManage,
}

impl Privilege {
    pub const ALL: [Privilege; 34] = [
        Privilege::SystemAnonymous,
        Privilege::SystemView,
        Privilege::SystemRead,
        Privilege::GlobalCancelTask,
        Privilege::SessionsTerminateSession,
        Privilege::SessionsValidateSession,
        Privilege::HostConfigConnection,
        Privilege::HostConfigMaintenance,
        Privilege::HostConfigPower,
        Privilege::HostConfigSettings,
        Privilege::GlobalSetCustomField,
        Privilege::AlarmToggle,
        Privilege::ResourceMigrate,
        Privilege::HostInventoryAddStandaloneHost,
        Privilege::HostInventoryAddHostToCluster,
        Privilege::HostInventoryRemoveHostFromCluster,
        Privilege::HostInventoryCreateCluster,
        Privilege::HostInventoryEditCluster,
        Privilege::HostInventoryDeleteCluster,
        Privilege::DatacenterCreate,
        Privilege::DatacenterReconfigure,
        Privilege::DatacenterDelete,
        Privilege::FolderCreate,
        Privilege::VirtualMachinePowerOn,
        Privilege::VirtualMachinePowerOff,
        Privilege::VirtualMachineCreate,
        Privilege::VirtualMachineDelete,
        Privilege::VirtualMachineConfigCpuCount,
        Privilege::VirtualMachineConfigMemory,
        Privilege::ApplianceAdminister,
        Privilege::ApplianceManageAccounts,
        Privilege::FerrocenterDiagnostics,
        Privilege::VcIdentityProvidersRead,
        Privilege::VcIdentityProvidersManage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::SystemAnonymous => "System.Anonymous",
            Privilege::SystemView => "System.View",
            Privilege::SystemRead => "System.Read",
            Privilege::GlobalCancelTask => "Global.CancelTask",
            Privilege::SessionsTerminateSession => "Sessions.TerminateSession",
            Privilege::SessionsValidateSession => "Sessions.ValidateSession",
            Privilege::HostConfigConnection => "Host.Config.Connection",
            Privilege::HostConfigMaintenance => "Host.Config.Maintenance",
            Privilege::HostConfigPower => "Host.Config.Power",
            Privilege::HostConfigSettings => "Host.Config.Settings",
            Privilege::GlobalSetCustomField => "Global.SetCustomField",
            Privilege::AlarmToggle => "Alarm.ToggleEnableOnEntity",
            Privilege::ResourceMigrate => "Resource.HotMigrateVM",
            Privilege::HostInventoryAddStandaloneHost => "Host.Inventory.AddStandaloneHost",
            Privilege::HostInventoryAddHostToCluster => "Host.Inventory.AddHostToCluster",
            Privilege::HostInventoryRemoveHostFromCluster => "Host.Inventory.RemoveHostFromCluster",
            Privilege::HostInventoryCreateCluster => "Host.Inventory.CreateCluster",
            Privilege::HostInventoryEditCluster => "Host.Inventory.EditCluster",
            Privilege::HostInventoryDeleteCluster => "Host.Inventory.DeleteCluster",
            Privilege::DatacenterCreate => "Datacenter.Create",
            Privilege::DatacenterReconfigure => "Datacenter.Reconfigure",
            Privilege::DatacenterDelete => "Datacenter.Delete",
            Privilege::FolderCreate => "Folder.Create",
            Privilege::VirtualMachinePowerOn => "VirtualMachine.Interact.PowerOn",
            Privilege::VirtualMachinePowerOff => "VirtualMachine.Interact.PowerOff",
            Privilege::VirtualMachineCreate => "VirtualMachine.Inventory.Create",
            Privilege::VirtualMachineDelete => "VirtualMachine.Inventory.Delete",
            Privilege::VirtualMachineConfigCpuCount => "VirtualMachine.Config.CPUCount",
            Privilege::VirtualMachineConfigMemory => "VirtualMachine.Config.Memory",
            Privilege::ApplianceAdminister => "Appliance.Administer",
            Privilege::ApplianceManageAccounts => "Appliance.ManageAccounts",
            Privilege::FerrocenterDiagnostics => "Ferrocenter.Diagnostics",
            Privilege::VcIdentityProvidersRead => "VcIdentityProviders.Read",
            Privilege::VcIdentityProvidersManage => "VcIdentityProviders.Manage",
        }
    }

    /// The least role holding this privilege. Operators view and report; admins change the
    /// inventory and configuration; only superAdmin manages accounts and diagnostics, and the
    /// identity providers, which decide who may log in at all (the guide: administrators
    /// "cannot manage user accounts").
    pub fn minimum_role(self) -> Role {
        match self {
            Privilege::SystemAnonymous | Privilege::SystemView | Privilege::SystemRead => {
                Role::Operator
            }
            Privilege::ApplianceManageAccounts
            | Privilege::FerrocenterDiagnostics
            | Privilege::VcIdentityProvidersManage => Role::SuperAdmin,
            _ => Role::Admin,
        }
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every privilege a role holds, in a stable order.
pub fn privileges_of(role: Role) -> Vec<Privilege> {
    Privilege::ALL
        .into_iter()
        .filter(|p| role.grants(*p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_cumulative() {
        let op = privileges_of(Role::Operator);
        let admin = privileges_of(Role::Admin);
        let sa = privileges_of(Role::SuperAdmin);
        assert!(op.iter().all(|p| admin.contains(p)));
        assert!(admin.iter().all(|p| sa.contains(p)));
        assert_eq!(sa.len(), Privilege::ALL.len());
        assert!(op.contains(&Privilege::SystemRead));
        assert!(!op.contains(&Privilege::HostConfigMaintenance));
        assert!(admin.contains(&Privilege::HostInventoryAddHostToCluster));
        assert!(!admin.contains(&Privilege::ApplianceManageAccounts));
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().unwrap_err().contains("root"));
    }

    #[test]
    fn table_4_2_groups() {
        assert_eq!(Role::Operator.sso_group(), ADMINISTRATORS_GROUP);
        assert_eq!(Role::Admin.sso_group(), ADMINISTRATORS_GROUP);
        assert_eq!(
            Role::SuperAdmin.sso_group(),
            BASH_SHELL_ADMINISTRATORS_GROUP
        );
    }
}
