use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ferrocenter::config::ServeArgs;
use ferrocenter::serve::{announce_generated_password, wait_for_signal, Server};

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

#[derive(Subcommand)]
enum Command {
    /// Run the management server.
    Serve(Box<ServeArgs>),
    /// Print the version and the API versions served.
    Version,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => {
            println!("ferrocenter {}", env!("CARGO_PKG_VERSION"));
            println!("vSphere Automation API: /api, /rest (JSON-RPC on POST /api)");
            println!("VI/JSON: /sdk/vim25/{{8.0.1.0 .. 9.1.1.0}} (not served yet)");
            println!("ZStack: /zstack/v1 (not served yet)");
            ExitCode::SUCCESS
        }
        Command::Serve(args) => match serve(*args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ferrocenter serve: {e:#}");
                ExitCode::from(2)
            }
        },
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let cfg = args.resolve()?;
    // Everything the server writes (database, keys, logs, the initial password) is private.
    // SAFETY: umask only changes this process's file creation mask.
    unsafe {
        libc::umask(0o077);
    }
    ferrocenter::serve::make_dir(&cfg.data_dir)?;
    let _log_guard = ferrocenter::logging::init(&cfg.log_level, &cfg.data_dir.join("logs"))
        .map_err(|e| anyhow::anyhow!("data_dir: cannot create the logs directory: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = Server::start(&cfg).await?;
        if let Some(pw) = &server.generated_password {
            announce_generated_password(&cfg.data_dir, pw);
        }
        print!("{}", server.banner());
        use std::io::Write;
        let _ = std::io::stdout().flush();
        wait_for_signal().await;
        server.stop().await;
        anyhow::Ok(())
    })
}
