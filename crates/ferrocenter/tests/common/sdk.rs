//! The official vSphere Automation SDK for Python, run as a script of `tests/vapi_sdk/`.
use std::time::Duration;

use serde_json::Value;

/// The SDK's python (`FERROCENTER_VAPI_PYTHON`, which `scripts/test.sh` sets); None when it is
/// not installed, which fails in CI.
pub fn sdk_python() -> Option<String> {
    match std::env::var("FERROCENTER_VAPI_PYTHON") {
        Ok(p) if std::path::Path::new(&p).exists() => Some(p),
        _ if std::env::var("CI").is_ok() => {
            panic!("FERROCENTER_VAPI_PYTHON is not set in CI: scripts/test.sh installs the SDK")
        }
        _ => None,
    }
}

/// Runs `tests/vapi_sdk/<script>` with `args`; it must succeed and print one JSON value.
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
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the SDK run {script} {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap()
}
