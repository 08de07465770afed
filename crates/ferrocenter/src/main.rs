use std::process::ExitCode;

// The server allocates many small, short-lived objects per request (JSON values, rows) from
// many threads; glibc's allocator showed up at the top of the scale benchmark's profile.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use ferrocenter::agent_cmd::{AgentArgs, SimulateArgs};
use ferrocenter::cli;
use ferrocenter::config::ServeArgs;
use ferrocenter::self_update;
use ferrocenter::serve::{announce_generated_password, wait_for_signal, Server};
use ferrocenter_core::ports::ProcessAction;

#[derive(Parser)]
#[command(
    name = "ferrocenter",
    version,
    about = "A control plane for fleets of KVM hosts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// A client command: the connection options (global below it) and the noun's subcommand.
#[derive(clap::Args)]
struct Client<C: Subcommand> {
    #[command(flatten)]
    args: cli::ClientArgs,
    #[command(subcommand)]
    command: C,
}

#[derive(Subcommand)]
enum Command {
    /// Run the management server.
    Serve(Box<ServeArgs>),
    /// Run the host agent (one host).
    Agent(Box<AgentArgs>),
    /// Run a fleet of simulated host agents in one process.
    Simulate(Box<SimulateArgs>),
    /// Print the version and the API versions served.
    Version,
    /// Print a shell completion script (e.g. `ferrocenter completions bash >
    /// /etc/bash_completion.d/ferrocenter`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page in roff (e.g. `ferrocenter manpage > /usr/local/share/man/man1/ferrocenter.1`).
    Manpage,
    /// Log in to a server and keep the session for the commands below.
    Login(cli::ClientArgs),
    /// End the kept session.
    Logout(cli::ClientArgs),
    /// Datacenters.
    Datacenter(Client<cli::DatacenterCommand>),
    /// Clusters.
    Cluster(Client<cli::ClusterCommand>),
    /// Hosts.
    Host(Client<cli::HostCommand>),
    /// Virtual machines.
    Vm(Client<cli::VmCommand>),
    /// Tasks.
    Task(Client<cli::TaskCommand>),
    /// Events.
    Event(Client<cli::EventCommand>),
    /// Single sign-on: users and groups of the server's SSO domain.
    Sso(Client<cli::SsoCommand>),
    /// Make signed update repositories of ferrocenter (docs/update.md).
    #[command(subcommand)]
    UpdateRepo(ferrocenter::update_repo::UpdateRepoCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => {
            println!("ferrocenter {}", env!("CARGO_PKG_VERSION"));
            println!("vSphere Automation API: /api, /rest (JSON-RPC on POST /api)");
            println!("VI/JSON: /sdk/vim25/{{8.0.1.0 .. 9.1.1.0}}");
            println!("ZStack: /zstack/v1 (hosts, zones, clusters, VMs read-only)");
            ExitCode::SUCCESS
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "ferrocenter",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
        Command::Manpage => {
            match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("ferrocenter manpage: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Serve(args) => exit("serve", serve(*args)),
        Command::Agent(args) => exit("agent", agent(*args)),
        Command::Simulate(args) => exit("simulate", simulate(*args)),
        Command::Login(a) => client(cli::login(&a)),
        Command::Logout(a) => client(cli::logout(&a)),
        Command::Datacenter(c) => client(cli::datacenter(&c.args, &c.command)),
        Command::Cluster(c) => client(cli::cluster(&c.args, &c.command)),
        Command::Host(c) => client(cli::host(&c.args, &c.command)),
        Command::Vm(c) => client(cli::vm(&c.args, &c.command)),
        Command::Task(c) => client(cli::task(&c.args, &c.command)),
        Command::Event(c) => client(cli::event(&c.args, &c.command)),
        Command::Sso(c) => client(cli::sso(&c.args, &c.command)),
        Command::UpdateRepo(c) => exit("update-repo", ferrocenter::update_repo::run(&c)),
    }
}

/// Runs one client command; its failure decides the exit code (see `cli`).
fn client(f: impl std::future::Future<Output = Result<(), cli::CliError>>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferrocenter: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(cli::run(f)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferrocenter: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}

fn exit(command: &str, r: anyhow::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferrocenter {command}: {e:#}");
            ExitCode::from(
                e.downcast_ref::<ferrocenter::serve::StartError>()
                    .map_or(2, ferrocenter::serve::StartError::exit_code),
            )
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn agent(args: AgentArgs) -> anyhow::Result<()> {
    let mut opts = args.resolve()?;
    // SAFETY: umask only changes this process's file creation mask.
    unsafe {
        libc::umask(0o077);
    }
    if args.root_password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        opts.root_password = Some(line.trim_end_matches(['\r', '\n']).to_string());
    }
    if args.init_only {
        let Some(password) = opts.root_password.as_deref() else {
            anyhow::bail!("--init-only needs root's password (--root-password-stdin)");
        };
        let user = opts
            .root_user
            .as_deref()
            .unwrap_or(ferrocenter_agent::accounts::ROOT);
        let done = ferrocenter_agent::init::init_state(&opts.data_dir, user, password)?;
        let (what, thumbprint) = match done {
            ferrocenter_agent::init::Initialised::New { thumbprint } => ("written", thumbprint),
            ferrocenter_agent::init::Initialised::Kept { thumbprint } => {
                ("kept (already initialised)", thumbprint)
            }
        };
        println!("agent state {what}; TLS certificate SHA-256 thumbprint: {thumbprint}");
        return Ok(());
    }
    std::fs::create_dir_all(&opts.data_dir)?;
    let _log_guard = ferrocenter::logging::init("info", &opts.data_dir.join("logs"))?;
    runtime()?.block_on(async {
        let running = ferrocenter_agent::serve::start_agent(opts).await?;
        println!(
            "ferrocenter agent {} is serving on https://{}\n  TLS certificate SHA-256 thumbprint: {}",
            env!("CARGO_PKG_VERSION"),
            running.addr,
            running.thumbprint
        );
        use std::io::Write;
        let _ = std::io::stdout().flush();
        wait_for_signal().await?;
        running.stop(std::time::Duration::from_secs(5)).await;
        anyhow::Ok(())
    })
}

fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
    let opts = args.resolve()?;
    let manifest = args.manifest.clone();
    let hosts = opts.hosts;
    runtime()?.block_on(async {
        let fleet = ferrocenter_agent::simulate::start_fleet(opts).await?;
        fleet.write_manifest(&manifest)?;
        println!(
            "ferrocenter simulate: {hosts} hosts up in {:.2} s; manifest {}; fault control http://{}",
            fleet.startup.as_secs_f64(),
            manifest.display(),
            fleet.manifest.control
        );
        use std::io::Write;
        let _ = std::io::stdout().flush();
        wait_for_signal().await?;
        fleet.stop().await;
        anyhow::Ok(())
    })
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut cfg = args.resolve()?;
    cfg.start_check = std::env::var_os(self_update::START_CHECK_ENV).is_some();
    // Recorded now: once an update renames a new binary over it, /proc/self/exe names a
    // deleted file.
    let exe = std::env::current_exe().context("the server's own binary")?;
    // Everything the server writes (database, keys, logs, the initial password) is private.
    // SAFETY: umask only changes this process's file creation mask.
    unsafe {
        libc::umask(0o077);
    }
    ferrocenter::serve::make_dir(&cfg.data_dir)?;
    // The server keeps a connection to every host's agent: thousands of descriptors.
    ferrocenter_agent::simulate::raise_fd_limit();
    let _log_guard = ferrocenter::logging::init(&cfg.log_level, &cfg.data_dir.join("logs"))
        .map_err(|e| anyhow::anyhow!("data_dir: cannot create the logs directory: {e}"))?;
    let install = self_update::Install {
        exe,
        plan_path: ferrocenter::serve::install_plan_path(&cfg.data_dir),
        sqlite_file: match &cfg.database_url {
            Some(url) => ferrocenter_store::sqlite_file(url),
            None => ferrocenter_store::sqlite_file(&ferrocenter_store::default_sqlite_url(
                &cfg.data_dir,
            )),
        },
        rollback_dir: cfg.data_dir.join("update").join("rollback"),
    };
    if cfg.start_check {
        return runtime()?.block_on(async {
            let server = Server::start(&cfg).await?;
            server.stop().await;
            anyhow::Ok(())
        });
    }
    // An install the previous process was killed in the middle of is undone before the
    // server opens the store; the binary put back is executed.
    if install
        .recover_interrupted()
        .context("undoing an interrupted update install")?
    {
        drop(_log_guard);
        let e = ferrocenter_system::exec_binary(&install.exe);
        anyhow::bail!(
            "the previous binary could not be executed after an interrupted install: {e}"
        );
    }
    let ending = runtime()?.block_on(async {
        let mut server = Server::start(&cfg).await?;
        if let Some(pw) = &server.generated_password {
            announce_generated_password(&cfg.data_dir, pw);
        }
        print!("{}", server.banner());
        use std::io::Write;
        let _ = std::io::stdout().flush();
        // An appliance reboot or power-off stops the same way a signal does.
        let ending = tokio::select! {
            r = wait_for_signal() => { r?; None }
            action = server.process_requests.next() => Some(action),
        };
        server.stop().await;
        anyhow::Ok(ending)
    })?;
    if ending == Some(ProcessAction::Install) {
        drop(_log_guard);
        let e = install.run();
        eprintln!(
            "ferrocenter serve: the update install could not execute a binary: {e:#}; \
             exiting with {} for the service manager to restart it",
            ferrocenter_system::EXIT_RESTART
        );
        std::process::exit(i32::from(ferrocenter_system::EXIT_RESTART));
    }
    if ending == Some(ProcessAction::Restart) {
        drop(_log_guard);
        let e = ferrocenter_system::reexec();
        eprintln!(
            "ferrocenter serve: cannot run the binary again for the appliance reboot: {e}; \
             exiting with {} for the service manager to restart it",
            ferrocenter_system::EXIT_RESTART
        );
        std::process::exit(i32::from(ferrocenter_system::EXIT_RESTART));
    }
    Ok(())
}
