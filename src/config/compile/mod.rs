//! Compiling parsed config files into a [`RuntimeConfig`], collecting every problem.
//!
//! One file per section of the config, in the order a request meets them: `server.rs`
//! (listen address, origins, sessions, reload), `callers.rs` (auth and rate limits),
//! `upstream.rs`, `tool.rs` (tools and resources), `request.rs` (request templates),
//! `operation.rs` (long-running upstream jobs) and
//! `telemetry.rs` (trace export).

mod callers;
mod credentials;
mod operation;
mod prompt;
mod proxy;
mod request;
mod server;
mod telemetry;
mod tool;
mod upstream;

use super::model::{Number, Text};
use super::source::Source;
use super::{ConfigError, EnvLookup, Problem, RuntimeConfig};
use crate::tool::{Resource, ResourceTemplate, Tool};
use crate::upstream::Upstream;
use serde_saphyr::Location;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// Compiles the sources (main file first) into a runtime config, or every problem found.
pub fn compile(mut sources: Vec<Source>, env: EnvLookup<'_>) -> Result<RuntimeConfig, ConfigError> {
    let mut compiler = Compiler {
        env,
        allow_link_local: false,
        jwt_callers: false,
        problems: Vec::new(),
        file: String::new(),
        dir: None,
        schemas: crate::validate::SchemaCache::default(),
        warnings: Vec::new(),
    };
    let mut config = compiler.run(&mut sources);
    config.warnings = std::mem::take(&mut compiler.warnings);
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
    /// Whether `auth.jwt` is configured (a token exchange needs JWT callers).
    jwt_callers: bool,
    problems: Vec<Problem>,
    /// The file being compiled, for problem locations.
    file: String,
    /// Its directory, against which relative paths in it (key files) are resolved.
    dir: Option<std::path::PathBuf>,
    /// Every distinct JSON Schema of the config, compiled once.
    schemas: crate::validate::SchemaCache,
    /// Things that do not stop the config from serving but are likely mistakes.
    warnings: Vec<Problem>,
}

/// The upstreams that request templates may name.
struct Upstreams {
    /// Upstreams that compiled, by name.
    compiled: BTreeMap<String, Arc<Upstream>>,
    /// Every declared name, including upstreams with problems of their own.
    declared: HashSet<String>,
}

/// Tools, resources and resource templates of every source, in listing order.
#[derive(Default)]
struct Catalogue {
    tools: Vec<Arc<Tool>>,
    tool_index: HashMap<String, usize, foldhash::fast::RandomState>,
    resources: Vec<Arc<Resource>>,
    resource_templates: Vec<Arc<ResourceTemplate>>,
    prompts: Vec<Arc<crate::prompt::Prompt>>,
}

