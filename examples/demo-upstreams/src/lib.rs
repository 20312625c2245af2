//! Demo upstream REST APIs for toolgate.
//!
//! This crate holds a small but realistic CRM API that toolgate's examples
//! (`examples/crm/gateway.yaml`) and `toolgate demo` put behind the gateway.
//! Everything lives in memory and is generated deterministically, so every run
//! serves the same 150 customers; notes created through the API persist for as
//! long as the process runs.
//!
//! # Endpoints
//!
//! All answers are JSON; every error has the shape
//! `{"error":{"code":"...","message":"...","field":"..."}}` (`field` only when
//! one input is to blame). Codes: `validation_error` (400), `unauthorized`
//! (401), `not_found` (404), `method_not_allowed` (405), `payload_too_large`
//! (413), `internal_error` (500).
//!
//! | method and path | what it does |
//! |---|---|
//! | `GET /health` | `{"status":"ok"}`; never needs a token |
//! | `GET /customers?query=&name=&email=&company=&tier=&status=&page=1&limit=20` | search (case-insensitive substrings; `query` matches name, email or company; `tier`/`status` exact) |
//! | `GET /customers/{id}?include=interactions\|notes` | full profile, optionally with embedded lists |
//! | `GET /customers/{id}/interactions?limit=10&type=` | interactions, newest first |
//! | `GET /customers/{id}/notes` | notes, pinned first, then newest first |
//! | `POST /customers/{id}/notes` | add a note: `{"text": "...", "pinned": false, "author": "..."}` → 201 |
//! | `GET /segments` | customer counts by tier and by status |
//! | `POST /pricing/discount` | `{"customer_tier": "...", "purchase_amount": 100}` → 5/10/20 % discount |
//! | `GET /reports/slow?delay_ms=2000` | answers after `delay_ms` (at most 30000): a slow path for timeout demos |
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use toolgate_demo::{CrmOptions, start_crm};
//!
//! let options = CrmOptions { token: Some("demo-crm-token".into()) };
//! let (addr, handle) = start_crm("127.0.0.1:0", options).await?;
//! println!("CRM listening on http://{addr}");
//! // ... later:
//! handle.stop(true).await;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod crm;

use std::net::SocketAddr;

use actix_web::dev::ServerHandle;

/// Options for the demo CRM.
#[derive(Clone, Debug, Default)]
pub struct CrmOptions {
    /// When set, every request must carry `Authorization: Bearer <token>` or gets 401.
    pub token: Option<String>,
}

/// Starts the demo CRM on `addr` (e.g. `"127.0.0.1:0"`) in the current tokio runtime.
///
/// Returns the bound address and the server's handle. The server runs one worker,
/// is spawned with `tokio::spawn`, installs no signal handlers (stop it with
/// [`ServerHandle::stop`]) and keeps its data in memory for as long as it runs.
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
