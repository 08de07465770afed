//! How the libvirt driver is configured, outside the cargo feature so that the command line
//! parses and checks the settings once, whether or not this build has the driver.

/// How libvirt runs the VMs it defines: `kvm`, or `qemu` (TCG, QEMU's emulator) on a host
/// whose `/dev/kvm` cannot run ordinary guests at speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainType {
    Kvm,
    Qemu,
}

impl DomainType {
    /// `kvm` or `qemu`; `auto` (and nothing else) is `Ok(None)`: chosen by the host.
    pub fn parse(s: &str) -> Result<Option<DomainType>, String> {
        match s {
            "auto" => Ok(None),
            "kvm" => Ok(Some(DomainType::Kvm)),
            "qemu" => Ok(Some(DomainType::Qemu)),
            other => Err(format!("'{other}' is not auto, kvm or qemu")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DomainType::Kvm => "kvm",
            DomainType::Qemu => "qemu",
        }
    }

    /// The CPU the guest sees: the host's own under KVM (migration needs hosts alike, which
    /// ferrocenter's clusters are meant to be); QEMU's default model under TCG, which cannot
    /// pass the host's through.
    pub fn cpu_xml(self) -> &'static str {
        match self {
            DomainType::Kvm => "<cpu mode='host-passthrough'/>",
            DomainType::Qemu => "",
        }
    }
}

/// How the migration's data travels between the hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MigrationTransport {
    /// QEMU's own migration stream (and the disks' NBD stream) over TLS, to the destination's
    /// address (`VIR_MIGRATE_TLS`); QEMU reads its certificates from `/etc/pki/qemu`.
    #[default]
    Tls,
    /// Inside libvirtd's own TLS connection (`VIR_MIGRATE_TUNNELLED`): one port, no QEMU
    /// certificates, but libvirt cannot copy local disks this way.
    Tunnelled,
}

impl MigrationTransport {
    pub fn parse(s: &str) -> Result<MigrationTransport, String> {
        match s {
            "tls" => Ok(MigrationTransport::Tls),
            "tunnelled" => Ok(MigrationTransport::Tunnelled),
            other => Err(format!("'{other}' is not tls or tunnelled")),
        }
    }
}

/// The URI of a destination's libvirtd unless configured otherwise: TLS on its address.
pub const DEFAULT_MIGRATION_URI: &str = "qemu+tls://{address}/system";

/// A migration URI template must say where the destination's address goes.
pub fn check_migration_uri(template: &str) -> Result<(), String> {
    if template.contains("{address}") {
        Ok(())
    } else {
        Err("must contain {address} (the destination host's address)".into())
    }
}
