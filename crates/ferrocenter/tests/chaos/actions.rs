//! The random walk's vocabulary: operations through the three surfaces and injected faults, drawn
//! from the seeded generator alone (never from what the server answered), so that a seed replays
//! the same sequence whatever the timing.
use std::fmt;

use rand::rngs::StdRng;
use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Surface {
    Vapi,
    Vim,
    Zstack,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    AddHost {
        agent: usize,
        via: Surface,
    },
    /// An add of every agent at once (what a kill in the middle of adds needs).
    AddEveryHost {
        via: Surface,
    },
    RemoveHost {
        agent: usize,
        via: Surface,
    },
    DisconnectHost {
        agent: usize,
        via: Surface,
    },
    ReconnectHost {
        agent: usize,
        via: Surface,
    },
    EnterMaintenance {
        agent: usize,
        via: Surface,
    },
    ExitMaintenance {
        agent: usize,
        via: Surface,
    },
    PowerVm {
        vm: usize,
        on: bool,
        via: Surface,
    },
    MigrateVm {
        vm: usize,
        to: usize,
        via: Surface,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL the server `after_ms` after the previous operation was sent, then restart it.
    KillServer { after_ms: u64 },
    /// The agent stops answering (connections hang) for `steps` steps.
    AgentStop { agent: usize, steps: usize },
    /// Every request to the agent waits `ms` first, for `steps` steps.
    AgentSlow { agent: usize, ms: u64, steps: usize },
    /// The data directory's file system is full for `ms` while two operations are sent.
    DiskFull { ms: u64 },
}

impl Fault {
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::KillServer { .. } => "server SIGKILL + restart",
            Fault::AgentStop { .. } => "agent stopped answering",
            Fault::AgentSlow { .. } => "agent slowed",
            Fault::DiskFull { .. } => "store file system full",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Op(Op),
    Fault(Fault),
}

impl Op {
    pub fn kind(&self) -> String {
        let (name, via) = match self {
            Op::AddHost { via, .. } => ("add host", via),
            Op::AddEveryHost { via } => ("add every host", via),
            Op::RemoveHost { via, .. } => ("remove host", via),
            Op::DisconnectHost { via, .. } => ("disconnect host", via),
            Op::ReconnectHost { via, .. } => ("reconnect host", via),
            Op::EnterMaintenance { via, .. } => ("enter maintenance", via),
            Op::ExitMaintenance { via, .. } => ("exit maintenance", via),
            Op::PowerVm { on: true, via, .. } => ("power on VM", via),
            Op::PowerVm { on: false, via, .. } => ("power off VM", via),
            Op::MigrateVm { via, .. } => ("migrate VM", via),
        };
        format!("{name} ({via:?})")
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

fn pick<T: Copy>(rng: &mut StdRng, of: &[T]) -> T {
    of[rng.gen_range(0..of.len())]
}

const ALL: [Surface; 3] = [Surface::Vapi, Surface::Vim, Surface::Zstack];

/// One action. Weights favour what builds state (adds, maintenance, migrations) over what
/// tears it down, so that the faults meet flows in flight.
pub fn draw(rng: &mut StdRng, agents: usize, vms: usize, disk_full: bool) -> Action {
    let agent = rng.gen_range(0..agents);
    let vm = rng.gen_range(0..vms.max(1));
    let to = rng.gen_range(0..agents);
    let roll = rng.gen_range(0..100u32);
    let op = match roll {
        0..=2 => Op::AddEveryHost {
            via: pick(rng, &ALL),
        },
        3..=13 => Op::AddHost {
            agent,
            via: pick(rng, &ALL),
        },
        14..=18 => Op::RemoveHost {
            agent,
            via: pick(rng, &ALL),
        },
        19..=22 => Op::DisconnectHost {
            agent,
            via: pick(rng, &[Surface::Vapi, Surface::Vim]),
        },
        23..=28 => Op::ReconnectHost {
            agent,
            via: pick(rng, &ALL),
        },
        29..=39 => Op::EnterMaintenance {
            agent,
            via: pick(rng, &[Surface::Vim, Surface::Zstack]),
        },
        40..=47 => Op::ExitMaintenance {
            agent,
            via: pick(rng, &[Surface::Vim, Surface::Zstack]),
        },
        48..=59 => Op::PowerVm {
            vm,
            on: rng.gen_bool(0.6),
            via: pick(rng, &[Surface::Vapi, Surface::Vim]),
        },
        60..=73 => Op::MigrateVm {
            vm,
            to,
            via: pick(rng, &[Surface::Vapi, Surface::Vim]),
        },
        74..=80 => {
            // Half of the kills come almost at once, to meet short flows (an add) in flight.
            let after_ms = if rng.gen_bool(0.5) {
                rng.gen_range(0..150)
            } else {
                rng.gen_range(150..1500)
            };
            return Action::Fault(Fault::KillServer { after_ms });
        }
        81..=86 => {
            return Action::Fault(Fault::AgentStop {
                agent,
                steps: rng.gen_range(1..6),
            })
        }
        87..=91 => {
            return Action::Fault(Fault::AgentSlow {
                agent,
                ms: rng.gen_range(100..1500),
                steps: rng.gen_range(1..6),
            })
        }
        92..=95 if disk_full => {
            return Action::Fault(Fault::DiskFull {
                ms: rng.gen_range(300..2000),
            })
        }
        _ => Op::PowerVm {
            vm,
            on: true,
            via: Surface::Vim,
        },
    };
    Action::Op(op)
}
