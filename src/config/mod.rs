//! Loading the YAML config: read files (with includes), substitute `${VAR}`s, check every
//! reference, and compile it once into an immutable [`RuntimeConfig`].

mod compile;
pub mod env;
pub mod model;
mod source;

use crate::auth::Authenticator;
use crate::limit::RateLimits;
use crate::tool::{Resource, ResourceTemplate, Tool};
use crate::upstream::Upstream;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

pub use env::EnvLookup;

/// One problem in a config, located at the offending node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file, as given or as found through `include`.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: u64,
    /// 1-based column (0 when unknown).
    pub column: u64,
    /// What is wrong; never contains a secret value.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// A config that cannot be used, with every problem found.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{}", render_problems(.problems))]
pub struct ConfigError {
    /// All problems, in file order.
    pub problems: Vec<Problem>,
}

fn render_problems(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Server settings after defaults and `${VAR}` substitution.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// Address to listen on.
    pub listen: String,
    /// The public URL, if configured.
    pub public_url: Option<Url>,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Extra allowed browser origins (lower-case `scheme://host[:port]`).
    pub allowed_origins: Vec<String>,
    /// Extra allowed `Host` values (lower-case); `*` allows any.
    pub allowed_hosts: Vec<String>,
    /// Page size of list results.
    pub page_size: usize,
    /// Key that signs session ids.
    pub session_secret: Vec<u8>,
    /// How config changes are noticed.
    pub reload: WatchSettings,
    /// Whether upstreams may be link-local addresses (e.g. a cloud metadata service).
    pub allow_link_local: bool,
}

/// How config changes are noticed (`server.reload`); the reloader acts on these settings.
#[derive(Clone, Debug)]
pub struct WatchSettings {
    /// Watch the config directories with inotify (or the platform's equivalent).
    pub watch_files: bool,
    /// Also check the files this often (for file systems without change events).
    pub poll_interval: Option<Duration>,
    /// Wait this long after an event for the burst to end before reloading.
    pub debounce: Duration,
}

/// A fully validated, compiled config. Immutable: a reload builds a new one.
#[derive(Debug)]
pub struct RuntimeConfig {
    /// Server settings.
    pub server: ServerSettings,
    /// Who may call.
    pub auth: Authenticator,
    /// SHA-256 of the admin key; `None` turns the admin endpoints off.
    pub admin_key: Option<[u8; 32]>,
    /// `GET /metrics` needs the admin key (`admin.protect_metrics`).
    pub protect_metrics: bool,
    /// RFC 9728 protected-resource metadata, when JWT auth is configured.
    pub resource_metadata: Option<serde_json::Value>,
    /// The public keys of the upstreams' identity assertions as a JWKS document
    /// (`GET /.well-known/jwks.json`); `None` when no upstream uses assertions.
    pub jwks: Option<serde_json::Value>,
    /// Rate limits.
    pub limits: RateLimits,
    /// Upstreams by name.
    pub upstreams: BTreeMap<String, Arc<Upstream>>,
    /// Tools in listing order.
    pub tools: Vec<Arc<Tool>>,
    /// Index into `tools` by name (looked up on every call: a fast hash; the names come from
    /// the config, so no caller can choose colliding keys).
    pub tool_index: HashMap<String, usize, foldhash::fast::RandomState>,
    /// Resources in listing order.
    pub resources: Vec<Arc<Resource>>,
    /// Resource templates in listing order.
    pub resource_templates: Vec<Arc<ResourceTemplate>>,
    /// Prompts in listing order.
    pub prompts: Vec<Arc<crate::prompt::Prompt>>,
    /// Whether a file says `tools: []`: then a reload to zero tools is meant.
    pub no_tools_on_purpose: bool,
    /// A short hash of every source file's content.
    pub version: String,
    /// The files this config was read from.
    pub sources: Vec<PathBuf>,
    /// Likely mistakes that do not stop the config from serving (an unknown JSON Schema
    /// `format`), located like problems.
    pub warnings: Vec<Problem>,
    /// `telemetry:` as written (applied when the gateway starts).
    pub telemetry: crate::telemetry::TelemetryConfig,
}

impl RuntimeConfig {
    /// The prompt named `name`, if any.
    pub fn prompt(&self, name: &str) -> Option<&Arc<crate::prompt::Prompt>> {
        self.prompts.iter().find(|p| p.name == name)
    }

    /// The tool named `name`, if any.
    pub fn tool(&self, name: &str) -> Option<&Arc<Tool>> {
        self.tool_index.get(name).map(|&i| &self.tools[i])
    }

    /// The resource with this URI, if any.
    pub fn resource(&self, uri: &str) -> Option<&Arc<Resource>> {
        self.resources.iter().find(|r| r.uri == uri)
    }

    /// The first resource template matching `uri`, with the values it captured.
    pub fn resource_template(
        &self,
        uri: &str,
    ) -> Option<(
        &Arc<ResourceTemplate>,
        serde_json::Map<String, serde_json::Value>,
    )> {
        self.resource_templates
            .iter()
            .find_map(|t| t.template.matches(uri).map(|values| (t, values)))
    }
}

/// Loads a config file and every file it includes.
pub fn load_file(path: &Path, env: EnvLookup<'_>) -> Result<RuntimeConfig, ConfigError> {
    let sources = source::read_all(path, env)?;
    compile::compile(sources, env)
}

/// Loads a config from text (no includes allowed); `name` is used in problem locations.
pub fn load_str(name: &str, text: &str, env: EnvLookup<'_>) -> Result<RuntimeConfig, ConfigError> {
    load_texts(&[(name, text)], env)
}

/// Loads a config from several texts, `(name, text)`: the first is the main file, the others
/// are compiled as if it included them (they may hold only upstreams, tools and resources).
pub fn load_texts(
    files: &[(&str, &str)],
    env: EnvLookup<'_>,
) -> Result<RuntimeConfig, ConfigError> {
    let sources = source::read_texts(files)?;
    compile::compile(sources, env)
}

/// The process environment, for [`load_file`] and [`load_str`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
