//! The thresholds: one level per component from the machine's readings. Pure functions, so the
//! numbers live here once and docs/appliance.md ("Health") states them.
use super::{text, HealthLevel, Text};
use crate::ports::{DatabaseSize, FilesystemReading, SystemReadings};

/// A reading's bands: at or above `yellow` it is yellow, and so on up to red.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bands {
    pub yellow: f64,
    pub orange: f64,
    pub red: f64,
}

impl Bands {
    pub fn level(&self, value: f64) -> HealthLevel {
        if value >= self.red {
            HealthLevel::Red
        } else if value >= self.orange {
            HealthLevel::Orange
        } else if value >= self.yellow {
            HealthLevel::Yellow
        } else {
            HealthLevel::Green
        }
    }

    /// The band `level` starts at, for messages.
    fn start_of(&self, level: HealthLevel) -> f64 {
        match level {
            HealthLevel::Red => self.red,
            HealthLevel::Orange => self.orange,
            _ => self.yellow,
        }
    }
}

/// The 5-minute load average per CPU. Above 1 runnable work queues for a CPU; the 5-minute
/// average rather than the 1-minute one, so that a burst (a build, a backup) does not flap.
pub const LOAD_PER_CPU: Bands = Bands {
    yellow: 1.5,
    orange: 3.0,
    red: 6.0,
};

/// Memory in use, in percent: total less what the kernel says is available without swapping
/// (MemAvailable). Orange below 10 % available, red below 5 %.
pub const MEM_USED_PERCENT: Bands = Bands {
    yellow: 80.0,
    orange: 90.0,
    red: 95.0,
};

/// Swap in use, in percent of the swap configured. Some swap in use is normal (idle pages);
/// most of it in use means memory has run short for a while.
pub const SWAP_USED_PERCENT: Bands = Bands {
    yellow: 50.0,
    orange: 75.0,
    red: 90.0,
};

/// A filesystem's space in use, in percent of what unprivileged writers can use (df's Use%:
/// used / (used + available), the blocks reserved for root left out).
pub const STORAGE_USED_PERCENT: Bands = Bands {
    yellow: 80.0,
    orange: 90.0,
    red: 95.0,
};

/// A component's level and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub level: HealthLevel,
    /// One per reason for a level other than green: (notification id, message, resolution).
    pub reasons: Vec<(String, Text, Option<Text>)>,
}

impl Finding {
    fn green() -> Finding {
        Finding {
            level: HealthLevel::Green,
            reasons: Vec::new(),
        }
    }

    /// Gray: no data, and why.
    pub fn gray(id: &str, text: Text) -> Finding {
        Finding {
            level: HealthLevel::Gray,
            reasons: vec![(id.to_string(), text, None)],
        }
    }

