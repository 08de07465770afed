//! `ferrocenter agent` and `ferrocenter simulate`: flags, environment and TOML like `serve`.
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ferrocenter_agent::driver::libvirt_settings::{
    check_migration_uri, DomainType, MigrationTransport,
};
use ferrocenter_agent::driver::sim::SimOptions;
use ferrocenter_agent::serve::{AgentOptions, DriverKind, DEFAULT_LIBVIRT_URI};
use ferrocenter_agent::simulate::SimulateOptions;
use serde::Deserialize;

use crate::config::ConfigError;

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        reason: reason.into(),
    }
}

fn read_toml<T: for<'de> Deserialize<'de> + Default>(
    path: Option<&PathBuf>,
) -> Result<T, ConfigError> {
    match path {
        None => Ok(T::default()),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| ConfigError::File {
                path: p.clone(),
                reason: e.to_string(),
            })?;
            toml::from_str(&text).map_err(|e| ConfigError::File {
                path: p.clone(),
                reason: e.message().to_string(),
            })
        }
    }
}

fn parse<T: std::str::FromStr>(key: &'static str, v: &str) -> Result<T, ConfigError> {
    v.trim()
        .parse()
        .map_err(|_| invalid(key, format!("'{v}' is not a valid value")))
}

/// Flags shared by both commands for the simulated hardware.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct SimArgs {
    /// Simulated migration speed in MiB of VM memory per second [default: 1024].
    #[arg(long, env = "FERROCENTER_MIGRATION_MIB_PER_SEC", value_name = "N")]
    pub migration_mib_per_sec: Option<String>,
    /// Seconds a simulated reboot keeps the host unreachable [default: 10].
    #[arg(long, env = "FERROCENTER_REBOOT_SECS", value_name = "S")]
    pub reboot_secs: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SimFile {
    migration_mib_per_sec: Option<u64>,
    reboot_secs: Option<u64>,
}

fn sim_options(args: &SimArgs, file: &SimFile) -> Result<SimOptions, ConfigError> {
    let mib: u64 = match &args.migration_mib_per_sec {
        Some(v) => parse("migration_mib_per_sec", v)?,
        None => file.migration_mib_per_sec.unwrap_or(1024),
    };
    if mib == 0 || mib > 1 << 20 {
        return Err(invalid(
            "migration_mib_per_sec",
            format!("{mib} is outside 1..=1048576"),
        ));
    }
    let reboot: u64 = match &args.reboot_secs {
        Some(v) => parse("reboot_secs", v)?,
        None => file.reboot_secs.unwrap_or(10),
    };
    if reboot > 3600 {
        return Err(invalid(
            "reboot_secs",
            format!("{reboot} is outside 0..=3600"),
        ));
    }
    Ok(SimOptions {
        migration_bytes_per_sec: mib << 20,
        reboot_time: Duration::from_secs(reboot),
    })
}

#[derive(Debug, Default, Clone, clap::Args)]
pub struct AgentArgs {
    /// A TOML file with any of these settings (keys in snake_case).
    #[arg(long, env = "FERROCENTER_AGENT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// HTTPS address of the agent API [default: 0.0.0.0:8444]. Every address by default, since
    /// the server must reach the agent; give the host's management address to narrow it.
    #[arg(long, env = "FERROCENTER_AGENT_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// Agent state and certificate [default: ./ferrocenter-agent-data].
    #[arg(long, env = "FERROCENTER_AGENT_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<String>,
    /// root's password; required on the first start.
    #[arg(
        long,
        env = "FERROCENTER_ROOT_PASSWORD",
        value_name = "PW",
        hide_env_values = true
    )]
    pub root_password: Option<String>,
    /// The administrator account's name, set on the first start [default: root].
    #[arg(long, env = "FERROCENTER_ROOT_USER", value_name = "NAME")]
    pub root_user: Option<String>,
    /// Hypervisor driver: sim or libvirt [default: sim]. libvirt needs a ferrocenter built with
    /// the cargo feature `libvirt`.
    #[arg(long, env = "FERROCENTER_AGENT_DRIVER", value_name = "DRIVER")]
    pub driver: Option<String>,
    /// The libvirt connection URI of `--driver libvirt` [default: qemu:///system].
    #[arg(long, env = "FERROCENTER_LIBVIRT_URI", value_name = "URI")]
    pub libvirt_uri: Option<String>,
    /// The domain type of VMs `--driver libvirt` defines: auto, kvm or qemu [default: auto,
    /// which is kvm where the kvm_intel or kvm_amd module is loaded and qemu otherwise].
    #[arg(long, env = "FERROCENTER_LIBVIRT_DOMAIN_TYPE", value_name = "TYPE")]
    pub libvirt_domain_type: Option<String>,
    /// How live migrations travel: tls (QEMU's stream over TLS; copies local disks) or
    /// tunnelled (inside libvirtd's connection) [default: tls].
    #[arg(long, env = "FERROCENTER_LIBVIRT_MIGRATION", value_name = "MODE")]
    pub libvirt_migration: Option<String>,
    /// A destination's libvirtd, `{address}` standing for the destination host's address
    /// [default: qemu+tls://{address}/system].
    #[arg(long, env = "FERROCENTER_LIBVIRT_MIGRATION_URI", value_name = "URI")]
    pub libvirt_migration_uri: Option<String>,
    /// Seed of the simulated hardware [default: derived from the hostname].
    #[arg(long, env = "FERROCENTER_AGENT_SEED", value_name = "S")]
    pub seed: Option<String>,
    /// Read root's password from the first line of standard input (kept out of the command
    /// line and the environment).
    #[arg(long)]
    pub root_password_stdin: bool,
    /// Write a new agent's state (administrator account, certificate) and exit; an agent that
    /// has state keeps it. The SSH bootstrap runs this before it starts the service.
    #[arg(long)]
    pub init_only: bool,
    #[command(flatten)]
    pub sim: SimArgs,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentFile {
    listen: Option<String>,
    data_dir: Option<String>,
    root_password: Option<String>,
    root_user: Option<String>,
    driver: Option<String>,
    libvirt_uri: Option<String>,
    libvirt_domain_type: Option<String>,
    libvirt_migration: Option<String>,
    libvirt_migration_uri: Option<String>,
    seed: Option<u64>,
    migration_mib_per_sec: Option<u64>,
    reboot_secs: Option<u64>,
}

