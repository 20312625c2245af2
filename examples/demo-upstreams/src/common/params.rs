//! Reading query parameters and JSON bodies, with a 400 naming the field on bad input.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::{Map, Value};

use super::ApiError;

/// A query string as a map; a repeated key keeps its last value.
pub(crate) type Query = web::Query<HashMap<String, String>>;

/// A query parameter, with an empty value treated as absent.
pub(crate) fn param<'a>(query: &'a Query, name: &str) -> Option<&'a str> {
    query
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// An integer query parameter in `min..=max`, or `default` when absent.
pub(crate) fn int_param(
    query: &Query,
    name: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ApiError> {
    let Some(raw) = param(query, name) else {
        return Ok(default);
    };
    match raw.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ if max == u64::MAX => Err(ApiError::invalid(
            name,
            format!("{name} must be an integer >= {min}"),
        )),
        _ => Err(ApiError::invalid(
            name,
            format!("{name} must be an integer between {min} and {max}"),
        )),
    }
}

/// A query parameter that must be one of `allowed`, if present.
pub(crate) fn enum_param<'a>(
    query: &'a Query,
    name: &'static str,
    allowed: &[&str],
) -> Result<Option<&'a str>, ApiError> {
    match param(query, name) {
        None => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v)),
        Some(_) => Err(ApiError::invalid(
            name,
            format!("{name} must be one of: {}", allowed.join(", ")),
        )),
    }
}

/// Reads a JSON object body of at most `max_bytes`.
pub(crate) async fn read_object(
    payload: web::Payload,
    max_bytes: usize,
) -> Result<Map<String, Value>, ApiError> {
    let bytes = match payload.to_bytes_limited(max_bytes).await {
        Err(_) => {
            return Err(ApiError::other(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("request body is larger than {max_bytes} bytes"),
            ));
        }
        Ok(Err(err)) => {
            return Err(ApiError::bad_request(format!(
                "could not read the request body: {err}"
            )));
        }
        Ok(Ok(bytes)) => bytes,
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("request body must be a JSON object")),
        Err(err) => Err(ApiError::bad_request(format!(
            "request body is not valid JSON: {err}"
        ))),
    }
}

/// An optional integer member of a JSON body in `min..=max`, or `default` when absent or null.
pub(crate) fn body_int(
    body: &Map<String, Value>,
    name: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) if (min..=max).contains(&v) => Ok(v),
            _ => Err(ApiError::invalid(
                name,
                format!("{name} must be an integer between {min} and {max}"),
            )),
        },
        Some(_) => Err(ApiError::invalid(
            name,
            format!("{name} must be an integer between {min} and {max}"),
        )),
    }
}

/// A required string member of a JSON body (not empty after trimming).
pub(crate) fn body_str<'a>(
    body: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, ApiError> {
    match body.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) => Err(ApiError::invalid(name, format!("{name} must not be empty"))),
        None | Some(Value::Null) => Err(ApiError::invalid(name, format!("{name} is required"))),
        Some(_) => Err(ApiError::invalid(name, format!("{name} must be a string"))),
    }
}

/// An optional string member of a JSON body; empty or null counts as absent.
pub(crate) fn body_opt_str<'a>(
    body: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(name, format!("{name} must be a string"))),
    }
}

/// Rejects members of `body` not named in `allowed`.
pub(crate) fn only_members(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(key) => Err(ApiError::invalid(
            key.clone(),
            format!("unknown member {key:?}; allowed: {}", allowed.join(", ")),
        )),
    }
}

/// Converts a serializable value to JSON, as an internal error on the (impossible) failure.
pub(crate) fn to_json<T: serde::Serialize>(value: T) -> Result<Value, ApiError> {
    serde_json::to_value(value).map_err(|_| ApiError::internal("serialization failed"))
}
