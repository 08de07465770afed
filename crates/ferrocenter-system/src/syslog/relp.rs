//! A RELP client (the Reliable Event Logging Protocol of rsyslog's librelp): frames
//! `TXNR SP COMMAND SP DATALEN [SP DATA] LF`; the session opens with `open` offering
//! `relp_version=0` and `commands=syslog`, each message is a `syslog` command the receiver
//! acknowledges with `rsp 200`, and `close` ends it. Hand-written: no maintained Rust crate
//! speaks RELP. One command is in flight at a time, so an acknowledgement names its message.
use std::io;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// Transaction numbers run 1 ..= 999 999 999 and wrap to 1.
const TXNR_MAX: u64 = 999_999_999;

/// The longest response data accepted (an `open` answer lists a few offers).
const RSP_MAX: usize = 64 * 1024;

pub struct Relp<S> {
    io: BufReader<S>,
    txnr: u64,
}

fn protocol(reason: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, reason.into())
}

impl<S: AsyncRead + AsyncWrite + Unpin> Relp<S> {
    /// Opens a session over a connected stream.
    pub async fn open(stream: S) -> io::Result<Relp<S>> {
        let mut r = Relp {
            io: BufReader::new(stream),
            txnr: 0,
        };
        let answer = r
            .command(
                "open",
                b"relp_version=0\nrelp_software=ferrocenter\ncommands=syslog",
            )
            .await?;
        // The receiver lists the commands it serves; one without `syslog` is of no use.
        if let Some(offered) = answer.lines().find_map(|l| l.strip_prefix("commands=")) {
            if !offered.split(',').any(|c| c == "syslog") {
                return Err(protocol("the RELP receiver does not take syslog messages"));
            }
        }
        Ok(r)
    }

    /// Sends one message and waits for its acknowledgement.
    pub async fn syslog(&mut self, message: &[u8]) -> io::Result<()> {
        self.command("syslog", message).await.map(drop)
    }

    /// Ends the session politely.
    pub async fn close(mut self) -> io::Result<()> {
        self.command("close", b"").await.map(drop)
    }

    /// One command and its `rsp`: the response's data after the `200` status.
    async fn command(&mut self, command: &str, data: &[u8]) -> io::Result<String> {
        self.txnr = if self.txnr >= TXNR_MAX {
            1
        } else {
            self.txnr + 1
        };
        let mut frame = format!("{} {command} {}", self.txnr, data.len()).into_bytes();
        if !data.is_empty() {
            frame.push(b' ');
            frame.extend_from_slice(data);
        }
        frame.push(b'\n');
        let stream = self.io.get_mut();
        stream.write_all(&frame).await?;
        stream.flush().await?;
        let (txnr, cmd, data) = self.read_frame().await?;
        if cmd == "serverclose" {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the RELP receiver closed the session",
            ));
        }
        if cmd != "rsp" || txnr != self.txnr {
            return Err(protocol(format!(
                "unexpected RELP frame {txnr} {cmd} while waiting for the answer to {}",
                self.txnr
            )));
        }
        let text = String::from_utf8_lossy(&data).into_owned();
        if command == "close" && text.is_empty() {
            return Ok(text);
        }
        match text.get(..3) {
            Some("200") => Ok(text),
            _ => Err(protocol(format!(
                "the RELP receiver refused {command}: {}",
                text.lines().next().unwrap_or_default()
            ))),
        }
    }

    async fn token(&mut self, max: usize) -> io::Result<String> {
        let mut buf = Vec::new();
        loop {
            let b = self.io.read_u8().await?;
            if b == b' ' || b == b'\n' {
                if b == b'\n' {
                    // A DATALEN of 0 is followed by the trailer directly.
                    buf.push(b'\n');
                }
                break;
            }
            buf.push(b);
            if buf.len() > max {
                return Err(protocol("a RELP frame header is too long"));
            }
        }
        String::from_utf8(buf).map_err(|_| protocol("a RELP frame header is not text"))
    }

    async fn read_frame(&mut self) -> io::Result<(u64, String, Vec<u8>)> {
        // A response may be preceded by a stray newline; skip whitespace.
        let mut txnr = self.token(10).await?;
        while txnr.is_empty() || txnr == "\n" {
            txnr = self.token(10).await?;
        }
        let txnr: u64 = txnr
            .parse()
            .map_err(|_| protocol(format!("bad RELP transaction number '{txnr}'")))?;
        let cmd = self.token(32).await?;
        let len = self.token(9).await?;
        let (len, ended) = match len.strip_suffix('\n') {
            Some(l) => (l.to_string(), true),
            None => (len, false),
        };
        let len: usize = len
            .parse()
            .map_err(|_| protocol(format!("bad RELP data length '{len}'")))?;
        if len > RSP_MAX {
            return Err(protocol("a RELP answer is too long"));
        }
        let mut data = vec![0; len];
        if len > 0 {
            self.io.read_exact(&mut data).await?;
        }
        if !ended {
            let mut trailer = Vec::new();
            self.io.read_until(b'\n', &mut trailer).await?;
        }
        Ok((txnr, cmd, data))
    }
}
