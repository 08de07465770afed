//! A ZStack client that behaves like ZStack's own Python SDK (reference §5.2): a fresh
//! `X-Job-UUID` on every request, `Authorization: OAuth <session>`, and a 202 polled at the
//! `location` of its body until 200 or 503 — any other answer is an error.
use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use ferrocenter_core::auth::password::digest_hex;
use reqwest::{Client, Method};
use serde_json::{json, Value};

/// Every host inventory field seeds/004 lists (description aside: empty unless set).
pub const SEED_HOST_FIELDS: [&str; 32] = [
    "zoneUuid",
    "name",
    "uuid",
    "clusterUuid",
    "managementIp",
    "hypervisorType",
    "state",
    "status",
    "totalCpuCapacity",
    "availableCpuCapacity",
    "cpuSockets",
    "totalMemoryCapacity",
    "availableMemoryCapacity",
    "cpuNum",
    "ipmiAddress",
    "ipmiUsername",
    "ipmiPort",
    "ipmiPowerStatus",
    "architecture",
    "nqn",
    "hostname",
    "createDate",
    "lastOpDate",
    "cpuStatus",
    "memoryStatus",
    "diskStatus",
    "nicStatus",
    "gpuStatus",
    "powerSupplyStatus",
    "fanStatus",
    "raidStatus",
    "temperatureStatus",
];

/// The ZStack error code of a failed API call.
pub fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

/// The details of a failed API call: the case, naming the field for argument errors.
pub fn details(v: &Value) -> String {
    v["error"]["details"].as_str().unwrap_or("").to_string()
}

pub struct ZsClient {
    pub client: Client,
    /// `https://host:port` or `http://host:port`.
    pub base: String,
    pub session: String,
}

/// 32 lower-case hex digits, random: a job uuid the server has not seen (a test making
/// thousands of calls met a repeat from the counter-based digits this replaced).
pub fn uuid_hex() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl ZsClient {
    /// LogInByAccount with the SHA-512 digest of `password`; the status and the reply.
    pub async fn login(client: &Client, base: &str, account: &str, password: &str) -> (u16, Value) {
        let r = client
            .put(format!("{base}/zstack/v1/accounts/login"))
            .json(
                &json!({"logInByAccount": {"accountName": account, "password": digest_hex(password)}}),
            )
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    pub async fn new(client: Client, base: &str, account: &str, password: &str) -> ZsClient {
        let (s, v) = Self::login(&client, base, account, password).await;
        assert_eq!(s, 200, "{v}");
        ZsClient {
            client,
            base: base.to_string(),
            session: v["inventory"]["uuid"].as_str().unwrap().to_string(),
        }
    }

    /// One plain request: status, content type and body text.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        session: Option<&str>,
        body: Option<Value>,
    ) -> (u16, String, String) {
        let mut rb = self.client.request(method, format!("{}{path}", self.base));
        if let Some(s) = session {
            rb = rb.header("Authorization", format!("OAuth {s}"));
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, ct, r.text().await.unwrap())
    }

    /// A synchronous call (queries) with this client's session.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let (s, _, body) = self
            .call(Method::GET, path, Some(&self.session), None)
            .await;
        (
            s,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    }

    /// The inventories of a query, which must succeed.
    pub async fn inventories(&self, path: &str) -> Vec<Value> {
        let (s, v) = self.get(path).await;
        assert_eq!(s, 200, "{path}: {v}");
        v["inventories"].as_array().unwrap().clone()
    }

    /// An API call as the SDK makes it, polled to its end.
    pub async fn sdk(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.sdk_with(method, path, body, &[]).await
    }

    pub async fn sdk_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let job = uuid_hex();
        let mut rb = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("X-Job-UUID", &job)
            .header("Authorization", format!("OAuth {}", self.session));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status != 202 {
            return (status, v);
        }
        let location = v["location"].as_str().unwrap().to_string();
        assert!(
            location.ends_with(&format!("/zstack/v1/api-jobs/{job}")),
            "{location}"
        );
        assert!(v["apiTimeout"].as_u64().unwrap() > 0);
        for _ in 0..1200 {
            let r = self
                .client
                .get(&location)
                .header("X-Job-UUID", uuid_hex())
                .header("Authorization", format!("OAuth {}", self.session))
                .send()
                .await
                .unwrap();
            match r.status().as_u16() {
                202 => tokio::time::sleep(Duration::from_millis(50)).await,
                s @ (200 | 503) => return (s, r.json().await.unwrap()),
                other => panic!("job poll answered {other}: {}", r.text().await.unwrap()),
            }
        }
        panic!("job {job} did not finish");
    }
}

/// A one-shot-per-connection HTTP receiver for web hooks: each request's headers and body.
pub async fn hook_receiver() -> (
    String,
    tokio::sync::mpsc::Receiver<(HashMap<String, String>, Value)>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head_len, headers) = loop {
                let n = sock.read(&mut chunk).await.unwrap();
                assert!(n > 0, "the hook request ended early");
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let text = String::from_utf8_lossy(&buf[..i]).to_string();
                    let headers: HashMap<String, String> = text
                        .lines()
                        .skip(1)
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                        .collect();
                    break (i + 4, headers);
                }
            };
            let len: usize = headers["content-length"].parse().unwrap();
            while buf.len() < head_len + len {
                let n = sock.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = serde_json::from_slice(&buf[head_len..head_len + len]).unwrap();
            sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await
                .unwrap();
            let _ = tx.send((headers, body)).await;
        }
    });
    (url, rx)
}
