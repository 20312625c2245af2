//! Compiling parsed config files into a [`RuntimeConfig`], collecting every problem.

mod callers;

use super::model::{
    RequestSection, ResourceTemplateSection, ServerSection, Text, ToolSection, UpstreamSection,
};
use super::source::Source;
use super::{ConfigError, EnvLookup, Problem, RuntimeConfig, ServerSettings};
use crate::reload::WatchSettings;
use crate::render::{BodyTemplate, RequestTemplate};
use crate::resilience::{CircuitBreaker, ConcurrencyLimit, RetryPolicy};
use crate::shape::ResponseShape;
use crate::template::{Root, Template, VarRef};
use crate::tool::{Resource, ResourceTemplate, Tool};
use crate::upstream::Upstream;
use crate::validate::compile_schema;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value, json};
use serde_saphyr::{Location, Spanned};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

const DEFAULT_LISTEN: &str = "127.0.0.1:8766";
const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;
/// Parsed JSON takes up to ~18 times its text in memory, so the default stays small.
const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1024 * 1024;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_PAGE_SIZE: usize = 50;
const DEFAULT_QUEUE_TIMEOUT: Duration = Duration::from_secs(1);
const DEFAULT_RETRIES: u32 = 2;
const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_millis(50);
const DEFAULT_BREAKER_FAILURES: u32 = 5;
const DEFAULT_BREAKER_OPEN_FOR: Duration = Duration::from_secs(10);
const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(200);
const DEFAULT_SESSION_SECRET: &[u8] = b"toolgate-session-v1";

/// Compiles the sources (main file first) into a runtime config, or every problem found.
pub fn compile(sources: Vec<Source>, env: EnvLookup<'_>) -> Result<RuntimeConfig, ConfigError> {
    let mut compiler = Compiler {
        env,
        allow_link_local: false,
        problems: Vec::new(),
        file: String::new(),
    };
    let config = compiler.run(&sources);
    if compiler.problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError {
            problems: compiler.problems,
        })
    }
}

struct Compiler<'e> {
    env: EnvLookup<'e>,
    /// `server.allow_link_local_upstreams`, known once the server section is compiled.
    allow_link_local: bool,
    problems: Vec<Problem>,
    /// The file being compiled, for problem locations.
    file: String,
}

