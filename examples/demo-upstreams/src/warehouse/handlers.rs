//! HTTP handlers of the demo warehouse. Every input is checked; nothing here panics on input.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

use super::query::{self, DEFAULT_EXPORT_ROWS, DEFAULT_PAGE_ROWS, MAX_EXPORT_ROWS, MAX_PAGE_ROWS};
use super::schema::{self, TABLES, table_doc};
use super::{AppState, MAX_BODY_BYTES};
use crate::common::ApiError;
use crate::common::params::{body_int, body_opt_str, body_str, only_members, read_object};

type Reply = Result<HttpResponse, ApiError>;

/// The time limit of a query when neither the server nor the caller sets one.
pub(crate) const DEFAULT_QUERY_TIME: Duration = Duration::from_secs(5);

/// `GET /tables`: every table with its description and size.
pub(crate) async fn list_tables(state: web::Data<AppState>) -> Reply {
    let tables = state
        .pool
        .run(|conn| {
            TABLES
                .iter()
                .map(|t| {
                    Ok(json!({
                        "name": t.name,
                        "description": t.description,
                        "row_count": schema::row_count(conn, t.name)?,
                        "column_count": t.columns.len(),
                    }))
                })
                .collect::<Result<Vec<Value>, ApiError>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "tables": tables })))
}

/// `GET /tables/{name}`: columns, types, keys; 404 for an unknown table.
pub(crate) async fn get_table(state: web::Data<AppState>, name: web::Path<String>) -> Reply {
    let name = name.into_inner();
    let well_formed = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !well_formed {
        return Err(ApiError::invalid(
            "name",
            "a table name is 1 to 64 letters, digits or underscores",
        ));
    }
    let Some(doc) = table_doc(&name.to_ascii_lowercase()) else {
        let known: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        return Err(ApiError::not_found(format!(
            "table {name:?} not found; tables: {}",
            known.join(", ")
        )));
    };
    let table = state
        .pool
        .run(move |conn| schema::describe_table(conn, doc))
        .await?;
    Ok(HttpResponse::Ok().json(table))
}

/// The time limit asked for in `timeout_ms`, at most the server's.
fn time_limit(body: &Map<String, Value>, state: &AppState) -> Result<Duration, ApiError> {
    let max_ms = u64::try_from(state.max_query_time.as_millis()).unwrap_or(u64::MAX);
    let ms = body_int(body, "timeout_ms", max_ms, 100, max_ms)?;
    Ok(Duration::from_millis(ms))
}

/// `POST /query`: `{"sql", "limit"?, "cursor"?, "timeout_ms"?}` → one page of rows.
pub(crate) async fn query(state: web::Data<AppState>, payload: web::Payload) -> Reply {
    let body = read_object(payload, MAX_BODY_BYTES).await?;
    only_members(&body, &["sql", "limit", "cursor", "timeout_ms"])?;
    let sql = body_str(&body, "sql")?.to_owned();
    let limit = body_int(&body, "limit", DEFAULT_PAGE_ROWS, 1, MAX_PAGE_ROWS)?;
    let offset = match body_opt_str(&body, "cursor")? {
        Some(cursor) => query::decode_cursor(&sql, cursor)?,
        None => 0,
    };
    let timeout = time_limit(&body, &state)?;
    query::check_read_only(&sql)?;
    let answer = state
        .pool
        .run(move |conn| {
            let page = query::run_page(conn, &sql, offset, limit, timeout)?;
            Ok(page.to_json(&sql, offset, limit))
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// `POST /export`: `{"sql", "max_rows"?, "timeout_ms"?}` → the rows as CSV text.
pub(crate) async fn export(state: web::Data<AppState>, payload: web::Payload) -> Reply {
    let body = read_object(payload, MAX_BODY_BYTES).await?;
    only_members(&body, &["sql", "max_rows", "timeout_ms"])?;
    let sql = body_str(&body, "sql")?.to_owned();
    let max_rows = body_int(&body, "max_rows", DEFAULT_EXPORT_ROWS, 1, MAX_EXPORT_ROWS)?;
    let timeout = time_limit(&body, &state)?;
    query::check_read_only(&sql)?;
    let csv = state
        .pool
        .run(move |conn| query::run_csv(conn, &sql, max_rows, timeout))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"export.csv\"",
        ))
        .body(csv))
}
