//! Running read-only SQL: the statement guard, pages with cursors, CSV exports, and the
//! time limit enforced through SQLite's progress handler.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, Statement};
use serde_json::{Value, json};

use crate::common::ApiError;

/// Longest accepted SQL text, in bytes.
pub(crate) const MAX_SQL_BYTES: usize = 20_000;
/// Most rows a page may hold.
pub(crate) const MAX_PAGE_ROWS: u64 = 1000;
/// Rows in a page when the caller gives no `limit`.
pub(crate) const DEFAULT_PAGE_ROWS: u64 = 100;
/// Most rows an export may hold.
pub(crate) const MAX_EXPORT_ROWS: u64 = 5000;
/// Rows in an export when the caller gives no `max_rows`.
pub(crate) const DEFAULT_EXPORT_ROWS: u64 = 1000;
/// A page stops growing once its rows take this many bytes of JSON; the rest is on the next page.
const PAGE_BYTE_BUDGET: usize = 1024 * 1024;
/// An export stops once it is this long.
const EXPORT_BYTE_BUDGET: usize = 2 * 1024 * 1024;
/// Longer text values are cut, with a marker, in pages and exports.
const MAX_CELL_CHARS: usize = 2000;
/// SQLite VM instructions between two checks of the deadline.
const PROGRESS_STEPS: i32 = 1000;

/// Checks that `sql` is one read-only query: after comments, it must start with SELECT or WITH.
pub(crate) fn check_read_only(sql: &str) -> Result<(), ApiError> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(ApiError::invalid(
            "sql",
            format!("sql is longer than {MAX_SQL_BYTES} bytes"),
        ));
    }
    let body = skip_comments(sql);
    if body.is_empty() {
        return Err(ApiError::invalid("sql", "sql holds no statement"));
    }
    let keyword: String = body
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_uppercase();
    if keyword == "SELECT" || keyword == "WITH" {
        Ok(())
    } else {
        Err(read_only_error(if keyword.is_empty() {
            "the statement".to_owned()
        } else {
            keyword
        }))
    }
}

/// The 400 for a statement that is not a query.
fn read_only_error(what: String) -> ApiError {
    ApiError::other(
        StatusCode::BAD_REQUEST,
        "read_only",
        format!(
            "{what} is not allowed: the warehouse is read-only and accepts a single SELECT or WITH query"
        ),
    )
    .with_field("sql")
}

/// `sql` without leading whitespace, `-- line` and `/* block */` comments.
fn skip_comments(mut sql: &str) -> &str {
    loop {
        sql = sql.trim_start();
        if let Some(rest) = sql.strip_prefix("--") {
            sql = rest.find('\n').map_or("", |i| &rest[i + 1..]);
        } else if let Some(rest) = sql.strip_prefix("/*") {
            sql = rest.find("*/").map_or("", |i| &rest[i + 2..]);
        } else {
            return sql;
        }
    }
}

