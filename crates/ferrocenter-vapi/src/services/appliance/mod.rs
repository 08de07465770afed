//! `com.vmware.appliance`: filled by the appliance issue (health, monitoring, backup, restore,
//! logging, support bundles, infraprofile, FIPS, update, deployment, LCM), one module per
//! service, each listed in `catalog.rs` like the others.
