//! The kernel guest's boot files: the kernel of Debian's `linux-image-amd64` (downloaded with
//! `apt-get download` and unpacked with `dpkg-deb -x`, never installed) and an initramfs (newc
//! cpio, made with the `cpio` tool) holding a static busybox, the NIC and power-button modules,
//! and an init that sets a static address from the kernel command line (or, without one, is
//! reached at its MAC's IPv6 link-local address), serves a heartbeat over HTTP and powers off
//! on the ACPI power button; and a bootable disk image of the same guest for domains that boot
//! from a disk and have no command line. Built once into a cache dir (under a lock, since tests
//! build concurrently) and reused until the init script, module list or boot loader
//! configuration changes.
use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::cmd::{run, stdout};
use super::KvmError;

/// The busybox the initramfs carries (Debian's `busybox-static` puts it here).
const BUSYBOX: &str = "/bin/busybox";

/// Modules the guest loads, in this order after their dependencies: the virtio NIC, and evdev
/// plus the ACPI button driver so busybox acpid sees the power button. Debian builds all of
/// them as modules.
const MODULES: &[&str] = &["virtio_pci", "virtio_net", "evdev", "button"];

/// The guest's `/init`; `@MODULES@` is replaced by the resolved load order.
const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
for m in @MODULES@; do
    insmod /lib/modules/$m.ko || echo "ferro-guest: insmod $m failed"
