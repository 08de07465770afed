//! The benchmark's own client of the server's three surfaces, as plain HTTP (what scripts and
//! SDKs send), with the sessions each needs.
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use sha2::Digest;

pub const VIM: &str = "/sdk/vim25/8.0.3.0";
pub const ADMIN: &str = "administrator@vsphere.local";

#[derive(Clone)]
pub struct Api {
    pub http: Client,
    pub base: String,
    vim_session: String,
    /// The SOAP door's `vmware_soap_session` cookie, as sent back.
    soap_cookie: String,
    vapi_session: String,
    zstack_session: String,
}

/// One HTTP client for the whole benchmark: the server's certificate is its own, made for this
/// run, so it is not verified.
pub fn http_client() -> anyhow::Result<Client> {
    Ok(Client::builder()
        .danger_accept_invalid_certs(true)
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(300))
        .build()?)
}

impl Api {
    /// Logs in on VI/JSON, vAPI and ZStack.
    pub async fn login(http: Client, base: &str, password: &str) -> anyhow::Result<Api> {
        let r = http
            .post(format!("{base}{VIM}/SessionManager/SessionManager/Login"))
            .json(&json!({"userName": ADMIN, "password": password}))
            .send()
            .await?;
        let vim_session = r
            .headers()
            .get("vmware-api-session-id")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow!("VI/JSON login answered {}", r.status()))?
            .to_string();
        let soap_cookie = soap_login(&http, base, password).await?;
        let vapi_session: String = http
            .post(format!("{base}/api/session"))
            .basic_auth(ADMIN, Some(password))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let digest = hex::encode(sha2::Sha512::digest(password.as_bytes()));
        let z: Value = http
            .put(format!("{base}/zstack/v1/accounts/login"))
            .json(&json!({"logInByAccount": {"accountName": "admin", "password": digest}}))
            .send()
            .await?
            .json()
            .await?;
        let zstack_session = z["inventory"]["uuid"]
            .as_str()
            .ok_or_else(|| anyhow!("ZStack login: {z}"))?
            .to_string();
        Ok(Api {
            http,
            base: base.to_string(),
            vim_session,
            soap_cookie,
            vapi_session,
            zstack_session,
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        auth: (&str, String),
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(auth.0, auth.1);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.with_context(|| path.to_string())?;
        let status = r.status();
        let text = r.text().await?;
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if !status.is_success() {
            bail!("{path}: {status}: {v}");
        }
        Ok(v)
    }

    /// A VI/JSON method.
    pub async fn vim(
        &self,
        mo: &str,
        id: &str,
        method: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let auth = ("vmware-api-session-id", self.vim_session.clone());
        self.send(
            Method::POST,
            &format!("{VIM}/{mo}/{id}/{method}"),
            auth,
            Some(body),
        )
        .await
    }

    /// One host's summary through SOAP `RetrievePropertiesEx`, as pyVmomi asks for it; the
    /// response's length (the body is checked for a result, not parsed).
    pub async fn soap_host_summary(&self, moid: &str) -> anyhow::Result<usize> {
        let body = soap_envelope(&format!(
            r#"<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>HostSystem</type><all>false</all><pathSet>summary</pathSet></propSet><objectSet><obj type="HostSystem">{moid}</obj><skip>false</skip></objectSet></specSet><options/></RetrievePropertiesEx>"#
        ));
        let r = self
            .http
            .post(format!("{}/sdk", self.base))
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", "urn:vim25/8.0.3.0")
            .header("Cookie", &self.soap_cookie)
            .body(body)
            .send()
            .await?;
        let status = r.status();
        let text = r.text().await?;
        if !status.is_success() || !text.contains("<returnval") {
            bail!("SOAP RetrievePropertiesEx {moid}: {status}");
        }
        Ok(text.len())
    }

    /// A VI/JSON property.
    pub async fn vim_get(&self, mo: &str, id: &str, property: &str) -> anyhow::Result<Value> {
        let auth = ("vmware-api-session-id", self.vim_session.clone());
        self.send(
            Method::GET,
            &format!("{VIM}/{mo}/{id}/{property}"),
            auth,
            None,
        )
        .await
    }

    /// A ZStack GET decoded straight into `T` (a listing's client reads only what it needs).
    pub async fn zstack_get_as<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> anyhow::Result<T> {
        let r = self
            .http
            .get(format!("{}/zstack/v1{path}", self.base))
            .header("Authorization", format!("OAuth {}", self.zstack_session))
            .send()
            .await
            .with_context(|| path.to_string())?;
        let status = r.status();
        let body = r.bytes().await?;
        if !status.is_success() {
            bail!("{path}: {status}: {}", String::from_utf8_lossy(&body));
        }
        serde_json::from_slice(&body).with_context(|| path.to_string())
    }

    pub async fn vapi_get(&self, path: &str) -> anyhow::Result<Value> {
        let auth = ("vmware-api-session-id", self.vapi_session.clone());
        self.send(Method::GET, &format!("/api{path}"), auth, None)
            .await
    }

    pub async fn zstack_get(&self, path: &str) -> anyhow::Result<Value> {
        let auth = ("Authorization", format!("OAuth {}", self.zstack_session));
        self.send(Method::GET, &format!("/zstack/v1{path}"), auth, None)
            .await
    }

    /// Follows a VI/JSON task to its end; its info, or the fault as an error.
    pub async fn wait_task(&self, task: &Value) -> anyhow::Result<Value> {
        let id = task["value"]
            .as_str()
            .ok_or_else(|| anyhow!("not a task: {task}"))?;
        let mut pause = Duration::from_millis(10);
        loop {
            let info = self.vim_get("Task", id, "info").await?;
            match info["state"].as_str() {
                Some("success") => return Ok(info),
                Some("error") => bail!(
                    "{id}: {} {}",
                    info["error"]["_typeName"],
                    info["error"]["faultMessage"][0]["message"]
                ),
                _ => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
            }
        }
    }

    /// Calls a task method and waits; the finished task's info and how long it took.
    pub async fn run_task(
        &self,
        mo: &str,
        id: &str,
        method: &str,
        body: Value,
    ) -> anyhow::Result<(Value, Duration)> {
        let start = Instant::now();
        let t = self.vim(mo, id, method, body).await?;
        let info = self.wait_task(&t).await?;
        Ok((info, start.elapsed()))
    }
}

/// A call as `root` with Basic credentials: status and JSON body.
pub async fn root_call(
    http: &Client,
    method: Method,
    url: &str,
    password: &str,
    body: Option<&Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut rb = http
        .request(method, url)
        .basic_auth("root", Some(password))
        .timeout(Duration::from_secs(30));
    if let Some(b) = body {
        rb = rb.json(b);
    }
    let r = rb.send().await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

fn soap_envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
    )
}

/// Logs in on the SOAP door; the session cookie to send back.
async fn soap_login(http: &Client, base: &str, password: &str) -> anyhow::Result<String> {
    let body = soap_envelope(&format!(
        r#"<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>{ADMIN}</userName><password>{password}</password></Login>"#
    ));
    let r = http
        .post(format!("{base}/sdk"))
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(body)
        .send()
        .await?;
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or_else(|| anyhow!("SOAP login answered {}", r.status()))?
        .to_string();
    Ok(cookie)
}
