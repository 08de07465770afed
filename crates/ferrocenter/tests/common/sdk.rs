//! Runs Python client scripts against the server: tests/vapi_sdk/ with the official vSphere
//! Automation SDK for Python (`FERROCENTER_VAPI_PYTHON`), tests/vim_soap/ with pyVmomi and
//! tests/lookup_soap/ with suds (both `FERROCENTER_SOAP_PYTHON`); scripts/test.sh installs them
//! in virtualenvs. Each script prints one JSON object.
use std::time::Duration;

use serde_json::Value;

/// The Python that `var` names; `None` (the test says SKIPPED) outside CI when it is not
/// installed, a failure in CI, where scripts/test.sh installs it.
pub fn python_from_env(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(p) if std::path::Path::new(&p).exists() => Some(p),
        _ if std::env::var("CI").is_ok() => {
            panic!("{var} is not set in CI: scripts/test.sh installs its virtualenv")
        }
        _ => None,
    }
}

/// The vSphere Automation SDK's Python.
pub fn sdk_python() -> Option<String> {
    python_from_env("FERROCENTER_VAPI_PYTHON")
}

/// The SOAP clients' Python (pyVmomi, suds).
pub fn soap_python() -> Option<String> {
    python_from_env("FERROCENTER_SOAP_PYTHON")
}

/// `python tests/vapi_sdk/SCRIPT ARGS…`, which must succeed and print one JSON object.
pub async fn run_sdk_script(python: &str, script: &str, args: &[&str]) -> Value {
    run_script(python, "vapi_sdk", script, args).await
}

/// `python tests/vim_soap/SCRIPT ARGS…`, as `run_sdk_script`.
pub async fn run_soap_script(python: &str, script: &str, args: &[&str]) -> Value {
    run_script(python, "vim_soap", script, args).await
}

/// `python tests/DIR/SCRIPT ARGS…`, which must succeed and print one JSON object.
pub async fn run_script(python: &str, dir: &str, script: &str, args: &[&str]) -> Value {
    let path = format!("{}/tests/{dir}/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(python)
            .arg(&path)
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{script} {args:?} did not end within 120 s"))
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script} {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{script}: {e}: {stdout}"))
}
