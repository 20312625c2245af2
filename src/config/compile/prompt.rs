//! Compiling `prompts:` entries: names, arguments, message templates (only declared
//! arguments and caller fields) and the MCP `Prompt` descriptor; and the `complete:` blocks
//! of prompt and tool arguments.

use super::{Compiler, Upstreams};
use crate::completion::UpstreamCompletion;
use crate::config::model::CompleteSection;
use crate::config::model::PromptSection;
use crate::prompt::{Prompt, PromptArgument};
use crate::template::{Root, Template};
use serde_json::{Map, Value};

impl Compiler<'_> {
    pub(super) fn prompt(
        &mut self,
        section: &PromptSection,
        upstreams: &Upstreams,
    ) -> Option<Prompt> {
        let name = section.name.value.clone();
        let mut ok = self.check_name(&section.name, "prompt");
        let title = section.title.as_ref().and_then(|t| self.text(t));
        let description = section.description.as_ref().and_then(|d| self.text(d));
        let mut arguments: Vec<PromptArgument> = Vec::new();
        let mut listed = Vec::new();
        for argument in &section.arguments {
            let arg = argument.name.value.clone();
            let valid =
                !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid || arguments.iter().any(|seen| seen.name == arg) {
                self.problem(
                    &argument.name.referenced,
                    format!("prompt argument '{arg}' must be a unique name of A-Z a-z 0-9 _"),
                );
                ok = false;
                continue;
            }
            let mut entry = Map::new();
            entry.insert("name".into(), Value::String(arg.clone()));
            if let Some(text) = argument.description.as_ref().and_then(|d| self.text(d)) {
                entry.insert("description".into(), Value::String(text));
            }
            entry.insert("required".into(), Value::Bool(argument.required));
            listed.push(Value::Object(entry));
            let mut values = Vec::with_capacity(argument.values.len());
            for value in &argument.values {
                values.push(self.text(value)?);
            }
            let complete = match &argument.complete {
                Some(complete) => {
                    let compiled = self.completion(complete, upstreams);
                    ok &= compiled.is_some();
                    compiled
                }
                None => None,
            };
            arguments.push(PromptArgument {
                name: arg,
                required: argument.required,
                values,
                complete,
            });
        }
        if section.messages.is_empty() {
            self.problem(
                &section.name.referenced,
                format!("prompt '{name}' needs at least one message"),
            );
            ok = false;
        }
        let mut messages = Vec::with_capacity(section.messages.len());
        for message in &section.messages {
            let Some(text) = self.text(&message.text) else {
                ok = false;
                continue;
            };
            let template = match Template::parse(&text) {
                Ok(template) => template,
                Err(why) => {
                    self.problem(&message.text.referenced, why);
                    ok = false;
                    continue;
                }
            };
            for var in template.vars() {
                let declared = match var.root {
                    Root::Args => {
                        var.path.len() == 1 && arguments.iter().any(|a| a.name == var.path[0])
                    }
                    Root::Caller => true,
                    _ => false,
                };
                if !declared {
                    self.problem(
                        &message.text.referenced,
                        format!(
                            "'{}' is not an argument of prompt '{name}' (declare it under arguments)",
                            var.display()
                        ),
                    );
                    ok = false;
                }
            }
            messages.push((message.role, template));
        }
        let mut descriptor = Map::new();
        descriptor.insert("name".into(), Value::String(name.clone()));
        if let Some(title) = title {
            descriptor.insert("title".into(), Value::String(title));
        }
        if let Some(text) = &description {
            descriptor.insert("description".into(), Value::String(text.clone()));
        }
        descriptor.insert("arguments".into(), Value::Array(listed));
        ok.then_some(Prompt {
            name,
            descriptor: Value::Object(descriptor),
            arguments,
            messages,
            description,
        })
    }

    /// A `complete:` block (of a prompt argument or a tool argument): its request, where
    /// `{{args.value}}` is the text typed so far, and its `pick`.
    pub(super) fn completion(
        &mut self,
        complete: &CompleteSection,
        upstreams: &Upstreams,
    ) -> Option<UpstreamCompletion> {
        let schema = serde_json::json!({
            "type": "object",
            "properties": { "value": { "type": "string" } },
            "required": [ "value" ],
        });
        let request = self.request(&complete.request, upstreams, Some(&schema))?;
        let pick = complete.pick.as_ref().and_then(|p| self.text(p));
        Some(UpstreamCompletion { request, pick })
    }
}
