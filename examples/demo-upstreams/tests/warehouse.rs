//! Starts the demo warehouse on a free port and talks to it over real HTTP.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Api, error_code, error_field};
use toolgate_demo::{WarehouseOptions, start_warehouse};

async fn warehouse(token: Option<&str>) -> Api {
    let options = WarehouseOptions {
        token: token.map(str::to_owned),
        query_timeout: Some(Duration::from_secs(3)),
    };
    let (addr, handle) = start_warehouse("127.0.0.1:0", options)
        .await
        .expect("start");
    Api::new(addr, handle, token)
}

fn rows(body: &Value) -> &Vec<Value> {
    body["rows"].as_array().expect("rows")
}

#[tokio::test]
async fn tables_and_schemas() {
    let dw = warehouse(None).await;
    assert_eq!(dw.get("/health").await, (200, json!({ "status": "ok" })));
    let (status, body) = dw.get("/tables").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = body["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["regions", "products", "customers", "orders", "order_items"]
    );
    let total: i64 = body["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .filter_map(|t| t["row_count"].as_i64())
        .sum();
    assert!((5000..50_000).contains(&total), "{total} rows");

    let (status, orders) = dw.get("/tables/orders").await;
    assert_eq!(status, 200);
    assert_eq!(orders["row_count"], 3000);
    let id = &orders["columns"][0];
    assert_eq!(
        (
            &id["name"],
            &id["type"],
            &id["primary_key"],
            &id["nullable"]
        ),
        (
            &json!("order_id"),
            &json!("INTEGER"),
            &json!(true),
            &json!(false)
        )
    );
    assert!(
        orders["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .all(|c| c["description"].as_str().is_some_and(|d| !d.is_empty()))
    );
    assert_eq!(
        orders["foreign_keys"],
        json!([{ "column": "customer_id", "references": { "table": "customers", "column": "customer_id" } }])
    );
    // Case-insensitive names; unknown → 404; malformed → 400.
    assert_eq!(dw.get("/tables/ORDERS").await.0, 200);
    let (status, body) = dw.get("/tables/invoices").await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("order_items"))
    );
    let (status, body) = dw.get("/tables/orders%3Bdrop").await;
    assert_eq!((status, error_field(&body)), (400, "name"));
    let (status, body) = dw.post("/tables", &json!({})).await;
    assert_eq!((status, error_code(&body)), (405, "method_not_allowed"));
    dw.stop().await;
}

#[tokio::test]
async fn queries_page_with_cursors() {
    let dw = warehouse(None).await;
    let sql = "SELECT order_id, order_date, total_amount FROM orders ORDER BY order_id";
    let (status, first) = dw
        .post("/query", &json!({ "sql": sql, "limit": 400 }))
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(rows(&first).len(), 400);
    assert_eq!(first["has_more"], true);
    assert_eq!(
        first["columns"],
        json!([
            { "name": "order_id", "type": "integer" },
            { "name": "order_date", "type": "text" },
            { "name": "total_amount", "type": "real" },
        ])
    );
    // Walk every page: 3000 orders in 8 pages, no gaps, no repeats.
    let mut seen = rows(&first).len();
    let mut cursor = first["next_cursor"].as_str().expect("cursor").to_owned();
    let mut pages = 1;
    loop {
        let (status, page) = dw
            .post(
                "/query",
                &json!({ "sql": sql, "limit": 400, "cursor": cursor }),
            )
            .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(rows(&page)[0][0], json!(seen + 1));
        seen += rows(&page).len();
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!((seen, pages), (3000, 8));

    // Default and maximum limits.
    let (_, all) = dw
        .post("/query", &json!({ "sql": "SELECT * FROM order_items" }))
        .await;
    assert_eq!((rows(&all).len(), &all["limit"]), (100, &json!(100)));
    for limit in [json!(0), json!(1001), json!("ten"), json!(-1)] {
        let (status, body) = dw
            .post("/query", &json!({ "sql": "SELECT 1", "limit": limit }))
            .await;
        assert_eq!((status, error_field(&body)), (400, "limit"), "{limit}");
    }
    // A cursor only works with its own query.
    let (status, body) = dw
        .post("/query", &json!({ "sql": "SELECT 2", "cursor": cursor }))
        .await;
    assert_eq!((status, error_field(&body)), (400, "cursor"));
    let (status, body) = dw
        .post("/query", &json!({ "sql": sql, "cursor": "garbage" }))
        .await;
    assert_eq!((status, error_field(&body)), (400, "cursor"));
    dw.stop().await;
}

#[tokio::test]
async fn aggregates_over_joins() {
    let dw = warehouse(None).await;
    let sql = "WITH revenue AS (
                 SELECT c.region_id, sum(o.total_amount) AS amount
                 FROM orders o JOIN customers c USING (customer_id)
                 WHERE o.status IN ('completed', 'shipped')
                 GROUP BY c.region_id)
               SELECT r.name, round(amount, 2) FROM revenue JOIN regions r USING (region_id)
               ORDER BY amount DESC";
    let (status, body) = dw.post("/query", &json!({ "sql": sql })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(rows(&body).len(), 6);
    let amounts: Vec<f64> = rows(&body).iter().filter_map(|r| r[1].as_f64()).collect();
    assert!(amounts.windows(2).all(|w| w[0] >= w[1]));
    assert!(amounts.iter().all(|a| *a > 0.0));
    dw.stop().await;
}

#[tokio::test]
async fn writes_and_bad_sql_are_refused() {
    let dw = warehouse(None).await;
    for (sql, code) in [
        ("DELETE FROM orders", "read_only"),
        ("  update orders SET status = 'x'", "read_only"),
        ("DROP TABLE orders", "read_only"),
        ("PRAGMA query_only = OFF", "read_only"),
        ("ATTACH DATABASE '/tmp/x.db' AS x", "read_only"),
        ("WITH x AS (SELECT 1) DELETE FROM orders", "read_only"),
        (
            "-- sneaky\nINSERT INTO regions VALUES (99, 'x', 'y')",
            "read_only",
        ),
        ("SELECT 1; DELETE FROM orders", "validation_error"),
        ("SELECT * FROM invoices", "sql_error"),
        ("SELECT FROM WHERE", "sql_error"),
        ("SELECT load_extension('/tmp/evil')", "sql_error"),
        (
            "SELECT length(replace(zeroblob(100000000), x'00', 'ab'))",
            "sql_error",
        ),
    ] {
        let (status, body) = dw.post("/query", &json!({ "sql": sql })).await;
        assert_eq!((status, error_code(&body)), (400, code), "{sql}: {body}");
        assert_eq!(error_field(&body), "sql", "{sql}");
    }
    // Nothing was written.
    let (_, count) = dw
        .post("/query", &json!({ "sql": "SELECT count(*) FROM orders" }))
        .await;
    assert_eq!(count["rows"], json!([[3000]]));

    for (body, field) in [
        (json!({}), "sql"),
        (json!({ "sql": "" }), "sql"),
        (json!({ "sql": 42 }), "sql"),
        (json!({ "sql": "SELECT 1", "colour": "red" }), "colour"),
        (json!({ "sql": "SELECT 1", "timeout_ms": 10 }), "timeout_ms"),
        (
            json!({ "sql": "SELECT 1", "timeout_ms": 999_999 }),
            "timeout_ms",
        ),
    ] {
        let (status, answer) = dw.post("/query", &body).await;
        assert_eq!((status, error_field(&answer)), (400, field), "{body}");
    }
    for raw in ["not json", "[1, 2]", ""] {
        let (status, body) = dw.post_raw("/query", raw).await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "validation_error"),
            "{raw:?}"
        );
    }
    let huge = format!("{{\"sql\": \"{}\"}}", "x".repeat(100_000));
    let (status, body) = dw.post_raw("/query", &huge).await;
    assert_eq!((status, error_code(&body)), (413, "payload_too_large"));
    dw.stop().await;
}

