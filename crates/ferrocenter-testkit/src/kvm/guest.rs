//! Domain XML for the test guests, and the kernel guest's heartbeat.
//!
//! The firmware-only and the kernel guest are domains without disks, of type `kvm`, except that
//! the kernel guest falls back to `qemu` (TCG) where `/dev/kvm` cannot run a stock kernel at
//! speed ([`DomainType::for_stock_kernel`]). The firmware-only guest boots SeaBIOS, finds
//! nothing to boot and keeps running, which is enough for power operations. The kernel guest
//! boots [`GuestImage`] with its address on the kernel command line, is attached to the host's
//! `vmnet` network (bridged onto `br0`, so on the test subnet), and answers
//! `GET /heartbeat` on port 80 with its name, boot id (which stays the same across a live
//! migration and changes on a reboot), SMBIOS uuid and MAC. The disk guest is the same guest
//! booted from [`GuestImage::disk`]: no command line, so no IPv4 address; it is reached at the
//! IPv6 link-local address the kernel derives from its MAC ([`link_local_address`]).
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, TcpStream};
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

/// How libvirt runs a guest: `kvm` (through /dev/kvm) or `qemu` (TCG, QEMU's emulator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainType {
    /// `<domain type='kvm'>`.
    Kvm,
    /// `<domain type='qemu'>`.
    Qemu,
}

impl DomainType {
    /// The value of `<domain type=…>`.
    pub fn as_str(self) -> &'static str {
        match self {
            DomainType::Kvm => "kvm",
            DomainType::Qemu => "qemu",
        }
    }

    /// The type under which a stock Debian kernel boots in seconds here: `kvm`, unless
    /// `/dev/kvm` is provided by PVM (the `kvm_pvm` module, software nested virtualization
    /// without VMX/SVM), which runs only PVM-enabled guest kernels natively and emulates any
    /// other one so slowly that Debian's kernel is still decompressing minutes later; then
    /// `qemu`. `FERROCENTER_KVM_GUEST_TYPE=kvm|qemu` overrides the choice.
    pub fn for_stock_kernel() -> DomainType {
        match std::env::var("FERROCENTER_KVM_GUEST_TYPE").as_deref() {
            Ok("kvm") => return DomainType::Kvm,
            Ok("qemu") => return DomainType::Qemu,
            _ => {}
        }
        let module = |m: &str| std::path::Path::new("/sys/module").join(m).exists();
        if module("kvm_pvm") && !module("kvm_intel") && !module("kvm_amd") {
            DomainType::Qemu
        } else {
            DomainType::Kvm
        }
    }
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
    /// `kvm`, or `qemu` where KVM cannot run a stock kernel ([`DomainType::for_stock_kernel`]).
    pub domain_type: DomainType,
}

impl KernelGuest {
    /// Domain XML booting `image` with a virtio NIC on `vmnet`, serial console logged to the
    /// host's `/var/log/libvirt/qemu/<name>-serial.log`.
    pub fn domain_xml(&self, image: &GuestImage) -> String {
        let KernelGuest {
            name,
            address,
            gateway,
            domain_type,
        } = self;
        format!(
            "<domain type='{domain_type}'>
  <name>{name}</name>
  <memory unit='MiB'>{GUEST_MEMORY_MIB}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 mitigations=off ferro.name={name} ferro.ip={address}/24 ferro.gw={gateway}</cmdline>
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
            domain_type = domain_type.as_str(),
            kernel = image.kernel.display(),
            initrd = image.initrd.display(),
        )
    }
}

/// The kernel guest's heartbeat: the body of `GET /heartbeat` on `address:80`
/// (`name=<name>\nboot_id=<uuid>\nuuid=<uuid>\nmac=<mac>\n`), or the error that kept it
/// from answering.
pub fn heartbeat(address: Ipv4Addr) -> std::io::Result<String> {
    heartbeat_at(SocketAddr::from((address, 80)))
}

/// The heartbeat of the guest whose NIC has `mac`, asked at its IPv6 link-local address
/// ([`link_local_address`]) through the local interface `interface` (on the guest's L2
/// segment, with IPv6 on: the harness's root bridge, [`super::TestHosts::root_bridge`]).
pub fn heartbeat_link_local(mac: &str, interface: &str) -> std::io::Result<String> {
    let address = link_local_address(mac)?;
    let name = std::ffi::CString::new(interface)
        .map_err(|_| std::io::Error::other(format!("interface name {interface:?}")))?;
    // SAFETY: a NUL-terminated name that outlives the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(std::io::Error::last_os_error());
    }
    heartbeat_at(SocketAddr::V6(SocketAddrV6::new(address, 80, 0, index)))
}

