//! Demo upstream REST APIs for toolgate.
//!
//! Three small but realistic APIs that toolgate's examples put behind the gateway, and that
//! `toolgate demo` starts on loopback ports:
//!
//! - a **CRM** ([`start_crm`], `examples/crm/`): 150 customers with interactions and notes;
//! - a **data warehouse** ([`start_warehouse`], `examples/data-warehouse/`): sample sales data
//!   in an embedded SQLite database, queried with read-only SQL;
//! - a **workflow engine** ([`start_workflow`], `examples/workflow/`): templates whose runs move
//!   through their steps in the background for a few seconds.
//!
//! All data is generated deterministically, so every run serves the same customers and sales
//! rows. Every error has the shape `{"error":{"code":"...","message":"...","field":"..."}}`
//! (`field` only when one input is to blame); `/health` answers `{"status":"ok"}` and never needs
//! a token. Each server runs one worker, is spawned with `tokio::spawn`, installs no signal
//! handlers (stop it with [`ServerHandle::stop`]) and keeps its state in memory.
//!
//! # CRM
//!
//! Codes: `validation_error` (400), `unauthorized` (401), `not_found` (404),
//! `method_not_allowed` (405), `payload_too_large` (413), `internal_error` (500).
//!
//! | method and path | what it does |
//! |---|---|
//! | `GET /customers?query=&name=&email=&company=&tier=&status=&page=1&limit=20` | search (case-insensitive substrings; `query` matches name, email or company; `tier`/`status` exact) |
//! | `GET /customers/{id}?include=interactions\|notes` | full profile, optionally with embedded lists |
//! | `GET /customers/{id}/interactions?limit=10&type=` | interactions, newest first |
//! | `GET /customers/{id}/notes` | notes, pinned first, then newest first |
//! | `POST /customers/{id}/notes` | add a note: `{"text": "...", "pinned": false, "author": "..."}` → 201 |
//! | `GET /segments` | customer counts by tier and by status |
//! | `POST /pricing/discount` | `{"customer_tier": "...", "purchase_amount": 100}` → 5/10/20 % discount |
//! | `GET /reports/slow?delay_ms=2000` | answers after `delay_ms` (at most 30000): a slow path for timeout demos |
//! | `POST /oauth2/token` | with [`CrmOptions::oauth_client`]: `grant_type=client_credentials` (client id and secret by HTTP Basic or in the form) → `{"access_token", "token_type": "Bearer", "expires_in": 900}`; wrong client → 401 `invalid_client`, other grants → 400 `unsupported_grant_type` |
//!
//! # Data warehouse
//!
//! Tables `regions`, `products`, `customers`, `orders` (3000, 2024–2025) and `order_items`.
//! Every connection is in-memory and `PRAGMA query_only`; statements other than one `SELECT` or
//! `WITH` query are refused before they run. Codes besides the CRM's: `read_only` (400),
//! `sql_error` (400, SQLite's message), `query_too_large` (400), `query_timeout` (408, the query
//! ran past its time limit and was interrupted).
//!
//! | method and path | what it does |
//! |---|---|
//! | `GET /tables` | every table with its description, row and column counts |
//! | `GET /tables/{name}` | columns (type, nullable, primary key, description) and foreign keys; 404 if unknown |
//! | `POST /query` | `{"sql", "limit": 100 (1–1000), "cursor", "timeout_ms"}` → `{"columns", "rows", "row_count", "has_more", "next_cursor", "elapsed_ms", ...}` |
//! | `POST /export` | `{"sql", "max_rows": 1000 (1–5000), "timeout_ms"}` → `text/csv` |
//!
//! # Workflow engine
//!
//! Codes besides the CRM's: `conflict` (409, cancelling a finished run), `too_many_runs` (429).
//!
//! | method and path | what it does |
//! |---|---|
//! | `GET /templates`, `GET /templates/{id}` | templates with their parameter schemas and steps |
//! | `POST /runs` | `{"template_id", "parameters": {...}}` → 202 with the new run; bad parameters → 400 naming `parameters.<name>` |
//! | `GET /runs?state=&limit=` | the newest runs first |
//! | `GET /runs/{id}` | state, current step, progress, steps, result or error; 404 if unknown |
//! | `POST /runs/{id}/cancel` | cancel (idempotent); 409 once the run succeeded or failed |
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use toolgate_demo::{CrmOptions, WarehouseOptions, WorkflowOptions};
//!
//! let (crm, crm_handle) = toolgate_demo::start_crm("127.0.0.1:0", CrmOptions::default()).await?;
//! let (dw, dw_handle) =
//!     toolgate_demo::start_warehouse("127.0.0.1:0", WarehouseOptions::default()).await?;
//! let (wf, wf_handle) =
//!     toolgate_demo::start_workflow("127.0.0.1:0", WorkflowOptions::default()).await?;
//! println!("CRM http://{crm}, warehouse http://{dw}, workflows http://{wf}");
//! // ... later:
//! for handle in [crm_handle, dw_handle, wf_handle] {
//!     handle.stop(true).await;
//! }
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod common;
mod crm;
mod warehouse;
mod workflow;

