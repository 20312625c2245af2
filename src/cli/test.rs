//! `toolgate test`: check every tool's `tests:` entries against the rendered requests.

use serde_json::{Value, json};
use std::path::Path;
use std::process::ExitCode;
use toolgate::caller::Caller;
use toolgate::gateway::prepare;
use toolgate::render::RenderedRequest;

/// Runs every test; exit 1 on any mismatch.
pub fn run(path: &Path) -> anyhow::Result<ExitCode> {
    let config = super::load(path)?;
    let caller = Caller::anonymous("standard");
    let (mut passed, mut failed) = (0, 0);
    for tool in &config.tools {
        for (index, (args, expect)) in tool.tests.iter().enumerate() {
            let outcome = match prepare(&config, &caller, &tool.name, Some(args.clone())) {
                Ok((_, request)) => observed(&request),
                Err(error) => json!({ "error": error.code.as_str() }),
            };
            match mismatch(expect, &outcome, "") {
                None => passed += 1,
                Some(why) => {
                    failed += 1;
                    println!("FAIL {} test #{}: {why}", tool.name, index + 1);
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The parts of a request a test can expect: method, path, query, headers, body.
fn observed(request: &RenderedRequest) -> Value {
    let query: serde_json::Map<String, Value> = request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), json!(v)))
        .collect();
    let headers: serde_json::Map<String, Value> = request
        .headers
        .iter()
        .filter(|(_, v)| !v.is_sensitive())
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                json!(String::from_utf8_lossy(v.as_bytes())),
            )
        })
        .collect();
    json!({
        "method": request.method.as_str(),
        "path": request.url.path(),
        "query": query,
        "headers": headers,
        "body": request.body,
    })
}

/// Where `actual` differs from `expected`; objects match when every expected member matches.
fn mismatch(expected: &Value, actual: &Value, at: &str) -> Option<String> {
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => want.iter().find_map(|(key, value)| {
            let path = format!("{at}/{key}");
            match have.get(key) {
                Some(found) => mismatch(value, found, &path),
                None => Some(format!("{path}: expected {value}, found nothing")),
            }
        }),
        _ if expected == actual => None,
        _ => Some(format!(
            "{}: expected {expected}, found {actual}",
            if at.is_empty() { "/" } else { at }
        )),
    }
}