/// The link-local address (`fe80::/64`, EUI-64 interface id: the MAC with `ff:fe` in the middle
/// and the universal/local bit flipped) that Linux gives an interface with this MAC
/// (`aa:bb:cc:dd:ee:ff`, any case, `:` or `-` separated).
pub fn link_local_address(mac: &str) -> std::io::Result<Ipv6Addr> {
    let bytes: Vec<u8> = mac
        .split([':', '-'])
        .map(|b| u8::from_str_radix(b, 16))
        .collect::<Result<_, _>>()
        .ok()
        .filter(|b: &Vec<u8>| b.len() == 6)
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("not a MAC address: {mac:?}"),
            )
        })?;
    let id = [
        bytes[0] ^ 0x02,
        bytes[1],
        bytes[2],
        0xff,
        0xfe,
        bytes[3],
        bytes[4],
        bytes[5],
    ];
    let mut octets = [0u8; 16];
    octets[..2].copy_from_slice(&[0xfe, 0x80]);
    octets[8..].copy_from_slice(&id);
    Ok(Ipv6Addr::from(octets))
}

fn heartbeat_at(address: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1))?;
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

/// The `uuid=` line of a heartbeat body: the guest's SMBIOS system uuid, which libvirt sets to
/// the domain's uuid (so a test can tell it reached the VM it meant).
pub fn heartbeat_uuid(heartbeat: &str) -> Option<&str> {
    heartbeat.lines().find_map(|l| l.strip_prefix("uuid="))
}

/// The kernel guest booted from a volume holding [`GuestImage::disk`], as a VM made through a
/// management API is: virtio disk, virtio NIC on `vmnet` with a MAC, machine `q35`, no kernel
/// command line. It names itself `guest-<mac without colons>` and answers its heartbeat at its
/// MAC's link-local address ([`heartbeat_link_local`], [`super::TestHosts::guest_heartbeat_by_mac`]).
#[derive(Debug, Clone)]
pub struct DiskGuest {
    /// Domain name.
    pub name: String,
    /// The NIC's MAC (e.g. [`super::TestHosts::guest_mac`]).
    pub mac: String,
    /// The storage pool holding the boot volume (e.g. [`super::STORAGE_POOL`]).
    pub pool: String,
    /// The boot volume's name in `pool`: a copy of [`GuestImage::disk`], raw or qcow2.
    pub volume: String,
    /// The volume's format, `raw` or `qcow2`.
    pub format: String,
    /// `kvm`, or `qemu` where KVM cannot run a stock kernel ([`DomainType::for_stock_kernel`]).
    pub domain_type: DomainType,
}

impl DiskGuest {
    /// Domain XML booting from the volume, serial console logged to the host's
    /// `/var/log/libvirt/qemu/<name>-serial.log`.
    pub fn domain_xml(&self) -> String {
        let DiskGuest {
            name,
            mac,
            pool,
            volume,
            format,
            domain_type,
        } = self;
        format!(
            "<domain type='{domain_type}'>
  <name>{name}</name>
  <memory unit='MiB'>{GUEST_MEMORY_MIB}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='{format}'/>
      <source pool='{pool}' volume='{volume}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <source network='{GUEST_NETWORK}'/>
      <mac address='{mac}'/>
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
            domain_type = domain_type.as_str(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_local_address_is_the_macs_eui64() {
        assert_eq!(
            link_local_address("52:54:00:12:34:56").unwrap(),
            "fe80::5054:ff:fe12:3456".parse::<Ipv6Addr>().unwrap()
        );
        // The universal/local bit is flipped, not set.
        assert_eq!(
            link_local_address("02-FC-00-00-00-01").unwrap(),
            "fe80::fc:ff:fe00:1".parse::<Ipv6Addr>().unwrap()
        );
        assert!(link_local_address("52:54:00:12:34").is_err());
        assert!(link_local_address("52:54:00:12:34:zz").is_err());
    }
}
