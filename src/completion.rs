//! Suggestions for `completion/complete` from an upstream call (`complete:` of a prompt
//! argument or of a tool argument): the request rendered with `{{args.value}}` = the text
//! typed so far, its JSON answer read as a list of values.

use crate::caller::Caller;
use crate::error::{CallError, ErrorCode};
use serde_json::{Value, json};

/// An upstream call listing suggestions for an argument.
#[derive(Debug)]
pub struct UpstreamCompletion {
    /// The request; `{{args.value}}` is the text typed so far.
    pub request: crate::render::RequestTemplate,
    /// JSON Pointer to the array in the answer.
    pub pick: Option<String>,
}

impl UpstreamCompletion {
    /// The suggestions: the request rendered with `{{args.value}}` = `typed`, its JSON answer
    /// (at `pick`) read as a list of values, each as text.
    pub async fn values(
        &self,
        dispatch: &crate::forward::Dispatch,
        caller: &Caller,
        typed: &str,
    ) -> Result<Vec<String>, CallError> {
        let args = json!({ "value": typed });
        let request = self.request.render(&args, caller)?;
        let answer = dispatch.send(caller, request).await?;
        let crate::shape::Body::Json(value) = crate::shape::read_body(&answer, None)? else {
            return Err(CallError::new(
                ErrorCode::UpstreamError,
                "the completion answer is not JSON",
            ));
        };
        let list = match &self.pick {
            Some(pointer) => value.pointer(pointer).cloned().unwrap_or(Value::Null),
            None => value,
        };
        match list {
            Value::Array(items) => Ok(items
                .iter()
                .map(|item| crate::template::value_text(item).into_owned())
                .collect()),
            _ => Err(CallError::new(
                ErrorCode::UpstreamError,
                "the completion answer holds no array of values at its pick",
            )),
        }
    }
}