impl Compiler<'_> {
    fn run(&mut self, sources: &[Source]) -> RuntimeConfig {
        let main = &sources[0];
        self.file = main.name.clone();
        let admin_key = main.file.admin.as_ref().and_then(|section| {
            let key = self.text(&section.value.key)?;
            if key.len() < 16 {
                self.problem(
                    &section.value.key.referenced,
                    "admin.key must be at least 16 characters",
                );
                return None;
            }
            Some(crate::auth::api_key::digest(&key))
        });
        let server = self.server(main.file.server.as_ref().map(|s| &s.value));
        self.allow_link_local = server.allow_link_local;
        let mut limits = self.rate_limits(main.file.rate_limits.as_ref());
        let (auth, resource_metadata) = self.auth(main.file.auth.as_ref(), &limits, &server);
        let mut server = server;
        if server.session_secret == DEFAULT_SESSION_SECRET && !auth.api_keys.is_empty() {
            // No session_secret configured: derive one from the API keys' digests, which are
            // secret, the same for every replica serving this config, and stable across
            // reloads that keep the keys.
            let mut hasher = Sha256::new();
            hasher.update(DEFAULT_SESSION_SECRET);
            for key in &auth.api_keys {
                hasher.update(key.digest);
            }
            server.session_secret = hasher.finalize().to_vec();
        }

        let mut upstreams = BTreeMap::new();
        let mut upstream_names = HashSet::new();
        for source in sources {
            self.file = source.name.clone();
            for (name, section) in &source.file.upstreams {
                if !upstream_names.insert(name.clone()) {
                    self.problem(
                        &section.referenced,
                        format!("upstream '{name}' is defined twice"),
                    );
                } else if let Some(upstream) = self.upstream(name, &section.value) {
                    upstreams.insert(name.clone(), Arc::new(upstream));
                }
            }
        }

        let mut tools: Vec<Arc<Tool>> = Vec::new();
        let mut tool_index = HashMap::new();
        let mut tool_names = HashSet::new();
        let mut resources: Vec<Arc<Resource>> = Vec::new();
        let mut resource_templates: Vec<Arc<ResourceTemplate>> = Vec::new();
        for source in sources {
            self.file = source.name.clone();
            for section in &source.file.tools {
                let name = &section.value.name;
                if !tool_names.insert(name.value.clone()) {
                    self.problem(
                        &name.referenced,
                        format!("tool '{}' is defined twice", name.value),
                    );
                    continue;
                }
                if let Some(rate) = &section.value.rate_limit
                    && let Some(rate) = self.rate(rate)
                {
                    let scope = format!("tool:{}", name.value);
                    limits
                        .tools
                        .insert(name.value.clone(), crate::limit::Limit::new(scope, rate));
                }
                if let Some(tool) = self.tool(&section.value, &upstreams, &upstream_names) {
                    tool_index.insert(tool.name.clone(), tools.len());
                    tools.push(Arc::new(tool));
                }
            }
            for section in &source.file.resources {
                let uri = &section.value.uri;
                if resources.iter().any(|r| r.uri == uri.value) {
                    self.problem(
                        &uri.referenced,
                        format!("resource '{}' is defined twice", uri.value),
                    );
                    continue;
                }
                let request =
                    self.request(&section.value.request, &upstreams, &upstream_names, None);
                let (Some(uri_text), Some(name), Some(request)) =
                    (self.text(uri), self.text(&section.value.name), request)
                else {
                    continue;
                };
                let mime_type = section
                    .value
                    .mime_type
                    .clone()
                    .unwrap_or_else(|| "application/json".into());
                let mut descriptor =
                    json!({ "uri": uri_text, "name": name, "mimeType": mime_type });
                if let Some(description) = &section.value.description {
                    descriptor["description"] = json!(description);
                }
                resources.push(Arc::new(Resource {
                    uri: uri_text,
                    mime_type,
                    descriptor,
                    request,
                }));
            }
            for section in &source.file.resource_templates {
                let written = &section.value.uri_template;
                if resource_templates
                    .iter()
                    .any(|t: &Arc<ResourceTemplate>| t.uri_template == written.value)
                {
                    self.problem(
                        &written.referenced,
                        format!("resource template '{}' is defined twice", written.value),
                    );
                    continue;
                }
                if let Some(template) =
                    self.resource_template(&section.value, &upstreams, &upstream_names)
                {
                    resource_templates.push(Arc::new(template));
                }
            }
        }

        let mut hasher = Sha256::new();
        for source in sources {
            hasher.update(source.text.as_bytes());
        }
        let digest = hasher.finalize();
        let version = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        RuntimeConfig {
            server,
            admin_key,
            auth,
            resource_metadata,
            limits,
            upstreams,
            tools,
            tool_index,
            resources,
            resource_templates,
            version,
            sources: sources.iter().filter_map(|s| s.path.clone()).collect(),
        }
    }

    /// Records a problem. Only the first line of the message is kept: some dependencies'
    /// errors (Handlebars syntax errors) render a multi-line snippet, and every problem must
    /// print as exactly one `file:line:col: message` line.
    fn problem(&mut self, at: &Location, message: impl Into<String>) {
        let message = message.into();
        let message = message
            .lines()
            .map(str::trim_end)
            .find(|line| !line.trim().is_empty())
            .unwrap_or("invalid value")
            .to_owned();
        self.problems.push(Problem {
            file: self.file.clone(),
            line: at.line(),
            column: at.column(),
            message,
        });
    }

    /// A string with `${VAR}`s substituted; a missing variable is a problem.
    fn text(&mut self, text: &Text) -> Option<String> {
        match super::env::interpolate(&text.value, self.env) {
            Ok(value) => Some(value),
            Err(missing) => {
                let names = missing.join(", ");
                self.problem(
                    &text.referenced,
                    format!("environment variable {names} is not set and has no default"),
                );
                None
            }
        }
    }

    fn duration(&mut self, text: &Text) -> Option<Duration> {
        let value = self.text(text)?;
        match humantime::parse_duration(value.trim()) {
            Ok(d) if !d.is_zero() => Some(d),
            _ => {
                self.problem(
                    &text.referenced,
                    format!("invalid duration '{value}': write it like 250ms, 5s or 2m"),
                );
                None
            }
        }
    }

    fn server(&mut self, section: Option<&ServerSection>) -> ServerSettings {
        let default = ServerSection::default();
        let section = section.unwrap_or(&default);
        let listen = section
            .listen
            .as_ref()
            .and_then(|t| self.text(t))
            .unwrap_or_else(|| DEFAULT_LISTEN.into());
        let public_url = section.public_url.as_ref().and_then(|text| {
            let value = self.text(text)?;
            match Url::parse(&value) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
                _ => {
                    self.problem(
                        &text.referenced,
                        format!("public_url '{value}' is not an http(s) URL"),
                    );
                    None
                }
            }
        });
        let lower_list = |me: &mut Self, items: &[Text]| -> Vec<String> {
            items
                .iter()
                .filter_map(|t| me.text(t))
                .map(|s| s.trim().trim_end_matches('/').to_ascii_lowercase())
                .collect()
        };
        let allowed_origins = lower_list(self, &section.allowed_origins);
        let allowed_hosts = lower_list(self, &section.allowed_hosts);
        let session_secret = section
            .session_secret
            .as_ref()
            .and_then(|t| self.text(t))
            .map_or_else(|| DEFAULT_SESSION_SECRET.to_vec(), String::into_bytes);
        let reload = WatchSettings {
            watch_files: section.reload.watch.unwrap_or(true),
            poll_interval: section
                .reload
                .poll_interval
                .as_ref()
                .and_then(|t| self.duration(t)),
            debounce: section
                .reload
                .debounce
                .as_ref()
                .and_then(|t| self.duration(t))
                .unwrap_or(DEFAULT_DEBOUNCE),
        };
        ServerSettings {
            reload,
            allow_link_local: section.allow_link_local_upstreams,
            listen,
            public_url,
            max_body_bytes: section.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES) as usize,
            allowed_origins,
            allowed_hosts,
            page_size: section.page_size.unwrap_or(DEFAULT_PAGE_SIZE).max(1),
            session_secret,
        }
    }

    fn upstream(&mut self, name: &str, section: &UpstreamSection) -> Option<Upstream> {
        let base_text = self.text(&section.base_url);
        let base_url = base_text.and_then(|text| match Url::parse(&text) {
            Ok(url)
                if matches!(url.scheme(), "http" | "https")
                    && url.has_host()
                    && url.query().is_none()
                    && url.fragment().is_none() =>
            {
                let link_local = match url.host() {
                    Some(url::Host::Ipv4(ip)) => crate::forward::dns::is_link_local(ip.into()),
                    Some(url::Host::Ipv6(ip)) => crate::forward::dns::is_link_local(ip.into()),
                    _ => false,
                };
                if link_local && !self.allow_link_local {
                    self.problem(
                        &section.base_url.referenced,
                        format!("base_url of upstream '{name}' is a link-local address (cloud metadata range); set server.allow_link_local_upstreams: true if this is intended"),
                    );
                    return None;
                }
                Some(url)
            }
            _ => {
                self.problem(
                    &section.base_url.referenced,
                    format!("base_url of upstream '{name}' must be an http(s) URL without query or fragment"),
                );
                None
            }
        });
        let timeout = match &section.timeout {
            Some(t) => self.duration(t),
            None => Some(DEFAULT_TIMEOUT),
        };
        let mut duration_or = |text: &Option<Text>, default: Duration| match text {
            Some(t) => self.duration(t),
            None => Some(default),
        };
        let queue_timeout = duration_or(&section.queue_timeout, DEFAULT_QUEUE_TIMEOUT);
        let retry_backoff = duration_or(&section.retry_backoff, DEFAULT_RETRY_BACKOFF);
        let breaker_open_for = duration_or(&section.breaker_open_for, DEFAULT_BREAKER_OPEN_FOR);
        let concurrency = match (section.max_concurrency, queue_timeout) {
            (Some(limit), Some(wait)) => Some(Some(ConcurrencyLimit::new(limit, wait))),
            (None, Some(_)) => Some(None),
            (_, None) => None,
        };
        let headers = self.header_map(&section.headers);
        let mut headers_by_org = HashMap::new();
        for (org, org_headers) in &section.headers_by_org {
            if let (Some(base), Some(extra)) = (&headers, self.header_map(org_headers)) {
                let mut merged = base.clone();
                for (name, value) in extra {
                    if let Some(name) = name {
                        merged.insert(name, value);
                    }
                }
                headers_by_org.insert(org.clone(), merged);
            }
        }
        Some(Upstream {
            name: name.to_owned(),
            base_url: base_url?,
            timeout: timeout?,
            headers: headers?,
            headers_by_org,
            max_response_bytes: section
                .max_response_bytes
                .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
            concurrency: concurrency?,
            retry: RetryPolicy {
                retries: section.retries.unwrap_or(DEFAULT_RETRIES),
                backoff: retry_backoff?,
            },
            breaker: CircuitBreaker::new(
                section.breaker_failures.unwrap_or(DEFAULT_BREAKER_FAILURES),
                breaker_open_for?,
            ),
        })
    }

    /// Static headers; values that came from the environment are marked sensitive.
    fn header_map(&mut self, headers: &BTreeMap<String, Text>) -> Option<HeaderMap> {
        let mut map = HeaderMap::new();
        let mut ok = true;
        for (name, text) in headers {
            let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
                self.problem(
                    &text.referenced,
                    format!("'{name}' is not a valid header name"),
                );
                ok = false;
                continue;
            };
            let Some(value) = self.text(text) else {
                ok = false;
                continue;
            };
            match HeaderValue::from_str(&value) {
                Ok(mut value) => {
                    value.set_sensitive(text.value.contains("${"));
                    map.insert(header, value);
                }
                Err(_) => {
                    self.problem(
                        &text.referenced,
                        format!("the value of header '{name}' has invalid characters"),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(map)
    }

    fn tool(
        &mut self,
        section: &ToolSection,
        upstreams: &BTreeMap<String, Arc<Upstream>>,
        upstream_names: &HashSet<String>,
    ) -> Option<Tool> {
        let name = section.name.value.clone();
        let valid_name = !name.is_empty()
            && name.len() <= 128
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid_name {
            self.problem(
                &section.name.referenced,
                format!("tool name '{name}' must be 1-128 characters of A-Z a-z 0-9 _ - ."),
            );
        }
        let description = self.text(&section.description).unwrap_or_default();
        if description.trim().is_empty() {
            self.problem(
                &section.description.referenced,
                format!("tool '{name}' needs a description"),
            );
        }
        let input_schema = match &section.input_schema {
            Some(schema) => {
                self.object_schema(schema, "input_schema");
                schema.value.clone()
            }
            None => json!({ "type": "object", "additionalProperties": false }),
        };
        let validator = match compile_schema(&input_schema) {
            Ok(v) => Some(v),
            Err(message) => {
                let at = section
                    .input_schema
                    .as_ref()
                    .map_or(section.name.referenced, |s| s.referenced);
                self.problem(&at, format!("input_schema: {message}"));
                None
            }
        };
        let request = self.request(
            &section.request,
            upstreams,
            upstream_names,
            Some(&input_schema),
        );
        let (response, output_schema) = self.response(section);
        let annotations = match &section.annotations {
            Some(a) if a.value.is_object() => a.value.clone(),
            Some(a) => {
                self.problem(&a.referenced, "annotations must be a mapping of hints");
                Value::Null
            }
            None => request
                .as_ref()
                .map_or(Value::Null, |r| derived_annotations(&r.method)),
        };
        let mut mcp_descriptor = json!({
            "name": name,
            "description": description,
            "inputSchema": input_schema,
        });
        if let Some(title) = &section.title {
            mcp_descriptor["title"] = json!(title);
        }
        if let Some(schema) = output_schema {
            mcp_descriptor["outputSchema"] = schema;
        }
        if annotations.as_object().is_some_and(|a| !a.is_empty()) {
            mcp_descriptor["annotations"] = annotations;
        }
        let legacy_descriptor =
            json!({ "name": name, "description": description, "parameters": input_schema });
        let tests = section
            .tests
            .iter()
            .map(|t| (t.value.args.clone(), t.value.expect.clone()))
            .collect();
        Some(Tool {
            name,
            description,
            input_schema,
            validator: validator?,
            request: request?,
            response: response?,
            stream: section.response.stream,
            mcp_descriptor,
            legacy_descriptor,
            tests,
        })
    }

    /// Checks that a schema is a mapping with `type: object`.
    fn object_schema(&mut self, schema: &Spanned<Value>, what: &str) -> bool {
        let ok = schema.value.get("type").and_then(Value::as_str) == Some("object");
        if !ok {
            self.problem(
                &schema.referenced,
                format!("{what} must be a JSON Schema with type: object"),
            );
        }
        ok
    }

    fn response(&mut self, section: &ToolSection) -> (Option<ResponseShape>, Option<Value>) {
        let response = &section.response;
        let pick = response.pick.as_ref().and_then(|p| {
            let pointer = self.text(p)?;
            if pointer.is_empty() || pointer.starts_with('/') {
                Some(pointer)
            } else {
                self.problem(
                    &p.referenced,
                    format!("pick '{pointer}' must be a JSON Pointer such as /data/items"),
                );
                None
            }
        });
        let mut ok = response.pick.is_none() || pick.is_some();
        let mut output_validator = None;
        let mut output_value = None;
        if let Some(schema) = &response.output_schema {
            if self.object_schema(schema, "output_schema") {
                match compile_schema(&schema.value) {
                    Ok(v) => {
                        output_validator = Some(v);
                        output_value = Some(schema.value.clone());
                    }
                    Err(message) => {
                        self.problem(&schema.referenced, format!("output_schema: {message}"));
                        ok = false;
                    }
                }
            } else {
                ok = false;
            }
        }
        if response.max_bytes == Some(0) {
            self.problem(
                &section.name.referenced,
                "response.max_bytes must be greater than 0",
            );
            ok = false;
        }
        let shape = ResponseShape {
            pick,
            max_bytes: response.max_bytes,
            output_schema: output_validator,
        };
        (ok.then_some(shape), output_value)
    }

    /// Compiles a `resource_templates:` entry: the URI template's variables become required,
    /// non-empty string arguments the request may use.
    fn resource_template(
        &mut self,
        section: &ResourceTemplateSection,
        upstreams: &BTreeMap<String, Arc<Upstream>>,
        upstream_names: &HashSet<String>,
    ) -> Option<ResourceTemplate> {
        let written = self.text(&section.uri_template)?;
        let template = match crate::uri_template::UriTemplate::parse(&written) {
            Ok(template) => template,
            Err(message) => {
                self.problem(
                    &section.uri_template.referenced,
                    format!("uri_template: {message}"),
                );
                return None;
            }
        };
        let vars: Vec<&str> = template.vars().collect();
        let properties: Map<String, Value> = vars
            .iter()
            .map(|v| ((*v).to_owned(), json!({ "type": "string", "minLength": 1 })))
            .collect();
        let schema = json!({
            "type": "object",
            "properties": properties,
            "required": vars,
            "additionalProperties": false,
        });
        let validator = compile_schema(&schema).ok()?;
        let request = self.request(&section.request, upstreams, upstream_names, Some(&schema));
        let name = self.text(&section.name)?;
        let request = request?;
        let mime_type = section
            .mime_type
            .clone()
            .unwrap_or_else(|| "application/json".into());
        let mut descriptor = json!({ "uriTemplate": written, "name": name, "mimeType": mime_type });
        if let Some(description) = &section.description {
            descriptor["description"] = json!(description);
        }
        Some(ResourceTemplate {
            uri_template: written,
            template,
            mime_type,
            descriptor,
            validator,
            request,
        })
    }

    /// Compiles a request template; `schema` is the input schema (`None` for resources, which
    /// take no arguments).
    fn request(
        &mut self,
        section: &Spanned<RequestSection>,
        upstreams: &BTreeMap<String, Arc<Upstream>>,
        upstream_names: &HashSet<String>,
        schema: Option<&Value>,
    ) -> Option<RequestTemplate> {
        let request = &section.value;
        let upstream = upstreams.get(&request.upstream.value).cloned();
        // An upstream that is declared but broken has its own problem already.
        if !upstream_names.contains(&request.upstream.value) {
            self.problem(
                &request.upstream.referenced,
                format!("unknown upstream '{}'", request.upstream.value),
            );
        }
        let method = match &request.method {
            Some(text) => {
                let upper = text.value.trim().to_ascii_uppercase();
                match upper.as_str() {
                    "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" => {
                        Method::from_bytes(upper.as_bytes()).ok()
                    }
                    _ => {
                        self.problem(
                            &text.referenced,
                            format!("unsupported HTTP method '{}'", text.value),
                        );
                        None
                    }
                }
            }
            None => Some(Method::GET),
        };
        let path = self.path_template(&request.path, schema);
        let mut ok = true;
        let mut query = Vec::new();
        for (name, text) in &request.query {
            match self.template(text, schema) {
                Some(t) => query.push((name.clone(), t)),
                None => ok = false,
            }
        }
        let mut headers = Vec::new();
        for (name, text) in &request.headers {
            let header = HeaderName::from_bytes(name.as_bytes());
            let template = self.template(text, schema);
            match (header, template) {
                (Ok(header), Some(template)) => headers.push((header, template)),
                (Err(_), _) => {
                    self.problem(
                        &text.referenced,
                        format!("'{name}' is not a valid header name"),
                    );
                    ok = false;
                }
                _ => ok = false,
            }
        }
        let body = match &request.body {
            Some(body) => {
                if matches!(method, Some(Method::GET | Method::HEAD)) {
                    self.problem(&body.referenced, "a GET or HEAD request cannot have a body");
                }
                self.body(&body.value, &body.referenced, schema)
            }
            None => Some(None),
        };
        let timeout = match &request.timeout {
            Some(t) => self.duration(t),
            None => upstream.as_ref().map(|u| u.timeout),
        };
        if !ok {
            return None;
        }
        Some(RequestTemplate {
            upstream: upstream?,
            method: method?,
            path: path?,
            query,
            headers,
            body: body?,
            timeout: timeout?,
        })
    }

    /// A template whose variables must all be declared.
    fn template(&mut self, text: &Text, schema: Option<&Value>) -> Option<Template> {
        let source = self.text(text)?;
        let template = match Template::parse(&source) {
            Ok(t) if text.value.contains("${") => t.mark_secret(),
            Ok(t) => t,
            Err(message) => {
                self.problem(&text.referenced, message);
                return None;
            }
        };
        let mut ok = true;
        for var in template.vars() {
            if let Err(message) = check_declared(var, schema) {
                self.problem(&text.referenced, message);
                ok = false;
            }
        }
        ok.then_some(template)
    }

    fn path_template(&mut self, text: &Text, schema: Option<&Value>) -> Option<Template> {
        let template = self.template(text, schema)?;
        let literal: String = {
            // The path with every placeholder replaced by a harmless segment, to check the
            // literal parts.
            let mut probe = text.value.clone();
            while let (Some(start), Some(end)) = (probe.find("{{"), probe.find("}}")) {
                if end < start {
                    break;
                }
                probe.replace_range(start..end + 2, "x");
            }
            probe
        };
        let mut ok = true;
        if !text.value.starts_with('/') {
            self.problem(&text.referenced, "path must start with '/'");
            ok = false;
        }
        if literal.contains(['?', '#']) {
            self.problem(
                &text.referenced,
                "path may not contain '?' or '#': put query entries under query:",
            );
            ok = false;
        }
        if literal.split('/').any(|s| s == "." || s == "..") {
            self.problem(
                &text.referenced,
                "path may not contain '.' or '..' segments",
            );
            ok = false;
        }
        for var in template.vars() {
            if let Err(message) = check_path_var(var, schema) {
                self.problem(&text.referenced, message);
                ok = false;
            }
        }
        ok.then_some(template)
    }

    fn body(
        &mut self,
        value: &Value,
        at: &Location,
        schema: Option<&Value>,
    ) -> Option<Option<BodyTemplate>> {
        self.body_node(value, at, schema).map(Some)
    }

    fn body_node(
        &mut self,
        value: &Value,
        at: &Location,
        schema: Option<&Value>,
    ) -> Option<BodyTemplate> {
        Some(match value {
            Value::Object(members) => {
                let mut out = Vec::with_capacity(members.len());
                let mut ok = true;
                for (key, member) in members {
                    match self.body_node(member, at, schema) {
                        Some(node) => out.push((key.clone(), node)),
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                BodyTemplate::Object(out)
            }
            Value::Array(items) => {
                let nodes: Vec<Option<BodyTemplate>> = items
                    .iter()
                    .map(|item| self.body_node(item, at, schema))
                    .collect();
                BodyTemplate::Array(nodes.into_iter().collect::<Option<Vec<_>>>()?)
            }
            Value::String(source) => {
                let text = Text {
                    value: source.clone(),
                    referenced: *at,
                    defined: *at,
                };
                let template = self.template(&text, schema)?;
                if let Some(var) = template.single_var() {
                    BodyTemplate::Typed(var.clone())
                } else if let Some(literal) = template.as_literal() {
                    BodyTemplate::Literal(Value::String(literal.to_owned()))
                } else {
                    BodyTemplate::Text(template)
                }
            }
            other => BodyTemplate::Literal(other.clone()),
        })
    }
}

/// Checks that a variable refers to something the input schema declares.
fn check_declared(var: &VarRef, schema: Option<&Value>) -> Result<(), String> {
    if var.root == Root::Caller {
        return Ok(());
    }
    let Some(mut node) = schema else {
        return Err(format!(
            "'{}' is not available here: resources take no arguments",
            var.display()
        ));
    };
    let undeclared = || {
        format!(
            "'{}' is not declared in input_schema.properties",
            var.display()
        )
    };
    for (depth, key) in var.path.iter().enumerate() {
        match node.get("properties").and_then(Value::as_object) {
            Some(properties) => node = properties.get(key).ok_or_else(undeclared)?,
            None if depth == 0 => return Err(undeclared()),
            // Below an object without declared properties any key may be used.
            None => return Ok(()),
        }
    }
    Ok(())
}

/// Checks that a path placeholder is a required scalar argument (or a caller field).
fn check_path_var(var: &VarRef, schema: Option<&Value>) -> Result<(), String> {
    if var.root == Root::Caller {
        return Ok(());
    }
    let name = &var.path[0];
    let schema = schema.unwrap_or(&Value::Null);
    let required = schema
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|v| v.as_str() == Some(name)));
    if var.path.len() != 1 || !required {
        return Err(format!(
            "path placeholder '{}' must be a required top-level argument (add it to input_schema.required)",
            var.display()
        ));
    }
    let types: Vec<&str> = match schema.pointer(&format!("/properties/{name}/type")) {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if types.is_empty()
        || !types
            .iter()
            .all(|t| matches!(*t, "string" | "integer" | "number"))
    {
        return Err(format!(
            "path placeholder '{}' must have type string, integer or number",
            var.display()
        ));
    }
    Ok(())
}

/// MCP annotations implied by the HTTP method.
fn derived_annotations(method: &Method) -> Value {
    let mut hints = Map::new();
    match *method {
        Method::GET | Method::HEAD | Method::OPTIONS => {
            hints.insert("readOnlyHint".into(), Value::Bool(true));
        }
        Method::DELETE => {
            hints.insert("destructiveHint".into(), Value::Bool(true));
        }
        Method::PUT => {
            hints.insert("idempotentHint".into(), Value::Bool(true));
        }
        _ => {}
    }
    Value::Object(hints)
}
