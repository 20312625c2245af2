//! `prompts/list` and `prompts/get` (both eras): the config's prompts that the caller's
//! allow-list lets it see, listed a page at a time and filled with arguments.

use super::RequestContext;
use super::methods::{cache_hints, page};
use super::rpc::{INVALID_PARAMS, rpc_call_error, rpc_error, rpc_result};
use crate::caller::Access;
use crate::error::ErrorCode;
use crate::http::AppState;
use serde_json::{Value, json};

/// `prompts/list`: the visible prompts, paginated like tools.
pub(super) fn list_prompts(
    state: &AppState,
    ctx: &RequestContext,
    id: Value,
    params: &Value,
) -> Value {
    let config = state.gateway.config();
    let prompts = config
        .prompts
        .iter()
        .filter(|p| ctx.caller.access(&p.name, &[]) == Access::Allowed)
        .map(|p| &p.descriptor)
        .collect();
    let mut reply = page(id, params, "prompts", prompts, config.server.page_size);
    cache_hints(ctx, state, &mut reply, false);
    reply
}

/// `prompts/get {name, arguments?}`: the filled messages; an unknown or hidden prompt, or
/// arguments that do not fit, are -32602.
pub(super) fn get_prompt(
    state: &AppState,
    ctx: &RequestContext,
    id: Value,
    params: &Value,
) -> Value {
    let Some(name) = params.get("name").and_then(Value::as_str) else {
        return rpc_error(
            id,
            INVALID_PARAMS,
            "prompts/get needs a string 'name'",
            ErrorCode::InvalidRequest,
        );
    };
    let config = state.gateway.config();
    let visible = config
        .prompt(name)
        .filter(|_| ctx.caller.access(name, &[]) == Access::Allowed);
    let Some(prompt) = visible else {
        let mut reply = rpc_error(
            id,
            INVALID_PARAMS,
            &format!("unknown prompt '{name}'"),
            ErrorCode::InvalidParameters,
        );
        reply["error"]["data"]["name"] = json!(name);
        return reply;
    };
    match prompt.get(params.get("arguments"), &ctx.caller) {
        Ok(result) => rpc_result(id, result),
        Err(error) => rpc_call_error(id, INVALID_PARAMS, &error),
    }
}
