//! Hot reload: re-read the config, validate and compile it off the request path, and swap it
//! in atomically only when it is valid and different. Calls in flight keep the snapshot they
//! started with; an invalid config is reported and the old one keeps serving.

mod background;
mod watch;

pub use watch::watch;

use crate::config::{self, ConfigError};
use crate::gateway::Gateway;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;
use tokio::sync::broadcast;

/// The outcome of the latest load or reload: `GET /health` shows whether it worked and when,
/// `GET /admin/reload` and the console also its problems.
#[derive(Clone, Debug)]
pub struct ReloadStatus {
    /// Whether it succeeded.
    pub ok: bool,
    /// When it happened.
    pub at: SystemTime,
    /// Every problem, one `file:line:col: message` a line, when it failed.
    pub error: Option<String>,
}

/// Reload state shared with the HTTP layer: the latest outcome, counters, and a channel that
/// says "the tool list changed" to open `GET /mcp` streams.
#[derive(Debug)]
pub struct ReloadState {
    status: RwLock<ReloadStatus>,
    tools_changed: broadcast::Sender<ListChange>,
    /// Successful reloads that changed the config.
    pub reloads_ok: AtomicU64,
    /// Reloads refused because the new config was invalid.
    pub reloads_failed: AtomicU64,
}

impl Default for ReloadState {
    fn default() -> Self {
        Self {
            status: RwLock::new(ReloadStatus {
                ok: true,
                at: SystemTime::now(),
                error: None,
            }),
            tools_changed: broadcast::channel(16).0,
            reloads_ok: AtomicU64::new(0),
            reloads_failed: AtomicU64::new(0),
        }
    }
}

impl ReloadState {
    /// The latest outcome.
    pub fn status(&self) -> ReloadStatus {
        self.status
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// A receiver told each time the tool list or the prompt list changes.
    pub fn subscribe(&self) -> broadcast::Receiver<ListChange> {
        self.tools_changed.subscribe()
    }

    fn record(&self, status: ReloadStatus) {
        match self.status.write() {
            Ok(mut slot) => *slot = status,
            Err(poisoned) => *poisoned.into_inner() = status,
        }
    }
}

/// What a reload did.
#[derive(Debug)]
pub enum Outcome {
    /// The files compile to the config already serving.
    Unchanged,
    /// A new config is serving.
    Applied {
        /// Its version.
        version: String,
        /// Whether the tool list (names, schemas, descriptions) changed.
        tools_changed: bool,
    },
    /// The new config is invalid; the old one keeps serving.
    Failed(ConfigError),
}

/// Reloads one config file into a gateway.
#[derive(Debug)]
pub struct Reloader {
    path: PathBuf,
    gateway: Arc<Gateway>,
    state: Arc<ReloadState>,
    /// Held for a whole reload: a SIGHUP and a file change can start reloads at the same time,
    /// and one that read the files earlier must not swap its config in after a later one.
    one_at_a_time: tokio::sync::Mutex<()>,
}

impl Reloader {
    /// A reloader for the config at `path` serving in `gateway`.
    pub fn new(path: PathBuf, gateway: Arc<Gateway>, state: Arc<ReloadState>) -> Self {
        Self {
            path,
            gateway,
            state,
            one_at_a_time: tokio::sync::Mutex::new(()),
        }
    }

    /// The config file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// The gateway being reloaded.
    pub fn gateway(&self) -> &Arc<Gateway> {
        &self.gateway
    }

