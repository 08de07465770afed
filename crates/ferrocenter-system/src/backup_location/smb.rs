//! `SMB` through libsmbclient, Samba's client library, by way of the `pavao` binding. The URL is
//! `smb://host[:445]/share/dir…`: the first path component names the share, the rest a directory
//! inside it. A `location_user` of the form `DOMAIN\user` logs in to that domain.
//!
//! libsmbclient is blocking C that keeps process-wide state, so every operation runs on tokio's
//! blocking pool ([`tokio::task::spawn_blocking`]) with a context of its own, created for the
//! operation and freed after it (one connection per call, like the other adapters); pavao
//! serialises every native call of every context behind one process-wide lock, which is what makes
//! concurrent operations sound. File bodies cross between the async side and the blocking worker
//! in chunks over a bounded channel, so a multi-gigabyte archive is never held in memory.
//!
//! The password goes to libsmbclient only through its authentication callback (never inside a
//! URL) and is dropped with the context; errors name the user, the share and the path, never it.
use std::io::{self, Read, Write};
use std::time::Duration;

use async_trait::async_trait;
use ferrocenter_core::ports::{
    location_path_components, BackupTarget, GetSink, Location, LocationEntry, LocationError,
    PutBody,
};
use pavao::{SmbClient, SmbCredentials, SmbError, SmbMode, SmbOpenOptions, SmbOptions};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::{parent_of, probe_write, Endpoint};

pub(super) struct Smb {
    timeout: Duration,
}

impl Smb {
    pub(super) fn new(timeout: Duration) -> Smb {
        Smb { timeout }
    }
}

/// How much of a file crosses between the async side and the blocking worker at once.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the two sides.
const CHUNKS_IN_FLIGHT: usize = 4;
/// FILE_ATTRIBUTE_DIRECTORY in a listed entry's DOS attributes.
const ATTRIBUTE_DIRECTORY: u16 = 0x10;

/// libsmbclient decodes percent-escapes in the whole URL and reads options after `?`: every
/// byte that is not plainly safe is escaped so a name reaches the server as given.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_');

/// A location's URL taken apart for SMB: the server, the share, the directory inside it.
struct Share {
    endpoint: Endpoint,
    share: String,
    /// The directory inside the share, as components.
    base: Vec<String>,
}

impl Share {
    fn parse(location: &Location) -> Result<Share, LocationError> {
        let mut endpoint = Endpoint::parse(location, &["smb"], 445)?;
        if endpoint.base.is_empty() {
            return Err(LocationError::Invalid {
                reason: format!(
                    "{:?} names no share: an SMB location is smb://host[:port]/share/dir",
                    location.url
                ),
            });
        }
        let share = endpoint.base.remove(0);
        let base = std::mem::take(&mut endpoint.base);
        Ok(Share {
            endpoint,
            share,
            base,
        })
    }

    /// The components of `relative` under the location's directory.
    fn components(&self, relative: &str) -> Result<Vec<String>, LocationError> {
        let mut all = self.base.clone();
        all.extend(
            location_path_components(relative)?
                .into_iter()
                .map(str::to_string),
        );
        Ok(all)
    }
}

/// A path in the share as pavao appends it to `smb://host:port/share`: `/` then the escaped
/// components.
fn share_path(components: &[String]) -> String {
    let escaped: Vec<String> = components
        .iter()
        .map(|c| utf8_percent_encode(c, COMPONENT).to_string())
        .collect();
    format!("/{}", escaped.join("/"))
}

/// One operation's libsmbclient context, logged in to the share.
struct Session {
    client: SmbClient,
    share: String,
}

