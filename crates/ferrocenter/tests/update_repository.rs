//! Update repositories made by the real `ferrocenter update-repo` commands, read by the real
//! adapter (`RepositorySources`) through the core's `check_source` and `fetch_package`: from a
//! directory, from an ISO image the tool wrote and one Debian's xorriso wrote, and from nginx
//! over HTTP and HTTPS with basic authentication; tampered, foreign-signed, corrupted, older and
//! not-applicable repositories refused with their cause.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use ferrocenter_core::ports::{LocationSecret, UpdateLocation, UpdateSourceError};
use ferrocenter_core::update::{
    check_source, fetch_package, read_repository, unpack, PendingUpdate, Severity, TrustedKeys,
    UpdateError, UpdateType, PACKAGE_FILE,
};
use ferrocenter_system::update_source::RepositorySources;
use ferrocenter_testkit::file_servers::WebDavServer;

use common::update_repo::{build, keygen, publish, small_binary};

const RUNNING: &str = "1.0.0";

fn sources() -> RepositorySources {
    RepositorySources::new(Vec::new()).unwrap()
}

async fn pending(at: &UpdateLocation, keys: &TrustedKeys) -> PendingUpdate {
    check_source(&sources(), at, keys, RUNNING)
        .await
        .unwrap()
        .expect("a newer version is pending")
}

/// Downloads the package into a staging directory, unpacks it, and checks the binary.
async fn fetch_and_compare(at: &UpdateLocation, update: &PendingUpdate, binary: &Path) {
    let staging = tempfile::tempdir().unwrap();
    let seen = std::sync::atomic::AtomicU64::new(0);
    let progress = |n: u64| seen.store(n, std::sync::atomic::Ordering::Relaxed);
    let package = fetch_package(
        &sources(),
        at,
        &update.repository.manifest,
        staging.path(),
        &progress,
    )
    .await
    .unwrap();
    assert_eq!(
        seen.load(std::sync::atomic::Ordering::Relaxed),
        update.repository.manifest.package.size
    );
    let out = staging.path().join("unpacked");
    unpack(&package, &out, 4 << 30).unwrap();
    assert_eq!(
        std::fs::read(out.join("ferrocenter")).unwrap(),
        std::fs::read(binary).unwrap()
    );
}

#[tokio::test]
async fn a_repository_of_the_server_binary_is_read_from_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "release.key");
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_ferrocenter"));
    let kb = "https://kb.example/ferrocenter/2";
    let eula = dir.path().join("eula.txt");
    std::fs::write(&eula, "You may use it.\n").unwrap();
    let started = std::time::Instant::now();
    let repo = build(
        dir.path(),
        &key,
        &binary,
        "2.0.0",
        &[
            "--severity",
            "CRITICAL",
            "--priority",
            "HIGH",
            "--update-type",
            "SECURITY",
            "--min-version",
            "0.9.0",
            "--build",
            "b42",
            "--release-date",
            "2026-12-01T08:00:00Z",
            "--kb-url",
            kb,
            "--eula-file",
            eula.to_str().unwrap(),
            "--content",
            "fixes a security issue",
            "--name",
            "ferrocenter 2",
        ],
    );
    let built_in = started.elapsed();
    let at = UpdateLocation::Local(repo.clone());
    let update = pending(&at, &key.trusted).await;
    let m = &update.repository.manifest;
    assert_eq!(update.summary.version, "2.0.0");
    assert_eq!(update.summary.name, "ferrocenter 2");
    assert_eq!(update.summary.severity, Severity::Critical);
    assert_eq!(update.summary.update_type, UpdateType::Security);
    assert_eq!(update.summary.release_date.unix_timestamp(), 1_796_112_000);
    assert_eq!(
        (m.build.as_str(), m.minimum_version.as_str()),
        ("b42", "0.9.0")
    );
    assert_eq!(m.knowledge_base.as_deref(), Some(kb));
    assert_eq!(m.eulas, vec!["You may use it.\n".to_string()]);
    assert_eq!(m.contents, vec!["fixes a security issue".to_string()]);
    assert_eq!(m.package.files, vec!["ferrocenter".to_string()]);
    let started = std::time::Instant::now();
    fetch_and_compare(&at, &update, &binary).await;
    println!(
        "binary {} bytes, package {} bytes; built in {:.1} s, fetched and unpacked in {:.1} s",
        std::fs::metadata(&binary).unwrap().len(),
        m.package.size,
        built_in.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test]
