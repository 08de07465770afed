//! Readings of the machine turned into samples of the monitored items. Sizes are snapshots;
//! CPU utilization and network rates are computed between two readings (the probe reads
//! cumulative counters), so the first reading after start gives none of them.
#![allow(
    clippy::cast_precision_loss,
    reason = "statistics are f64; counters fit well within its 52-bit mantissa for years"
)]

use crate::ports::{StatSample, SystemReadings};

use super::items;

const KIB: f64 = 1024.0;

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// The per-minute items: CPU, memory, swap, load and each interface's rates.
pub fn minute(prev: Option<&SystemReadings>, now: &SystemReadings, at: i64) -> Vec<StatSample> {
    let mut out = Vec::with_capacity(16 + 8 * now.interfaces.len());
    let mut push = |item: &str, value: f64| {
        if value.is_finite() {
            out.push(StatSample {
                item: item.to_string(),
                at,
                value,
            });
        }
    };
    let mem_used = now.mem_total_bytes.saturating_sub(now.mem_available_bytes);
    push("mem.usage", mem_used as f64 / KIB);
    push("mem.total", now.mem_total_bytes as f64 / KIB);
    push("mem.util", percent(mem_used, now.mem_total_bytes));
    let swap_used = now.swap_total_bytes.saturating_sub(now.swap_free_bytes);
    push("swap.usage", swap_used as f64 / KIB);
    push("swap.util", percent(swap_used, now.swap_total_bytes));
    for (id, v) in ["load.1min", "load.5min", "load.15min"]
        .into_iter()
        .zip(now.load)
    {
        push(id, v);
    }
    let Some(prev) = prev else {
        return out;
    };
    // A counter that went down (a reset, a re-created interface) gives no rate this time.
    let delta = |a: u64, b: u64| b.checked_sub(a);
    if let (Some(busy), Some(total)) = (
        delta(prev.cpu.busy, now.cpu.busy),
        delta(prev.cpu.total, now.cpu.total),
    ) {
        if total > 0 {
            push("cpu.util", percent(busy.min(total), total));
        }
    }
    let seconds = (now.taken_at - prev.taken_at).as_seconds_f64();
    if seconds <= 0.0 {
        return out;
    }
    for i in &now.interfaces {
        let Some(p) = prev.interfaces.iter().find(|p| p.name == i.name) else {
            continue;
        };
        let ids = items::interface_ids(&items::interface_instance(&i.name));
        let counters = [
            (p.rx_bytes, i.rx_bytes, KIB),
            (p.tx_bytes, i.tx_bytes, KIB),
            (p.rx_packets, i.rx_packets, 1.0),
            (p.tx_packets, i.tx_packets, 1.0),
            (p.rx_errors, i.rx_errors, 1.0),
            (p.tx_errors, i.tx_errors, 1.0),
            (p.rx_dropped, i.rx_dropped, 1.0),
            (p.tx_dropped, i.tx_dropped, 1.0),
        ];
        for (id, (a, b, unit)) in ids.iter().zip(counters) {
            if let Some(d) = delta(a, b) {
                push(id.as_str(), d as f64 / unit / seconds);
            }
        }
    }
    out
}

/// The ten-minute items: each filesystem's space, and the database's size when it was read.
pub fn ten_minutes(now: &SystemReadings, database_bytes: Option<u64>, at: i64) -> Vec<StatSample> {
    let mut out = Vec::with_capacity(1 + 3 * now.filesystems.len());
    for fs in &now.filesystems {
        let [used, total, util] = items::filesystem_ids(&items::filesystem_instance(&fs.mount));
        for (item, value) in [
            (used, fs.used_bytes as f64 / KIB),
            (total, fs.total_bytes as f64 / KIB),
            (util, percent(fs.used_bytes, fs.total_bytes)),
        ] {
            out.push(StatSample { item, at, value });
        }
    }
    if let Some(bytes) = database_bytes {
        out.push(StatSample {
            item: "storage.used.database".into(),
            at,
            value: bytes as f64 / KIB,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{CpuTimes, FilesystemReading, InterfaceReading};
    use time::OffsetDateTime;

    fn readings(secs: i64, busy: u64, total: u64, rx: u64) -> SystemReadings {
        SystemReadings {
            taken_at: OffsetDateTime::from_unix_timestamp(secs).unwrap(),
            cpu_count: 2,
            cpu: CpuTimes { busy, total },
            load: [0.5, 0.25, 0.125],
            mem_total_bytes: 4 << 30,
            mem_available_bytes: 1 << 30,
            swap_total_bytes: 0,
            swap_free_bytes: 0,
            filesystems: vec![FilesystemReading {
                mount: "/".into(),
                total_bytes: 100 << 20,
                used_bytes: 25 << 20,
                available_bytes: 75 << 20,
            }],
            interfaces: vec![InterfaceReading {
                name: "eth0".into(),
                rx_bytes: rx,
                rx_packets: rx / 1024,
                ..InterfaceReading::default()
            }],
            uptime_seconds: 1,
            process_rss_bytes: 1,
        }
    }

    fn value(s: &[StatSample], id: &str) -> Option<f64> {
        s.iter().find(|x| x.item == id).map(|x| x.value)
    }

    #[test]
    fn rates_are_computed_between_two_readings() {
        let first = readings(0, 100, 1000, 0);
        let s = minute(None, &first, 0);
        assert_eq!(value(&s, "cpu.util"), None, "no rate from one reading");
        assert_eq!(value(&s, "mem.util"), Some(75.0));
        assert_eq!(value(&s, "mem.usage"), Some(3.0 * 1024.0 * 1024.0));
        assert_eq!(value(&s, "swap.util"), Some(0.0), "no swap: 0, not NaN");
        let second = readings(60, 400, 1600, 60 * 1024 * 10);
        let s = minute(Some(&first), &second, 60);
        assert_eq!(value(&s, "cpu.util"), Some(50.0));
        assert_eq!(value(&s, "net.rx.activity.eth0"), Some(10.0), "KB/s");
        assert_eq!(value(&s, "net.rx.packetRate.eth0"), Some(10.0));
        assert_eq!(value(&s, "net.tx.activity.eth0"), Some(0.0));
        // A reset counter gives no rate.
        let reset = readings(120, 10, 20, 0);
        let s = minute(Some(&second), &reset, 120);
        assert_eq!(value(&s, "cpu.util"), None);
        assert_eq!(value(&s, "net.rx.activity.eth0"), None);
    }

    #[test]
    fn filesystems_and_the_database_every_ten_minutes() {
        let s = ten_minutes(&readings(0, 0, 0, 0), Some(2048), 0);
        assert_eq!(value(&s, "storage.util.filesystem.root"), Some(25.0));
        assert_eq!(
            value(&s, "storage.totalsize.filesystem.root"),
            Some(102_400.0)
        );
        assert_eq!(value(&s, "storage.used.database"), Some(2.0));
    }
}
