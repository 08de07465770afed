//! Running the official vSphere Automation SDK for Python against a test server: the
//! interpreter of its virtualenv, and a script of `tests/vapi_sdk/` run to one JSON line.
use std::time::Duration;

use serde_json::Value;

/// The SDK's python, named by `FERROCENTER_VAPI_PYTHON` (scripts/test.sh installs it); None
/// outside CI when it is not installed, so the test says it skipped.
pub fn sdk_python() -> Option<String> {
    match std::env::var("FERROCENTER_VAPI_PYTHON") {
        Ok(p) if std::path::Path::new(&p).exists() => Some(p),
        _ if std::env::var("CI").is_ok() => {
            panic!("FERROCENTER_VAPI_PYTHON is not set in CI: scripts/test.sh installs the SDK")
        }
        _ => None,
    }
}

/// Runs `tests/vapi_sdk/<script>` with `args`; its standard output, one JSON value.
pub async fn run_sdk(python: &str, script: &str, args: &[&str]) -> Value {
    let path = format!("{}/tests/vapi_sdk/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(python)
            .arg(&path)
            .args(args)
            .output(),
    )
    .await
    .expect("the SDK run ended")
    .expect("the SDK's python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script} {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).expect("the script printed one JSON value")
}
