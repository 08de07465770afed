//! What the harness needs from the machine, checked before anything is created so that a test
//! can print `SKIPPED: <what>` instead of failing half-way through a setup.
use std::path::Path;

/// Programs the harness runs, with the Debian package that provides each.
const PROGRAMS: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("nsenter", "util-linux"),
    ("unshare", "util-linux"),
    ("libvirtd", "libvirt-daemon-system"),
    ("virsh", "libvirt-clients"),
    ("qemu-system-x86_64", "qemu-system-x86"),
    ("sshd", "openssh-server"),
    ("ssh-keygen", "openssh-client"),
    ("openssl", "openssl"),
];

/// Programs only building the kernel guest's image needs (the firmware-only guest does not):
/// the kernel package's tools, the initramfs's `cpio`, and for the disk image a FAT
/// filesystem (`mkfs.vfat`), the tools that write into it unmounted (`mcopy`) and SYSLINUX.
const IMAGE_PROGRAMS: &[(&str, &str)] = &[
    ("apt-get", "apt"),
    ("dpkg-deb", "dpkg"),
    ("cpio", "cpio"),
    ("mkfs.vfat", "dosfstools"),
    ("mcopy", "mtools"),
    ("syslinux", "syslinux"),
];

/// What is missing for [`super::TestHosts`]: empty when hosts can start. Each entry names the
/// missing piece and how to get it, ready for a `SKIPPED:` line.
pub fn missing_prerequisites() -> Vec<String> {
    let mut missing = Vec::new();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root (network namespaces, bind mounts and libvirtd need it)".to_string());
    }
    if !Path::new("/dev/kvm").exists() {
        missing.push("/dev/kvm (KVM, or nested KVM in a VM)".to_string());
    }
    missing.extend(missing_programs(PROGRAMS));
    if missing.is_empty() && !can_create_namespaces() {
        missing.push("permission to create namespaces (CAP_SYS_ADMIN, CAP_NET_ADMIN)".to_string());
    }
    missing
}

/// Whether this process may create network, mount and UTS namespaces (a container may forbid it).
fn can_create_namespaces() -> bool {
    std::process::Command::new("unshare")
        .args(["--net", "--mount", "--uts", "true"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What is missing to build or use the kernel guest's image, on top of
/// [`missing_prerequisites`]: `busybox-static`, the tools that unpack a kernel package and
/// those that make the bootable disk image.
pub fn missing_guest_prerequisites() -> Vec<String> {
    let mut missing = missing_programs(IMAGE_PROGRAMS);
    if !super::image::busybox_is_static() {
        missing.push("a static /bin/busybox (apt-get install busybox-static)".to_string());
    }
    missing
}

fn missing_programs(list: &[(&str, &str)]) -> Vec<String> {
    list.iter()
        .filter(|(prog, _)| find_program(prog).is_none())
        .map(|(prog, pkg)| format!("{prog} (apt-get install {pkg})"))
        .collect()
}

/// The program's path on PATH or in the sbin directories, which a non-login root shell may lack.
pub(crate) fn find_program(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    found
}