async fn iso_images_made_by_the_tool_and_by_xorriso_are_read_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "k");
    let binary = small_binary(dir.path());
    let iso = dir.path().join("update.iso");
    let repo = build(
        dir.path(),
        &key,
        &binary,
        "1.1.0",
        &["--iso", iso.to_str().unwrap()],
    );
    let at = UpdateLocation::Local(iso.clone());
    let update = pending(&at, &key.trusted).await;
    assert_eq!(update.summary.version, "1.1.0");
    fetch_and_compare(&at, &update, &binary).await;

    // Debian's xorriso, as an operator would make an image of a repository directory.
    if !Path::new("/usr/bin/xorriso").exists() {
        println!("SKIPPED: xorriso is not installed (scripts/test.sh installs it)");
        return;
    }
    let theirs = dir.path().join("xorriso.iso");
    let out = Command::new("xorriso")
        .args(["-as", "mkisofs", "-R", "-J", "-V", "FERROCENTER", "-o"])
        .arg(&theirs)
        .arg(&repo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let at = UpdateLocation::Local(theirs.clone());
    let update = pending(&at, &key.trusted).await;
    fetch_and_compare(&at, &update, &binary).await;

    // The image must stay: once removed, the source says so.
    std::fs::remove_file(&theirs).unwrap();
    let e = read_repository(&sources(), &at, &key.trusted)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            UpdateError::Source(UpdateSourceError::Unreachable { .. })
        ),
        "{e}"
    );
    // A file that is no image is refused as such.
    let e = read_repository(
        &sources(),
        &UpdateLocation::Local(binary.clone()),
        &key.trusted,
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("neither a directory nor an ISO 9660 image"),
        "{e}"
    );
}