impl Session {
    /// Creates the context and proves the login by reading the share's root: libsmbclient
    /// connects lazily, so this is where an unreachable server or a refused login shows.
    fn open(
        location: &Location,
        share: &Share,
        timeout: Duration,
    ) -> Result<Session, LocationError> {
        let user = location.user_name().to_string();
        let (workgroup, name) = match location.user.as_deref() {
            Some(u) => match u.split_once('\\') {
                Some((domain, name)) => (domain.to_string(), name.to_string()),
                None => (String::new(), u.to_string()),
            },
            None => (String::new(), String::new()),
        };
        let mut credentials = SmbCredentials::default()
            .server(format!("smb://{}", share.endpoint.address()))
            .share(format!("/{}", utf8_percent_encode(&share.share, COMPONENT)))
            .username(name)
            .password(location.password.as_ref().map_or("", |p| p.expose()));
        if !workgroup.is_empty() {
            credentials = credentials.workgroup(workgroup);
        }
        // A refused login must fail, not fall back to a guest session.
        let options = SmbOptions::default().no_auto_anonymous_login(true);
        let client = SmbClient::new(credentials, options).map_err(|e| LocationError::Protocol {
            reason: format!("libsmbclient could not start: {e}"),
        })?;
        client
            .set_timeout(timeout)
            .map_err(|e| LocationError::Protocol {
                reason: format!("libsmbclient refused a timeout: {e}"),
            })?;
        let session = Session {
            client,
            share: share.share.clone(),
        };
        match session.client.stat("/") {
            Ok(_) => Ok(session),
            Err(e) => Err(match errno(&e) {
                Some(libc::EACCES | libc::EPERM) => LocationError::AuthRefused { user },
                Some(libc::ENOENT | libc::ENODEV | libc::ENXIO) => LocationError::NotFound {
                    path: format!("the share {}", share.share),
                },
                Some(
                    libc::ECONNREFUSED
                    | libc::ETIMEDOUT
                    | libc::EHOSTUNREACH
                    | libc::ENETUNREACH
                    | libc::EHOSTDOWN
                    | libc::ECONNRESET
                    | libc::EPIPE,
                ) => share.endpoint.unreachable(&e),
                _ => LocationError::Protocol {
                    reason: format!("{}: {e}", share.endpoint.address()),
                },
            }),
        }
    }

    /// `share/dir/…` for messages.
    fn shown(&self, components: &[String]) -> String {
        let mut shown = self.share.clone();
        for c in components {
            shown.push('/');
            shown.push_str(c);
        }
        shown
    }

    /// An error on `components`, by errno: a missing path when reading, a refused write, or
    /// something the server should not have answered.
    fn on_path(&self, components: &[String], writing: bool, e: &SmbError) -> LocationError {
        let path = self.shown(components);
        match errno(e) {
            Some(libc::ENOENT | libc::ENOTDIR) if !writing => LocationError::NotFound { path },
            Some(
                libc::EACCES
                | libc::EPERM
                | libc::EROFS
                | libc::ENOSPC
                | libc::EDQUOT
                | libc::EEXIST
                | libc::EISDIR
                | libc::ENOTDIR
                | libc::ENOENT,
            ) => LocationError::WriteRefused {
                path,
                reason: e.to_string(),
            },
            _ => LocationError::Protocol {
                reason: format!("{path}: {e}"),
            },
        }
    }

    fn is_dir(&self, components: &[String]) -> Result<bool, LocationError> {
        let stat = self
            .client
            .stat(share_path(components))
            .map_err(|e| self.on_path(components, false, &e))?;
        Ok(stat.mode.is_dir())
    }

    /// Creates each missing directory of `components`, from the share's root down.
    fn mkdirs(&self, components: &[String]) -> Result<(), LocationError> {
        for depth in 1..=components.len() {
            let prefix = &components[..depth];
            match self.client.mkdir(share_path(prefix), SmbMode::from(0o755)) {
                Ok(()) => {}
                Err(e) if errno(&e) == Some(libc::EEXIST) => {
                    if !self.is_dir(prefix)? {
                        return Err(LocationError::WriteRefused {
                            path: self.shown(prefix),
                            reason: "a file is in the way of a directory".into(),
                        });
                    }
                }
                Err(e) => return Err(self.on_path(prefix, true, &e)),
            }
        }
        Ok(())
    }

    fn list(&self, components: &[String]) -> Result<Vec<LocationEntry>, LocationError> {
        // pavao loses the errno of a failed opendir; the stat before it keeps a missing
        // directory a NotFound.
        if !self.is_dir(components)? {
            return Err(LocationError::NotFound {
                path: format!("the directory {}", self.shown(components)),
            });
        }
        let listed = self
            .client
            .list_dirplus(share_path(components))
            .map_err(|e| self.on_path(components, false, &e))?;
        Ok(listed
            .into_iter()
            .filter(|e| !matches!(e.name(), "." | ".."))
            .map(|e| {
                let is_dir = e.attrs & ATTRIBUTE_DIRECTORY != 0;
                LocationEntry {
                    name: e.name,
                    size: if is_dir { 0 } else { e.size },
                    is_dir,
                }
            })
            .collect())
    }