use std::net::SocketAddr;
use std::time::Duration;

pub use actix_web::dev::ServerHandle;

/// Options for the demo CRM.
#[derive(Clone, Debug, Default)]
pub struct CrmOptions {
    /// When set, every request may carry `Authorization: Bearer <token>`. With neither this
    /// nor `oauth_client`, the CRM is open; otherwise a request without an accepted token
    /// gets 401.
    pub token: Option<String>,
    /// When set, `POST /oauth2/token` issues bearer tokens (valid 15 minutes) to this client
    /// (client credentials grant, HTTP Basic or form client authentication), and every
    /// request may carry one of them.
    pub oauth_client: Option<OAuthClient>,
}

/// The one OAuth 2.0 client of the demo CRM's token endpoint.
#[derive(Clone, Debug)]
pub struct OAuthClient {
    /// Its `client_id`.
    pub client_id: String,
    /// Its `client_secret`.
    pub client_secret: String,
}

/// Options for the demo data warehouse.
#[derive(Clone, Debug, Default)]
pub struct WarehouseOptions {
    /// When set, every request must carry `Authorization: Bearer <token>` or gets 401.
    pub token: Option<String>,
    /// The longest a query may run (default 5 s, kept within 100 ms and 5 min); callers may ask
    /// for less with `timeout_ms`.
    pub query_timeout: Option<Duration>,
}

/// Options for the demo workflow engine.
#[derive(Clone, Debug, Default)]
pub struct WorkflowOptions {
    /// When set, every request must carry `Authorization: Bearer <token>` or gets 401.
    pub token: Option<String>,
    /// When set, every step takes this long instead of its template's 0.5–2.5 s (for tests).
    pub step_time: Option<Duration>,
}

/// Starts the demo CRM on `addr` (e.g. `"127.0.0.1:0"`) in the current tokio runtime.
///
/// Returns the bound address and the server's handle.
///
/// # Errors
///
/// Fails when `addr` cannot be resolved or bound.
pub async fn start_crm(
    addr: &str,
    options: CrmOptions,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    crm::start(addr, options)
}

/// Starts the demo data warehouse on `addr` in the current tokio runtime.
///
/// Generates the sample data first (a few thousand rows, well under a second).
///
/// # Errors
///
/// Fails when `addr` cannot be resolved or bound, or the database cannot be built.
pub async fn start_warehouse(
    addr: &str,
    options: WarehouseOptions,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    warehouse::start(addr, options)
}

/// Starts the demo workflow engine on `addr` in the current tokio runtime.
///
/// # Errors
///
/// Fails when `addr` cannot be resolved or bound.
pub async fn start_workflow(
    addr: &str,
    options: WorkflowOptions,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    workflow::start(addr, options)
}