#[tokio::test]
async fn repositories_are_read_over_http_and_https_with_basic_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "k");
    let binary = small_binary(dir.path());
    let repo = build(dir.path(), &key, &binary, "1.2.0", &[]);
    for tls in [false, true] {
        let Some(server) = WebDavServer::start(tls) else {
            return;
        };
        let url = publish(&repo, &server);
        let login = Some((
            server.user.name.clone(),
            LocationSecret::new(server.user.password.clone()),
        ));
        let at = UpdateLocation::Url {
            url: url.clone(),
            login: login.clone(),
            certificate_check: true,
        };
        let ca = server
            .tls
            .as_ref()
            .map(|t| vec![t.ca_der.clone()])
            .unwrap_or_default();
        let trusting = RepositorySources::new(ca).unwrap();
        let update = check_source(&trusting, &at, &key.trusted, RUNNING)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(update.summary.version, "1.2.0");
        let staging = tempfile::tempdir().unwrap();
        let package = fetch_package(
            &trusting,
            &at,
            &update.repository.manifest,
            staging.path(),
            &|_| {},
        )
        .await
        .unwrap();
        assert_eq!(package, staging.path().join(PACKAGE_FILE));
        assert!(!staging.path().join("ferrocenter.zst.part").exists());

        let wrong = UpdateLocation::Url {
            url: url.clone(),
            login: Some((server.user.name.clone(), LocationSecret::new("wrong"))),
            certificate_check: true,
        };
        let e = read_repository(&trusting, &wrong, &key.trusted)
            .await
            .unwrap_err();
        assert!(
            matches!(e, UpdateError::Source(UpdateSourceError::AuthRefused { ref user, .. }) if user.as_deref() == Some(server.user.name.as_str())),
            "{e}"
        );
        assert!(
            !e.to_string().contains("wrong"),
            "no password in messages: {e}"
        );
        let missing = UpdateLocation::Url {
            url: server.url("/nothing-here"),
            login: login.clone(),
            certificate_check: true,
        };
        let e = read_repository(&trusting, &missing, &key.trusted)
            .await
            .unwrap_err();
        assert!(
            matches!(e, UpdateError::Source(UpdateSourceError::NotFound { .. })),
            "{e}"
        );

        if tls {
            // Without the CA the certificate is refused, unless the check is turned off.
            let e = read_repository(&sources(), &at, &key.trusted)
                .await
                .unwrap_err();
            assert!(
                matches!(
                    e,
                    UpdateError::Source(UpdateSourceError::Certificate { .. })
                ),
                "{e}"
            );
            let unchecked = UpdateLocation::Url {
                url,
                login,
                certificate_check: false,
            };
            read_repository(&sources(), &unchecked, &key.trusted)
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn tampered_foreign_corrupted_older_and_inapplicable_repositories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "k");
    let other = keygen(dir.path(), "other");
    let binary = small_binary(dir.path());
    let repo = build(dir.path(), &key, &binary, "1.5.0", &[]);
    let at = UpdateLocation::Local(repo.clone());

    // Signed by a key the server does not trust.
    let e = read_repository(&sources(), &at, &other.trusted)
        .await
        .unwrap_err();
    assert!(matches!(e, UpdateError::UntrustedKey { .. }), "{e}");
    assert!(
        e.to_string().contains("not among update_trusted_keys"),
        "{e}"
    );
    // No key trusted at all.
    let e = read_repository(&sources(), &at, &TrustedKeys::default())
        .await
        .unwrap_err();
    assert_eq!(e, UpdateError::NoTrustedKeys);

    // The package corrupted after signing: refused at download, and not kept.
    let update = pending(&at, &key.trusted).await;
    let package = repo.join(PACKAGE_FILE);
    let mut bytes = std::fs::read(&package).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&package, &bytes).unwrap();
    let staging = tempfile::tempdir().unwrap();
    let e = fetch_package(
        &sources(),
        &at,
        &update.repository.manifest,
        staging.path(),
        &|_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(e, UpdateError::Checksum { .. }), "{e}");
    assert!(!staging.path().join(PACKAGE_FILE).exists());
    // A package larger than the manifest says is cut off at that size.
    bytes.extend_from_slice(&[0; 4096]);
    std::fs::write(&package, &bytes).unwrap();
    let e = fetch_package(
        &sources(),
        &at,
        &update.repository.manifest,
        staging.path(),
        &|_| {},
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, UpdateError::Source(UpdateSourceError::TooLarge { .. })),
        "{e}"
    );
    assert!(!staging.path().join("ferrocenter.zst.part").exists());

    // The manifest changed after signing (a higher version written in).
    let manifest = repo.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("\"1.5.0\"", "\"9.5.0\"")).unwrap();
    let e = read_repository(&sources(), &at, &key.trusted)
        .await
        .unwrap_err();
    assert!(matches!(e, UpdateError::SignatureMismatch { .. }), "{e}");
    assert!(e.to_string().contains("changed after signing"), "{e}");
    // A signature file that is not one.
    std::fs::write(&manifest, text).unwrap();
    std::fs::write(
        repo.join("manifest.json.sig"),
        b"{\"algorithm\":\"ed25519\"}",
    )
    .unwrap();
    let e = read_repository(&sources(), &at, &key.trusted)
        .await
        .unwrap_err();
    assert!(matches!(e, UpdateError::SignatureFile { .. }), "{e}");

    // Not newer than the running version: nothing pending.
    let older = build(dir.path(), &key, &binary, "0.9.0", &[]);
    let same = build(dir.path(), &key, &binary, RUNNING, &[]);
    for repo in [older, same] {
        let found = check_source(
            &sources(),
            &UpdateLocation::Local(repo),
            &key.trusted,
            RUNNING,
        )
        .await
        .unwrap();
        assert!(found.is_none());
    }
    // Newer, but for servers from 1.4.0 on only.
    let far = build(
        dir.path(),
        &key,
        &binary,
        "2.0.0",
        &["--min-version", "1.4.0"],
    );
    let e = check_source(
        &sources(),
        &UpdateLocation::Local(far),
        &key.trusted,
        RUNNING,
    )
    .await
    .unwrap_err();
    assert_eq!(
        e,
        UpdateError::BelowMinimum {
            version: "2.0.0".into(),
            minimum: "1.4.0".into(),
            running: RUNNING.into()
        }
    );
}

#[test]
fn the_tool_refuses_bad_fields_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "k");
    let binary = small_binary(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_ferrocenter"))
        .args(["update-repo", "build", "--binary"])
        .arg(&binary)
        .args(["--version", "1.0.1", "--severity", "HUGE", "--key"])
        .arg(&key.path)
        .arg("--out")
        .arg(dir.path().join("r"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("manifest.severity"), "{stderr}");
    assert!(!dir.path().join("r/manifest.json").exists());
    // keygen does not overwrite a key.
    let again = Command::new(env!("CARGO_BIN_EXE_ferrocenter"))
        .args(["update-repo", "keygen", "--out"])
        .arg(&key.path)
        .output()
        .unwrap();
    assert!(!again.status.success());
}
