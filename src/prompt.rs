//! A compiled prompt (`prompts:`): its MCP descriptor and message templates, filled by
//! `prompts/get`. Nothing is sent upstream.

use crate::caller::Caller;
use crate::config::model::PromptRole;
use crate::error::{CallError, ErrorCode};
use crate::template::{Context, Template};
use serde_json::{Map, Value, json};

/// One prompt, compiled from a `prompts:` entry.
#[derive(Debug)]
pub struct Prompt {
    /// Unique name.
    pub name: String,
    /// The MCP `Prompt` object served by `prompts/list`, built once.
    pub descriptor: Value,
    /// The arguments, in order.
    pub arguments: Vec<PromptArgument>,
    /// The messages: speaker and text template.
    pub messages: Vec<(PromptRole, Template)>,
    /// The description, repeated in `prompts/get` results.
    pub description: Option<String>,
}

/// One argument of a prompt.
#[derive(Debug)]
pub struct PromptArgument {
    /// Its name (`{{args.NAME}}`).
    pub name: String,
    /// Whether `prompts/get` needs it.
    pub required: bool,
    /// The values it may take (`enum:`), offered by `completion/complete`; empty for any.
    pub values: Vec<String>,
    /// Where `completion/complete` asks for suggestions instead (`complete:`).
    pub complete: Option<crate::completion::UpstreamCompletion>,
}

impl Prompt {
    /// The `GetPromptResult` for these arguments (a JSON object of strings): every required
    /// argument present, no undeclared one, each message filled. A refusal is
    /// `invalid_parameters` naming the argument.
    pub fn get(&self, arguments: Option<&Value>, caller: &Caller) -> Result<Value, CallError> {
        let given = match arguments {
            None | Some(Value::Null) => &Map::new(),
            Some(Value::Object(given)) => given,
            Some(_) => {
                return Err(CallError::invalid_parameter(
                    "/",
                    "arguments must be an object of strings",
                ));
            }
        };
        if let Some(unknown) = given
            .keys()
            .find(|key| !self.arguments.iter().any(|a| a.name == **key))
        {
            return Err(CallError::invalid_parameter(
                &format!("/{unknown}"),
                format!("prompt '{}' has no argument '{unknown}'", self.name),
            ));
        }
        let mut args = Map::with_capacity(self.arguments.len());
        for PromptArgument {
            name,
            required,
            values,
            ..
        } in &self.arguments
        {
            let value = match given.get(name) {
                Some(Value::String(text)) if !values.is_empty() && !values.contains(text) => {
                    return Err(CallError::invalid_parameter(
                        &format!("/{name}"),
                        format!("must be one of: {}", values.join(", ")),
                    ));
                }
                Some(Value::String(text)) => text.clone(),
                Some(_) => {
                    return Err(CallError::invalid_parameter(
                        &format!("/{name}"),
                        "prompt arguments are strings",
                    ));
                }
                None if *required => {
                    return Err(CallError::invalid_parameter(
                        &format!("/{name}"),
                        format!("prompt '{}' needs the argument '{name}'", self.name),
                    ));
                }
                None => String::new(),
            };
            args.insert(name.clone(), Value::String(value));
        }
        let args = Value::Object(args);
        let ctx = Context {
            args: &args,
            caller,
            answer: &crate::template::NO_ANSWER,
        };
        let mut messages = Vec::with_capacity(self.messages.len());
        for (role, template) in &self.messages {
            let text = match template.render(&ctx, |value, out| {
                out.push_str(value);
                Ok(())
            }) {
                Ok(Some(text)) => text,
                Ok(None) | Err(_) => {
                    return Err(CallError::new(
                        ErrorCode::InvalidParameters,
                        format!(
                            "prompt '{}' uses a caller field this caller does not have",
                            self.name
                        ),
                    ));
                }
            };
            let role = match role {
                PromptRole::User => "user",
                PromptRole::Assistant => "assistant",
            };
            messages.push(json!({ "role": role, "content": { "type": "text", "text": text } }));
        }
        let mut result = Map::new();
        if let Some(description) = &self.description {
            result.insert("description".into(), Value::String(description.clone()));
        }
        result.insert("messages".into(), Value::Array(messages));
        Ok(Value::Object(result))
    }
}
