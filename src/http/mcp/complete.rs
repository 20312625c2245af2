//! `completion/complete` (both eras): suggestions for an argument of a prompt
//! (`ref/prompt`, from its `enum:`), of a tool (`ref/tool`, a toolgate extension: from the
//! `enum` of the property in its input schema) or of a resource template (`ref/resource`:
//! none, its variables are free text); a prompt or tool argument with `complete:` asks its
//! upstream instead (an upstream failure gives no suggestions, logged). At most 100 values,
//! those starting with what the user typed (ASCII case ignored), with `total` and `hasMore`.

use super::RequestContext;
use super::rpc::{INVALID_PARAMS, rpc_error, rpc_result};
use crate::caller::Access;
use crate::completion::UpstreamCompletion;
use crate::error::ErrorCode;
use crate::http::AppState;
use crate::template::value_text;
use serde_json::{Value, json};

/// The most values one answer carries (the specification's limit).
const MAX_VALUES: usize = 100;

/// Answers `completion/complete {ref, argument: {name, value}}`.
pub(super) async fn complete(
    state: &AppState,
    ctx: &RequestContext,
    id: Value,
    params: &Value,
) -> Value {
    let reference = params.get("ref").unwrap_or(&Value::Null);
    let (Some(kind), Some(argument), Some(typed)) = (
        reference.get("type").and_then(Value::as_str),
        params.pointer("/argument/name").and_then(Value::as_str),
        params.pointer("/argument/value").and_then(Value::as_str),
    ) else {
        return refuse(
            id,
            "completion/complete needs ref.type and argument.name and argument.value",
        );
    };
    let config = state.gateway.config();
    let visible =
        |name: &str, scopes: &[String]| ctx.caller.access(name, scopes) == Access::Allowed;
    let candidates: Vec<String> = match kind {
        "ref/prompt" => {
            let name = reference.get("name").and_then(Value::as_str).unwrap_or("");
            let Some(prompt) = config.prompt(name).filter(|_| visible(name, &[])) else {
                return refuse(id, &format!("unknown prompt '{name}'"));
            };
            match prompt.arguments.iter().find(|a| a.name == argument) {
                Some(found) => match &found.complete {
                    Some(upstream) => {
                        upstream_values(state, ctx, upstream, typed, name, argument).await
                    }
                    None => found.values.clone(),
                },
                None => {
                    return refuse(id, &format!("prompt '{name}' has no argument '{argument}'"));
                }
            }
        }
        "ref/tool" => {
            let name = reference.get("name").and_then(Value::as_str).unwrap_or("");
            let Some(tool) = config
                .tool(name)
                .filter(|tool| visible(name, &tool.required_scopes))
            else {
                return refuse(id, &format!("unknown tool '{name}'"));
            };
            let Some(property) = tool.input_schema().pointer(&format!(
                "/properties/{}",
                argument.replace('~', "~0").replace('/', "~1")
            )) else {
                return refuse(id, &format!("tool '{name}' has no argument '{argument}'"));
            };
            match tool.completions.iter().find(|(arg, _)| arg == argument) {
                Some((_, upstream)) => {
                    upstream_values(state, ctx, upstream, typed, name, argument).await
                }
                None => schema_values(property),
            }
        }
        "ref/resource" => {
            let uri = reference.get("uri").and_then(Value::as_str).unwrap_or("");
            if !config
                .resource_templates
                .iter()
                .any(|t| t.uri_template == uri)
            {
                return refuse(id, &format!("unknown resource template '{uri}'"));
            }
            Vec::new()
        }
        other => return refuse(id, &format!("unknown ref.type '{other}'")),
    };
    let typed = typed.to_ascii_lowercase();
    let matching: Vec<String> = candidates
        .into_iter()
        .filter(|value| value.to_ascii_lowercase().starts_with(&typed))
        .collect();
    let total = matching.len();
    let values: Vec<String> = matching.into_iter().take(MAX_VALUES).collect();
    rpc_result(
        id,
        json!({ "completion": { "values": values, "total": total, "hasMore": total > MAX_VALUES } }),
    )
}

/// The suggestions of an upstream completion for `argument` of `owner` (a prompt or a tool);
/// none when the upstream fails (logged).
async fn upstream_values(
    state: &AppState,
    ctx: &RequestContext,
    upstream: &UpstreamCompletion,
    typed: &str,
    owner: &str,
    argument: &str,
) -> Vec<String> {
    upstream
        .values(state.gateway.dispatch(), &ctx.caller, typed)
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(
                owner,
                argument,
                code = error.code.as_str(),
                "completion from the upstream failed: {}",
                error.message
            );
            Vec::new()
        })
}

/// The values a property schema allows: its `enum` (or `const`), or those of its array items.
fn schema_values(schema: &Value) -> Vec<String> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.iter().map(|v| value_text(v).into_owned()).collect();
    }
    if let Some(value) = schema.get("const") {
        return vec![value_text(value).into_owned()];
    }
    match schema.get("items") {
        Some(items) => schema_values(items),
        None => Vec::new(),
    }
}

fn refuse(id: Value, message: &str) -> Value {
    rpc_error(id, INVALID_PARAMS, message, ErrorCode::InvalidParameters)
}
