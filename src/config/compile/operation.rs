//! Compiling `operation:`: where the job's URLs come from, its conditions, waits and result.

use super::Compiler;
use crate::config::model::{ConditionSection, OperationSection, ResultFromSection, Text};
use crate::operation::{Condition, Operation, ResultSource, UrlSource};
use crate::template::value_text;
use reqwest::Method;
use reqwest::header::{HeaderName, LOCATION};
use serde_json::Value;
use serde_saphyr::Spanned;
use std::time::Duration;

impl Compiler<'_> {
    /// Compiles a tool's `operation:`; `schema` is the tool's input schema (path templates
    /// may use `args.*`, `caller.*` and `answer.*`).
    pub(super) fn operation(
        &mut self,
        section: &Spanned<OperationSection>,
        schema: &Value,
    ) -> Option<Operation> {
        let op = &section.value;
        let poll_url = self.url_source(op.poll.url_from.as_ref(), schema);
        let poll_method = self.method_or(op.poll.method.as_ref(), Method::GET);
        let interval = self.duration_or(op.poll.interval.as_ref(), Duration::from_secs(1));
        let max_interval = self.duration_or(op.poll.max_interval.as_ref(), Duration::from_secs(10));
        let timeout = self.duration_or(op.poll.timeout.as_ref(), Duration::from_secs(600));
        if let (Some(i), Some(m), Some(text)) = (interval, max_interval, &op.poll.max_interval)
            && m < i
        {
            self.problem(
                &text.referenced,
                "poll.max_interval must not be shorter than poll.interval",
            );
        }
        let done_when = self.condition(&op.done_when);
        let failed_when = op.failed_when.as_ref().map(|c| self.condition(c));
        let cancelled_when = op.cancelled_when.as_ref().map(|c| self.condition(c));
        let progress = op.progress.as_ref().map(|p| self.pointer(&p.value.pointer));
        let result = match &op.result_from {
            None => Some(ResultSource::Status(None)),
            Some(spanned) => self.result_source(spanned, schema),
        };
        let cancel = match &op.cancel {
            None => Some(None),
            Some(c) => {
                let method = self.method_or(c.value.method.as_ref(), Method::DELETE);
                let url = self.url_source(c.value.url_from.as_ref(), schema);
                method.zip(url).map(Some)
            }
        };
        Some(Operation {
            poll_url: poll_url?,
            poll_method: poll_method?,
            interval: interval?,
            max_interval: max_interval?,
            timeout: timeout?,
            done_when: done_when?,
            failed_when: failed_when.map_or(Some(None), |c| c.map(Some))?,
            cancelled_when: cancelled_when.map_or(Some(None), |c| c.map(Some))?,
            progress: progress.map_or(Some(None), |p| p.map(Some))?,
            result: result?,
            cancel: cancel?,
        })
    }

    /// `header.NAME`, `body./pointer` or a path template; `header.Location` when absent.
    fn url_source(&mut self, text: Option<&Text>, schema: &Value) -> Option<UrlSource> {
        let Some(text) = text else {
            return Some(UrlSource::Header(LOCATION));
        };
        let written = text.value.trim();
        if let Some(name) = written.strip_prefix("header.") {
            return match HeaderName::from_bytes(name.as_bytes()) {
                Ok(name) => Some(UrlSource::Header(name)),
                Err(_) => {
                    self.problem(
                        &text.referenced,
                        format!("'{name}' is not a valid header name"),
                    );
                    None
                }
            };
        }
        if let Some(pointer) = written.strip_prefix("body.") {
            let pointer = Text {
                value: pointer.to_owned(),
                referenced: text.referenced,
                defined: text.defined,
            };
            return self.pointer(&pointer).map(UrlSource::Body);
        }
        if written.starts_with('/') {
            return self.operation_path(text, schema).map(UrlSource::Path);
        }
        self.problem(
            &text.referenced,
            format!(
                "url_from '{written}' must be header.NAME, body./json/pointer or a path such as /jobs/{{{{answer.id}}}}"
            ),
        );
        None
    }

    fn result_source(
        &mut self,
        section: &Spanned<ResultFromSection>,
        schema: &Value,
    ) -> Option<ResultSource> {
        let at = section.referenced;
        let spanned = |value: &str| Text {
            value: value.to_owned(),
            referenced: at,
            defined: section.defined,
        };
        match &section.value {
            ResultFromSection::Body(written) => {
                let Some(pointer) = written.trim().strip_prefix("body.") else {
                    self.problem(
                        &at,
                        format!(
                            "result_from '{written}' must be body./json/pointer or {{ url_from: ... }}"
                        ),
                    );
                    return None;
                };
                self.pointer(&spanned(pointer))
                    .map(|p| ResultSource::Status((!p.is_empty()).then_some(p)))
            }
            ResultFromSection::Fetch(fetch) => {
                let method = match &fetch.method {
                    Some(m) => self.method_or(Some(&spanned(m)), Method::GET),
                    None => Some(Method::GET),
                };
                let url = self.url_source(Some(&spanned(&fetch.url_from)), schema);
                Some(ResultSource::Fetch(method?, url?))
            }
        }
    }

    fn condition(&mut self, section: &Spanned<ConditionSection>) -> Option<Condition> {
        let pointer = self.pointer(&section.value.pointer);
        if section.value.equals.is_empty() {
            self.problem(&section.referenced, "equals needs at least one value");
            return None;
        }
        Some(Condition {
            pointer: pointer?,
            equals: section
                .value
                .equals
                .iter()
                .map(|v| value_text(v).into_owned())
                .collect(),
        })
    }

    /// A JSON Pointer (empty: the whole document).
    fn pointer(&mut self, text: &Text) -> Option<String> {
        let value = text.value.trim();
        if value.is_empty() || value.starts_with('/') {
            Some(value.to_owned())
        } else {
            self.problem(
                &text.referenced,
                format!("'{value}' must be a JSON Pointer such as /state"),
            );
            None
        }
    }

    fn method_or(&mut self, text: Option<&Text>, default: Method) -> Option<Method> {
        match text {
            Some(text) => self.method(text),
            None => Some(default),
        }
    }

    fn duration_or(&mut self, text: Option<&Text>, default: Duration) -> Option<Duration> {
        match text {
            Some(text) => self.duration(text),
            None => Some(default),
        }
    }
}
