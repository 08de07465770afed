//! `HTTP` and `HTTPS` as WebDAV (RFC 4918) through reqwest: PUT and GET for files, MKCOL for
//! directories, PROPFIND with depth 1 for listings, DELETE (depth infinity) for files and
//! directories. Basic authentication with the location's user and password.
use std::time::Duration;

use async_trait::async_trait;
use ferrocenter_core::ports::{
    BackupTarget, GetSink, Location, LocationEntry, LocationError, LocationSecret, LocationType,
    PutBody,
};
use quick_xml::events::Event;
use reqwest::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{probe_write, Endpoint, LocationTrust};
use crate::http_client::source_chain;

pub(super) struct WebDav {
    client: reqwest::Client,
}

/// Bytes read from the caller's body per chunk sent.
const CHUNK: usize = 256 * 1024;

impl WebDav {
    pub(super) fn new(trust: &LocationTrust, timeout: Duration) -> Result<WebDav, LocationError> {
        let client = crate::http_client::client(
            &crate::http_client::HttpTrust {
                extra_roots_der: &trust.extra_roots_der,
                certificate_check: true,
            },
            timeout,
        )
        .map_err(|reason| LocationError::Invalid { reason })?;
        Ok(WebDav { client })
    }

    fn target(&self, location: &Location) -> Result<(Endpoint, url::Url), LocationError> {
        let (scheme, port) = match location.kind {
            LocationType::Https => ("https", 443),
            _ => ("http", 80),
        };
        let endpoint = Endpoint::parse(location, &[scheme], port)?;
        let url = url::Url::parse(&location.url).map_err(|e| LocationError::Invalid {
            reason: e.to_string(),
        })?;
        Ok((endpoint, url))
    }

    /// The URL of `relative` under the location; `dir` adds the trailing slash collections take.
    fn url_of(
        &self,
        location: &Location,
        relative: &str,
        dir: bool,
    ) -> Result<(Endpoint, url::Url), LocationError> {
        let (endpoint, mut url) = self.target(location)?;
        let components = endpoint.components(relative)?;
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| LocationError::Invalid {
                    reason: format!("{:?} cannot hold a path", location.url),
                })?;
            segments.clear();
            for c in &components {
                segments.push(c);
            }
            if dir {
                segments.push("");
            }
        }
        Ok((endpoint, url))
    }

    fn request(
        &self,
        location: &Location,
        method: Method,
        url: url::Url,
    ) -> reqwest::RequestBuilder {
        let builder = self.client.request(method, url);
        match &location.user {
            Some(user) => {
                builder.basic_auth(user, location.password.as_ref().map(LocationSecret::expose))
            }
            None => builder,
        }
    }

    async fn send(
        &self,
        location: &Location,
        endpoint: &Endpoint,
        builder: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, LocationError> {
        let response = builder.send().await.map_err(|e| {
            if e.is_connect() || e.is_timeout() {
                endpoint.unreachable(source_chain(&e))
            } else {
                LocationError::Protocol {
                    reason: format!("{}: {}", endpoint.address(), source_chain(&e)),
                }
            }
        })?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(LocationError::AuthRefused {
                user: location.user_name().to_string(),
            });
        }
        Ok(response)
    }

    async fn mkcol_all(&self, location: &Location, dir: &str) -> Result<(), LocationError> {
        let (endpoint, _) = self.target(location)?;
        let components = endpoint.components(dir)?;
        let base_len = endpoint.base.len();
        // The location's own path too: it may not exist yet.
        for depth in 1..=components.len() {
            let relative = components[base_len.min(depth)..depth].join("/");
            let (_, mut url) = self.url_of(location, "", true)?;
            {
                let mut segments =
                    url.path_segments_mut()
                        .map_err(|()| LocationError::Invalid {
                            reason: "no path".into(),
                        })?;
                segments.clear();
                for c in &components[..depth] {
                    segments.push(c);
                }
                segments.push("");
            }
            let response = self
                .send(
                    location,
                    &endpoint,
                    self.request(location, dav_method(b"MKCOL")?, url),
                )
                .await?;
            match response.status() {
                s if s.is_success() => {}
                // 405: the collection exists already.
                StatusCode::METHOD_NOT_ALLOWED => {}
                s => return Err(refused(&relative, s, true)),
            }
        }
        Ok(())
    }
}

/// A WebDAV method reqwest has no constant for.
fn dav_method(name: &[u8]) -> Result<Method, LocationError> {
    Method::from_bytes(name).map_err(|e| LocationError::Protocol {
        reason: e.to_string(),
    })
}

fn refused(path: &str, status: StatusCode, writing: bool) -> LocationError {
    match status {
        StatusCode::NOT_FOUND if !writing => LocationError::NotFound { path: path.into() },
        StatusCode::INSUFFICIENT_STORAGE
        | StatusCode::FORBIDDEN
        | StatusCode::CONFLICT
        | StatusCode::PAYLOAD_TOO_LARGE
        | StatusCode::METHOD_NOT_ALLOWED
        | StatusCode::NOT_FOUND => LocationError::WriteRefused {
            path: path.into(),
            reason: status.to_string(),
        },
        s => LocationError::Protocol {
            reason: format!("{path}: HTTP {s}"),
        },
    }
}

