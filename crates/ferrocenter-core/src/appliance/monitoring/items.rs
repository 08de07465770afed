//! The monitored items: their ids, names, units and categories. Fixed items (CPU, memory, swap,
//! load, the database) always exist; filesystems and network interfaces give one family of
//! items each, named after the filesystem or interface (`storage.util.filesystem.var_log`,
//! `net.rx.activity.eth0`). An item is described from its id alone, so one that is in the
//! history but no longer on the machine (an interface removed) is still described and queried.

/// What `list` and `get` say about an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub name: String,
    pub units: &'static str,
    pub category: &'static str,
    /// The filesystem or interface the item is about; empty for the fixed items.
    pub instance: String,
    pub description: String,
}

impl Item {
    /// Whether its values are whole numbers (sizes in KB), rendered without decimals.
    pub fn integral(&self) -> bool {
        self.units == KB
    }
}

pub const PERCENT: &str = "percent";
pub const KB: &str = "KB";
const KB_PER_S: &str = "KB/s";
const PACKETS_PER_S: &str = "packets/s";
const ERRORS_PER_S: &str = "errors/s";
const DROPS_PER_S: &str = "drops/s";
const LOAD: &str = "load";

/// (id, name, units, category, description) of the items every machine has.
const FIXED: &[(&str, &str, &str, &str, &str)] = &[
    (
        "cpu.util",
        "CPU utilization",
        PERCENT,
        "cpu",
        "Time the CPUs were busy, as a percentage of the time since the previous sample, over all CPUs.",
    ),
    (
        "mem.usage",
        "Memory used",
        KB,
        "memory",
        "Memory in use: total memory less what the kernel reports available.",
    ),
    ("mem.total", "Memory total", KB, "memory", "Total memory of the machine."),
    (
        "mem.util",
        "Memory utilization",
        PERCENT,
        "memory",
        "Memory in use as a percentage of the total.",
    ),
    ("swap.usage", "Swap used", KB, "swap", "Swap space in use."),
    (
        "swap.util",
        "Swap utilization",
        PERCENT,
        "swap",
        "Swap space in use as a percentage of the total (0 without swap).",
    ),
    ("load.1min", "Load average, 1 minute", LOAD, "load", "The kernel's 1-minute load average."),
    ("load.5min", "Load average, 5 minutes", LOAD, "load", "The kernel's 5-minute load average."),
    (
        "load.15min",
        "Load average, 15 minutes",
        LOAD,
        "load",
        "The kernel's 15-minute load average.",
    ),
    (
        "storage.used.database",
        "Database size",
        KB,
        "storage",
        "The size of ferrocenter's database as its engine measures it (SQLite pages and log, PostgreSQL pg_database_size).",
    ),
];

/// (id prefix, name, units, description) of each filesystem's items.
const PER_FILESYSTEM: [(&str, &str, &str, &str); 3] = [
    (
        "storage.used.filesystem.",
        "Filesystem used",
        KB,
        "Space used on the filesystem.",
    ),
    (
        "storage.totalsize.filesystem.",
        "Filesystem size",
        KB,
        "Total size of the filesystem.",
    ),
    (
        "storage.util.filesystem.",
        "Filesystem utilization",
        PERCENT,
        "Space used as a percentage of the filesystem's size.",
    ),
];

/// (id prefix, name, units, description) of each network interface's items.
const PER_INTERFACE: [(&str, &str, &str, &str); 8] = [
    (
        "net.rx.activity.",
        "Received",
        KB_PER_S,
        "Bytes received per second, in KB.",
    ),
    (
        "net.tx.activity.",
        "Transmitted",
        KB_PER_S,
        "Bytes transmitted per second, in KB.",
    ),
    (
        "net.rx.packetRate.",
        "Packets received",
        PACKETS_PER_S,
        "Packets received per second.",
    ),
    (
        "net.tx.packetRate.",
        "Packets transmitted",
        PACKETS_PER_S,
        "Packets transmitted per second.",
    ),
    (
        "net.rx.error.",
        "Receive errors",
        ERRORS_PER_S,
        "Receive errors per second.",
    ),
    (
        "net.tx.error.",
        "Transmit errors",
        ERRORS_PER_S,
        "Transmit errors per second.",
    ),
    (
        "net.rx.drop.",
        "Received packets dropped",
        DROPS_PER_S,
        "Received packets dropped per second.",
    ),
    (
        "net.tx.drop.",
        "Transmitted packets dropped",
        DROPS_PER_S,
        "Transmitted packets dropped per second.",
    ),
];

