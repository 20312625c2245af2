//! The demo CRM: server setup and shared state.

mod data;
mod handlers;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::dev::ServerHandle;
use actix_web::web;

use crate::CrmOptions;
use crate::common::oauth::{self, Guard, Issuer};
use crate::common::{self, resource};
use data::Store;

pub(crate) use crate::common::ApiError;

/// Largest request body accepted, in bytes.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Shared, mutable CRM state.
#[derive(Clone)]
pub(crate) struct AppState {
    store: Arc<Mutex<Store>>,
}

impl AppState {
    /// Locks the store; a poisoned lock is recovered, since every update is a single push.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Registers every route on `cfg`.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/health").route(web::get().to(common::health)))
        .service(resource("/customers").route(web::get().to(handlers::search_customers)))
        .service(resource("/customers/{id}").route(web::get().to(handlers::get_customer)))
        .service(
            resource("/customers/{id}/interactions")
                .route(web::get().to(handlers::list_interactions)),
        )
        .service(
            resource("/customers/{id}/notes")
                .route(web::get().to(handlers::list_notes))
                .route(web::post().to(handlers::create_note)),
        )
        .service(resource("/segments").route(web::get().to(handlers::segments)))
        .service(resource("/pricing/discount").route(web::post().to(handlers::discount)))
        .service(resource("/reports/slow").route(web::get().to(handlers::slow_report)));
}

/// Binds the CRM on `addr`, spawns it and returns its address and handle.
pub(crate) fn start(
    addr: &str,
    options: CrmOptions,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let state = AppState {
        store: Arc::new(Mutex::new(Store::generate())),
    };
    let mut guard = Guard::from(options.token);
    let issuer = options
        .oauth_client
        .map(|client| Arc::new(Issuer::new(client)));
    if let Some(issuer) = &issuer {
        guard = guard.with_issuer(issuer.clone());
    }
    common::start_server(addr, guard, "demo-crm", move |cfg| {
        cfg.app_data(web::Data::new(state.clone()));
        if let Some(issuer) = &issuer {
            cfg.app_data(web::Data::from(issuer.clone()))
                .service(resource(oauth::TOKEN_PATH).route(web::post().to(oauth::token_endpoint)));
        }
        routes(cfg);
    })
}
