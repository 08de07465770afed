//! The host's facts: node info, capabilities, versions, pools and networks from libvirt; NICs,
//! bridges, OS release, DMI and boot time from the OS.
use std::collections::BTreeMap;
use std::path::Path;

use ferrocenter_agent_client::wire::{
    Datastore, Hardware, HypervisorVersions, Ipmi, Network, Nic, Sensor, SensorStatus,
};
use virt::connect::Connect;
use virt::network::Network as LvNetwork;

use super::{fault, xml};
use crate::driver::Discovered;
use crate::error::ApiResult;

fn read(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// libvirt's version numbers (major * 1,000,000 + minor * 1,000 + release) as text.
fn version(v: u32) -> String {
    format!("{}.{}.{}", v / 1_000_000, (v / 1000) % 1000, v % 1000)
}

/// `KEY=value` lines of /etc/os-release.
fn os_release() -> BTreeMap<String, String> {
    read("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

/// The machine's boot time (Unix seconds) from /proc/stat's `btime`.
pub fn boot_time() -> Option<i64> {
    read("/proc/stat")?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

fn cpu_model_name() -> Option<String> {
    read("/proc/cpuinfo")?
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// Physical NICs (virtual devices — bridges, taps, veths, loopback — left out).
fn nics() -> Vec<Nic> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/sys/class/net") else {
        return out;
    };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let real = std::fs::canonicalize(e.path()).unwrap_or_default();
        if real.to_string_lossy().contains("/devices/virtual/") {
            continue;
        }
        let p = e.path();
        out.push(Nic {
            mac: read(p.join("address")).unwrap_or_default(),
            // Unknown (-1) or unreadable while the link is down: 0.
            speed_mbps: read(p.join("speed"))
                .and_then(|s| s.parse::<i64>().ok())
                .filter(|s| *s > 0)
                .unwrap_or(0) as u32,
            link_up: read(p.join("operstate")).as_deref() == Some("up"),
            name,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Linux bridges on the host (a NIC for VMs when no libvirt network fronts them).
fn bridges() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir("/sys/class/net")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("bridge").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

fn datastores(c: &Connect) -> ApiResult<Vec<Datastore>> {
    let pools = c
        .list_all_storage_pools(0)
        .map_err(|e| fault("storage pools", e))?;
    let mut out = Vec::new();
    for p in pools {
        let (Ok(name), Ok(info), Ok(desc)) = (p.get_name(), p.get_info(), p.get_xml_desc(0)) else {
            continue;
        };
        let Ok(doc) = xml::parse(&desc) else { continue };
        let kind = doc.attr("type").unwrap_or("dir").to_string();
        let path = doc.text_at("target/path").unwrap_or_default();
        let url = match kind.as_str() {
            "netfs" => format!(
                "nfs://{}{}",
                doc.at("source/host")
                    .and_then(|h| h.attr("name"))
                    .unwrap_or(""),
                doc.at("source/dir")
                    .and_then(|d| d.attr("path"))
                    .unwrap_or("")
            ),
            _ => format!("file://{path}"),
        };
        out.push(Datastore {
            name,
            url,
            kind,
            capacity_bytes: info.capacity,
            free_bytes: info.available,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn networks(c: &Connect) -> ApiResult<Vec<Network>> {
    let nets: Vec<LvNetwork> = c.list_all_networks(0).map_err(|e| fault("networks", e))?;
    let mut out: Vec<Network> = nets
        .iter()
        .filter_map(|n| {
            let doc = xml::parse(&n.get_xml_desc(0).ok()?).ok()?;
            Some(Network {
                name: n.get_name().ok()?,
                kind: "network".into(),
                vlan: doc
                    .at("vlan/tag")
                    .and_then(|t| t.attr("id"))
                    .and_then(|v| v.parse().ok()),
            })
        })
        .collect();
    let fronted: Vec<String> = nets
        .iter()
        .filter_map(|n| n.get_bridge_name().ok())
        .collect();
    out.extend(
        bridges()
            .into_iter()
            .filter(|b| !fronted.contains(b))
            .map(|name| Network {
                name,
                kind: "bridge".into(),
                vlan: None,
            }),
    );
    Ok(out)
}

pub fn discover(c: &Connect) -> ApiResult<Discovered> {
    let node = c.get_node_info().map_err(|e| fault("node info", e))?;
    let caps = c.get_capabilities().map_err(|e| fault("capabilities", e))?;
    let caps = xml::parse(&caps).map_err(|e| {
        crate::error::ApiError::new(
            ferrocenter_agent_client::wire::ErrorCode::Internal,
            format!("libvirt's capabilities are not XML: {e}"),
        )
    })?;
    let cpu = caps.at("host/cpu");
    let topo = cpu.and_then(|c| c.child("topology"));
    let num = |a: &str| {
        topo.and_then(|t| t.attr(a))
            .and_then(|v| v.parse::<u32>().ok())
    };
    let packages = node.nodes.max(1) * node.sockets.max(1);
    let cores = num("cores").unwrap_or(node.cores).max(1) * packages * num("dies").unwrap_or(1);
    let threads = cores * num("threads").unwrap_or(node.threads).max(1);
    let os = os_release();
    let dmi = |f: &str| read(format!("/sys/class/dmi/id/{f}"));
    Ok(Discovered {
        hostname: c.get_hostname().map_err(|e| fault("hostname", e))?,
        hardware: Hardware {
            vendor: dmi("sys_vendor").unwrap_or_else(|| "unknown".into()),
            model: dmi("product_name").unwrap_or_else(|| "unknown".into()),
            // libvirt's host uuid (SMBIOS, or `host_uuid` in libvirtd.conf): what libvirt
            // itself tells hosts apart by.
            bios_uuid: caps.text_at("host/uuid").unwrap_or_default(),
            cpu_model: cpu_model_name()
                .or_else(|| cpu.and_then(|c| c.text_at("model")))
                .unwrap_or_else(|| node.model.clone()),
            cpu_packages: packages,
            cpu_cores: cores,
            cpu_threads: threads.max(node.cpus),
            cpu_mhz: node.mhz,
            memory_bytes: node.memory * 1024,
        },
        architecture: cpu
            .and_then(|c| c.text_at("arch"))
            .unwrap_or_else(|| node.model.clone()),
        os_name: os.get("NAME").cloned().unwrap_or_else(|| "Linux".into()),
        os_version: os.get("VERSION_ID").cloned().unwrap_or_default(),
        hypervisor: HypervisorVersions {
            name: "KVM".into(),
            version: read("/proc/sys/kernel/osrelease").unwrap_or_default(),
            libvirt_version: c
                .get_lib_version()
                .map(version)
                .map_err(|e| fault("libvirt version", e))?,
            qemu_version: c
                .get_hyp_version()
                .map(version)
                .map_err(|e| fault("QEMU version", e))?,
        },
        nics: nics(),
        datastores: datastores(c)?,
        networks: networks(c)?,
        ipmi_address: None,
        ipmi: Ipmi::default(),
        os_release: os.get("VERSION_CODENAME").cloned(),
        nqn: read("/etc/nvme/hostnqn"),
        // No sensor source yet (IPMI is later work): unknown rather than a guess.
        sensors: Sensor::ALL
            .iter()
            .map(|s| (*s, SensorStatus::Unknown))
            .collect(),
        boot_time: boot_time(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_boot_time() {
        assert_eq!(version(9_000_000), "9.0.0");
        assert_eq!(version(7_002_017), "7.2.17");
        assert!(boot_time().unwrap() > 1_000_000_000);
    }
}
