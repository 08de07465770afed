//! Each backup location type against a real server on loopback (crates/ferrocenter-testkit's
//! file_servers): check, a multi-megabyte put into nested directories, list, get byte for byte,
//! recursive delete seen on the server's disk, a wrong password and an unreachable port.
// Test helpers panic on a broken fixture, as a test would.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::io::Read;
use std::path::{Path, PathBuf};

use ferrocenter_core::ports::{BackupTarget, Location, LocationError, LocationType};
use ferrocenter_system::{BackupLocations, LocationTrust};
use ferrocenter_testkit::file_servers::{FtpServer, SmbServer, SshServer, WebDavServer};
use sha2::{Digest, Sha256};

const SIZE: usize = 5 * 1024 * 1024 + 123;

fn random_bytes(len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .unwrap();
    buf
}

fn sha(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

fn targets(extra_root: Option<&[u8]>) -> BackupLocations {
    BackupLocations::new(LocationTrust {
        extra_roots_der: extra_root.map(|r| vec![r.to_vec()]).unwrap_or_default(),
    })
    .unwrap()
}

/// The whole round: `on_disk` is the directory the location's URL names, seen on the server.
async fn round_trip(target: &BackupLocations, location: &Location, on_disk: &Path) {
    target.check(location).await.unwrap();
    assert!(on_disk.is_dir(), "check creates the location's directory");
    assert!(
        std::fs::read_dir(on_disk).unwrap().next().is_none(),
        "the probe file is removed"
    );

    let data = random_bytes(SIZE);
    let mut body: &[u8] = &data;
    target
        .put(
            location,
            "sys-1/2026-12-06/common.tar.zst",
            &mut body,
            data.len() as u64,
        )
        .await
        .unwrap();
    let stored = on_disk.join("sys-1/2026-12-06/common.tar.zst");
    assert_eq!(
        sha(&std::fs::read(&stored).unwrap()),
        sha(&data),
        "the server holds the bytes"
    );

    let listed = target.list(location, "sys-1/2026-12-06").await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].name, "common.tar.zst");
    assert_eq!(listed[0].size, SIZE as u64);
    assert!(!listed[0].is_dir);
    let top = target.list(location, "sys-1").await.unwrap();
    assert_eq!(top.len(), 1, "{top:?}");
    assert!(top[0].is_dir && top[0].name == "2026-12-06", "{top:?}");

    let mut back = Vec::new();
    let n = target
        .get(location, "sys-1/2026-12-06/common.tar.zst", &mut back)
        .await
        .unwrap();
    assert_eq!(n, SIZE as u64);
    assert_eq!(sha(&back), sha(&data), "get returns the same bytes");

    let missing = target
        .get(location, "sys-1/nothing-here.tar", &mut Vec::new())
        .await
        .unwrap_err();
    assert!(
        matches!(missing, LocationError::NotFound { .. }),
        "{missing:?}"
    );

    target.mkdirs(location, "sys-1/empty/deeper").await.unwrap();
    assert!(on_disk.join("sys-1/empty/deeper").is_dir());

    // Retention removes a whole archive directory.
    target.delete(location, "sys-1").await.unwrap();
    assert!(
        !on_disk.join("sys-1").exists(),
        "the directory is gone from the server"
    );
    assert!(target.list(location, "").await.unwrap().is_empty());
}

async fn wrong_password(target: &BackupLocations, location: &Location) {
    let user = location.user.clone().unwrap();
    let wrong = location
        .clone()
        .with_login(user.clone(), "not-the-password-7");
    let err = target.check(&wrong).await.unwrap_err();
    match &err {
        LocationError::AuthRefused { user: named } => assert_eq!(named, &user),
        other => panic!("expected an auth refusal, got {other:?}"),
    }
    assert!(!err.to_string().contains("not-the-password-7"));
    assert!(err.to_string().contains(&user), "{err}");
}

/// A location the server's user may not write: `check` fails as a refused write.
async fn write_refused(target: &BackupLocations, location: &Location) {
    let err = target.check(location).await.unwrap_err();
    assert!(matches!(err, LocationError::WriteRefused { .. }), "{err:?}");
}