impl Compiler<'_> {
    /// Compiles the sources; their tool sections are consumed (moved into the tools).
    fn run(&mut self, sources: &mut [Source]) -> RuntimeConfig {
        let main = &sources[0];
        self.file = main.name.clone();
        let admin_key = self.admin_key(main.file.admin.as_ref());
        let mut server = self.server(main.file.server.as_ref().map(|s| &s.value));
        self.allow_link_local = server.allow_link_local;
        let mut limits = self.rate_limits(main.file.rate_limits.as_ref());
        let (auth, resource_metadata) = self.auth(main.file.auth.as_ref(), &limits, &server);
        self.jwt_callers = auth.jwt.is_some();
        self.derive_session_secret(&mut server, &auth);
        let upstreams = self.upstreams(sources);
        let protect_metrics = admin_key.is_some()
            && main
                .file
                .admin
                .as_ref()
                .is_some_and(|a| a.value.protect_metrics);
        let telemetry = self.telemetry(main.file.telemetry.as_ref().map(|t| &t.value));
        let no_tools_on_purpose = sources
            .iter()
            .any(|s| s.file.tools.as_ref().is_some_and(Vec::is_empty));
        let catalogue = self.catalogue(sources, &upstreams, &mut limits);
        RuntimeConfig {
            jwks: jwks(&upstreams.compiled),
            server,
            protect_metrics,
            admin_key,
            auth,
            resource_metadata,
            limits,
            upstreams: upstreams.compiled,
            tools: catalogue.tools,
            tool_index: catalogue.tool_index,
            resources: catalogue.resources,
            resource_templates: catalogue.resource_templates,
            prompts: catalogue.prompts,
            version: version(sources),
            no_tools_on_purpose,
            sources: sources.iter().filter_map(|s| s.path.clone()).collect(),
            warnings: Vec::new(),
            telemetry,
        }
    }

    /// Every source's `upstreams:`; a name defined twice is a problem.
    fn upstreams(&mut self, sources: &[Source]) -> Upstreams {
        let mut upstreams = Upstreams {
            compiled: BTreeMap::new(),
            declared: HashSet::new(),
        };
        for source in sources {
            self.file = source.name.clone();
            self.dir = source
                .path
                .as_ref()
                .and_then(|p| p.parent())
                .map(std::path::Path::to_path_buf);
            for (name, section) in &source.file.upstreams {
                if !upstreams.declared.insert(name.clone()) {
                    self.problem(
                        &section.referenced,
                        format!("upstream '{name}' is defined twice"),
                    );
                } else if let Some(upstream) = self.upstream(name, &section.value) {
                    upstreams.compiled.insert(name.clone(), Arc::new(upstream));
                }
            }
        }
        upstreams
    }

    /// Every source's tools (with their per-tool rate limits), resources and resource
    /// templates; a name or URI defined twice is a problem. Each tool section is moved into
    /// its tool and freed once compiled: the parsed file and the compiled tools of a large
    /// config are never both whole in memory.
    fn catalogue(
        &mut self,
        sources: &mut [Source],
        upstreams: &Upstreams,
        limits: &mut crate::limit::RateLimits,
    ) -> Catalogue {
        let mut catalogue = Catalogue::default();
        let mut tool_names = HashSet::new();
        let mut prompt_names = HashSet::new();
        for source in sources {
            self.file = source.name.clone();
            for section in source.file.tools.take().into_iter().flatten() {
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
                if let Some(tool) = self.tool(*section.value, upstreams) {
                    catalogue
                        .tool_index
                        .insert(tool.name.clone(), catalogue.tools.len());
                    catalogue.tools.push(Arc::new(tool));
                }
            }
            for section in &source.file.resources {
                let uri = &section.value.uri;
                if catalogue.resources.iter().any(|r| r.uri == uri.value) {
                    self.problem(
                        &uri.referenced,
                        format!("resource '{}' is defined twice", uri.value),
                    );
                } else if let Some(resource) = self.resource(&section.value, upstreams) {
                    catalogue.resources.push(Arc::new(resource));
                }
            }
            for section in &source.file.prompts {
                let name = &section.value.name;
                if !prompt_names.insert(name.value.clone()) {
                    self.problem(
                        &name.referenced,
                        format!("prompt '{}' is defined twice", name.value),
                    );
                } else if let Some(prompt) = self.prompt(&section.value, upstreams) {
                    catalogue.prompts.push(Arc::new(prompt));
                }
            }
            for section in &source.file.resource_templates {
                let written = &section.value.uri_template;
                if catalogue
                    .resource_templates
                    .iter()
                    .any(|t| t.uri_template == written.value)
                {
                    self.problem(
                        &written.referenced,
                        format!("resource template '{}' is defined twice", written.value),
                    );
                } else if let Some(template) = self.resource_template(&section.value, upstreams) {
                    catalogue.resource_templates.push(Arc::new(template));
                }
            }
        }
        catalogue
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

    /// Whether `name` (of a tool or prompt, `kind`) is 1-128 characters of `A-Za-z0-9_-.`;
    /// a problem at the name otherwise.
    fn check_name(&mut self, name: &Text, kind: &str) -> bool {
        let valid = !name.value.is_empty()
            && name.value.len() <= 128
            && name
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid {
            self.problem(
                &name.referenced,
                format!(
                    "{kind} name '{}' must be 1-128 characters of A-Z a-z 0-9 _ - .",
                    name.value
                ),
            );
        }
        valid
    }

    /// Whether `url`'s host is a literal address the gateway refuses (link-local such as the
    /// cloud metadata service, or unspecified) while `allow_link_local_upstreams` is off; a
    /// problem at `at` naming `what` (e.g. "base_url of upstream 'crm'") then.
    fn refuses_literal_host(&mut self, url: &url::Url, at: &Location, what: &str) -> bool {
        let refused = match url.host() {
            Some(url::Host::Ipv4(ip)) => crate::forward::dns::refused_address(ip.into()),
            Some(url::Host::Ipv6(ip)) => crate::forward::dns::refused_address(ip.into()),
            _ => None,
        };
        match refused {
            Some(why) if !self.allow_link_local => {
                self.problem(
                    at,
                    format!("{what} is {why}; set server.allow_link_local_upstreams: true if this is intended"),
                );
                true
            }
            _ => false,
        }
    }

    /// Records a warning: printed by `check` and logged on load, never a reason to refuse.
    fn warning(&mut self, at: &Location, message: impl Into<String>) {
        self.warnings.push(Problem {
            file: self.file.clone(),
            line: at.line(),
            column: at.column(),
            message: message.into(),
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
}

/// An unsigned integer type a [`Number`] can be typed as.
trait Whole: TryFrom<u64> + Copy {
    /// The largest value, for messages.
    const MAX: u64;
}

impl Whole for u32 {
    const MAX: u64 = u32::MAX as u64;
}

impl Whole for u64 {
    const MAX: u64 = u64::MAX;
}

impl Whole for usize {
    const MAX: u64 = usize::MAX as u64;
}

impl Compiler<'_> {
    /// A whole number with `${VAR}`s substituted, typed as `T`; a problem at its node when it
    /// is not one. `field` names it in the message; a value that came from the environment is
    /// never quoted.
    fn whole<T: Whole>(&mut self, number: &Number, field: &str) -> Option<T> {
        let text = Text {
            value: number.value.0.clone(),
            referenced: number.referenced,
            defined: number.defined,
        };
        let value = self.text(&text)?;
        let substituted = number.value.0.contains('$');
        let shown = if substituted {
            " (after substituting its ${VAR}s)".to_owned()
        } else {
            format!(", not '{value}'")
        };
        match value.trim().parse::<u64>() {
            Ok(parsed) => match T::try_from(parsed) {
                Ok(typed) => Some(typed),
                Err(_) => {
                    self.problem(
                        &number.referenced,
                        format!("{field} must be at most {}{shown}", T::MAX),
                    );
                    None
                }
            },
            Err(_) => {
                self.problem(
                    &number.referenced,
                    format!("{field} must be a whole number{shown}"),
                );
                None
            }
        }
    }

    /// [`Self::whole`] for an optional field: `default` when absent; `None` after a problem.
    fn whole_or<T: Whole>(
        &mut self,
        number: &Option<Number>,
        field: &str,
        default: T,
    ) -> Option<T> {
        match number {
            Some(number) => self.whole(number, field),
            None => Some(default),
        }
    }

    /// [`Self::whole`] for an optional field without a default: `Some(None)` when absent.
    fn whole_opt<T: Whole>(&mut self, number: &Option<Number>, field: &str) -> Option<Option<T>> {
        match number {
            Some(number) => self.whole(number, field).map(Some),
            None => Some(None),
        }
    }
}

/// Headers that frame the message or concern only one hop: toolgate sets them itself, and
/// letting a config (or an argument) set them would let a caller pick the Host or truncate
/// the body on the wire.
const RESERVED_HEADERS: [&str; 11] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
];

/// Why a configured header name is refused, if it is.
fn reserved_header(name: &str) -> Option<String> {
    RESERVED_HEADERS
        .iter()
        .any(|reserved| name.eq_ignore_ascii_case(reserved))
        .then(|| format!("header '{name}' cannot be configured: toolgate sets the framing and hop-by-hop headers (Host, Content-Length, Transfer-Encoding, Connection, ...) itself"))
}

/// The JWKS of every identity-assertion key (one entry per `kid`).
fn jwks(upstreams: &BTreeMap<String, Arc<Upstream>>) -> Option<serde_json::Value> {
    let mut keys: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for upstream in upstreams.values() {
        if let Some(crate::credentials::UpstreamAuth::IdentityAssertion(signer)) = &upstream.auth
            && let Ok(jwk) = serde_json::to_value(signer.jwk())
        {
            keys.insert(signer.key_id().to_owned(), jwk);
        }
    }
    (!keys.is_empty())
        .then(|| serde_json::json!({ "keys": keys.into_values().collect::<Vec<_>>() }))
}

/// A short hash of every source file's content: the config version.
fn version(sources: &[Source]) -> String {
    let mut hasher = Sha256::new();
    for source in sources {
        hasher.update(source.text.as_bytes());
    }
    let digest = hasher.finalize();
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}
