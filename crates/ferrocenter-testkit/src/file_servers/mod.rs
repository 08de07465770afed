//! Real file servers for the backup location tests, each on a loopback port with throwaway
//! configuration under a temporary directory: vsftpd (FTP, explicit FTPS), OpenSSH's sshd (SFTP,
//! SCP), nginx with its DAV modules (WebDAV over HTTP and HTTPS) and Samba's smbd (SMB). They log in a throwaway
//! system user ([`ThrowawayUser`]) created for the server and removed when it stops.
//!
//! Each `start` returns `None` after printing `SKIPPED: <what is missing>` when the program or
//! root is missing; the server stops (SIGTERM, then SIGKILL) when the value is dropped.
mod ftp;
pub(crate) mod process;
mod smb;
mod sshd;
mod tls;
mod user;
mod webdav;

pub use ftp::FtpServer;
pub use smb::{SmbServer, SMB_SHARE};
pub use sshd::SshServer;
pub use tls::TestCertificate;
pub use user::ThrowawayUser;
pub use webdav::WebDavServer;

use std::path::Path;

/// The first of `candidates` that exists, or `None` after printing the skip line.
fn program(what: &str, candidates: &[&str]) -> Option<String> {
    let found = candidates.iter().find(|c| Path::new(c).exists());
    if found.is_none() {
        println!(
            "SKIPPED: {what} is not installed ({})",
            candidates.join(" or ")
        );
    }
    found.map(|s| (*s).to_string())
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        println!("SKIPPED: the file servers need root (a throwaway system user, daemons binding as root)");
    }
    root
}