done
ip= gw= name=
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        ferro.ip=*) ip=${arg#ferro.ip=} ;;
        ferro.gw=*) gw=${arg#ferro.gw=} ;;
        ferro.name=*) name=${arg#ferro.name=} ;;
    esac
done
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
mac=$(cat /sys/class/net/eth0/address)
# Booted from the disk image there is no command line to name the guest: its MAC does, and
# the kernel's EUI-64 link-local address (from the same MAC) is how it is reached.
[ -n "$name" ] || name=guest-$(echo "$mac" | tr -d :)
hostname "$name"
[ -n "$ip" ] && ip addr add "$ip" dev eth0
ip link set eth0 up
[ -n "$gw" ] && ip route add default via "$gw"
mkdir -p /www
{
    echo "name=$name"
    echo "boot_id=$(cat /proc/sys/kernel/random/boot_id)"
    # The SMBIOS system uuid, which libvirt sets to the domain's uuid.
    echo "uuid=$(cat /sys/class/dmi/id/product_uuid)"
    echo "mac=$mac"
} > /www/heartbeat
# Without an address to bind, busybox binds [::]:80, which takes IPv4 as well.
httpd -p 80 -h /www
# In the foreground (backgrounded here), logging to the console: as a daemon it would
# need /var/log for its log file.
acpid -d -c /etc/acpi &
echo "ferro-guest: up name=$name ip=${ip:-link-local} mac=$mac"
while true; do sleep 3600; done
"#;

/// The disk image's boot loader configuration: the same kernel and initramfs, with no `ferro.`
/// parameters.
const SYSLINUX_CFG: &str = "DEFAULT guest
PROMPT 0
TIMEOUT 0
LABEL guest
  KERNEL vmlinuz
  INITRD initrd.img
  APPEND console=ttyS0 quiet panic=-1 mitigations=off
";

/// What busybox acpid runs on the power button (event PWRF, code 00000080).
const POWER_BUTTON: &str =
    "#!/bin/sh\necho 'ferro-guest: power button, powering off'\nsync\npoweroff -f\n";

/// The kernel guest's boot files, ready for a domain's `<kernel>` and `<initrd>`, and the same
/// guest as a bootable disk.
#[derive(Debug, Clone)]
pub struct GuestImage {
    /// The Debian kernel (`vmlinuz`).
    pub kernel: PathBuf,
    /// The initramfs (uncompressed newc cpio).
    pub initrd: PathBuf,
    /// A raw disk image (about 15 MiB) that boots [`GuestImage::kernel`] and
    /// [`GuestImage::initrd`] without `ferro.` parameters: a FAT filesystem from sector 0 (no
    /// partition table) with SYSLINUX in its boot sector, which SeaBIOS boots like any disk.
    /// Copy it (`qemu-img convert` to qcow2 is fine); the guest never writes to it.
    pub disk: PathBuf,
}

/// Where built images are kept: `FERROCENTER_KVM_GUEST_CACHE`, else CI's cache dir, else the
/// user's cache dir.
fn cache_root() -> PathBuf {
    if let Ok(dir) = std::env::var("FERROCENTER_KVM_GUEST_CACHE") {
        return PathBuf::from(dir);
    }
    let ci = Path::new("/var/cache/ferrocenter-ci/kvm-guest");
    if fs::create_dir_all(ci).is_ok() {
        return ci.to_path_buf();
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp".into());
    PathBuf::from(home).join(".cache/ferrocenter-kvm-guest")
}

/// FNV-1a over the inputs that shape the image, so a changed init rebuilds it.
fn recipe_hash() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in INIT
        .bytes()
        .chain(POWER_BUTTON.bytes())
        .chain(SYSLINUX_CFG.bytes())
        .chain(MODULES.join(",").into_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

impl GuestImage {
    /// The cached image, built first if absent (a minute at most: one kernel package download).
    pub fn prepare() -> Result<GuestImage, KvmError> {
        let root = cache_root();
        fs::create_dir_all(&root)
            .map_err(|e| KvmError::setup(&root.display().to_string(), e.to_string()))?;
        let lock = File::create(root.join(".lock"))
            .map_err(|e| KvmError::setup("guest cache lock", e.to_string()))?;
        // SAFETY: flock on a descriptor we own; released when `lock` is closed.
        unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        let dir = root.join(format!("guest-{}", recipe_hash()));
        let image = GuestImage {
            kernel: dir.join("vmlinuz"),
            initrd: dir.join("initrd.img"),
            disk: dir.join("disk.img"),
        };
        if ![&image.kernel, &image.initrd, &image.disk]
            .iter()
            .all(|p| p.exists())
        {
            let work = root.join("build");
            let _ = fs::remove_dir_all(&work);
            let built = build(&work, &dir);
            let _ = fs::remove_dir_all(&work);
            built?;
        }
        drop(lock);
        Ok(image)
    }
}

fn io(what: &str) -> impl Fn(std::io::Error) -> KvmError + '_ {
    move |e| KvmError::setup(what, e.to_string())
}

/// The versioned kernel package `linux-image-amd64` depends on (e.g. linux-image-6.1.0-48-amd64).
fn kernel_package() -> Result<String, KvmError> {
    let deps = stdout(Command::new("apt-cache").args(["depends", "linux-image-amd64"]))?;
    deps.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|p| p.starts_with("linux-image-"))
        .map(str::to_string)
        .ok_or_else(|| KvmError::setup("apt-cache depends linux-image-amd64", "no kernel package"))
}

fn build(work: &Path, out: &Path) -> Result<(), KvmError> {
    let pkg = kernel_package()?;
    fs::create_dir_all(work).map_err(io("guest build dir"))?;
    run(Command::new("apt-get")
        .args(["download", "-q", "-o", "APT::Sandbox::User=root", &pkg])
        .current_dir(work))?;
    let deb = fs::read_dir(work)
        .map_err(io("guest build dir"))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| KvmError::setup("apt-get download", format!("no .deb for {pkg}")))?;
    let tree = work.join("pkg");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tree))?;
    let vmlinuz = fs::read_dir(tree.join("boot"))
        .map_err(io("kernel package /boot"))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })
        .ok_or_else(|| KvmError::setup(&pkg, "no /boot/vmlinuz-*"))?;
    let modules_dir = fs::read_dir(tree.join("lib/modules"))
        .map_err(io("kernel package /lib/modules"))?
        .flatten()
        .map(|e| e.path())
        .next()
        .ok_or_else(|| KvmError::setup(&pkg, "no /lib/modules/<version>"))?;

    let stage = work.join("initramfs");
    for d in ["bin", "lib/modules", "etc/acpi/PWRF"] {
        fs::create_dir_all(stage.join(d)).map_err(io("initramfs dirs"))?;
    }
    fs::copy(BUSYBOX, stage.join("bin/busybox")).map_err(io(BUSYBOX))?;
    let order = load_order(&modules_dir)?;
    for (name, path) in &order {
        fs::copy(path, stage.join(format!("lib/modules/{name}.ko"))).map_err(io("module copy"))?;
    }
    let names: Vec<&str> = order.iter().map(|(n, _)| n.as_str()).collect();
    write_exec(
        &stage.join("init"),
        &INIT.replace("@MODULES@", &names.join(" ")),
    )?;
    write_exec(&stage.join("etc/acpi/PWRF/00000080"), POWER_BUTTON)?;

    let partial = work.join("out");
    fs::create_dir_all(&partial).map_err(io("guest output dir"))?;
    let cpio = File::create(partial.join("initrd.img")).map_err(io("initrd.img"))?;
    run(Command::new("sh")
        .args([
            "-c",
            "find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet",
        ])
        .current_dir(&stage)
        .stdout(cpio))?;
    fs::copy(&vmlinuz, partial.join("vmlinuz")).map_err(io("vmlinuz"))?;
    build_disk(work, &partial)?;
    let _ = fs::remove_dir_all(out);
    fs::rename(&partial, out).map_err(io("guest cache dir"))?;
    Ok(())
}

