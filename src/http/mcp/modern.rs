//! The stateless 2026-07-28 revision: which requests belong to it, and the checks every one
//! of them passes before it is dispatched — the per-request `_meta` envelope, the headers
//! that mirror the body (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`, `Mcp-Param-*`)
//! and the version itself.

use super::rpc::{HEADER_MISMATCH, INVALID_PARAMS, UNSUPPORTED_PROTOCOL_VERSION};
use crate::error::ErrorCode;
use crate::http::session::Level;
use actix_web::HttpRequest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

/// The stateless revisions this server speaks.
pub const MODERN_VERSIONS: [&str; 1] = ["2026-07-28"];
/// `_meta` key: the request's protocol version (required).
pub const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key: the client's capabilities for this request (required).
pub const CLIENT_CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key: the lowest log level the client wants for this request (optional).
pub const LOG_LEVEL_KEY: &str = "io.modelcontextprotocol/logLevel";
/// Result `_meta` key: who answered.
pub const SERVER_INFO_KEY: &str = "io.modelcontextprotocol/serverInfo";

const VERSION_HEADER: &str = "mcp-protocol-version";
const METHOD_HEADER: &str = "mcp-method";
const NAME_HEADER: &str = "mcp-name";
const PARAM_HEADER_PREFIX: &str = "mcp-param-";

/// Methods that exist only in the stateless revision: a request for one is served by it
/// whatever its headers say (and is refused there if its envelope is missing).
const MODERN_ONLY_METHODS: [&str; 2] = ["server/discover", "subscriptions/listen"];

/// Whether a POST body is served by the stateless revision: its `MCP-Protocol-Version`
/// header names that revision, its params carry the per-request protocol version, or its
/// method exists only there. Everything else is served by the handshake revisions.
pub fn is_modern(req: &HttpRequest, message: &Value) -> bool {
    let header_is_modern = req
        .headers()
        .get(VERSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| MODERN_VERSIONS.contains(&v.trim()));
    let Value::Object(message) = message else {
        // A batch is a handshake-era thing, unless the client says it speaks 2026-07-28
        // (which then refuses it).
        return header_is_modern;
    };
    let meta_names_version = message
        .get("params")
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(PROTOCOL_VERSION_KEY))
        .is_some();
    let modern_method = message
        .get("method")
        .and_then(Value::as_str)
        .is_some_and(|m| MODERN_ONLY_METHODS.contains(&m));
    header_is_modern || meta_names_version || modern_method
}

/// What a valid stateless request declared about itself.
#[derive(Debug)]
pub struct Envelope {
    /// The protocol version (one of [`MODERN_VERSIONS`]).
    pub version: String,
    /// The log level the client opted in to, if any.
    pub log_level: Option<Level>,
}

/// A refused request: the JSON-RPC error code, message and `data` (without the CONTRACT
/// code, added by the caller).
#[derive(Debug)]
pub struct Refusal {
    /// JSON-RPC error code.
    pub code: i64,
    /// Message.
    pub message: String,
    /// Extra members of `error.data`.
    pub data: Map<String, Value>,
}

impl Refusal {
    fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: Map::new(),
        }
    }

    fn mismatch(message: impl Into<String>) -> Self {
        Self::new(HEADER_MISMATCH, message)
    }

    /// The JSON-RPC error response for request `id`.
    pub fn reply(self, id: Value) -> Value {
        let mut reply =
            super::rpc::rpc_error(id, self.code, &self.message, ErrorCode::InvalidRequest);
        if let Some(data) = reply["error"]["data"].as_object_mut() {
            data.extend(self.data);
        }
        reply
    }
}

/// A header's value, trimmed of optional whitespace.
enum Header {
    Missing,
    Repeated,
    Unreadable,
    Value(String),
}

fn header(req: &HttpRequest, name: &str) -> Header {
    let mut values = req.headers().get_all(name);
    let Some(first) = values.next() else {
        return Header::Missing;
    };
    if values.next().is_some() {
        return Header::Repeated;
    }
    match first.to_str() {
        Ok(value) => Header::Value(value.trim().to_owned()),
        Err(_) => Header::Unreadable,
    }
}

