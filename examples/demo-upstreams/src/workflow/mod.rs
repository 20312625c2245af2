//! The demo workflow engine: templates with typed parameters, runs that progress in the
//! background step by step, status and cancellation.

mod handlers;
mod params;
mod runs;
mod templates;

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::web;

use crate::WorkflowOptions;
use crate::common::{self, resource};

/// Largest request body accepted, in bytes.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Shared workflow state.
pub(crate) struct AppState {
    /// Every run.
    pub(crate) store: runs::Store,
    /// When set, every step takes this long instead of its own duration.
    pub(crate) step_time: Option<Duration>,
}

/// Registers every route on `cfg`.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/health").route(web::get().to(common::health)))
        .service(resource("/templates").route(web::get().to(handlers::list_templates)))
        .service(resource("/templates/{id}").route(web::get().to(handlers::get_template)))
        .service(
            resource("/runs")
                .route(web::get().to(handlers::list_runs))
                .route(web::post().to(handlers::start_run)),
        )
        .service(resource("/runs/{id}").route(web::get().to(handlers::get_run)))
        .service(resource("/runs/{id}/cancel").route(web::post().to(handlers::cancel_run)));
}

/// Binds the workflow engine on `addr`, spawns it and returns its address and handle.
pub(crate) fn start(
    addr: &str,
    options: WorkflowOptions,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let state = web::Data::new(AppState {
        store: runs::Store::new(),
        step_time: options.step_time,
    });
    common::start_server(addr, options.token.into(), "demo-workflow", move |cfg| {
        cfg.app_data(state.clone());
        routes(cfg);
    })
}
