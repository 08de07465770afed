//! Domain XML for the two test guests, and the kernel guest's heartbeat.
//!
//! Both are `type='kvm'` domains without disks. The firmware-only guest boots SeaBIOS, finds
//! nothing to boot and keeps running, which is enough for power operations. The kernel guest
//! boots [`GuestImage`] with its address on the kernel command line, is attached to the host's
//! `vmnet` network (bridged onto `br0`, so on the test subnet), and answers
//! `GET /heartbeat` on port 80 with its name and boot id (which stays the same across a live
//! migration and changes on a reboot).
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use super::image::GuestImage;
use super::libvirtd::GUEST_NETWORK;

/// Memory of both guests, in MiB.
pub const GUEST_MEMORY_MIB: u32 = 256;

/// A firmware-only guest named `name`: no disk, no NIC, SeaBIOS only.
pub fn firmware_guest_xml(name: &str) -> String {
    format!(
        "<domain type='kvm'>
  <name>{name}</name>
  <memory unit='MiB'>{GUEST_MEMORY_MIB}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <serial type='pty'/>
    <console type='pty'/>
    <memballoon model='none'/>
  </devices>
</domain>
"
    )
}

/// The kernel guest: a name, its address on the test subnet and the gateway (the root side).
#[derive(Debug, Clone)]
pub struct KernelGuest {
    /// Domain name and guest hostname.
    pub name: String,
    /// The guest's address (a /24 on the harness subnet, e.g. [`super::TestHosts::guest_address`]).
    pub address: Ipv4Addr,
    /// Default route; the harness's root-namespace address.
    pub gateway: Ipv4Addr,
}

impl KernelGuest {
    /// Domain XML booting `image` with a virtio NIC on `vmnet`, serial console logged to the
    /// host's `/var/log/libvirt/qemu/<name>-serial.log`.
    pub fn domain_xml(&self, image: &GuestImage) -> String {
        let KernelGuest {
            name,
            address,
            gateway,
        } = self;
        format!(
            "<domain type='kvm'>
  <name>{name}</name>
  <memory unit='MiB'>{GUEST_MEMORY_MIB}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 ferro.name={name} ferro.ip={address}/24 ferro.gw={gateway}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <interface type='network'>
      <source network='{GUEST_NETWORK}'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'>
      <log file='/var/log/libvirt/qemu/{name}-serial.log' append='on'/>
    </serial>
    <console type='pty'/>
    <memballoon model='none'/>
  </devices>
</domain>
",
            kernel = image.kernel.display(),
            initrd = image.initrd.display(),
        )
    }
}

/// The kernel guest's heartbeat: the body of `GET /heartbeat` on `address:80`
/// (`name=<name>\nboot_id=<uuid>\n`), or the error that kept it from answering.
pub fn heartbeat(address: Ipv4Addr) -> std::io::Result<String> {
    let mut stream =
        TcpStream::connect_timeout(&SocketAddr::from((address, 80)), Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"GET /heartbeat HTTP/1.0\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    if !head.starts_with("HTTP/1.") || !head.contains(" 200 ") {
        return Err(std::io::Error::other(format!(
            "heartbeat answered {}",
            head.lines().next().unwrap_or("")
        )));
    }
    Ok(body.to_string())
}

/// The `boot_id=` line of a heartbeat body.
pub fn boot_id(heartbeat: &str) -> Option<&str> {
    heartbeat.lines().find_map(|l| l.strip_prefix("boot_id="))
}
