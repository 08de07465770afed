//! What never leaves the server in a support bundle. Redaction is by policy, not by a list of
//! known settings: a key whose words name a secret has its value replaced whatever the key is,
//! and any string value is cleaned of the shapes secrets take inside text (a URL's password,
//! `password=…` pairs, PEM private keys). It applies to every JSON document a bundle holds:
//! the configuration, the tasks and events, and each line of the logs.
use serde_json::Value;

/// What a redacted value becomes.
pub const REDACTED: &str = "<redacted>";

/// Words that make a key a secret's, matched against the key's words (split at `_`, `-`, `.`,
/// spaces and camelCase), so `backup_location_password`, `apiToken` and `SSL-Key` are caught
/// and `keyboard` or `monkey` are not.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "pass",
    "passphrase",
    "secret",
    "secrets",
    "token",
    "tokens",
    "key",
    "keys",
    "apikey",
    "privkey",
    "private",
    "credential",
    "credentials",
    "cred",
    "creds",
    "auth",
    "authorization",
    "cookie",
    "sessionid",
    "signature",
    "salt",
    "seal",
    "sealed",
];

/// Words in `word=value` pairs inside text (connection strings, query strings) whose value
/// is a secret.
const SECRET_PAIRS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "pass",
    "secret",
    "token",
    "key",
    "apikey",
    "api_key",
    "access_token",
    "auth",
    "sslpassword",
    "session",
];

fn words(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_numeric();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether a key names a secret.
pub fn secret_key(key: &str) -> bool {
    let w = words(key);
    // Without separators, so `session-id`, `api_key` and `Private-Key` read as one word.
    let squashed: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    w.iter().any(|w| SECRET_WORDS.contains(&w.as_str()))
        || SECRET_INSIDE.iter().any(|s| squashed.contains(s))
}

/// Fragments that name a secret even inside a longer word (`adminpassword`, `apitokens`).
const SECRET_INSIDE: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "credential",
    "token",
    "apikey",
    "privatekey",
    "sessionid",
];

/// A JSON tree with every secret replaced by [`REDACTED`].
pub fn value(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| {
                    let x = if secret_key(k) && !x.is_null() {
                        Value::String(REDACTED.into())
                    } else {
                        value(x)
                    };
                    (k.clone(), x)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(value).collect()),
        Value::String(s) => Value::String(text(s)),
        other => other.clone(),
    }
}

/// Text cleaned of the shapes secrets take in it: a URL's `user:password@`, `word=value`
/// pairs whose word names a secret, and PEM private keys.
pub fn text(s: &str) -> String {
    if s.contains("PRIVATE KEY") {
        return REDACTED.into();
    }
    let s = url_passwords(s);
    pairs(&s)
}

/// `scheme://user:password@host` → `scheme://user:<redacted>@host`.
fn url_passwords(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace() || c == '"')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..colon]);
                        out.push(':');
                        out.push_str(REDACTED);
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `password=xyz` (libpq, query strings, headers) → `password=<redacted>`.
fn pairs(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    for w in SECRET_PAIRS {
        let mut from = 0;
        while let Some(i) = lower[from..].find(w) {
            let start = from + i;
            let after = start + w.len();
            from = after;
            let word_start = start == 0
                || !lower.as_bytes()[start - 1].is_ascii_alphanumeric()
                || lower.as_bytes()[start - 1] == b'_';
            let mut j = after;
            while j < lower.len() && lower.as_bytes()[j] == b' ' {
                j += 1;
            }
            if !word_start || j >= lower.len() || !matches!(lower.as_bytes()[j], b'=' | b':') {
                continue;
            }
            let mut v = j + 1;
            while v < lower.len() && lower.as_bytes()[v] == b' ' {
                v += 1;
            }
            let end = lower[v..]
                .find(|c: char| c.is_whitespace() || matches!(c, '&' | ';' | ',' | '"' | '\''))
                .map_or(lower.len(), |e| v + e);
            if end > v {
                cuts.push((v, end));
            }
        }
    }
    if cuts.is_empty() {
        return s.to_string();
    }
    cuts.sort_unstable();
    let mut out = String::with_capacity(s.len());
    let mut at = 0;
    for (a, b) in cuts {
        if a < at {
            continue;
        }
        out.push_str(&s[at..a]);
        out.push_str(REDACTED);
        at = b;
    }
    out.push_str(&s[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_naming_secrets_are_redacted_whatever_the_setting() {
        for k in [
            "admin_password",
            "backupLocationPassword",
            "api-token",
            "SSL_Key",
            "client_secret",
            "vmware-api-session-id",
            "Authorization",
            "smtp_passphrase",
        ] {
            assert!(secret_key(k), "{k}");
        }
        for k in [
            "listen",
            "keyboard",
            "monkey_count",
            "log_level",
            "data_dir",
        ] {
            assert!(!secret_key(k), "{k}");
        }
    }

    #[test]
    fn secrets_inside_text_are_redacted() {
        let v = value(&json!({
            "database_url": "postgres://fc:S3cret-Pw@db.example:5432/fc?sslmode=require",
            "dsn": "host=db user=fc password=Other-Pw1 dbname=x",
            "hook": "https://h.example/x?token=T0k3n&a=1",
            "pem": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----",
            "nested": [{"admin_password": "Initial-Pass-1", "port": 5}],
            "listen": "127.0.0.1:8443",
        }));
        let text = v.to_string();
        for secret in ["S3cret-Pw", "Other-Pw1", "T0k3n", "MIIB", "Initial-Pass-1"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(v["listen"], "127.0.0.1:8443");
        assert_eq!(v["nested"][0]["port"], 5);
        assert!(text.contains("postgres://fc:<redacted>@db.example:5432/fc"));
    }
}