impl AgentArgs {
    pub fn resolve(&self) -> Result<AgentOptions, ConfigError> {
        let file: AgentFile = read_toml(self.config.as_ref())?;
        let listen = self
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| "0.0.0.0:8444".into());
        let listen: SocketAddr = listen
            .parse()
            .map_err(|_| invalid("listen", format!("'{listen}' is not a socket address")))?;
        let driver = match self
            .driver
            .clone()
            .or(file.driver)
            .unwrap_or_else(|| "sim".into())
            .as_str()
        {
            "sim" => DriverKind::Sim,
            "libvirt" => DriverKind::Libvirt {
                uri: match self.libvirt_uri.clone().or(file.libvirt_uri) {
                    Some(u) if u.trim().is_empty() => {
                        return Err(invalid("libvirt_uri", "must not be empty"))
                    }
                    Some(u) => u,
                    None => DEFAULT_LIBVIRT_URI.into(),
                },
                domain_type: match self
                    .libvirt_domain_type
                    .clone()
                    .or(file.libvirt_domain_type)
                {
                    Some(t) => {
                        DomainType::parse(&t).map_err(|r| invalid("libvirt_domain_type", r))?
                    }
                    None => None,
                },
                migration: match self.libvirt_migration.clone().or(file.libvirt_migration) {
                    Some(m) => MigrationTransport::parse(&m)
                        .map_err(|r| invalid("libvirt_migration", r))?,
                    None => MigrationTransport::default(),
                },
                migration_uri: match self
                    .libvirt_migration_uri
                    .clone()
                    .or(file.libvirt_migration_uri)
                {
                    Some(u) => {
                        check_migration_uri(&u).map_err(|r| invalid("libvirt_migration_uri", r))?;
                        Some(u)
                    }
                    None => None,
                },
            },
            other => {
                return Err(invalid(
                    "driver",
                    format!("'{other}' is not sim or libvirt"),
                ))
            }
        };
        let seed = match &self.seed {
            Some(v) => Some(parse("seed", v)?),
            None => file.seed,
        };
        let sim_file = SimFile {
            migration_mib_per_sec: file.migration_mib_per_sec,
            reboot_secs: file.reboot_secs,
        };
        Ok(AgentOptions {
            listen,
            data_dir: PathBuf::from(
                self.data_dir
                    .clone()
                    .or(file.data_dir)
                    .unwrap_or_else(|| "./ferrocenter-agent-data".into()),
            ),
            root_password: self.root_password.clone().or(file.root_password),
            root_user: match self.root_user.clone().or(file.root_user) {
                Some(u) => {
                    ferrocenter_agent::accounts::validate_account_name(&u)
                        .map_err(|e| invalid("root_user", e.0.message))?;
                    Some(u)
                }
                None => None,
            },
            driver,
            seed,
            sim: sim_options(&self.sim, &sim_file)?,
        })
    }
}

