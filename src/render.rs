//! Rendering a tool's request template into the exact upstream request, safely.
//!
//! Safety is by construction: each path value is percent-encoded as one segment and may not be
//! empty, `.` or `..`; query entries go through a form encoder; header values may not contain
//! CR, LF or NUL; the body is a JSON tree, so values can never break out of their string. The
//! final URL is checked to still point at the upstream's scheme, host, port and base path.

use crate::caller::Caller;
use crate::error::CallError;
use crate::template::{Context, Root, Template, VarRef, value_text};
use crate::upstream::Upstream;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Bytes kept as they are in a path segment: RFC 3986 unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The length of the longest spelling of a `.` or `..` path segment (`%2e%2e`).
const MAX_DOT_SEGMENT_LEN: usize = 6;

/// A JSON body template: a tree whose string leaves are templates.
#[derive(Clone, Debug)]
pub enum BodyTemplate {
    /// A JSON object; members whose value is absent are left out.
    Object(Vec<(String, BodyTemplate)>),
    /// A JSON array; absent elements are left out.
    Array(Vec<BodyTemplate>),
    /// A leaf that is exactly one `{{...}}`: the value keeps its JSON type.
    Typed(VarRef),
    /// A string leaf mixing text and values: renders to a JSON string.
    Text(Template),
    /// A constant (number, boolean, null, or string without `{{`).
    Literal(Value),
}

/// The compiled upstream call of a tool or resource.
#[derive(Clone, Debug)]
pub struct RequestTemplate {
    /// Where the call goes.
    pub upstream: Arc<Upstream>,
    /// HTTP method.
    pub method: Method,
    /// Path below the upstream's base URL.
    pub path: Template,
    /// Query entries in order.
    pub query: Vec<(String, Template)>,
    /// Extra headers.
    pub headers: Vec<(HeaderName, Template)>,
    /// JSON body, if any.
    pub body: Option<BodyTemplate>,
    /// Time allowed for the whole call.
    pub timeout: Duration,
}

/// A request ready to send.
#[derive(Clone, Debug)]
pub struct RenderedRequest {
    /// HTTP method.
    pub method: Method,
    /// Full URL, inside the upstream's base URL.
    pub url: Url,
    /// Upstream and tool headers; secret ones are marked sensitive.
    pub headers: HeaderMap,
    /// JSON body, if any.
    pub body: Option<Value>,
    /// Time allowed for the whole call.
    pub timeout: Duration,
    /// The upstream the request goes to.
    pub upstream: Arc<Upstream>,
    /// Names of query entries holding secrets (shown as `***` when the request is printed).
    pub secret_query: Vec<String>,
}