/// A 64-bit FNV-1a hash of the query text, binding a cursor to its query.
fn fingerprint(sql: &str) -> u64 {
    sql.trim().bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The cursor of the page of `sql` that starts at row `offset`.
pub(crate) fn encode_cursor(sql: &str, offset: u64) -> String {
    format!("o{offset}-{:016x}", fingerprint(sql))
}

/// The row offset a cursor stands for; 400 if malformed or made for another query.
pub(crate) fn decode_cursor(sql: &str, cursor: &str) -> Result<u64, ApiError> {
    let bad = || {
        ApiError::invalid(
            "cursor",
            "cursor is not valid: pass next_cursor from the previous answer unchanged",
        )
    };
    let (offset, hash) = cursor
        .strip_prefix('o')
        .and_then(|rest| rest.split_once('-'))
        .ok_or_else(bad)?;
    let offset: u64 = offset.parse().map_err(|_| bad())?;
    let hash = u64::from_str_radix(hash, 16).map_err(|_| bad())?;
    if hash != fingerprint(sql) {
        return Err(ApiError::invalid(
            "cursor",
            "cursor belongs to another query: send the same sql as the call that returned it",
        ));
    }
    Ok(offset)
}

/// One column of an answer.
pub(crate) struct Column {
    name: String,
    decl_type: Option<String>,
}

/// One page of a query's rows.
pub(crate) struct Page {
    columns: Vec<Column>,
    rows: Vec<Vec<Value>>,
    /// Whether more rows follow this page.
    pub(crate) more: bool,
    elapsed: Duration,
}

impl Page {
    /// The page as the JSON answer of `POST /query`.
    pub(crate) fn to_json(&self, sql: &str, offset: u64, limit: u64) -> Value {
        let columns: Vec<Value> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| json!({ "name": c.name, "type": self.column_type(i, c) }))
            .collect();
        let next_offset = offset.saturating_add(self.rows.len() as u64);
        json!({
            "columns": columns,
            "rows": self.rows,
            "row_count": self.rows.len(),
            "offset": offset,
            "limit": limit,
            "has_more": self.more,
            "next_cursor": self.more.then(|| encode_cursor(sql, next_offset)),
            "elapsed_ms": u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// The declared type, or the JSON kind of the first non-null value.
    fn column_type(&self, i: usize, column: &Column) -> String {
        if let Some(t) = &column.decl_type {
            return t.to_ascii_lowercase();
        }
        let kind = self
            .rows
            .iter()
            .filter_map(|r| r.get(i))
            .find(|v| !v.is_null())
            .map_or("null", |v| match v {
                Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
                Value::Number(_) => "real",
                Value::String(_) => "text",
                _ => "null",
            });
        kind.to_owned()
    }
}

/// Prepares `sql` as one read-only statement; every SQLite complaint becomes a 400.
fn prepare<'c>(conn: &'c Connection, sql: &str) -> Result<Statement<'c>, ApiError> {
    check_read_only(sql)?;
    let stmt = conn
        .prepare(sql)
        .map_err(|e| sql_error(e, Duration::ZERO))?;
    if !stmt.readonly() {
        return Err(read_only_error("a statement that writes".to_owned()));
    }
    Ok(stmt)
}

/// Maps a SQLite error to the answer the caller gets; `limit` is the query's time limit.
fn sql_error(err: rusqlite::Error, limit: Duration) -> ApiError {
    match &err {
        rusqlite::Error::MultipleStatement => ApiError::invalid(
            "sql",
            "send exactly one statement (no ';' followed by another)",
        ),
        rusqlite::Error::SqliteFailure(e, _) if e.code == ErrorCode::OperationInterrupted => {
            ApiError::other(
                StatusCode::REQUEST_TIMEOUT,
                "query_timeout",
                format!(
                    "the query was stopped at its time limit of {} ms: filter (WHERE) or aggregate (GROUP BY) so that it reads fewer rows",
                    limit.as_millis()
                ),
            )
        }
        rusqlite::Error::SqliteFailure(e, _) if e.code == ErrorCode::ReadOnly => {
            read_only_error("writing".to_owned())
        }
        rusqlite::Error::SqliteFailure(e, _) if e.code == ErrorCode::OutOfMemory => {
            ApiError::other(
                StatusCode::BAD_REQUEST,
                "query_too_large",
                "the query needs more memory than the warehouse allows: aggregate or filter first",
            )
        }
        _ => ApiError::other(
            StatusCode::BAD_REQUEST,
            "sql_error",
            format!("SQLite rejected the query: {err}"),
        )
        .with_field("sql"),
    }
}

/// Arms the progress handler so that the statement is interrupted after `timeout`.
fn arm_deadline(conn: &Connection, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    conn.progress_handler(PROGRESS_STEPS, Some(move || Instant::now() >= deadline));
}

/// Removes the progress handler.
fn disarm_deadline(conn: &Connection) {
    conn.progress_handler(0, None::<fn() -> bool>);
}

/// A cell as JSON; long text is cut with a marker, blobs are described, not sent.
fn cell(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        ValueRef::Text(bytes) => Value::String(cut(&String::from_utf8_lossy(bytes))),
        ValueRef::Blob(bytes) => Value::String(format!("<blob, {} bytes>", bytes.len())),
    }
}

/// `text` cut to [`MAX_CELL_CHARS`] characters, with a marker when cut.
fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_CELL_CHARS) {
        None => text.to_owned(),
        Some((end, _)) => format!(
            "{}…[cut: {} characters in all]",
            &text[..end],
            text.chars().count()
        ),
    }
}