#[derive(Debug, Default, Clone, clap::Args)]
pub struct SimulateArgs {
    /// Number of simulated hosts.
    #[arg(long, value_name = "N")]
    pub hosts: String,
    /// VMs created on each host at start [default: 0].
    #[arg(long, value_name = "M")]
    pub vms_per_host: Option<String>,
    /// First host's loopback address; the others count up from it [default: 127.0.10.1].
    #[arg(long, value_name = "IP")]
    pub address_base: Option<String>,
    /// Port every host listens on [default: 8444].
    #[arg(long, value_name = "PORT")]
    pub port: Option<String>,
    /// root's password on every host.
    #[arg(
        long,
        env = "FERROCENTER_ROOT_PASSWORD",
        value_name = "PW",
        hide_env_values = true
    )]
    pub root_password: String,
    /// The administrator account's name on every host [default: root].
    #[arg(long, value_name = "NAME")]
    pub root_user: Option<String>,
    /// Where to write the JSON manifest (address, port, thumbprint, root user per host).
    #[arg(long, value_name = "FILE")]
    pub manifest: PathBuf,
    /// Seed of the simulated hardware [default: 1].
    #[arg(long, value_name = "S")]
    pub seed: Option<String>,
    /// Plain-HTTP fault-injection endpoint, loopback only [default: 127.0.0.1:8440].
    #[arg(long, value_name = "ADDR")]
    pub control: Option<String>,
    #[command(flatten)]
    pub sim: SimArgs,
}

impl SimulateArgs {
    pub fn resolve(&self) -> Result<SimulateOptions, ConfigError> {
        let hosts: usize = parse("hosts", &self.hosts)?;
        let control: SocketAddr = self
            .control
            .as_deref()
            .unwrap_or("127.0.0.1:8440")
            .parse()
            .map_err(|_| invalid("control", "is not a socket address"))?;
        if !control.ip().is_loopback() {
            return Err(invalid("control", "must be a loopback address"));
        }
        Ok(SimulateOptions {
            hosts,
            vms_per_host: self
                .vms_per_host
                .as_deref()
                .map(|v| parse("vms_per_host", v))
                .transpose()?
                .unwrap_or(0),
            address_base: self
                .address_base
                .as_deref()
                .map(|v| parse::<Ipv4Addr>("address_base", v))
                .transpose()?
                .unwrap_or(Ipv4Addr::new(127, 0, 10, 1)),
            port: self
                .port
                .as_deref()
                .map(|v| parse("port", v))
                .transpose()?
                .unwrap_or(8444),
            root_password: self.root_password.clone(),
            root_user: self.root_user.clone().unwrap_or_else(|| "root".into()),
            seed: self
                .seed
                .as_deref()
                .map(|v| parse("seed", v))
                .transpose()?
                .unwrap_or(1),
            control,
            sim: sim_options(&self.sim, &SimFile::default())?,
            peer_timeout: Duration::from_secs(30),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_root_user_is_refused_naming_the_option() {
        let too_long = "a".repeat(65);
        for bad in ["", "ad min", "root/x", "röot", too_long.as_str()] {
            let resolved = AgentArgs {
                root_user: Some(bad.into()),
                ..Default::default()
            }
            .resolve();
            let Err(e) = resolved else {
                panic!("{bad:?} was accepted")
            };
            let msg = e.to_string();
            assert!(msg.starts_with("root_user:"), "{bad:?}: {msg}");
        }
        let ok = AgentArgs {
            root_user: Some("ops.admin-1".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(ok.root_user.as_deref(), Some("ops.admin-1"));
    }

    #[test]
    fn bad_libvirt_settings_are_refused_naming_the_option() {
        let libvirt = || AgentArgs {
            driver: Some("libvirt".into()),
            ..Default::default()
        };
        let cases: [(&str, AgentArgs); 3] = [
            (
                "libvirt_domain_type:",
                AgentArgs {
                    libvirt_domain_type: Some("xen".into()),
                    ..libvirt()
                },
            ),
            (
                "libvirt_migration:",
                AgentArgs {
                    libvirt_migration: Some("tcp".into()),
                    ..libvirt()
                },
            ),
            (
                "libvirt_migration_uri:",
                AgentArgs {
                    libvirt_migration_uri: Some("qemu+tls://10.0.0.1/system".into()),
                    ..libvirt()
                },
            ),
        ];
        for (field, args) in cases {
            let Err(e) = args.resolve() else {
                panic!("{field} accepted")
            };
            let msg = e.to_string();
            assert!(msg.starts_with(field), "{field} {msg}");
        }
        let ok = AgentArgs {
            libvirt_domain_type: Some("qemu".into()),
            libvirt_migration: Some("tunnelled".into()),
            libvirt_migration_uri: Some("qemu+tls://{address}:16515/system".into()),
            ..libvirt()
        }
        .resolve()
        .unwrap();
        assert_eq!(
            ok.driver,
            DriverKind::Libvirt {
                uri: DEFAULT_LIBVIRT_URI.into(),
                domain_type: Some(DomainType::Qemu),
                migration: MigrationTransport::Tunnelled,
                migration_uri: Some("qemu+tls://{address}:16515/system".into()),
            }
        );
    }
}