/// `out/disk.img` from `out/vmlinuz` and `out/initrd.img`, made without mounting anything (no
/// loop device, which a container may not have): `mkfs.vfat` formats the image file, `mcopy`
/// writes the files into it, and `syslinux --install` (which works on a FAT image through
/// mtools) writes its loader into the boot sector and `ldlinux.sys`/`ldlinux.c32` into the
/// filesystem. A FAT filesystem without partition table boots from sector 0 under SeaBIOS.
fn build_disk(work: &Path, out: &Path) -> Result<(), KvmError> {
    const MIB: u64 = 1 << 20;
    let (kernel, initrd) = (out.join("vmlinuz"), out.join("initrd.img"));
    let payload: u64 = [&kernel, &initrd]
        .iter()
        .map(|p| fs::metadata(p).map(|m| m.len()))
        .sum::<std::io::Result<u64>>()
        .map_err(io("guest boot files"))?;
    // The payload, SYSLINUX (~200 KiB) and FAT's own tables, with room to spare.
    let kib = (payload / MIB + 4) * 1024;
    let disk = out.join("disk.img");
    let cfg = work.join("syslinux.cfg");
    fs::write(&cfg, SYSLINUX_CFG).map_err(io("syslinux.cfg"))?;
    run(Command::new(program("mkfs.vfat"))
        .args(["-C", "-n", "FERROGUEST"])
        .arg(&disk)
        .arg(kib.to_string()))?;
    run(Command::new("mcopy")
        .env("MTOOLS_SKIP_CHECK", "1")
        .arg("-i")
        .arg(&disk)
        .args([&kernel, &initrd, &cfg])
        .arg("::/"))?;
    run(Command::new("syslinux")
        .env("MTOOLS_SKIP_CHECK", "1")
        .arg("--install")
        .arg(&disk))?;
    Ok(())
}

/// `name` from the sbin directories if PATH lacks them (a non-login root shell).
fn program(name: &str) -> PathBuf {
    super::prereq::find_program(name).unwrap_or_else(|| PathBuf::from(name))
}

fn write_exec(path: &Path, content: &str) -> Result<(), KvmError> {
    fs::write(path, content).map_err(io("initramfs file"))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(io("chmod"))
}

/// The modules of [`MODULES`] and their dependencies (read from each module's `depends=`),
/// dependencies first, as (name, file) pairs.
fn load_order(modules_dir: &Path) -> Result<Vec<(String, PathBuf)>, KvmError> {
    let mut index = HashMap::new();
    index_modules(&modules_dir.join("kernel"), &mut index);
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    for m in MODULES {
        visit(m, &index, &mut seen, &mut order)?;
    }
    Ok(order)
}

fn index_modules(dir: &Path, index: &mut HashMap<String, PathBuf>) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            index_modules(&path, index);
        } else if let Some(stem) = path.to_string_lossy().strip_suffix(".ko") {
            let name = Path::new(stem)
                .file_name()
                .map(|n| n.to_string_lossy().replace('-', "_"))
                .unwrap_or_default();
            index.insert(name, path.clone());
        }
    }
}

fn visit(
    name: &str,
    index: &HashMap<String, PathBuf>,
    seen: &mut HashSet<String>,
    order: &mut Vec<(String, PathBuf)>,
) -> Result<(), KvmError> {
    if !seen.insert(name.to_string()) {
        return Ok(());
    }
    let path = index
        .get(name)
        .ok_or_else(|| KvmError::setup("guest kernel modules", format!("no {name}.ko")))?;
    let bytes = fs::read(path).map_err(io("module read"))?;
    for dep in module_depends(&bytes) {
        visit(&dep, index, seen, order)?;
    }
    order.push((name.to_string(), path.clone()));
    Ok(())
}

/// The `depends=` entry of a module's `.modinfo` section: NUL-separated `key=value` strings.
fn module_depends(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|b| *b == 0)
        .find_map(|s| s.strip_prefix(b"depends="))
        .map(|deps| {
            String::from_utf8_lossy(deps)
                .split(',')
                .filter(|d| !d.is_empty())
                .map(|d| d.replace('-', "_"))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether [`BUSYBOX`] is statically linked (no ELF program interpreter), as the initramfs has
/// no C library.
pub(crate) fn busybox_is_static() -> bool {
    let Ok(elf) = fs::read(BUSYBOX) else {
        return false;
    };
    if elf.len() < 64 || &elf[..4] != b"\x7fELF" || elf[4] != 2 {
        return false;
    }
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap_or([0; 8])) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    (0..phnum).all(|i| {
        let at = phoff + i * phentsize;
        // PT_INTERP (3) names the dynamic loader.
        elf.get(at..at + 4) != Some(&3u32.to_le_bytes()[..])
    })
}