#[tokio::test]
async fn slow_queries_are_stopped_at_the_time_limit() {
    let dw = warehouse(None).await;
    let endless =
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n";
    let started = Instant::now();
    let (status, body) = dw
        .post("/query", &json!({ "sql": endless, "timeout_ms": 300 }))
        .await;
    let took = started.elapsed();
    assert_eq!(
        (status, error_code(&body)),
        (408, "query_timeout"),
        "{body}"
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
    // The server's own limit (3 s here) applies without timeout_ms.
    let started = Instant::now();
    let (status, _) = dw.post("/query", &json!({ "sql": endless })).await;
    assert_eq!(status, 408);
    assert!(started.elapsed() >= Duration::from_millis(2900));
    // The connection is fine afterwards.
    let (status, body) = dw
        .post("/query", &json!({ "sql": "SELECT 1 AS one" }))
        .await;
    assert_eq!((status, &body["rows"]), (200, &json!([[1]])));
    dw.stop().await;
}

#[tokio::test]
async fn exports_are_csv_and_bounded() {
    let dw = warehouse(None).await;
    let sql = "SELECT sku, name, unit_price FROM products WHERE category = 'Monitors' ORDER BY sku";
    let req = dw.post_request("/export", &json!({ "sql": sql }).to_string());
    let (status, content_type, csv) = Api::send_raw(req).await;
    assert_eq!(status, 200, "{csv}");
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "sku,name,unit_price");
    assert_eq!(lines.len(), 7);
    // A name with a double quote (27" monitors) is quoted and its quote doubled.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"ClearView 27\"\" QHD Monitor\"")),
        "{csv}"
    );

    let req = dw.post_request(
        "/export",
        &json!({ "sql": "SELECT * FROM order_items", "max_rows": 10 }).to_string(),
    );
    let (_, _, csv) = Api::send_raw(req).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 12, "{csv}");
    assert!(lines[11].starts_with("# truncated after 10 rows"), "{csv}");

    let (status, body) = dw
        .post("/export", &json!({ "sql": sql, "max_rows": 5001 }))
        .await;
    assert_eq!((status, error_field(&body)), (400, "max_rows"));
    let (status, body) = dw
        .post("/export", &json!({ "sql": "DELETE FROM products" }))
        .await;
    assert_eq!((status, error_code(&body)), (400, "read_only"));
    dw.stop().await;
}

#[tokio::test]
async fn token_is_enforced() {
    let dw = warehouse(Some("s3cret")).await;
    assert_eq!(dw.get("/tables").await.0, 200);
    let anonymous = reqwest::Client::new();
    let res = anonymous
        .get(format!("{}/tables", dw.base))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status().as_u16(), 401);
    assert!(res.headers().contains_key("www-authenticate"));
    let res = anonymous
        .get(format!("{}/health", dw.base))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status().as_u16(), 200);
    drop(anonymous);
    dw.stop().await;
}