/// The versions to name in an `UnsupportedProtocolVersion` error and in `server/discover`:
/// the stateless ones first, then the handshake ones (reachable with `initialize`).
pub fn supported_versions() -> Vec<&'static str> {
    MODERN_VERSIONS
        .iter()
        .chain(super::LEGACY_VERSIONS.iter())
        .copied()
        .collect()
}

/// The `UnsupportedProtocolVersion` refusal for `requested`.
pub fn unsupported(requested: &str) -> Refusal {
    let mut refusal = Refusal::new(UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version");
    refusal
        .data
        .insert("supported".into(), json!(supported_versions()));
    refusal.data.insert("requested".into(), json!(requested));
    refusal
}

/// Runs the checks of a stateless request, in the order the revision's reference
/// implementations use (first failure wins): the `_meta` envelope (-32602), the mirrored
/// headers (-32020), then the version (-32022) and the optional log level (-32602).
pub fn check(req: &HttpRequest, method: &str, params: &Value) -> Result<Envelope, Refusal> {
    let Some(meta) = params.get("_meta").and_then(Value::as_object) else {
        return Err(Refusal::new(
            INVALID_PARAMS,
            format!(
                "params._meta must be an object carrying '{PROTOCOL_VERSION_KEY}' and '{CLIENT_CAPABILITIES_KEY}'"
            ),
        ));
    };
    let missing: Vec<&str> = [PROTOCOL_VERSION_KEY, CLIENT_CAPABILITIES_KEY]
        .into_iter()
        .filter(|key| !meta.contains_key(*key))
        .collect();
    if !missing.is_empty() {
        return Err(Refusal::new(
            INVALID_PARAMS,
            format!(
                "params._meta is missing the required key(s): {}",
                missing.join(", ")
            ),
        ));
    }
    let version = &meta[PROTOCOL_VERSION_KEY];
    for name in [VERSION_HEADER, METHOD_HEADER, NAME_HEADER] {
        if matches!(header(req, name), Header::Repeated) {
            return Err(Refusal::mismatch(format!(
                "the {name} header appears more than once"
            )));
        }
    }
    match header(req, VERSION_HEADER) {
        Header::Value(value) if version.as_str() == Some(value.as_str()) => {}
        Header::Missing => {
            return Err(Refusal::mismatch(
                "the MCP-Protocol-Version header is missing",
            ));
        }
        _ => {
            return Err(Refusal::mismatch(
                "the MCP-Protocol-Version header does not match params._meta's protocol version",
            ));
        }
    }
    match header(req, METHOD_HEADER) {
        Header::Value(value) if value == method => {}
        Header::Missing => return Err(Refusal::mismatch("the Mcp-Method header is missing")),
        _ => {
            return Err(Refusal::mismatch(
                "the Mcp-Method header does not match the request's method",
            ));
        }
    }
    let name_key = match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        "tasks/get" | "tasks/update" | "tasks/cancel" => Some("taskId"),
        _ => None,
    };
    if let Some(key) = name_key
        && let Some(body_value) = params.get(key).filter(|v| !v.is_null())
    {
        match header(req, NAME_HEADER) {
            Header::Value(value)
                if decode_header_value(&value).as_deref() == body_value.as_str() => {}
            Header::Missing => {
                return Err(Refusal::mismatch(format!(
                    "the Mcp-Name header is missing (params.{key} is present)"
                )));
            }
            _ => {
                return Err(Refusal::mismatch(format!(
                    "the Mcp-Name header does not match params.{key}"
                )));
            }
        }
    }
    let Some(version) = version.as_str() else {
        return Err(Refusal::new(
            INVALID_PARAMS,
            "the protocol version in params._meta must be a string",
        ));
    };
    if !MODERN_VERSIONS.contains(&version) {
        return Err(unsupported(version));
    }
    let log_level = match meta.get(LOG_LEVEL_KEY) {
        None | Some(Value::Null) => None,
        Some(level) => Some(level.as_str().and_then(Level::parse).ok_or_else(|| {
            Refusal::new(
                INVALID_PARAMS,
                format!(
                    "'{LOG_LEVEL_KEY}' must be one of debug, info, notice, warning, error, critical, alert, emergency"
                ),
            )
        })?),
    };
    Ok(Envelope {
        version: version.to_owned(),
        log_level,
    })
}