/// Runs `sql` and returns the rows `offset..offset+limit` (fewer if the page's JSON grows past
/// its byte budget), stopping the query once `timeout` has passed.
pub(crate) fn run_page(
    conn: &Connection,
    sql: &str,
    offset: u64,
    limit: u64,
    timeout: Duration,
) -> Result<Page, ApiError> {
    let started = Instant::now();
    let mut stmt = prepare(conn, sql)?;
    let columns = stmt
        .columns()
        .iter()
        .map(|c| Column {
            name: c.name().to_owned(),
            decl_type: c.decl_type().map(str::to_owned),
        })
        .collect::<Vec<_>>();
    let width = columns.len();
    arm_deadline(conn, timeout);
    let result = (|| {
        let mut rows = stmt.query([]).map_err(|e| sql_error(e, timeout))?;
        let mut skipped = 0u64;
        let mut page = Vec::new();
        let mut bytes = 0usize;
        let mut more = false;
        while let Some(row) = rows.next().map_err(|e| sql_error(e, timeout))? {
            if skipped < offset {
                skipped += 1;
                continue;
            }
            if page.len() as u64 >= limit || bytes >= PAGE_BYTE_BUDGET {
                more = true;
                break;
            }
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(cell(row.get_ref(i).map_err(|e| sql_error(e, timeout))?));
            }
            bytes += serde_json::to_string(&values).map_or(0, |s| s.len());
            page.push(values);
        }
        Ok((page, more))
    })();
    disarm_deadline(conn);
    let (rows, more) = result?;
    Ok(Page {
        columns,
        rows,
        more,
        elapsed: started.elapsed(),
    })
}

/// A CSV export of `sql`: a header line, then at most `max_rows` rows. When rows were left out,
/// a last line starting with `#` says so.
pub(crate) fn run_csv(
    conn: &Connection,
    sql: &str,
    max_rows: u64,
    timeout: Duration,
) -> Result<String, ApiError> {
    let mut stmt = prepare(conn, sql)?;
    let names: Vec<String> = stmt.column_names().iter().map(|n| csv_field(n)).collect();
    let width = names.len();
    let mut out = names.join(",");
    out.push('\n');
    arm_deadline(conn, timeout);
    let result = (|| {
        let mut rows = stmt.query([]).map_err(|e| sql_error(e, timeout))?;
        let mut written = 0u64;
        while let Some(row) = rows.next().map_err(|e| sql_error(e, timeout))? {
            if written >= max_rows || out.len() >= EXPORT_BYTE_BUDGET {
                let why = if written >= max_rows {
                    format!("max_rows = {max_rows}")
                } else {
                    format!("{EXPORT_BYTE_BUDGET} bytes")
                };
                let _ = writeln!(
                    out,
                    "# truncated after {written} rows ({why}); narrow the query or page it with dw_execute_query"
                );
                break;
            }
            let mut fields = Vec::with_capacity(width);
            for i in 0..width {
                fields.push(csv_cell(row.get_ref(i).map_err(|e| sql_error(e, timeout))?));
            }
            out.push_str(&fields.join(","));
            out.push('\n');
            written += 1;
        }
        Ok(())
    })();
    disarm_deadline(conn);
    result.map(|()| out)
}

/// A cell as one CSV field.
fn csv_cell(value: ValueRef<'_>) -> String {
    match cell(value) {
        Value::Null => String::new(),
        Value::String(s) => csv_field(&s),
        other => other.to_string(),
    }
}

/// `text` as a CSV field (RFC 4180): quoted when it holds a comma, quote or line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_select_and_with_pass_the_guard() {
        for ok in [
            "SELECT 1",
            "  select * from orders",
            "-- comment\nWITH x AS (SELECT 1) SELECT * FROM x",
            "/* a */ /* b */ Select 2",
        ] {
            assert!(check_read_only(ok).is_ok(), "{ok}");
        }
        for bad in [
            "DELETE FROM orders",
            "insert into orders values (1)",
            "PRAGMA query_only = OFF",
            "ATTACH 'x.db' AS x",
            "-- only a comment",
            "/* unterminated",
            "",
            "(SELECT 1)",
        ] {
            assert!(check_read_only(bad).is_err(), "{bad}");
        }
        assert!(check_read_only(&"SELECT 1 ".repeat(3000)).is_err());
    }

    #[test]
    fn cursors_round_trip_and_bind_to_their_query() {
        let c = encode_cursor("SELECT 1", 100);
        assert_eq!(decode_cursor("SELECT 1", &c).ok(), Some(100));
        assert_eq!(decode_cursor(" SELECT 1 ", &c).ok(), Some(100));
        assert!(decode_cursor("SELECT 2", &c).is_err());
        for bad in [
            "",
            "o",
            "o-",
            "ox-1",
            "o1-zz",
            "100",
            "o1-ffffffffffffffffff",
        ] {
            assert!(decode_cursor("SELECT 1", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn csv_quoting_and_cutting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        let long = "é".repeat(MAX_CELL_CHARS + 5);
        assert!(cut(&long).ends_with(&format!("[cut: {} characters in all]", MAX_CELL_CHARS + 5)));
        assert_eq!(cut("short"), "short");
    }
}
