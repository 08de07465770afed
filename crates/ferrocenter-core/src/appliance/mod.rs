//! The appliance management plane (management guide, chapters 4 and 6 and on): the rules behind
//! `com.vmware.appliance.*`, one module per capability. What they need from the machine comes
//! through `ports::SystemProbe` and `ports::Lifecycle`; statistics persist through the Store.
//!
//! Authorization follows table 4-2 through the privileges of `auth::roles`: operators read
//! (`System.Read`), admins change configuration and control services (`Appliance.Administer`),
//! superAdmin alone manages accounts (`Appliance.ManageAccounts`).

pub mod accounts;
pub mod firewall;
pub mod global_fips;
pub mod health;
pub mod infraprofile;
pub mod log_forwarding;
pub mod monitoring;
pub mod services;
pub mod shutdown;
pub mod support_bundle;