impl RenderedRequest {
    /// The request as HTTP text; sensitive header values (secrets) are shown as `***`.
    pub fn describe(&self) -> String {
        let mut url = self.url.clone();
        if !self.secret_query.is_empty() {
            let pairs: Vec<(String, String)> = self
                .url
                .query_pairs()
                .map(|(k, v)| {
                    let masked = self.secret_query.iter().any(|s| *s == k);
                    (
                        k.into_owned(),
                        if masked {
                            "***".to_owned()
                        } else {
                            v.into_owned()
                        },
                    )
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        let mut out = format!("{} {}\n", self.method, url);
        // Credentials obtained per call (a token, an assertion) are not fetched here: their
        // header is shown, masked.
        let mut headers = self.headers.clone();
        if let Some(auth) = &self.upstream.auth {
            let mut masked = HeaderValue::from_static("***");
            masked.set_sensitive(true);
            headers.insert(auth.header(), masked);
        }
        for (name, value) in &headers {
            let shown = if value.is_sensitive() {
                "***".to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            let _ = writeln!(out, "{name}: {shown}");
        }
        if let Some(body) = &self.body {
            let _ = writeln!(
                out,
                "\n{}",
                serde_json::to_string_pretty(body).unwrap_or_default()
            );
        }
        let _ = writeln!(out, "\n# timeout: {} ms", self.timeout.as_millis());
        out
    }
}

impl RequestTemplate {
    /// Renders the request for validated `args` and `caller`.
    pub fn render(&self, args: &Value, caller: &Caller) -> Result<RenderedRequest, CallError> {
        self.render_in(&Context {
            args,
            caller,
            answer: &crate::template::NO_ANSWER,
        })
    }

    /// Renders the request in a full template context (arguments, caller and, for the URLs
    /// of a long-running operation, its first answer).
    pub fn render_in(&self, ctx: &Context<'_>) -> Result<RenderedRequest, CallError> {
        let caller = ctx.caller;
        let ctx = *ctx;
        let path = self.render_path(&ctx)?;
        let query = self.render_query(&ctx)?;
        let url = self
            .upstream
            .request_url(&path, &query)
            .map_err(|msg| CallError::new(crate::error::ErrorCode::InvalidParameters, msg))?;
        let mut headers = self.upstream.headers_for(&caller.org).clone();
        for (name, template) in &self.headers {
            if let Some(value) = self.render_header(&ctx, name, template)? {
                headers.insert(name.clone(), value);
            }
        }
        let body = self.body.as_ref().and_then(|b| render_body(b, &ctx));
        // Defaults only where the config set no value of its own.
        headers
            .entry(ACCEPT)
            .or_insert(HeaderValue::from_static("application/json"));
        if body.is_some() {
            headers
                .entry(CONTENT_TYPE)
                .or_insert(HeaderValue::from_static("application/json"));
        }
        Ok(RenderedRequest {
            method: self.method.clone(),
            url,
            headers,
            body,
            timeout: self.timeout,
            upstream: self.upstream.clone(),
            secret_query: self
                .query
                .iter()
                .filter(|(_, t)| t.is_secret())
                .map(|(name, _)| name.clone())
                .collect(),
        })
    }

    fn render_path(&self, ctx: &Context<'_>) -> Result<String, CallError> {
        let rendered = self
            .path
            .render(ctx, |value, out| {
                if matches!(value, "" | "." | "..") {
                    return Err(format!("'{value}' cannot be used as a URL path segment"));
                }
                out.extend(utf8_percent_encode(value, SEGMENT));
                Ok(())
            })
            .map_err(render_error)?
            .ok_or_else(|| CallError::invalid_parameter("/", "a path argument is missing"))?;
        for segment in rendered.split('/') {
            // The longest spelling of a dot segment is `%2e%2e`: longer ones cannot be one.
            if segment.len() > MAX_DOT_SEGMENT_LEN {
                continue;
            }
            let decoded = percent_decode_str(segment).decode_utf8_lossy();
            if decoded == "." || decoded == ".." {
                return Err(CallError::invalid_parameter(
                    "/",
                    "arguments may not form a '.' or '..' path segment",
                ));
            }
        }
        Ok(rendered)
    }

    fn render_query(&self, ctx: &Context<'_>) -> Result<String, CallError> {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, template) in &self.query {
            if let Some(Value::Array(items)) =
                template.single_var().and_then(|v| ctx.lookup(v)).as_deref()
            {
                for item in items.iter().filter(|item| !item.is_null()) {
                    query.append_pair(name, &value_text(item));
                }
                continue;
            }
            let rendered = template
                .render(ctx, |value, out| {
                    out.push_str(value);
                    Ok(())
                })
                .map_err(render_error)?;
            if let Some(value) = rendered {
                query.append_pair(name, &value);
            }
        }
        Ok(query.finish())
    }

    fn render_header(
        &self,
        ctx: &Context<'_>,
        name: &HeaderName,
        template: &Template,
    ) -> Result<Option<HeaderValue>, CallError> {
        let rendered = template
            .render(ctx, |value, out| {
                if value.contains(['\r', '\n', '\0']) {
                    return Err(format!(
                        "header {name} may not contain CR, LF or NUL characters"
                    ));
                }
                out.push_str(value);
                Ok(())
            })
            .map_err(render_error)?;
        let Some(text) = rendered else {
            return Ok(None);
        };
        let mut value = HeaderValue::from_str(&text).map_err(|_| {
            CallError::invalid_parameter(
                "/",
                format!("header {name} would contain characters not allowed in HTTP headers"),
            )
        })?;
        value.set_sensitive(template.is_secret());
        Ok(Some(value))
    }
}

/// Turns a refused value into `invalid_parameters` naming the argument.
fn render_error((var, message): (VarRef, String)) -> CallError {
    CallError::invalid_parameter(&pointer_of(&var), message)
}

/// The JSON Pointer of an argument (`/customer_id`), or the caller field's name.
pub fn pointer_of(var: &VarRef) -> String {
    match var.root {
        Root::Args => format!("/{}", var.path.join("/")),
        Root::Caller | Root::Answer => var.display(),
    }
}

/// Renders a body tree; `None` when a leaf's value is absent.
fn render_body(template: &BodyTemplate, ctx: &Context<'_>) -> Option<Value> {
    match template {
        BodyTemplate::Object(members) => {
            let mut object = Map::with_capacity(members.len());
            for (key, member) in members {
                if let Some(value) = render_body(member, ctx) {
                    object.insert(key.clone(), value);
                }
            }
            Some(Value::Object(object))
        }
        BodyTemplate::Array(items) => Some(Value::Array(
            items
                .iter()
                .filter_map(|item| render_body(item, ctx))
                .collect(),
        )),
        BodyTemplate::Typed(var) => ctx.lookup(var).map(|v| v.into_owned()),
        BodyTemplate::Text(text) => text
            .render(ctx, |value, out| {
                out.push_str(value);
                Ok(())
            })
            .ok()
            .flatten()
            .map(Value::String),
        BodyTemplate::Literal(value) => Some(value.clone()),
    }
}
