//! `ferrocenter-bench`: runs scenarios against real processes and prints one JSON report and a
//! readable table. Figures are printed, never asserted.
mod fleet;
mod history_import;
mod recovery;
mod server;
mod sso;
mod statistics;
mod sys;
mod syslog_forwarding;
mod update_install;
mod upgrade;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "ferrocenter-bench")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Start `ferrocenter simulate` and read every host's facts through the agent client.
    Fleet {
        #[arg(long, default_value_t = 10_000)]
        hosts: usize,
        #[arg(long, default_value_t = 10)]
        vms_per_host: usize,
        /// Concurrent client requests.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// 1,000 hosts, for a quick smoke run.
        #[arg(long)]
        quick: bool,
        /// The ferrocenter binary [default: next to this one].
        #[arg(long)]
        binary: Option<PathBuf>,
        #[arg(long, default_value = "127.0.100.1")]
        address_base: String,
        #[arg(long, default_value_t = 8444)]
        port: u16,
    },
    /// The server at scale: adds, listing, gets per surface, evacuation, steady state,
    /// restart, mixed load (see docs/performance.md).
    Server(Box<ServerArgs>),
    /// Backup and restore (issue 22): a server with `hosts` hosts and their VMs backs itself
    /// up while clients get VMs by id, then a fresh server is restored from the archive
    /// (docs/performance.md).
    BackupRestore {
        #[arg(long, default_value_t = 10_000)]
        hosts: usize,
        #[arg(long, default_value_t = 10)]
        vms_per_host: usize,
        #[arg(long, default_value_t = 64)]
        hosts_per_cluster: usize,
        /// Concurrent clients getting VMs by id before and during the backup.
        #[arg(long, default_value_t = 12)]
        get_clients: usize,
        /// Seconds of gets measured before the backup starts.
        #[arg(long, default_value_t = 10.0)]
        baseline_seconds: f64,
        /// Without a backup password (the archive is not encrypted).
        #[arg(long)]
        plain: bool,
        /// 200 hosts, for a quick smoke run.
        #[arg(long)]
        quick: bool,
        /// The ferrocenter binary [default: next to this one].
        #[arg(long)]
        binary: Option<PathBuf>,
    },
    /// Syslog forwarding (issue 23): records at `rate`/s to a TCP receiver for `seconds`, then
    /// the receiver down for `down_seconds` (docs/performance.md).
    SyslogForwarding {
        #[arg(long, default_value_t = 1000)]
        rate: u64,
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        #[arg(long, default_value_t = 30)]
        down_seconds: u64,
        /// 5 s up and 12 s down, for a smoke run.
        #[arg(long)]
        quick: bool,
    },
    /// Appliance statistics: 13 months of history on SQLite, the collector's cost, and the
    /// monitoring and health calls with 10,000 hosts in the store (docs/performance.md).
    Statistics {
        #[arg(long, default_value_t = 10_000)]
        hosts: usize,
        /// Days of history (the retention is 396).
        #[arg(long, default_value_t = 396)]
        days: i64,
        #[arg(long, default_value_t = 4)]
        filesystems: usize,
        #[arg(long, default_value_t = 2)]
        interfaces: usize,
        /// Calls measured per operation.
        #[arg(long, default_value_t = 500)]
        calls: usize,
        #[arg(long, default_value_t = 300)]
        collector_rounds: u64,
    },
    /// Deferred history import: a source's events, tasks and statistics archived, staged
    /// and imported into a live server's store (docs/deployment-history.md).
    HistoryImport {
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        #[arg(long, default_value_t = 100_000)]
        tasks: usize,
        /// Rows per batch (`history_import.batch_rows`).
        #[arg(long, default_value_t = 500)]
        batch_rows: usize,
        /// 50,000 events and 5,000 tasks, for a smoke run.
        #[arg(long)]
        quick: bool,
    },
    /// Single sign-on (issue 24): password logins, bearer token issue and sessions created
    /// from a token, each for `seconds` with `concurrency` clients (docs/performance.md).
    Sso {
        #[arg(long, default_value_t = 20.0)]
        seconds: f64,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// 3 s per way in, for a smoke run.
        #[arg(long)]
        quick: bool,
        /// The ferrocenter binary [default: next to this one].
        #[arg(long)]
        binary: Option<PathBuf>,
    },
    /// Upgrade (move, issue 25): a source managing `hosts` simulated hosts moved into a fresh
    /// `--await-setup` server with a deferred history import (docs/performance.md).
    Upgrade {
        #[arg(long, default_value_t = 10_000)]
        hosts: usize,
        #[arg(long, default_value_t = 10)]
        vms_per_host: usize,
        #[arg(long, default_value_t = 64)]
        hosts_per_cluster: usize,
        /// Concurrent clients adding the source's hosts (setup, not measured).
        #[arg(long, default_value_t = 32)]
        add_concurrency: usize,
        /// Events written into the source's store beside those of its own adds.
        #[arg(long, default_value_t = 200_000)]
        history_events: usize,
        /// Both servers' heartbeat interval.
        #[arg(long, default_value_t = 60)]
        heartbeat_secs: u64,
        /// 200 hosts and 20,000 extra events, for a quick smoke run.
        #[arg(long)]
        quick: bool,
        /// The ferrocenter binary [default: next to this one].
        #[arg(long)]
        binary: Option<PathBuf>,
    },
    /// Self-update (issue 26): a server managing `hosts` simulated hosts installs an update of
    /// itself from a signed local repository; API downtime and hosts back (docs/performance.md).
    UpdateInstall {
        #[arg(long, default_value_t = 10_000)]
        hosts: usize,
        #[arg(long, default_value_t = 10)]
        vms_per_host: usize,
        #[arg(long, default_value_t = 64)]
        hosts_per_cluster: usize,
        /// Concurrent clients adding the hosts (setup, not measured).
        #[arg(long, default_value_t = 32)]
        add_concurrency: usize,
        /// The server's heartbeat interval.
        #[arg(long, default_value_t = 10)]
        heartbeat_secs: u64,
        /// 200 hosts, for a quick smoke run.
        #[arg(long)]
        quick: bool,
        /// Keep the run's directory (the server's logs and data) for a look afterwards.
        #[arg(long)]
        keep: bool,
        /// The ferrocenter binary [default: next to this one]; the server runs a copy of it.
        #[arg(long)]
        binary: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct ServerArgs {
    /// Hosts added in scenario 1 (and present for 3–7).
    #[arg(long, default_value_t = 10_000)]
    hosts: usize,
    #[arg(long, default_value_t = 10)]
    vms_per_host: usize,
    /// Hosts present when scenario 2 lists them.
    #[arg(long, default_value_t = 25_000)]
    list_hosts: usize,
    #[arg(long, default_value_t = 64)]
    hosts_per_cluster: usize,
    /// Concurrent clients adding hosts.
    #[arg(long, default_value_t = 32)]
    add_concurrency: usize,
    /// Concurrent clients in scenario 3.
    #[arg(long, default_value_t = 64)]
    get_clients: usize,
    #[arg(long, default_value_t = 10.0)]
    get_seconds: f64,
    #[arg(long, default_value_t = 60)]
    heartbeat_secs: u64,
    /// The steady-state window (scenario 5).
    #[arg(long, default_value_t = 180.0)]
    steady_seconds: f64,
    /// Powered-on VMs on the host evacuated in scenario 4.
    #[arg(long, default_value_t = 100)]
    evacuate_vms: usize,
    /// Simulated migration speed for scenario 4's VMs, MiB/s per migration.
    #[arg(long, default_value_t = 4096)]
    evacuate_mib_per_s: u64,
    /// The server's concurrency limit for migrations from one host.
    #[arg(long, default_value_t = 8)]
    max_migrations_per_host: usize,
    /// Management operations per second in scenario 7.
    #[arg(long, default_value_t = 60.0)]
    mixed_rate: f64,
    #[arg(long, default_value_t = 300.0)]
    mixed_seconds: f64,
    /// PostgreSQL (a throwaway cluster started for the run) instead of SQLite.
    #[arg(long)]
    postgres: bool,
    /// Every scenario on each of these engines in turn (`sqlite,postgres`), then a table of
    /// each figure on both with their ratio; overrides `--postgres`.
    #[arg(long, value_delimiter = ',', value_parser = ["sqlite", "postgres"])]
    engines: Vec<String>,
    /// Every scenario at 1,000 hosts, in a few minutes.
    #[arg(long)]
    quick: bool,
    /// Only these scenarios, e.g. `--only 3,5` (1, the adds, always runs).
    #[arg(long, value_delimiter = ',')]
    only: Vec<u8>,
    /// The ferrocenter binary [default: next to this one].
    #[arg(long)]
    binary: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // One connection per simulated host stays open in the client's pool.
    ferrocenter_agent::simulate::raise_fd_limit();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.scenario {
        Scenario::Fleet {
            hosts,
            vms_per_host,
            concurrency,
            quick,
            binary,
            address_base,
            port,
        } => {
            let hosts = if quick { 1000 } else { hosts };
            rt.block_on(fleet::fleet(
                hosts,
                vms_per_host,
                concurrency,
                sys::ferrocenter_binary(binary),
                address_base,
                port,
            ))
        }
        Scenario::BackupRestore {
            hosts,
            vms_per_host,
            hosts_per_cluster,
            get_clients,
            baseline_seconds,
            plain,
            quick,
            binary,
        } => rt.block_on(recovery::run(recovery::Params {
            hosts: if quick { 200 } else { hosts },
            vms_per_host,
            hosts_per_cluster,
            get_clients,
            baseline_seconds: if quick { 2.0 } else { baseline_seconds },
            encrypt: !plain,
            binary,
        })),
        Scenario::HistoryImport {
            events,
            tasks,
            batch_rows,
            quick,
        } => rt.block_on(history_import::run(history_import::Params {
            events: if quick { 50_000 } else { events },
            tasks: if quick { 5_000 } else { tasks },
            batch_rows,
        })),
        Scenario::SyslogForwarding {
            rate,
            seconds,
            down_seconds,
            quick,
        } => rt.block_on(syslog_forwarding::run(syslog_forwarding::Params {
            rate,
            up_seconds: if quick { 5 } else { seconds },
            down_seconds: if quick { 12 } else { down_seconds },
        })),
        Scenario::Statistics {
            hosts,
            days,
            filesystems,
            interfaces,
            calls,
            collector_rounds,
        } => rt.block_on(statistics::run(statistics::Params {
            hosts,
            days,
            filesystems,
            interfaces,
            calls,
            collector_rounds,
        })),
        Scenario::Sso {
            seconds,
            concurrency,
            quick,
            binary,
        } => rt.block_on(sso::run(sso::Params {
            seconds: if quick { 3.0 } else { seconds },
            concurrency,
            binary,
        })),
        Scenario::Upgrade {
            hosts,
            vms_per_host,
            hosts_per_cluster,
            add_concurrency,
            history_events,
            heartbeat_secs,
            quick,
            binary,
        } => rt.block_on(upgrade::run(upgrade::Params {
            hosts: if quick { 200 } else { hosts },
            vms_per_host,
            hosts_per_cluster,
            add_concurrency,
            history_events: if quick { 20_000 } else { history_events },
            heartbeat_secs: if quick { 10 } else { heartbeat_secs },
            binary,
        })),
        Scenario::UpdateInstall {
            hosts,
            vms_per_host,
            hosts_per_cluster,
            add_concurrency,
            heartbeat_secs,
            quick,
            keep,
            binary,
        } => rt.block_on(update_install::run(update_install::Params {
            hosts: if quick { 200 } else { hosts },
            vms_per_host,
            hosts_per_cluster,
            add_concurrency,
            heartbeat_secs,
            keep,
            binary,
        })),
        Scenario::Server(a) => {
            let p = server::Params {
                hosts: a.hosts,
                vms_per_host: a.vms_per_host,
                list_hosts: a.list_hosts,
                hosts_per_cluster: a.hosts_per_cluster,
                add_concurrency: a.add_concurrency,
                get_clients: a.get_clients,
                get_seconds: a.get_seconds,
                heartbeat_secs: a.heartbeat_secs,
                steady_seconds: a.steady_seconds,
                evacuate_vms: a.evacuate_vms,
                evacuate_mib_per_s: a.evacuate_mib_per_s,
                max_migrations_per_host: a.max_migrations_per_host,
                mixed_rate: a.mixed_rate,
                mixed_seconds: a.mixed_seconds,
                postgres: a.postgres,
                only: a.only,
                binary: a.binary,
            };
            let p = if a.quick { p.quick() } else { p };
            rt.block_on(server::run_engines(p, &a.engines))
        }
    }
}
