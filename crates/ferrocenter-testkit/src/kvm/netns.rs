//! The test network: a bridge in the root namespace holding the root side's address (`.1`), and
//! per host a network namespace joined to it by a veth pair. Inside the namespace the veth end
//! (`eth0`) is a port of the bridge `br0`, which holds the host's address, so a guest bridged
//! onto `br0` sits on the same subnet and is reachable from the root namespace.
use std::net::Ipv4Addr;

use super::cmd::{ip, run};
use super::slot::Slot;
use super::KvmError;

/// The bridge inside every host namespace that guests are attached to.
pub const HOST_BRIDGE: &str = "br0";

/// Creates the root bridge with the root side's address `.1/24` and IPv6 on, so that it gets a
/// link-local address through which guests without an IPv4 address (booted from the disk
/// image) are reached at theirs.
pub(crate) fn create_root_bridge(slot: &Slot) -> Result<(), KvmError> {
    let br = slot.bridge();
    run(&mut ip(&["link", "add", &br, "type", "bridge"]))?;
    enable_ipv6(&br)?;
    run(&mut ip(&[
        "addr",
        "add",
        &format!("{}/24", slot.address(1)),
        "dev",
        &br,
    ]))?;
    run(&mut ip(&["link", "set", &br, "up"]))?;
    Ok(())
}

/// Creates host `i`'s namespace and link, with `address/24` on its `br0`.
pub(crate) fn create_host_network(
    slot: &Slot,
    i: usize,
    address: Ipv4Addr,
) -> Result<(), KvmError> {
    let ns = slot.netns(i);
    let root_end = format!("{ns}r");
    let host_end = format!("{ns}n");
    run(&mut ip(&["netns", "add", &ns]))?;
    run(&mut ip(&[
        "link", "add", &root_end, "type", "veth", "peer", "name", &host_end,
    ]))?;
    run(&mut ip(&[
        "link",
        "set",
        &root_end,
        "master",
        &slot.bridge(),
    ]))?;
    run(&mut ip(&["link", "set", &root_end, "up"]))?;
    run(&mut ip(&["link", "set", &host_end, "netns", &ns]))?;
    let in_ns = |args: &[&str]| {
        let mut all = vec!["-n", ns.as_str()];
        all.extend_from_slice(args);
        run(&mut ip(&all))
    };
    in_ns(&["link", "set", &host_end, "name", "eth0"])?;
    in_ns(&["link", "add", HOST_BRIDGE, "type", "bridge"])?;
    in_ns(&["link", "set", "eth0", "master", HOST_BRIDGE])?;
    in_ns(&["addr", "add", &format!("{address}/24"), "dev", HOST_BRIDGE])?;
    in_ns(&["link", "set", "lo", "up"])?;
    in_ns(&["link", "set", "eth0", "up"])?;
    in_ns(&["link", "set", HOST_BRIDGE, "up"])?;
    in_ns(&[
        "route",
        "add",
        "default",
        "via",
        &slot.address(1).to_string(),
    ])?;
    Ok(())
}

/// Turns IPv6 on for `link` where the machine disabled it by default; a kernel without IPv6
/// (no /proc/sys/net/ipv6) is left as it is, and only link-local heartbeats fail there.
fn enable_ipv6(link: &str) -> Result<(), KvmError> {
    let knob = format!("/proc/sys/net/ipv6/conf/{link}/disable_ipv6");
    if !std::path::Path::new(&knob).exists() {
        return Ok(());
    }
    std::fs::write(&knob, "0").map_err(|e| KvmError::setup(&knob, e.to_string()))
}
