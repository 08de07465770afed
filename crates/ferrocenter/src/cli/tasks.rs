//! `task list|show|wait|cancel`, and how every task-starting command waits: a progress bar with
//! the task's own message on a terminal, then the result or the fault.
use std::time::Duration;

use clap::Subcommand;
use ferrocenter_client::{Connection, TaskView};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};

use super::session::resume;
use super::{output, CliError, ClientArgs};

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Recent tasks: queued, running, and those that finished in the last 10 minutes.
    List,
    /// One task.
    Show { task: String },
    /// Wait for a task to finish (progress bar on a terminal).
    Wait { task: String },
    /// Ask a running task to stop.
    Cancel { task: String },
}

/// A task as a row: what the table and JSON show.
fn row(t: &TaskView) -> Value {
    let info = &t.info;
    let mut v = json!({
        "task": t.id,
        "name": t.name,
        "entity": t.entity_name,
        "entity_id": info["entity"]["value"],
        "state": t.state,
        "progress": t.progress,
        "message": t.message,
        "queued": info["queueTime"],
        "started": info["startTime"],
        "completed": info["completeTime"],
        "user": info["reason"]["userName"],
    });
    if let Some(r) = info.get("result") {
        v["result"] = r.get("value").cloned().unwrap_or_else(|| r.clone());
    }
    if let Some(e) = info.get("error") {
        v["fault"] = e["_typeName"].clone();
        v["fault_message"] = e["faultMessage"][0]["message"].clone();
    }
    v
}

const COLUMNS: [&str; 6] = ["task", "name", "entity", "state", "progress", "message"];

fn bar_for(t: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(100), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos:>3}% {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(t.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Waits for the task, drawing its progress on a terminal (nothing otherwise), and prints the
/// finished task. A task that ends in error is exit 4 with its fault.
async fn wait(args: &ClientArgs, c: &Connection, id: &str) -> Result<(), CliError> {
    let bar = bar_for(id);
    let r = c
        .wait_for_task(id, |t| {
            bar.set_prefix(format!("{} {}", t.id, t.name));
            bar.set_position(t.progress.unwrap_or(0).clamp(0, 100) as u64);
            bar.set_message(t.message.clone());
        })
        .await;
    bar.finish_and_clear();
    match r {
        Ok(t) => {
            output::rows(
                args.output,
                &[row(&t)],
                &["task", "name", "entity", "state", "result"],
            );
            Ok(())
        }
        Err(e) => {
            let hint = match (e.fault.as_deref(), &e.detail) {
                (Some("SSLVerifyFault"), Some(d)) => d["thumbprint"]
                    .as_str()
                    .map(|t| {
                        format!("; the host presented thumbprint {t}: check it, then retry with --host-thumbprint {t}")
                    })
                    .unwrap_or_default(),
                _ => String::new(),
            };
            let mut err = CliError::from(e);
            err.message.push_str(&hint);
            Err(err)
        }
    }
}

/// Runs what a command started: the moRef of a task.
pub(crate) async fn follow(
    args: &ClientArgs,
    c: &Connection,
    started: Value,
) -> Result<(), CliError> {
    let id = started["value"].as_str().unwrap_or_default().to_string();
    if args.no_wait {
        let t = c.task(&id).await?;
        output::rows(args.output, &[row(&t)], &COLUMNS);
        return Ok(());
    }
    wait(args, c, &id).await
}

pub async fn task(args: &ClientArgs, cmd: &TaskCommand) -> Result<(), CliError> {
    let c = resume(args)?;
    match cmd {
        TaskCommand::List => {
            let recent = c.get("TaskManager", "TaskManager", "recentTask").await?;
            let mut rows = Vec::new();
            for m in recent.as_array().map(Vec::as_slice).unwrap_or(&[]) {
                if let Some(id) = m["value"].as_str() {
                    rows.push(row(&c.task(id).await?));
                }
            }
            output::rows(args.output, &rows, &COLUMNS);
        }
        TaskCommand::Show { task } => output::object(args.output, &row(&c.task(task).await?)),
        TaskCommand::Wait { task } => wait(args, &c, task).await?,
        TaskCommand::Cancel { task } => {
            c.call("Task", task, "CancelTask", json!({})).await?;
            let t = c.task(task).await?;
            output::rows(args.output, &[row(&t)], &COLUMNS);
        }
    }
    Ok(())
}