async fn unreachable(target: &BackupLocations, kind: LocationType, scheme: &str) {
    // A port that was free a moment ago and has nobody listening.
    let port = ferrocenter_testkit::free_port();
    let location =
        Location::new(kind, format!("{scheme}://127.0.0.1:{port}/backups")).with_login("u", "p");
    let err = target.check(&location).await.unwrap_err();
    match &err {
        LocationError::Unreachable { address, .. } => {
            assert_eq!(address, &format!("127.0.0.1:{port}"));
        }
        other => panic!("expected unreachable, got {other:?}"),
    }
}

fn under(home: &Path, rest: &str) -> (String, PathBuf) {
    let dir = home.join(rest);
    (dir.to_str().unwrap().to_string(), dir)
}

#[tokio::test]
async fn ftp_location() {
    let Some(server) = FtpServer::start(false) else {
        return;
    };
    let target = targets(None);
    let (path, on_disk) = under(&server.user.home, "backups/ftp");
    let location = Location::new(LocationType::Ftp, server.url(&path))
        .with_login(&server.user.name, &server.user.password);
    round_trip(&target, &location, &on_disk).await;
    wrong_password(&target, &location).await;
    unreachable(&target, LocationType::Ftp, "ftp").await;
    // /proc takes no directories from anyone.
    let mut refused = location.clone();
    refused.url = server.url("/proc/ferrocenter-backups");
    write_refused(&target, &refused).await;
}

#[tokio::test]
async fn ftps_location() {
    let Some(server) = FtpServer::start(true) else {
        return;
    };
    let ca = server.tls.as_ref().unwrap().ca_der.clone();
    let target = targets(Some(&ca));
    let (path, on_disk) = under(&server.user.home, "backups/ftps");
    let location = Location::new(LocationType::Ftps, server.url(&path))
        .with_login(&server.user.name, &server.user.password);
    round_trip(&target, &location, &on_disk).await;
    wrong_password(&target, &location).await;
    // Plain FTP to a server that requires TLS for logins is refused, not silently sent clear.
    let plain = Location::new(
        LocationType::Ftp,
        server.url(&path).replacen("ftps", "ftp", 1),
    )
    .with_login(&server.user.name, &server.user.password);
    assert!(target.check(&plain).await.is_err());
    // An untrusted certificate fails the handshake.
    let untrusting = targets(None);
    let err = untrusting.check(&location).await.unwrap_err();
    assert!(matches!(err, LocationError::Protocol { .. }), "{err:?}");
}

#[tokio::test]
async fn sftp_location() {
    let Some(server) = SshServer::start() else {
        return;
    };
    let target = targets(None);
    let (path, on_disk) = under(&server.user.home, "backups/sftp");
    let location = Location::new(LocationType::Sftp, server.url("sftp", &path))
        .with_login(&server.user.name, &server.user.password);
    round_trip(&target, &location, &on_disk).await;
    wrong_password(&target, &location).await;
    unreachable(&target, LocationType::Sftp, "sftp").await;
    let mut refused = location.clone();
    refused.url = server.url("sftp", "/proc/ferrocenter-backups");
    write_refused(&target, &refused).await;
}

#[tokio::test]
async fn scp_location() {
    let Some(server) = SshServer::start() else {
        return;
    };
    let target = targets(None);
    let (path, on_disk) = under(&server.user.home, "backups/scp dir");
    let location = Location::new(
        LocationType::Scp,
        server.url("scp", &path.replace(' ', "%20")),
    )
    .with_login(&server.user.name, &server.user.password);
    round_trip(&target, &location, &on_disk).await;
    wrong_password(&target, &location).await;
    unreachable(&target, LocationType::Scp, "scp").await;
    let mut refused = location.clone();
    refused.url = server.url("scp", "/proc/ferrocenter-backups");
    write_refused(&target, &refused).await;
}