/// The entries of a depth-1 PROPFIND answer, without the listed collection itself.
fn parse_multistatus(xml: &str, listed_path: &str) -> Result<Vec<LocationEntry>, LocationError> {
    let bad = |e: &dyn std::fmt::Display| LocationError::Protocol {
        reason: format!("an unreadable PROPFIND answer: {e}"),
    };
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut entries = Vec::new();
    let (mut href, mut size, mut is_dir) = (String::new(), 0u64, false);
    let mut text_of: Option<&'static str> = None;
    loop {
        match reader.read_event().map_err(|e| bad(&e))? {
            Event::Start(e) => match e.local_name().as_ref() {
                b"response" => (href, size, is_dir) = (String::new(), 0, false),
                b"href" => text_of = Some("href"),
                b"getcontentlength" => text_of = Some("len"),
                b"collection" => is_dir = true,
                _ => {}
            },
            Event::Empty(e) if e.local_name().as_ref() == b"collection" => is_dir = true,
            Event::Text(t) => {
                let text = t.decode().map_err(|e| bad(&e))?.into_owned();
                match text_of {
                    Some("href") => href.push_str(text.trim()),
                    Some("len") => size = text.trim().parse().unwrap_or(0),
                    _ => {}
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                b"href" | b"getcontentlength" => text_of = None,
                b"response" => {
                    let path = href
                        .split_once("://")
                        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
                        .unwrap_or_else(|| href.clone());
                    let path = super::percent_decode(&path);
                    if path.trim_end_matches('/') != listed_path.trim_end_matches('/') {
                        if let Some(name) = path.trim_end_matches('/').rsplit('/').next() {
                            entries.push(LocationEntry {
                                name: name.to_string(),
                                size: if is_dir { 0 } else { size },
                                is_dir,
                            });
                        }
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(entries)
}

#[async_trait]
impl BackupTarget for WebDav {
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
        self.mkcol_all(location, &super::parent_of(path)).await?;
        let (endpoint, url) = self.url_of(location, path, false)?;
        // reqwest wants a 'static body: chunks cross a channel from this task's reader, both
        // driven together here.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        let request = self
            .request(location, Method::PUT, url)
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(reqwest::Body::wrap_stream(stream));
        let pump = async move {
            let mut buf = vec![0u8; CHUNK];
            loop {
                match body.read(&mut buf).await {
                    Ok(0) => break,
                    Ok(n) => {
                        if tx.send(Ok(buf[..n].to_vec())).await.is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        break;
                    }
                }
            }
        };
        let (response, ()) = tokio::join!(self.send(location, &endpoint, request), pump);
        let status = response?.status();
        if !status.is_success() {
            return Err(refused(path, status, true));
        }
        Ok(())
    }

    async fn get(
        &self,
        location: &Location,
        path: &str,
        sink: GetSink<'_>,
    ) -> Result<u64, LocationError> {
        let (endpoint, url) = self.url_of(location, path, false)?;
        let mut response = self
            .send(
                location,
                &endpoint,
                self.request(location, Method::GET, url),
            )
            .await?;
        if !response.status().is_success() {
            return Err(refused(path, response.status(), false));
        }
        let mut n = 0u64;
        let failed = |e: &dyn std::fmt::Display| LocationError::Protocol {
            reason: format!("reading {path}: {e}"),
        };
        while let Some(chunk) = response.chunk().await.map_err(|e| failed(&e))? {
            sink.write_all(&chunk).await.map_err(|e| failed(&e))?;
            n += chunk.len() as u64;
        }
        sink.flush().await.map_err(|e| failed(&e))?;
        Ok(n)
    }

    async fn list(
        &self,
        location: &Location,
        dir: &str,
    ) -> Result<Vec<LocationEntry>, LocationError> {
        let (endpoint, url) = self.url_of(location, dir, true)?;
        let listed_path = super::percent_decode(url.path());
        let method = dav_method(b"PROPFIND")?;
        let request = self
            .request(location, method, url)
            .header("Depth", "1")
            .header(reqwest::header::CONTENT_TYPE, "application/xml")
            .body(
                r#"<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><prop><resourcetype/><getcontentlength/></prop></propfind>"#,
            );
        let response = self.send(location, &endpoint, request).await?;
        let status = response.status();
        if status != StatusCode::MULTI_STATUS {
            return Err(refused(dir, status, false));
        }
        let text = response.text().await.map_err(|e| LocationError::Protocol {
            reason: e.to_string(),
        })?;
        parse_multistatus(&text, &listed_path)
    }

    async fn delete(&self, location: &Location, path: &str) -> Result<(), LocationError> {
        for as_dir in [false, true] {
            let (endpoint, url) = self.url_of(location, path, as_dir)?;
            let request = self
                .request(location, Method::DELETE, url)
                .header("Depth", "infinity");
            let status = self.send(location, &endpoint, request).await?.status();
            match status {
                s if s.is_success() => return Ok(()),
                // A collection named without its trailing slash (nginx answers 409).
                StatusCode::CONFLICT if !as_dir => continue,
                StatusCode::NOT_FOUND => return Err(LocationError::NotFound { path: path.into() }),
                s => return Err(refused(path, s, true)),
            }
        }
        Err(refused(path, StatusCode::CONFLICT, true))
    }

    async fn mkdirs(&self, location: &Location, dir: &str) -> Result<(), LocationError> {
        self.mkcol_all(location, dir).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multistatus_lists_children_not_the_collection() {
        let xml = r#"<?xml version="1.0"?><D:multistatus xmlns:D="DAV:">
<D:response><D:href>/b/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype></D:prop></D:propstat></D:response>
<D:response><D:href>/b/a%20file</D:href><D:propstat><D:prop><D:resourcetype/><D:getcontentlength>42</D:getcontentlength></D:prop></D:propstat></D:response>
<D:response><D:href>http://h:8080/b/sub/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype></D:prop></D:propstat></D:response>
</D:multistatus>"#;
        let entries = parse_multistatus(xml, "/b/").unwrap();
        assert_eq!(
            entries,
            vec![
                LocationEntry {
                    name: "a file".into(),
                    size: 42,
                    is_dir: false
                },
                LocationEntry {
                    name: "sub".into(),
                    size: 0,
                    is_dir: true
                },
            ]
        );
    }
}
