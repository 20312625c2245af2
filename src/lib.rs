//! toolgate: a gateway that turns internal REST APIs into MCP tools declared in one YAML file.
//!
//! A request flows through the modules in this order: [`config`] (the compiled YAML) →
//! [`caller`] (who is calling) → [`validate`] (arguments against the input schema) →
//! [`render`] (the upstream request, safely) → [`credentials`] (upstream tokens) →
//! [`forward`] (hyper) → [`shape`] (the result).
//! [`gateway`] ties that flow together; [`http`] is the thin protocol layer on top (MCP
//! Streamable HTTP and the legacy JSON protocol).

pub mod auth;
pub mod caller;
pub mod completion;
pub mod config;
pub mod credentials;
pub mod error;
pub mod forward;
pub mod gateway;
pub mod http;
pub mod import;
pub mod limit;
pub mod metrics;
pub mod operation;
pub mod prompt;
pub mod reload;
pub mod render;
pub mod resilience;
pub mod shape;
pub mod telemetry;
pub mod template;
pub mod tool;
pub mod trace;
pub mod upstream;
pub mod uri_template;
pub mod validate;
