//! Update repositories made by the real `ferrocenter update-repo` commands (keygen, build),
//! and published under a test file server's root.
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use ferrocenter_core::update::TrustedKeys;
use ferrocenter_testkit::file_servers::WebDavServer;

/// `ferrocenter <args>`; its standard output.
pub fn tool(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrocenter"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ferrocenter {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A signing key made by `update-repo keygen`, and the servers' trust in it.
pub struct Key {
    pub path: PathBuf,
    /// The base64 public key, as `update_trusted_keys` takes it.
    pub public: String,
    pub trusted: TrustedKeys,
}

pub fn keygen(dir: &Path, name: &str) -> Key {
    let path = dir.join(name);
    let out = tool(&["update-repo", "keygen", "--out", path.to_str().unwrap()]);
    let public = out
        .lines()
        .find_map(|l| l.strip_prefix("public key: "))
        .unwrap()
        .to_string();
    assert!(out.contains("key id: "), "{out}");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the private key is its owner's alone");
    Key {
        path,
        trusted: TrustedKeys::from_entries(std::slice::from_ref(&public)).unwrap(),
        public,
    }
}

/// `update-repo build` of `binary` as `version`, with `extra` options; returns the directory.
pub fn build(dir: &Path, key: &Key, binary: &Path, version: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(format!("repo-{version}"));
    let mut args = vec![
        "update-repo",
        "build",
        "--binary",
        binary.to_str().unwrap(),
        "--version",
        version,
        "--key",
        key.path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    tool(&args);
    out
}

/// A small stand-in for the server binary where the test is about the repository, not its size.
pub fn small_binary(dir: &Path) -> PathBuf {
    let path = dir.join("ferrocenter-small");
    let content: Vec<u8> = (0..300_000u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect();
    std::fs::write(&path, content).unwrap();
    path
}

/// Copies the repository under the served root, readable by nginx's workers; its URL.
pub fn publish(repo: &Path, server: &WebDavServer) -> String {
    publish_as(repo, server, "updates")
}

/// [`publish`] under `/<name>`.
pub fn publish_as(repo: &Path, server: &WebDavServer, name: &str) -> String {
    let target = server.user.home.join(name);
    std::fs::create_dir_all(&target).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
    for e in std::fs::read_dir(repo).unwrap() {
        let e = e.unwrap();
        let to = target.join(e.file_name());
        std::fs::copy(e.path(), &to).unwrap();
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    server.url(&format!("/{name}"))
}