#[tokio::test]
async fn http_webdav_location() {
    let Some(server) = WebDavServer::start(false) else {
        return;
    };
    let target = targets(None);
    let location = Location::new(LocationType::Http, server.url("/backups/http"))
        .with_login(&server.user.name, &server.user.password);
    round_trip(&target, &location, &server.user.home.join("backups/http")).await;
    wrong_password(&target, &location).await;
    unreachable(&target, LocationType::Http, "http").await;
    // A directory owned by root: nginx's workers (the throwaway user) cannot write in it.
    std::fs::create_dir(server.user.home.join("read-only")).unwrap();
    let mut refused = location.clone();
    refused.url = server.url("/read-only/backups");
    write_refused(&target, &refused).await;
}

#[tokio::test]
async fn https_webdav_location() {
    let Some(server) = WebDavServer::start(true) else {
        return;
    };
    let ca = server.tls.as_ref().unwrap().ca_der.clone();
    let target = targets(Some(&ca));
    let location = Location::new(LocationType::Https, server.url("/backups/https"))
        .with_login(&server.user.name, &server.user.password);
    round_trip(&target, &location, &server.user.home.join("backups/https")).await;
    wrong_password(&target, &location).await;
    unreachable(&target, LocationType::Https, "https").await;
}

#[tokio::test]
async fn path_location() {
    let dir = tempfile::tempdir().unwrap();
    let on_disk = dir.path().join("backups/local");
    let target = targets(None);
    let location = Location::new(LocationType::Path, on_disk.to_str().unwrap());
    round_trip(&target, &location, &on_disk).await;
    let as_url = Location::new(
        LocationType::Path,
        format!("file://{}", on_disk.to_str().unwrap()),
    );
    target.check(&as_url).await.unwrap();
    write_refused(
        &target,
        &Location::new(LocationType::Path, "/proc/ferrocenter-backups"),
    )
    .await;
    let relative = Location::new(LocationType::Path, "backups");
    assert!(matches!(
        target.check(&relative).await.unwrap_err(),
        LocationError::Invalid { .. }
    ));
    let escape = target
        .put(&location, "../outside", &mut &b"x"[..], 1)
        .await
        .unwrap_err();
    assert!(
        matches!(escape, LocationError::Invalid { .. }),
        "{escape:?}"
    );
}

#[tokio::test]
async fn smb_location() {
    let Some(server) = SmbServer::start() else {
        return;
    };
    let target = targets(None);
    // A space in the directory: the URL's escape is decoded, and sent escaped to libsmbclient.
    let location = Location::new(LocationType::Smb, server.url("/backups/smb%20dir"))
        .with_login(&server.user.name, &server.user.password);
    round_trip(
        &target,
        &location,
        &server.user.home.join("backups/smb dir"),
    )
    .await;
    wrong_password(&target, &location).await;
    // `DOMAIN\\user`: the server's workgroup named before the user.
    let in_domain = Location::new(LocationType::Smb, location.url.clone()).with_login(
        format!("WORKGROUP\\{}", server.user.name),
        &server.user.password,
    );
    target.check(&in_domain).await.unwrap();
    unreachable(&target, LocationType::Smb, "smb").await;
    // A directory owned by root: smbd acts as the throwaway user, who cannot write in it.
    std::fs::create_dir(server.user.home.join("read-only")).unwrap();
    let mut refused = location.clone();
    refused.url = server.url("/read-only/backups");
    write_refused(&target, &refused).await;
    // A share the server does not offer.
    let mut no_share = location.clone();
    no_share.url = format!("smb://127.0.0.1:{}/no-such-share/backups", server.port);
    let err = target.check(&no_share).await.unwrap_err();
    assert!(matches!(err, LocationError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn nfs_is_refused_with_its_reason() {
    let target = targets(None);
    let location =
        Location::new(LocationType::Nfs, "nfs://127.0.0.1/export/backups").with_login("u", "p");
    match target.check(&location).await.unwrap_err() {
        LocationError::Unsupported { kind, reason } => {
            assert_eq!(kind, LocationType::Nfs);
            assert_eq!(reason, ferrocenter_system::NFS_UNSUPPORTED);
        }
        other => panic!("expected unsupported, got {other:?}"),
    }
    assert!(matches!(
        target.list(&location, "").await.unwrap_err(),
        LocationError::Unsupported { .. }
    ));
}