/// Decodes a header value that may use the `=?base64?…?=` sentinel; `None` when the sentinel
/// holds invalid or non-canonical base64 or not UTF-8. Any other value is taken literally.
pub fn decode_header_value(value: &str) -> Option<String> {
    let Some(payload) = value
        .strip_prefix("=?base64?")
        .and_then(|rest| rest.strip_suffix("?="))
    else {
        return Some(value.to_owned());
    };
    let bytes = STANDARD.decode(payload).ok()?;
    if STANDARD.encode(&bytes) != payload {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// Checks the `Mcp-Param-*` headers of a `tools/call` against its arguments, for every
/// property of the tool's input schema annotated with `x-mcp-header`: each annotated value
/// present in the arguments must come with its header, equal after decoding, and a header
/// must not come without its value. A schema whose annotations are invalid is not used for
/// this (conforming clients drop such a tool and send no headers).
pub fn check_param_headers(
    req: &HttpRequest,
    input_schema: &Value,
    arguments: Option<&Value>,
) -> Result<(), Refusal> {
    let Some(annotated) = annotated_properties(input_schema) else {
        return Ok(());
    };
    for (path, token, property_type) in annotated {
        let header_name = format!("Mcp-Param-{token}");
        let lookup = header(
            req,
            &format!("{PARAM_HEADER_PREFIX}{}", token.to_ascii_lowercase()),
        );
        let value = path
            .iter()
            .try_fold(arguments.unwrap_or(&Value::Null), |node, key| node.get(key))
            .filter(|v| !v.is_null());
        let raw = match lookup {
            Header::Repeated => {
                return Err(Refusal::mismatch(format!(
                    "the {header_name} header appears more than once"
                )));
            }
            Header::Unreadable => {
                return Err(Refusal::mismatch(format!(
                    "the {header_name} header holds characters a header value may not"
                )));
            }
            Header::Missing => None,
            Header::Value(raw) => Some(raw),
        };
        let argument = path.join(".");
        let Some(value) = value else {
            if raw.is_some() {
                return Err(Refusal::mismatch(format!(
                    "the {header_name} header is present but argument '{argument}' is not"
                )));
            }
            continue;
        };
        let rendered = match value {
            Value::Bool(b) => b.to_string(),
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => {
                if raw.is_some() {
                    return Err(Refusal::mismatch(format!(
                        "the {header_name} header does not match argument '{argument}'"
                    )));
                }
                continue;
            }
        };
        let Some(raw) = raw else {
            return Err(Refusal::mismatch(format!(
                "the {header_name} header is missing but argument '{argument}' is present"
            )));
        };
        let Some(decoded) = decode_header_value(&raw) else {
            return Err(Refusal::mismatch(format!(
                "the {header_name} header holds a malformed base64 value"
            )));
        };
        let equal = if property_type == "integer" && value.is_number() {
            numeric_equal(&decoded, value)
        } else {
            decoded == rendered
        };
        if !equal {
            return Err(Refusal::mismatch(format!(
                "the {header_name} header does not match argument '{argument}'"
            )));
        }
    }
    Ok(())
}

/// An integer argument compared numerically with a canonical decimal header (`42` = `42.0`).
fn numeric_equal(header: &str, value: &Value) -> bool {
    let (whole, fraction) = header.split_once('.').unwrap_or((header, ""));
    let canonical = !whole.is_empty()
        && whole
            .strip_prefix('-')
            .unwrap_or(whole)
            .bytes()
            .all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b == b'0');
    if !canonical {
        return false;
    }
    match (
        whole.parse::<i128>(),
        value.as_i64(),
        value.as_u64(),
        value.as_f64(),
    ) {
        (Ok(h), Some(v), _, _) => h == i128::from(v),
        (Ok(h), None, Some(v), _) => h == i128::from(v),
        (Ok(h), None, None, Some(v)) => v.fract() == 0.0 && (h as f64) == v,
        _ => false,
    }
}

/// The properties annotated with `x-mcp-header`, as (path of `properties` keys, header
/// token, JSON type); `None` when any annotation is invalid (not on a property reachable
/// through `properties` alone, not a token, not on a string/integer/boolean property, or
/// repeated).
fn annotated_properties(schema: &Value) -> Option<Vec<(Vec<String>, String, String)>> {
    let mut found: Vec<(Vec<String>, String, String)> = Vec::new();
    let mut stack: Vec<(Option<Vec<String>>, &Value)> = vec![(Some(Vec::new()), schema)];
    while let Some((path, node)) = stack.pop() {
        let Value::Object(node) = node else { continue };
        if let Some(token) = node.get("x-mcp-header") {
            let path = path.clone().filter(|p| !p.is_empty())?;
            let token = token.as_str()?;
            let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            if token.is_empty() || !token.bytes().all(tchar) {
                return None;
            }
            let kind = node.get("type").and_then(Value::as_str)?;
            if !matches!(kind, "string" | "integer" | "boolean") {
                return None;
            }
            if found
                .iter()
                .any(|(_, other, _)| other.eq_ignore_ascii_case(token))
            {
                return None;
            }
            found.push((path.clone(), token.to_owned(), kind.to_owned()));
        }
        for (keyword, value) in node {
            match (keyword.as_str(), value) {
                ("properties", Value::Object(properties)) => {
                    for (name, sub) in properties {
                        let sub_path = path.clone().map(|mut p| {
                            p.push(name.clone());
                            p
                        });
                        stack.push((sub_path, sub));
                    }
                }
                (
                    "items"
                    | "contains"
                    | "unevaluatedItems"
                    | "additionalProperties"
                    | "propertyNames"
                    | "unevaluatedProperties"
                    | "not"
                    | "if"
                    | "then"
                    | "else"
                    | "contentSchema",
                    sub,
                ) => stack.push((None, sub)),
                ("allOf" | "anyOf" | "oneOf" | "prefixItems", Value::Array(subs)) => {
                    stack.extend(subs.iter().map(|sub| (None, sub)));
                }
                (
                    "patternProperties" | "dependentSchemas" | "$defs" | "definitions",
                    Value::Object(subs),
                ) => stack.extend(subs.values().map(|sub| (None, sub))),
                _ => {}
            }
        }
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_sentinels_decode_and_anything_else_is_literal() {
        assert_eq!(
            decode_header_value("=?base64?SGVsbG8=?=").as_deref(),
            Some("Hello")
        );
        assert_eq!(
            decode_header_value("=?base64?SGVsbG8?=").as_deref(),
            None,
            "no padding"
        );
        assert_eq!(
            decode_header_value("=?base64?SGVs!!!bG8=?=").as_deref(),
            None
        );
        assert_eq!(decode_header_value("SGVsbG8=").as_deref(), Some("SGVsbG8="));
        assert_eq!(
            decode_header_value("=?base64?SGVsbG8=").as_deref(),
            Some("=?base64?SGVsbG8=")
        );
        assert_eq!(
            decode_header_value("=?base64?SGVsbG8sIOS4lueVjA==?=").as_deref(),
            Some("Hello, 世界")
        );
    }

    #[test]
    fn only_statically_reachable_valid_annotations_count() {
        let schema = json!({
            "type": "object",
            "properties": {
                "region": { "type": "string", "x-mcp-header": "Region" },
                "nested": { "type": "object", "properties": {
                    "n": { "type": "integer", "x-mcp-header": "N" } } },
                "plain": { "type": "string" },
            },
        });
        let mut found = annotated_properties(&schema).unwrap();
        found.sort();
        assert_eq!(
            found,
            vec![
                (
                    vec!["nested".into(), "n".into()],
                    "N".into(),
                    "integer".into()
                ),
                (vec!["region".into()], "Region".into(), "string".into()),
            ]
        );
        for bad in [
            json!({ "properties": { "a": { "type": "number", "x-mcp-header": "A" } } }),
            json!({ "properties": { "a": { "type": "string", "x-mcp-header": "A B" } } }),
            json!({ "items": { "type": "string", "x-mcp-header": "A" } }),
            json!({ "properties": {
                "a": { "type": "string", "x-mcp-header": "X" },
                "b": { "type": "string", "x-mcp-header": "x" } } }),
        ] {
            assert_eq!(annotated_properties(&bad), None, "{bad}");
        }
    }

    #[test]
    fn integers_compare_numerically() {
        assert!(numeric_equal("42", &json!(42)));
        assert!(numeric_equal("42.0", &json!(42)));
        assert!(numeric_equal("-7", &json!(-7)));
        assert!(!numeric_equal("42.5", &json!(42)));
        assert!(!numeric_equal("4e1", &json!(40)));
        assert!(!numeric_equal("", &json!(0)));
    }
}
