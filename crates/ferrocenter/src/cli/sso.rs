//! `sso user …` and `sso group …`: the local SSO domain's users and groups through the
//! server's `com.ferrocenter.sso` services. Passwords never come from the command line: from
//! FERROCENTER_NEW_PASSWORD (and FERROCENTER_CURRENT_PASSWORD for `passwd`), else a prompt on
//! the terminal (not echoed), else a line of standard input each.
use clap::Subcommand;
use serde_json::{json, Value};

use super::session::{prompt_secret, resume};
use super::{output, CliError, ClientArgs, Output};

#[derive(Debug, Subcommand)]
pub enum SsoCommand {
    /// SSO users of the server's domain (vsphere.local).
    #[command(subcommand)]
    User(UserCommand),
    /// SSO groups; membership of SystemConfiguration.Administrators gives admin, of
    /// SystemConfiguration.BashShellAdministrators superAdmin.
    #[command(subcommand)]
    Group(GroupCommand),
    /// The certificates SAML tokens are signed under, and rotation of the signing key.
    #[command(subcommand)]
    SigningKey(SigningKeyCommand),
}

#[derive(Debug, Subcommand)]
pub enum SigningKeyCommand {
    /// The certificates relying parties trust tokens under (PEM), the current one first.
    List,
    /// Replace the signing key (superAdmin): new tokens are signed with a new key; tokens
    /// signed with the old one stay valid until they expire. Prints the new certificate.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List the users.
    List,
    /// Add a user (the password from FERROCENTER_NEW_PASSWORD or a prompt).
    Add {
        name: String,
        #[arg(long)]
        full_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Change the logged-in user's own password (the current one from
    /// FERROCENTER_CURRENT_PASSWORD, the new one from FERROCENTER_NEW_PASSWORD, or prompts).
    Passwd,
    /// Set a user's password as an administrator (FERROCENTER_NEW_PASSWORD or a prompt).
    SetPassword { name: String },
    /// End a user's lockout after failed logins.
    Unlock { name: String },
    /// Refuse a user's logins and end their sessions.
    Disable { name: String },
    /// Allow a disabled user's logins again.
    Enable { name: String },
    /// Delete a user (their sessions end).
    Delete { name: String },
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// List the groups with their members.
    List,
    /// Add a group.
    Add {
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a group (not the built-in ones).
    Delete { name: String },
    /// Put users in a group.
    AddMember {
        group: String,
        #[arg(required = true)]
        users: Vec<String>,
    },
    /// Take users out of a group.
    RemoveMember {
        group: String,
        #[arg(required = true)]
        users: Vec<String>,
    },
}

/// A secret from `var`, else a prompt.
fn secret(var: &str, prompt: &str) -> Result<String, CliError> {
    match std::env::var(var) {
        Ok(p) => Ok(p),
        Err(_) => prompt_secret(prompt),
    }
}

/// A name as a path segment: a bare name of the server's domain (`alice@vsphere.local` is
/// taken as `alice`).
fn segment(name: &str) -> &str {
    name.split('@').next().unwrap_or(name)
}

/// The listed objects; for a table, the list `key` of each as one comma-separated cell.
fn joined(out: Output, v: &Value, key: &str) -> Vec<Value> {
    let mut rows = v.as_array().cloned().unwrap_or_default();
    if out == Output::Table {
        for r in &mut rows {
            let names: Vec<&str> = r[key]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            r[key] = json!(names.join(","));
        }
    }
    rows
}

pub async fn sso(args: &ClientArgs, cmd: &SsoCommand) -> Result<(), CliError> {
    match cmd {
        SsoCommand::User(u) => user(args, u).await,
        SsoCommand::Group(g) => group(args, g).await,
        SsoCommand::SigningKey(k) => signing_key(args, k).await,
    }
}

async fn signing_key(args: &ClientArgs, cmd: &SigningKeyCommand) -> Result<(), CliError> {
    let c = resume(args)?;
    match cmd {
        SigningKeyCommand::List => {
            let v = c
                .api("GET", "/ferrocenter/sso/signing-certificates", None)
                .await?;
            if args.output == Output::Table {
                for cert in v.as_array().into_iter().flatten() {
                    let current = cert["current"].as_bool() == Some(true);
                    println!("# {}", if current { "current" } else { "retired" });
                    print!("{}", cert["certificate"].as_str().unwrap_or_default());
                }
            } else {
                output::object(args.output, &v);
            }
        }
        SigningKeyCommand::Rotate => {
            let v = c
                .api(
                    "POST",
                    "/ferrocenter/sso/signing-certificates?action=rotate",
                    None,
                )
                .await?;
            print!("{}", v.as_str().unwrap_or_default());
            eprintln!("token signing key rotated");
        }
    }
    Ok(())
}

async fn user(args: &ClientArgs, cmd: &UserCommand) -> Result<(), CliError> {
    let c = resume(args)?;
    let at = |name: &str| format!("/ferrocenter/sso/users/{}", segment(name));
    match cmd {
        UserCommand::List => {
            let v = c.api("GET", "/ferrocenter/sso/users", None).await?;
            output::rows(
                args.output,
                &joined(args.output, &v, "groups"),
                &[
                    "name",
                    "full_name",
                    "disabled",
                    "password_expires_at",
                    "groups",
                ],
            );
        }
        UserCommand::Add {
            name,
            full_name,
            email,
            description,
        } => {
            let password = secret(
                "FERROCENTER_NEW_PASSWORD",
                &format!("Password for {name}: "),
            )?;
            let mut spec = json!({"name": name, "password": password});
            for (k, v) in [
                ("full_name", full_name),
                ("email", email),
                ("description", description),
            ] {
                if let Some(v) = v {
                    spec[k] = json!(v);
                }
            }
            let v = c
                .api(
                    "POST",
                    "/ferrocenter/sso/users",
                    Some(json!({ "spec": spec })),
                )
                .await?;
            output::object(args.output, &v);
        }
        UserCommand::Passwd => {
            let current = secret("FERROCENTER_CURRENT_PASSWORD", "Current password: ")?;
            let new = secret("FERROCENTER_NEW_PASSWORD", "New password: ")?;
            c.api(
                "POST",
                "/ferrocenter/sso/self?action=change-password",
                Some(json!({"current_password": current, "new_password": new})),
            )
            .await?;
            eprintln!("password changed");
        }
        UserCommand::SetPassword { name } => {
            let password = secret(
                "FERROCENTER_NEW_PASSWORD",
                &format!("New password for {name}: "),
            )?;
            c.api(
                "POST",
                &format!("{}?action=set-password", at(name)),
                Some(json!({ "password": password })),
            )
            .await?;
            eprintln!("password of {name} set");
        }
        UserCommand::Unlock { name } => {
            c.api("POST", &format!("{}?action=unlock", at(name)), None)
                .await?;
            eprintln!("{name} unlocked");
        }
        UserCommand::Disable { name } => {
            c.api("POST", &format!("{}?action=disable", at(name)), None)
                .await?;
            eprintln!("{name} disabled");
        }
        UserCommand::Enable { name } => {
            c.api("POST", &format!("{}?action=enable", at(name)), None)
                .await?;
            eprintln!("{name} enabled");
        }
        UserCommand::Delete { name } => {
            c.api("DELETE", &at(name), None).await?;
            eprintln!("{name} deleted");
        }
    }
    Ok(())
}

async fn group(args: &ClientArgs, cmd: &GroupCommand) -> Result<(), CliError> {
    let c = resume(args)?;
    let at = |name: &str| format!("/ferrocenter/sso/groups/{}", segment(name));
    match cmd {
        GroupCommand::List => {
            let v = c.api("GET", "/ferrocenter/sso/groups", None).await?;
            output::rows(
                args.output,
                &joined(args.output, &v, "members"),
                &["name", "role", "built_in", "members"],
            );
        }
        GroupCommand::Add { name, description } => {
            let mut spec = json!({ "name": name });
            if let Some(d) = description {
                spec["description"] = json!(d);
            }
            let v = c
                .api(
                    "POST",
                    "/ferrocenter/sso/groups",
                    Some(json!({ "spec": spec })),
                )
                .await?;
            output::object(args.output, &v);
        }
        GroupCommand::Delete { name } => {
            c.api("DELETE", &at(name), None).await?;
            eprintln!("group {name} deleted");
        }
        GroupCommand::AddMember { group, users } => {
            c.api(
                "POST",
                &format!("{}?action=add-members", at(group)),
                Some(json!({ "users": users.iter().map(|u| segment(u)).collect::<Vec<_>>() })),
            )
            .await?;
            eprintln!("added to {group}: {}", users.join(", "));
        }
        GroupCommand::RemoveMember { group, users } => {
            c.api(
                "POST",
                &format!("{}?action=remove-members", at(group)),
                Some(json!({ "users": users.iter().map(|u| segment(u)).collect::<Vec<_>>() })),
            )
            .await?;
            eprintln!("removed from {group}: {}", users.join(", "));
        }
    }
    Ok(())
}