    /// Removes a file, or a directory depth-first.
    fn delete(&self, components: &[String]) -> Result<(), LocationError> {
        if !self.is_dir(components)? {
            return self
                .client
                .unlink(share_path(components))
                .map_err(|e| self.on_path(components, true, &e));
        }
        let mut stack = vec![(components.to_vec(), false)];
        while let Some((dir, emptied)) = stack.pop() {
            if emptied {
                self.client
                    .rmdir(share_path(&dir))
                    .map_err(|e| self.on_path(&dir, true, &e))?;
                continue;
            }
            stack.push((dir.clone(), true));
            for entry in self.list(&dir)? {
                let mut child = dir.clone();
                child.push(entry.name);
                if entry.is_dir {
                    stack.push((child, false));
                } else {
                    self.client
                        .unlink(share_path(&child))
                        .map_err(|e| self.on_path(&child, true, &e))?;
                }
            }
        }
        Ok(())
    }
}

fn errno(e: &SmbError) -> Option<i32> {
    match e {
        SmbError::Io(io) => io.raw_os_error(),
        _ => None,
    }
}

/// What the async side of a `put` sends the worker.
enum Piece {
    Bytes(Vec<u8>),
    /// The body ended after its `len` bytes: the file is complete.
    Done,
}

/// Runs `work` on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, LocationError> + Send + 'static,
) -> Result<T, LocationError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| LocationError::Protocol {
            reason: format!("the SMB worker stopped: {e}"),
        })?
}

impl Smb {
    /// Opens a session on the blocking pool and runs `work` in it.
    async fn with_session<T: Send + 'static>(
        &self,
        location: &Location,
        work: impl FnOnce(&Session) -> Result<T, LocationError> + Send + 'static,
    ) -> Result<T, LocationError> {
        let share = Share::parse(location)?;
        let location = location.clone();
        let timeout = self.timeout;
        blocking(move || {
            let session = Session::open(&location, &share, timeout)?;
            work(&session)
        })
        .await
    }
}

/// The worker's side of a `put`: writes what arrives until `Done`; a channel closed before it
/// means the body failed, and the partial file is removed.
fn write_pieces(
    session: &Session,
    components: &[String],
    mut pieces: mpsc::Receiver<Piece>,
) -> Result<(), LocationError> {
    let target = share_path(components);
    let mut file = session
        .client
        .open_with(
            &target,
            SmbOpenOptions::default()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o644),
        )
        .map_err(|e| session.on_path(components, true, &e))?;
    let complete = loop {
        match pieces.blocking_recv() {
            Some(Piece::Bytes(bytes)) => {
                if let Err(e) = file.write_all(&bytes) {
                    drop(file);
                    let _ = session.client.unlink(&target);
                    return Err(session.on_path(components, true, &SmbError::Io(e)));
                }
            }
            Some(Piece::Done) => break true,
            None => break false,
        }
    };
    drop(file);
    if !complete {
        let _ = session.client.unlink(&target);
        return Err(LocationError::Protocol {
            reason: format!("the upload of {} was abandoned", session.shown(components)),
        });
    }
    Ok(())
}

/// The worker's side of a `get`: reads the file and sends it on in chunks.
fn read_pieces(
    session: &Session,
    components: &[String],
    chunks: mpsc::Sender<Vec<u8>>,
) -> Result<u64, LocationError> {
    let mut file = session
        .client
        .open_with(share_path(components), SmbOpenOptions::default().read(true))
        .map_err(|e| session.on_path(components, false, &e))?;
    let mut total = 0u64;
    loop {
        let mut buf = vec![0u8; CHUNK];
        let n = match file.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(session.on_path(components, false, &SmbError::Io(e))),
        };
        buf.truncate(n);
        total += n as u64;
        if chunks.blocking_send(buf).is_err() {
            // The async side stopped taking chunks: its sink failed, and it reports why.
            return Ok(total);
        }
    }
}

#[async_trait]
impl BackupTarget for Smb {
    async fn check(&self, location: &Location) -> Result<(), LocationError> {
        probe_write(self, location).await
    }

