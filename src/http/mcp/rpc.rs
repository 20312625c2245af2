//! JSON-RPC 2.0 envelopes and error codes.

use crate::error::{CallError, ErrorCode};
use serde_json::{Value, json};

/// Invalid JSON.
pub const PARSE_ERROR: i64 = -32700;
/// Not a valid JSON-RPC request.
pub const INVALID_REQUEST: i64 = -32600;
/// Unknown method.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Invalid method parameters (also: unknown tool).
pub const INVALID_PARAMS: i64 = -32602;
/// Internal error.
pub const INTERNAL_ERROR: i64 = -32603;
/// Resource not found (MCP 2025-11-25 and earlier; 2026-07-28 uses -32602).
pub const RESOURCE_NOT_FOUND: i64 = -32002;
/// HTTP headers disagree with the body, or a required one is missing (MCP 2026-07-28).
pub const HEADER_MISMATCH: i64 = -32020;
/// The request's protocol version is not served (MCP 2026-07-28).
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
/// The request needs a client capability it did not declare (MCP 2026-07-28).
pub const MISSING_CLIENT_CAPABILITY: i64 = -32021;

/// The HTTP status of a JSON-RPC error in the 2026-07-28 revision (the table of its
/// Streamable HTTP transport): malformed, invalid or mismatched requests are 400, an unknown
/// method is 404, anything else travels with 200.
pub fn modern_status(code: i64) -> u16 {
    match code {
        PARSE_ERROR
        | INVALID_REQUEST
        | INVALID_PARAMS
        | HEADER_MISMATCH
        | UNSUPPORTED_PROTOCOL_VERSION => 400,
        METHOD_NOT_FOUND => 404,
        _ => 200,
    }
}

/// The JSON-RPC error code of a reply, if it is an error.
pub fn error_code(reply: &Value) -> Option<i64> {
    reply.get("error")?.get("code")?.as_i64()
}

/// A notification.
pub fn notification(method: &str, params: Value) -> Value {
    envelope([
        ("method", Value::String(method.to_owned())),
        ("params", params),
    ])
}

/// A successful response.
pub fn rpc_result(id: Value, result: Value) -> Value {
    envelope([("id", id), ("result", result)])
}

/// An error response whose `data.code` carries the CONTRACT §4 code.
pub fn rpc_error(id: Value, code: i64, message: &str, contract_code: ErrorCode) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": message, "data": { "code": contract_code.as_str() } },
    })
}

/// An error response built from a call error, keeping its details.
pub fn rpc_call_error(id: Value, code: i64, error: &CallError) -> Value {
    let mut reply = rpc_error(id, code, &error.message, error.code);
    if !error.details.is_null() {
        reply["error"]["data"]["details"] = error.details.clone();
    }
    reply
}

/// `{"jsonrpc":"2.0", ...members}`, moving the members in (`json!` would deep-copy them).
fn envelope<const N: usize>(members: [(&str, Value); N]) -> Value {
    let mut object = serde_json::Map::with_capacity(N + 1);
    object.insert("jsonrpc".into(), Value::String("2.0".into()));
    for (key, value) in members {
        object.insert(key.into(), value);
    }
    Value::Object(object)
}