    /// Loads the files again and swaps the config in when it is valid and different. Loading,
    /// comparing and freeing the replaced config run on a reload thread of lower priority
    /// (see [`background`]), never on a request worker. Concurrent calls run one after the
    /// other, so the files read last are the ones that serve.
    pub async fn reload(&self) -> Outcome {
        let _one_at_a_time = self.one_at_a_time.lock().await;
        let path = self.path.clone();
        let current = self.gateway.config();
        let serving = current.clone();
        let loaded = background::run(move || {
            // An empty main file is much more likely a write caught half-way than a wish
            // to serve no tools: keep the serving config.
            if std::fs::metadata(&path).is_ok_and(|m| m.len() == 0) {
                return Err(ConfigError {
                    problems: vec![config::Problem {
                        file: path.display().to_string(),
                        line: 0,
                        column: 0,
                        message: "the config file is empty; the serving config is kept".into(),
                    }],
                });
            }
            let new = config::load_file(&path, &config::process_env)
                .and_then(|new| refuse_losing_every_tool(&serving, new, &path))?;
            if new.version == serving.version {
                // Freed here, on the reload thread.
                return Ok(Loaded::Same);
            }
            let changes = Changes::between(&serving, &new);
            Ok(Loaded::Changed(Box::new(new), changes))
        })
        .await;
        let Some(loaded) = loaded else {
            tracing::error!("config reload task failed");
            return Outcome::Unchanged;
        };
        match loaded {
            Ok(Loaded::Same) => {
                if !self.state.status().ok {
                    // The file went back to the serving config: the error no longer applies.
                    self.state.record(ReloadStatus {
                        ok: true,
                        at: SystemTime::now(),
                        error: None,
                    });
                }
                Outcome::Unchanged
            }
            Ok(Loaded::Changed(new, changes)) => {
                let Changes {
                    tools_changed,
                    prompts_changed,
                } = changes;
                if new.telemetry != current.telemetry {
                    tracing::warn!(config = %self.path.display(), "telemetry settings changed: they take effect when the gateway restarts");
                }
                let version = new.version.clone();
                let tools = new.tools.len();
                for warning in &new.warnings {
                    tracing::warn!("{warning}");
                }
                drop(current);
                background::retire(self.gateway.swap(*new));
                self.state.reloads_ok.fetch_add(1, Ordering::Relaxed);
                self.state.record(ReloadStatus {
                    ok: true,
                    at: SystemTime::now(),
                    error: None,
                });
                if tools_changed {
                    let _ = self.state.tools_changed.send(ListChange::Tools);
                }
                if prompts_changed {
                    let _ = self.state.tools_changed.send(ListChange::Prompts);
                }
                tracing::info!(config = %self.path.display(), %version, tools, tools_changed, "config reloaded");
                Outcome::Applied {
                    version,
                    tools_changed,
                }
            }
            Err(error) => {
                let text = error.to_string();
                let repeated = self.state.status().error.as_deref() == Some(text.as_str());
                if !repeated {
                    self.state.reloads_failed.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(
                        config = %self.path.display(),
                        problems = error.problems.len(),
                        "config reload refused; the previous config keeps serving:\n{text}"
                    );
                    self.state.record(ReloadStatus {
                        ok: false,
                        at: SystemTime::now(),
                        error: Some(text),
                    });
                }
                Outcome::Failed(error)
            }
        }
    }
}

/// A config read by a reload.
enum Loaded {
    /// The same as the serving one (same content hash).
    Same,
    /// A different one, and what changed for clients.
    Changed(Box<config::RuntimeConfig>, Changes),
}

/// What a reload changes that clients are told about (`list_changed` notifications).
struct Changes {
    tools_changed: bool,
    prompts_changed: bool,
}

impl Changes {
    fn between(serving: &config::RuntimeConfig, new: &config::RuntimeConfig) -> Self {
        Self {
            tools_changed: descriptors(&serving.tools) != descriptors(&new.tools),
            prompts_changed: prompt_descriptors(&serving.prompts)
                != prompt_descriptors(&new.prompts),
        }
    }
}

fn descriptors(tools: &[Arc<crate::tool::Tool>]) -> Vec<&Value> {
    tools.iter().map(|t| &t.mcp_descriptor).collect()
}

fn prompt_descriptors(prompts: &[Arc<crate::prompt::Prompt>]) -> Vec<&Value> {
    prompts.iter().map(|p| &p.descriptor).collect()
}

/// Which list a reload changed (what `list_changed` notification clients get).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListChange {
    /// The tool list (names, schemas, descriptions).
    Tools,
    /// The prompt list (names, titles, descriptions, arguments).
    Prompts,
}

impl ListChange {
    /// The notification's method: `notifications/tools/list_changed` or
    /// `notifications/prompts/list_changed`.
    pub fn method(self) -> &'static str {
        match self {
            Self::Tools => "notifications/tools/list_changed",
            Self::Prompts => "notifications/prompts/list_changed",
        }
    }
}

/// A config that would remove every serving tool, without a file saying `tools: []`, is an
/// error: most likely an emptied, whitespace-only or comment-only file.
fn refuse_losing_every_tool(
    current: &config::RuntimeConfig,
    new: config::RuntimeConfig,
    path: &std::path::Path,
) -> Result<config::RuntimeConfig, ConfigError> {
    if new.tools.is_empty() && !current.tools.is_empty() && !new.no_tools_on_purpose {
        return Err(ConfigError {
            problems: vec![config::Problem {
                file: path.display().to_string(),
                line: 0,
                column: 0,
                message: format!(
                    "the new config has no tools (the serving one has {}); write `tools: []` to serve none on purpose. The serving config is kept",
                    current.tools.len()
                ),
            }],
        });
    }
    Ok(new)
}