    async fn put(
        &self,
        location: &Location,
        path: &str,
        body: PutBody<'_>,
        len: u64,
    ) -> Result<(), LocationError> {
        let share = Share::parse(location)?;
        let components = share.components(path)?;
        if location_path_components(path)?.is_empty() {
            return Err(LocationError::Invalid {
                reason: "an empty file path".into(),
            });
        }
        let parent = share.components(&parent_of(path))?;
        let (tx, rx) = mpsc::channel::<Piece>(CHUNKS_IN_FLIGHT);
        let worker = {
            let components = components.clone();
            self.with_session(location, move |session| {
                session.mkdirs(&parent)?;
                write_pieces(session, &components, rx)
            })
        };
        let feed = async move {
            let mut left = len;
            while left > 0 {
                let mut buf = vec![0u8; CHUNK.min(usize::try_from(left).unwrap_or(CHUNK))];
                let n = body
                    .read(&mut buf)
                    .await
                    .map_err(|e| LocationError::Protocol {
                        reason: format!("reading the archive to upload: {e}"),
                    })?;
                if n == 0 {
                    return Err(LocationError::Protocol {
                        reason: format!("the archive ended {left} bytes short of {len}"),
                    });
                }
                buf.truncate(n);
                left -= n as u64;
                if tx.send(Piece::Bytes(buf)).await.is_err() {
                    // The worker stopped; its result says why.
                    return Ok(());
                }
            }
            let _ = tx.send(Piece::Done).await;
            Ok(())
        };
        // The feed's error wins: the worker then only reports the abandoned upload.
        let (fed, written) = tokio::join!(feed, worker);
        fed?;
        written
    }

    async fn get(
        &self,
        location: &Location,
        path: &str,
        sink: GetSink<'_>,
    ) -> Result<u64, LocationError> {
        let components = Share::parse(location)?.components(path)?;
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(CHUNKS_IN_FLIGHT);
        let worker = {
            let components = components.clone();
            self.with_session(location, move |session| {
                read_pieces(session, &components, tx)
            })
        };
        let drain = async move {
            while let Some(chunk) = rx.recv().await {
                sink.write_all(&chunk)
                    .await
                    .map_err(|e| LocationError::Protocol {
                        reason: format!("writing what {path} held: {e}"),
                    })?;
            }
            sink.flush().await.map_err(|e| LocationError::Protocol {
                reason: format!("writing what {path} held: {e}"),
            })
        };
        let (drained, read) = tokio::join!(drain, worker);
        let n = read?;
        drained?;
        Ok(n)
    }

    async fn list(
        &self,
        location: &Location,
        dir: &str,
    ) -> Result<Vec<LocationEntry>, LocationError> {
        let components = Share::parse(location)?.components(dir)?;
        self.with_session(location, move |session| session.list(&components))
            .await
    }

    async fn delete(&self, location: &Location, path: &str) -> Result<(), LocationError> {
        let components = Share::parse(location)?.components(path)?;
        if components.is_empty() {
            return Err(LocationError::Invalid {
                reason: "deleting the share's root is refused".into(),
            });
        }
        self.with_session(location, move |session| session.delete(&components))
            .await
    }

    async fn mkdirs(&self, location: &Location, dir: &str) -> Result<(), LocationError> {
        let components = Share::parse(location)?.components(dir)?;
        self.with_session(location, move |session| session.mkdirs(&components))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocenter_core::ports::LocationType;

    #[test]
    fn the_first_component_is_the_share() {
        let loc = Location::new(
            LocationType::Smb,
            "smb://10.0.0.5:1445/backups/vc%20one/daily",
        );
        let share = Share::parse(&loc).unwrap();
        assert_eq!(share.endpoint.address(), "10.0.0.5:1445");
        assert_eq!(share.share, "backups");
        assert_eq!(
            share.components("a/b.tar").unwrap(),
            ["vc one", "daily", "a", "b.tar"]
        );
        assert_eq!(
            share_path(&share.components("").unwrap()),
            "/vc%20one/daily"
        );
        let default_port = Location::new(LocationType::Smb, "smb://nas/b");
        assert_eq!(Share::parse(&default_port).unwrap().endpoint.port, 445);
        let no_share = Location::new(LocationType::Smb, "smb://nas/");
        assert!(matches!(
            Share::parse(&no_share),
            Err(LocationError::Invalid { .. })
        ));
    }

    #[test]
    fn names_are_escaped_for_libsmbclient() {
        assert_eq!(
            share_path(&["100%".into(), "a?b".into(), "x-y_z.tar".into()]),
            "/100%25/a%3Fb/x-y_z.tar"
        );
    }
}
