//! The one way this crate builds its HTTP client (reqwest over rustls): the WebDAV backup
//! location and the update repositories both trust the web PKI roots plus the configured CA
//! certificates, never follow redirects (a redirect could move a login to another host), and
//! report errors with their whole cause chain.
use std::time::Duration;

/// How a client reaches its servers.
pub(crate) struct HttpTrust<'a> {
    /// Extra CA certificates (DER) besides the web PKI roots.
    pub extra_roots_der: &'a [Vec<u8>],
    /// `false` accepts any certificate: only for a source whose content is verified otherwise
    /// (a signed update repository whose policy turned the check off).
    pub certificate_check: bool,
}

/// A client with `connect_timeout` and a two-minute read timeout (time between bytes).
pub(crate) fn client(
    trust: &HttpTrust<'_>,
    connect_timeout: Duration,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .read_timeout(Duration::from_secs(120))
        .redirect(reqwest::redirect::Policy::none());
    for der in trust.extra_roots_der {
        let cert = reqwest::Certificate::from_der(der)
            .map_err(|e| format!("a trusted certificate is unusable: {e}"))?;
        builder = builder.add_root_certificate(cert);
    }
    if !trust.certificate_check {
        builder = builder.danger_accept_invalid_certs(true);
    }
    builder.build().map_err(|e| e.to_string())
}

/// An error and its causes, `: `-separated (reqwest and rustls hide the useful part in sources).
pub(crate) fn source_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