    fn add(
        &mut self,
        level: HealthLevel,
        id: impl Into<String>,
        text: Text,
        resolution: Option<Text>,
    ) {
        self.level = self.level.max(level);
        self.reasons.push((id.into(), text, resolution));
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

pub fn load(r: &SystemReadings) -> Finding {
    let cpus = r.cpu_count.max(1);
    let per_cpu = r.load[1] / f64::from(cpus);
    let level = LOAD_PER_CPU.level(per_cpu);
    let mut f = Finding::green();
    if level != HealthLevel::Green {
        let args = vec![
            format!("{:.2}", r.load[1]),
            cpus.to_string(),
            format!("{per_cpu:.2}"),
            format!("{}", LOAD_PER_CPU.start_of(level)),
        ];
        f.add(
            level,
            "load.high",
            text(
                "load.high",
                format!(
                    "The 5-minute load average is {} on {} CPUs ({} per CPU, {} from {} per CPU).",
                    args[0],
                    args[1],
                    args[2],
                    level.as_str(),
                    args[3]
                ),
                args,
            ),
            Some(text(
                "load.high.resolution",
                "Find what keeps the CPUs busy (or waiting on disk), or give the machine more CPUs.",
                Vec::new(),
            )),
        );
    }
    f
}

pub fn mem(r: &SystemReadings) -> Finding {
    if r.mem_total_bytes == 0 {
        return Finding::gray(
            "mem.no_data",
            text(
                "mem.no_data",
                "The system probe read no memory total.",
                Vec::new(),
            ),
        );
    }
    let available = r.mem_available_bytes.min(r.mem_total_bytes);
    let used = percent(r.mem_total_bytes - available, r.mem_total_bytes);
    let level = MEM_USED_PERCENT.level(used);
    let mut f = Finding::green();
    if level != HealthLevel::Green {
        let args = vec![
            gib(available),
            gib(r.mem_total_bytes),
            format!("{:.1}", 100.0 - used),
            format!("{}", 100.0 - MEM_USED_PERCENT.start_of(level)),
        ];
        f.add(
            level,
            "mem.low",
            text(
                "mem.low",
                format!(
                    "{} of {} of memory is available ({} %; {} below {} %).",
                    args[0],
                    args[1],
                    args[2],
                    level.as_str(),
                    args[3]
                ),
                args,
            ),
            Some(text(
                "mem.low.resolution",
                "Find the processes holding the memory, or give the machine more memory.",
                Vec::new(),
            )),
        );
    }
    f
}

pub fn swap(r: &SystemReadings) -> Finding {
    let mut f = Finding::green();
    // No swap configured: nothing can run out.
    if r.swap_total_bytes == 0 {
        return f;
    }
    let free = r.swap_free_bytes.min(r.swap_total_bytes);
    let used = percent(r.swap_total_bytes - free, r.swap_total_bytes);
    let level = SWAP_USED_PERCENT.level(used);
    if level != HealthLevel::Green {
        let args = vec![
            gib(r.swap_total_bytes - free),
            gib(r.swap_total_bytes),
            format!("{used:.1}"),
            format!("{}", SWAP_USED_PERCENT.start_of(level)),
        ];
        f.add(
            level,
            "swap.used",
            text(
                "swap.used",
                format!(
                    "{} of {} of swap is in use ({} %; {} from {} %).",
                    args[0],
                    args[1],
                    args[2],
                    level.as_str(),
                    args[3]
                ),
                args,
            ),
            Some(text(
                "swap.used.resolution",
                "Memory has run short: find the processes holding it, or give the machine more \
                 memory.",
                Vec::new(),
            )),
        );
    }
    f
}

/// df's Use%: used over what unprivileged writers could have.
pub fn used_percent(fs: &FilesystemReading) -> f64 {
    percent(fs.used_bytes, fs.used_bytes + fs.available_bytes)
}

fn filesystem_reason(f: &mut Finding, key: &str, fs: &FilesystemReading, what: &str) {
    let used = used_percent(fs);
    let level = STORAGE_USED_PERCENT.level(used);
    if level == HealthLevel::Green {
        return;
    }
    let args = vec![
        fs.mount.clone(),
        format!("{used:.1}"),
        gib(fs.available_bytes),
        format!("{}", STORAGE_USED_PERCENT.start_of(level)),
    ];
    f.add(
        level,
        format!("{key}:{}", fs.mount),
        text(
            key,
            format!(
                "The filesystem at {}{what} is {} % full ({} available; {} from {} %).",
                args[0],
                args[1],
                args[2],
                level.as_str(),
                args[3]
            ),
            args,
        ),
        Some(text(
            &format!("{key}.resolution"),
            "Free space on that filesystem or make it larger.",
            Vec::new(),
        )),
    );
}

/// The worst of the real filesystems: each over its bands is one reason.
pub fn storage(r: &SystemReadings) -> Finding {
    if r.filesystems.is_empty() {
        return Finding::gray(
            "storage.no_data",
            text(
                "storage.no_data",
                "The system probe found no local disk filesystem.",
                Vec::new(),
            ),
        );
    }
    let mut f = Finding::green();
    for fs in &r.filesystems {
        filesystem_reason(&mut f, "storage.used", fs, "");
    }
    f
}

/// The filesystem holding the database: its fullness by the storage bands, and at least orange
/// when its free space is less than the database's size — a copy of the database (a backup, an
/// SQLite VACUUM) would no longer fit.
pub fn database_storage(db: &DatabaseSize, fs: &FilesystemReading) -> Finding {
    let mut f = Finding::green();
    filesystem_reason(
        &mut f,
        "databasestorage.used",
        fs,
        ", which holds the database,",
    );
    if fs.available_bytes < db.bytes {
        let args = vec![mib(db.bytes), fs.mount.clone(), mib(fs.available_bytes)];
        f.add(
            HealthLevel::Orange,
            "databasestorage.no_room_for_a_copy",
            text(
                "databasestorage.no_room_for_a_copy",
                format!(
                    "The database takes {} and the filesystem at {} has {} free: a copy of it \
                     (a backup, a compaction) would not fit.",
                    args[0], args[1], args[2]
                ),
                args,
            ),
            Some(text(
                "databasestorage.no_room_for_a_copy.resolution",
                "Free space on that filesystem or move the database to a larger one.",
                Vec::new(),
            )),
        );
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_start_at_their_threshold() {
        let b = STORAGE_USED_PERCENT;
        assert_eq!(b.level(79.99), HealthLevel::Green);
        assert_eq!(b.level(80.0), HealthLevel::Yellow);
        assert_eq!(b.level(90.0), HealthLevel::Orange);
        assert_eq!(b.level(95.0), HealthLevel::Red);
        assert_eq!(b.level(100.0), HealthLevel::Red);
    }

    #[test]
    fn an_empty_filesystem_is_not_divided_by_zero() {
        let fs = FilesystemReading {
            mount: "/x".into(),
            ..Default::default()
        };
        assert_eq!(used_percent(&fs), 0.0);
    }
}
