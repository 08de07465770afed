//! A bare HTTP/1.1 client over TLS (any certificate accepted), for tests that must control
//! how a request is written: the whole body before reading anything, after an
//! `Expect: 100-continue` pause, or slowly in chunks. HTTP libraries stop sending once an
//! answer arrives; this one keeps writing, as curl and many scripts do, so it sees what such a
//! client sees: the answer, or a reset.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// How the body goes out.
#[derive(Debug, Clone, Copy)]
pub enum Writing {
    /// Head and body at once, with a plain Content-Length.
    Whole,
    /// `Expect: 100-continue`, a pause, then the body anyway (as curl does after 1 s).
    ExpectContinue(Duration),
    /// The body in chunks of this many bytes, with a pause after each.
    Slowly { chunk: usize, pause: Duration },
}

#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Sends one request on a fresh connection and reads its final answer (1xx answers skipped).
/// An error is the transport's: a write or read that failed, or a close before the answer
/// was whole.
pub async fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    writing: Writing,
) -> Result<RawResponse, String> {
    let mut tls = connect(addr).await?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Writing::ExpectContinue(_) = writing {
        head.push_str("Expect: 100-continue\r\n");
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let wrote = |what: &str, e: std::io::Error| format!("writing the {what}: {e}");
    tls.write_all(head.as_bytes())
        .await
        .map_err(|e| wrote("head", e))?;
    match writing {
        Writing::Whole => tls.write_all(body).await.map_err(|e| wrote("body", e))?,
        Writing::ExpectContinue(pause) => {
            tls.flush().await.map_err(|e| wrote("head", e))?;
            tokio::time::sleep(pause).await;
            tls.write_all(body).await.map_err(|e| wrote("body", e))?;
        }
        Writing::Slowly { chunk, pause } => {
            for (i, part) in body.chunks(chunk.max(1)).enumerate() {
                tls.write_all(part)
                    .await
                    .map_err(|e| wrote(&format!("body chunk {i}"), e))?;
                tls.flush()
                    .await
                    .map_err(|e| wrote(&format!("body chunk {i}"), e))?;
                tokio::time::sleep(pause).await;
            }
        }
    }
    tls.flush().await.map_err(|e| wrote("body", e))?;
    read_response(&mut tls).await
}

async fn connect(addr: &str) -> Result<TlsStream<TcpStream>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connecting to {addr}: {e}"))?;
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake with {addr}: {e}"))
}

/// Reads until one final (non-1xx) answer is whole: its head, then a Content-Length or
/// chunked body.
async fn read_response(tls: &mut TlsStream<TcpStream>) -> Result<RawResponse, String> {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i + 4;
            }
            fill(tls, &mut buf, "the answer's head").await?;
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("not an HTTP status line: {status_line:?}"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        if (100..200).contains(&status) {
            continue;
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let body = if header("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
            read_chunked(tls, &mut buf).await?
        } else {
            let len: usize = header("content-length")
                .and_then(|l| l.parse().ok())
                .ok_or("the answer has neither Content-Length nor chunks")?;
            while buf.len() < len {
                fill(tls, &mut buf, "the answer's body").await?;
            }
            buf[..len].to_vec()
        };
        return Ok(RawResponse {
            status,
            headers,
            body,
        });
    }
}

async fn read_chunked(
    tls: &mut TlsStream<TcpStream>,
    buf: &mut Vec<u8>,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = find(buf, b"\r\n") {
                break i;
            }
            fill(tls, buf, "a chunk's size").await?;
        };
        let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("not a chunk size: {size_text:?}"))?;
        buf.drain(..line_end + 2);
        while buf.len() < size + 2 {
            fill(tls, buf, "a chunk").await?;
        }
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&buf[..size]);
        buf.drain(..size + 2);
    }
}

async fn fill(tls: &mut TlsStream<TcpStream>, buf: &mut Vec<u8>, what: &str) -> Result<(), String> {
    let mut chunk = [0u8; 16 * 1024];
    let n = tokio::time::timeout(Duration::from_secs(60), tls.read(&mut chunk))
        .await
        .map_err(|_| format!("no more of {what} in 60 s"))?
        .map_err(|e| format!("reading {what}: {e}"))?;
    if n == 0 {
        return Err(format!("the connection closed before {what} was whole"));
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Tests talk to servers with self-signed certificates; what is tested is HTTP, not trust.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
