//! JSON-RPC 2.0 on `POST /api`, as the official Python SDK speaks it. This issue validates the
//! envelope and answers every operation with `operation_not_found` naming it; the operation
//! registry serves the operations themselves.
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::errors::ApiError;
use crate::http_util::body_bytes;
use crate::AppState;

fn reply(body: Value) -> Response {
    // vAPI errors travel inside HTTP 200: the SDK raises on any other status before reading.
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn protocol_error(id: Value, code: i64, message: &str) -> Response {
    reply(json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}))
}

/// `{"ERROR":{"com.vmware.vapi.std.errors.<id>":{…}}}` with the typed wrappers of §2.
pub fn encode_error(e: &ApiError) -> Value {
    let (mapped, _) = e.fields();
    let args: Vec<&str> = mapped.args.iter().map(String::as_str).collect();
    let mut fields = json!({
        "messages": [{"STRUCTURE": {"com.vmware.vapi.std.localizable_message": {
            "id": mapped.message_id,
            "default_message": mapped.message,
            "args": args,
            "params": {"OPTIONAL": null},
            "localized": {"OPTIONAL": null},
        }}}],
        "data": {"OPTIONAL": null},
        "error_type": {"OPTIONAL": mapped.id.to_ascii_uppercase()},
    });
    if mapped.status == StatusCode::UNAUTHORIZED {
        fields["challenge"] = json!({"OPTIONAL": super::errors::CHALLENGE});
    }
    json!({"ERROR": {format!("com.vmware.vapi.std.errors.{}", mapped.id): fields}})
}

pub async fn invoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let bytes = match body_bytes(body, state.max_body_bytes) {
        Ok(b) => b,
        Err(e) => return protocol_error(Value::Null, -32600, &e.to_string()),
    };
    let req: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return protocol_error(Value::Null, -32700, "Parse error"),
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    if req.get("jsonrpc").and_then(Value::as_str) != Some("2.0") || !req.is_object() {
        return protocol_error(Value::Null, -32600, "Invalid Request");
    }
    if req.get("method").and_then(Value::as_str) != Some("invoke") {
        return protocol_error(id, -32601, "Method not found: only 'invoke' exists");
    }
    let params = req.get("params");
    let service = params
        .and_then(|p| p.get("serviceId"))
        .and_then(Value::as_str);
    let operation = params
        .and_then(|p| p.get("operationId"))
        .and_then(Value::as_str);
    let (Some(service), Some(operation)) = (service, operation) else {
        return protocol_error(
            id,
            -32602,
            "Invalid params: serviceId and operationId are required",
        );
    };
    for (h, v) in [("vapi-service", service), ("vapi-operation", operation)] {
        if let Some(hv) = headers.get(h) {
            if hv.to_str().ok() != Some(v) {
                return protocol_error(id, -31001, &format!("header {h} does not match the body"));
            }
        }
    }
    let err = ApiError::OperationNotFound(format!("{service}.{operation}"));
    reply(json!({"jsonrpc": "2.0", "id": id, "result": {"error": encode_error(&err)}}))
}