/// The ids of the fixed items, in catalogue order.
pub fn fixed_ids() -> impl Iterator<Item = &'static str> {
    FIXED.iter().map(|f| f.0)
}

/// Whether `id` is a fixed item (known on every machine, with or without history).
pub fn is_fixed(id: &str) -> bool {
    FIXED.iter().any(|f| f.0 == id)
}

/// An instance name is a non-empty run of letters, digits and `_ - . :` (interface names have
/// dots and colons: `eth0.100`, `eth0:1`).
fn valid_instance(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '@'))
}

/// Describes the item `id`, or None when no family has such an id.
pub fn describe(id: &str) -> Option<Item> {
    if let Some(&(id, name, units, category, description)) = FIXED.iter().find(|f| f.0 == id) {
        return Some(Item {
            id: id.into(),
            name: name.into(),
            units,
            category,
            instance: String::new(),
            description: description.into(),
        });
    }
    let family = |table: &'static [(&'static str, &'static str, &'static str, &'static str)],
                  category: &'static str,
                  what: &str| {
        table
            .iter()
            .find_map(|&(prefix, name, units, description)| {
                let instance = id.strip_prefix(prefix)?;
                valid_instance(instance).then(|| Item {
                    id: id.into(),
                    name: format!("{name}, {what} {instance}"),
                    units,
                    category,
                    instance: instance.into(),
                    description: description.into(),
                })
            })
    };
    family(&PER_FILESYSTEM, "storage", "filesystem")
        .or_else(|| family(&PER_INTERFACE, "network", "interface"))
}

/// The ids of a filesystem's items, in catalogue order: used, total size, utilization.
pub fn filesystem_ids(instance: &str) -> [String; 3] {
    PER_FILESYSTEM.map(|f| format!("{}{instance}", f.0))
}

/// The ids of an interface's items, in catalogue order: rx/tx activity, packet rate, errors,
/// drops.
pub fn interface_ids(instance: &str) -> [String; 8] {
    PER_INTERFACE.map(|f| format!("{}{instance}", f.0))
}

/// A filesystem's instance name from its mount point: `/` is `root`, else the path without
/// its leading slash, slashes turned to underscores (`/var/log` → `var_log`); characters an
/// id cannot hold become underscores.
pub fn filesystem_instance(mount: &str) -> String {
    let trimmed = mount.trim_matches('/');
    if trimmed.is_empty() {
        return "root".into();
    }
    trimmed
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect()
}

/// An interface's instance name: its name, with characters an id cannot hold turned to
/// underscores.
pub fn interface_instance(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '@') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_described_from_the_id() {
        let i = describe("storage.util.filesystem.var_log").unwrap();
        assert_eq!(
            (i.units, i.category, i.instance.as_str()),
            (PERCENT, "storage", "var_log")
        );
        let i = describe("net.rx.activity.eth0").unwrap();
        assert_eq!((i.units, i.instance.as_str()), ("KB/s", "eth0"));
        assert_eq!(describe("cpu.util").unwrap().units, PERCENT);
        assert!(describe("mem.util").unwrap().instance.is_empty());
        assert!(describe("mem.usage").unwrap().integral());
        for bad in [
            "disk.util",
            "storage.util.filesystem.",
            "net.rx.activity.a/b",
            "",
        ] {
            assert_eq!(describe(bad), None, "{bad}");
        }
    }

    #[test]
    fn instances_come_from_mounts_and_interfaces() {
        assert_eq!(filesystem_instance("/"), "root");
        assert_eq!(filesystem_instance("/var/log"), "var_log");
        assert_eq!(filesystem_instance("/mnt/a b"), "mnt_a_b");
        assert_eq!(interface_instance("eth0.100"), "eth0.100");
        for id in filesystem_ids("var_log")
            .iter()
            .chain(&interface_ids("eth0"))
        {
            assert!(describe(id).is_some(), "{id}");
        }
    }
}
