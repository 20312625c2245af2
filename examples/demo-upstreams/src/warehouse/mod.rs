//! The demo data warehouse: sample sales data in SQLite, queried with read-only SQL.

mod data;
mod exports;
mod handlers;
mod query;
mod schema;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::web;
use rusqlite::Connection;
use rusqlite::limits::Limit;
use tokio::sync::Semaphore;

use crate::WarehouseOptions;
use crate::common::{self, ApiError, resource};

/// Connections in the pool: this many queries run at once; more wait for a free connection.
const POOL_SIZE: usize = 3;
/// Largest request body accepted, in bytes.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;
/// The longest string or blob a query may build, in bytes.
const MAX_VALUE_BYTES: i32 = 1_000_000;
/// The most memory SQLite may allocate in this process, in bytes.
const HEAP_LIMIT_BYTES: u64 = 256 * 1024 * 1024;

/// Read-only SQLite connections, each holding the same generated data.
pub(crate) struct Pool {
    idle: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
}

impl Pool {
    /// Opens `size` in-memory databases, fills each with the sample data and makes it read-only.
    fn open(size: usize) -> rusqlite::Result<Self> {
        let mut idle = Vec::with_capacity(size);
        for _ in 0..size {
            idle.push(open_connection()?);
        }
        Ok(Self {
            idle: Arc::new(Mutex::new(idle)),
            permits: Arc::new(Semaphore::new(size)),
        })
    }

    /// Runs `work` on a free connection, on a thread where blocking is fine.
    ///
    /// The connection and its permit go back to the pool from that thread, so a caller that
    /// goes away mid-query (its future dropped) loses nothing.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| ApiError::internal("the connection pool is closed"))?;
        let idle = Arc::clone(&self.idle);
        web::block(move || {
            let conn = idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop()
                .ok_or_else(|| ApiError::internal("no connection available"))?;
            let result = work(&conn);
            idle.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
            drop(permit);
            result
        })
        .await
        .map_err(|_| ApiError::internal("the query worker failed"))?
    }
}

/// One in-memory database with the sample data, limited and switched to read-only.
fn open_connection() -> rusqlite::Result<Connection> {
    let mut conn = Connection::open_in_memory()?;
    data::populate(&mut conn)?;
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)?;
    conn.set_limit(
        Limit::SQLITE_LIMIT_SQL_LENGTH,
        i32::try_from(query::MAX_SQL_BYTES).unwrap_or(i32::MAX),
    )?;
    conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0)?;
    conn.execute_batch(&format!(
        "PRAGMA hard_heap_limit = {HEAP_LIMIT_BYTES}; PRAGMA query_only = ON;"
    ))?;
    Ok(conn)
}

/// Shared warehouse state.
pub(crate) struct AppState {
    /// The connections.
    pub(crate) pool: Pool,
    /// The longest a query may run, and its default time limit.
    pub(crate) max_query_time: Duration,
    /// The asynchronous export jobs.
    pub(crate) exports: exports::Exports,
}

/// Registers every route on `cfg`.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/health").route(web::get().to(common::health)))
        .service(resource("/tables").route(web::get().to(handlers::list_tables)))
        .service(resource("/tables/{name}").route(web::get().to(handlers::get_table)))
        .service(resource("/query").route(web::post().to(handlers::query)))
        .service(resource("/export").route(web::post().to(handlers::export)))
        .service(resource("/exports").route(web::post().to(exports::start)))
        .service(
            resource("/exports/{id}")
                .route(web::get().to(exports::status))
                .route(web::delete().to(exports::cancel)),
        )
        .service(resource("/exports/{id}/result").route(web::get().to(exports::result)));
}

/// Builds the data, binds the warehouse on `addr`, spawns it and returns its address and handle.
pub(crate) fn start(
    addr: &str,
    options: WarehouseOptions,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let pool = Pool::open(POOL_SIZE)
        .map_err(|e| std::io::Error::other(format!("cannot build the warehouse data: {e}")))?;
    let max_query_time = options
        .query_timeout
        .unwrap_or(handlers::DEFAULT_QUERY_TIME)
        .clamp(Duration::from_millis(100), Duration::from_secs(300));
    let state = web::Data::new(AppState {
        pool,
        max_query_time,
        exports: exports::Exports::default(),
    });
    common::start_server(addr, options.token.into(), "demo-warehouse", move |cfg| {
        cfg.app_data(state.clone());
        routes(cfg);
    })
}
