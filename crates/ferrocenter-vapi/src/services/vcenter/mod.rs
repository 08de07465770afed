//! `com.vmware.vcenter`: hosts, the inventory's containers and VMs, and update planning (`lcm`).
pub mod host;
pub mod identity_providers;
pub mod ids;
pub mod inventory;
pub mod lcm;
pub mod tokenservice;
pub mod vm;
pub mod vm_create;
