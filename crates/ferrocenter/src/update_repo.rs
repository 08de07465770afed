//! `ferrocenter update-repo`: makes the update repositories a server reads (docs/update.md):
//! `keygen` writes a signing key, `build` packs a binary, writes and signs the manifest, and
//! optionally an ISO 9660 image of the same three files.
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ferrocenter_core::ports::{MANIFEST_FILE, SIGNATURE_FILE};
use ferrocenter_core::update::{build_package, Manifest, SigningKey, PACKAGE_FILE};
use ferrocenter_system::update_source::{write_iso, IsoFile};
use time::format_description::well_known::Rfc3339;

#[derive(clap::Subcommand)]
pub enum UpdateRepoCommand {
    /// Write a new Ed25519 signing key (mode 0600) and KEYFILE.pub; print the public key and its
    /// key id for the servers' `update_trusted_keys`.
    Keygen {
        #[arg(long, value_name = "KEYFILE")]
        out: PathBuf,
    },
    /// Make a signed update repository in DIR (and an ISO image of it with --iso).
    Build(Box<BuildArgs>),
}

#[derive(clap::Args)]
pub struct BuildArgs {
    /// The ferrocenter binary to ship (the server, which is also the agent).
    #[arg(long, value_name = "PATH")]
    pub binary: PathBuf,
    /// The version the binary is, e.g. 0.2.0.
    #[arg(long, value_name = "V")]
    pub version: String,
    /// The private key (`update-repo keygen`, or `openssl genpkey -algorithm ed25519`).
    #[arg(long, value_name = "KEYFILE")]
    pub key: PathBuf,
    /// The repository directory (created; its manifest and package are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Also write the repository as an ISO 9660 image.
    #[arg(long, value_name = "FILE")]
    pub iso: Option<PathBuf>,
    /// Build identifier (default: the version).
    #[arg(long)]
    pub build: Option<String>,
    /// RFC 3339 date and time (default: now).
    #[arg(long, value_name = "DATE")]
    pub release_date: Option<String>,
    /// CRITICAL, IMPORTANT, MODERATE or LOW.
    #[arg(long, default_value = "MODERATE")]
    pub severity: String,
    /// HIGH, MEDIUM or LOW.
    #[arg(long, default_value = "MEDIUM")]
    pub priority: String,
    /// SECURITY, FIX, UPDATE or UPGRADE.
    #[arg(long, default_value = "UPDATE")]
    pub update_type: String,
    /// The oldest version the update installs on.
    #[arg(long, value_name = "V", default_value = "0.0.0")]
    pub min_version: String,
    /// Display name (default: "ferrocenter V").
    #[arg(long)]
    pub name: Option<String>,
    /// Description (default: the name).
    #[arg(long)]
    pub description: Option<String>,
    /// One item of what the update contains (repeatable).
    #[arg(long = "content", value_name = "TEXT")]
    pub contents: Vec<String>,
    /// Knowledge-base article (http or https URL).
    #[arg(long, value_name = "URL")]
    pub kb_url: Option<String>,
    /// A file with the end-user license agreement's text (repeatable).
    #[arg(long = "eula-file", value_name = "FILE")]
    pub eula_files: Vec<PathBuf>,
    /// The machine must reboot for this update.
    #[arg(long)]
    pub reboot_required: bool,
    /// The store schema version (last migration) the new version runs with.
    #[arg(long, value_name = "N")]
    pub schema_version: Option<u64>,
}

pub fn run(command: &UpdateRepoCommand) -> anyhow::Result<()> {
    match command {
        UpdateRepoCommand::Keygen { out } => keygen(out),
        UpdateRepoCommand::Build(args) => build(args),
    }
}

fn keygen(out: &Path) -> anyhow::Result<()> {
    let (key, pem) = SigningKey::generate()?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .with_context(|| format!("--out {}: cannot create a new key file", out.display()))?;
    file.write_all(pem.as_bytes())?;
    file.sync_all()?;
    let public = key.public_key();
    let mut pub_path = out.as_os_str().to_os_string();
    pub_path.push(".pub");
    std::fs::write(&pub_path, format!("{}\n", public.to_base64()))
        .with_context(|| format!("cannot write {}", Path::new(&pub_path).display()))?;
    println!("public key: {}", public.to_base64());
    println!("key id: {}", public.key_id());
    println!(
        "private key written to {} (keep it secret); public key to {}",
        out.display(),
        Path::new(&pub_path).display()
    );
    Ok(())
}

fn build(a: &BuildArgs) -> anyhow::Result<()> {
    let pem = std::fs::read_to_string(&a.key)
        .with_context(|| format!("--key {}: cannot read", a.key.display()))?;
    let key = SigningKey::from_pem(&pem)?;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("--out {}: cannot create", a.out.display()))?;
    let mut eulas = Vec::new();
    for f in &a.eula_files {
        eulas.push(
            std::fs::read_to_string(f)
                .with_context(|| format!("--eula-file {}: cannot read", f.display()))?,
        );
    }
    let release_date = match &a.release_date {
        Some(d) => d.clone(),
        None => time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)?
            .format(&Rfc3339)?,
    };
    let package_path = a.out.join(PACKAGE_FILE);
    if !a.binary.is_file() {
        anyhow::bail!("--binary {}: not a file", a.binary.display());
    }
    let (size, sha256) = build_package(&[("ferrocenter".into(), a.binary.clone())], &package_path)?;
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| format!("ferrocenter {}", a.version));
    let draft = serde_json::json!({
        "format": ferrocenter_core::update::MANIFEST_FORMAT,
        "product": "ferrocenter",
        "version": a.version,
        "build": a.build.clone().unwrap_or_else(|| a.version.clone()),
        "name": name,
        "description": a.description.clone().unwrap_or_else(|| name.clone()),
        "release_date": release_date,
        "severity": a.severity,
        "priority": a.priority,
        "update_type": a.update_type,
        "reboot_required": a.reboot_required,
        "restart_required": true,
        "minimum_version": a.min_version,
        "schema_version": a.schema_version,
        "contents": a.contents,
        "knowledge_base": a.kb_url,
        "eulas": eulas,
        "package": {"file": PACKAGE_FILE, "size": size, "sha256": sha256, "files": ["ferrocenter"]},
    });
    // The same checks a server makes, so that the tool never writes a repository it would refuse.
    let manifest = Manifest::parse(&serde_json::to_vec(&draft)?)?;
    let bytes = manifest.to_json();
    let signature = key.sign(&bytes);
    std::fs::write(a.out.join(MANIFEST_FILE), &bytes)?;
    std::fs::write(a.out.join(SIGNATURE_FILE), &signature)?;
    if let Some(iso) = &a.iso {
        let files = vec![
            IsoFile {
                name: MANIFEST_FILE.into(),
                contents: bytes.clone(),
            },
            IsoFile {
                name: SIGNATURE_FILE.into(),
                contents: signature.clone(),
            },
            IsoFile {
                name: PACKAGE_FILE.into(),
                contents: std::fs::read(&package_path)?,
            },
        ];
        write_iso(iso, "FERROCENTER", files)
            .with_context(|| format!("--iso {}: cannot write the image", iso.display()))?;
    }
    println!(
        "repository {}: ferrocenter {} ({} bytes, SHA-256 {}), signed by key {}",
        a.out.display(),
        manifest.version,
        size,
        manifest.package.sha256,
        key.public_key().key_id()
    );
    if let Some(iso) = &a.iso {
        println!("ISO image {}", iso.display());
    }
    Ok(())
}
