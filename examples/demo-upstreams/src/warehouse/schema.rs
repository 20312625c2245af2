//! The warehouse's tables: the SQL that creates them and the documentation that
//! `GET /tables` and `GET /tables/{name}` serve.

use rusqlite::Connection;
use serde_json::{Map, Value, json};

use crate::common::ApiError;

/// The tables, created in this order.
pub(crate) const SCHEMA: &str = "
CREATE TABLE regions (
    region_id      INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    sales_director TEXT    NOT NULL
);
CREATE TABLE products (
    product_id  INTEGER PRIMARY KEY,
    sku         TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    category    TEXT    NOT NULL,
    unit_price  REAL    NOT NULL,
    unit_cost   REAL    NOT NULL,
    launched_on TEXT    NOT NULL
);
CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    segment     TEXT    NOT NULL,
    region_id   INTEGER NOT NULL REFERENCES regions(region_id),
    country     TEXT    NOT NULL,
    signup_date TEXT    NOT NULL
);
CREATE TABLE orders (
    order_id     INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers(customer_id),
    order_date   TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    channel      TEXT    NOT NULL,
    total_amount REAL    NOT NULL
);
CREATE TABLE order_items (
    order_item_id INTEGER PRIMARY KEY,
    order_id      INTEGER NOT NULL REFERENCES orders(order_id),
    product_id    INTEGER NOT NULL REFERENCES products(product_id),
    quantity      INTEGER NOT NULL,
    unit_price    REAL    NOT NULL,
    discount      REAL    NOT NULL
);
CREATE INDEX orders_by_customer ON orders(customer_id);
CREATE INDEX orders_by_date ON orders(order_date);
CREATE INDEX items_by_order ON order_items(order_id);
CREATE INDEX items_by_product ON order_items(product_id);
CREATE INDEX customers_by_region ON customers(region_id);
";

/// Documentation of one table, served by `GET /tables` and `GET /tables/{name}`.
pub(crate) struct TableDoc {
    /// The table's name.
    pub(crate) name: &'static str,
    /// What one row is.
    pub(crate) description: &'static str,
    /// `(column, description)` for every column, in table order.
    pub(crate) columns: &'static [(&'static str, &'static str)],
}

/// Every table of the warehouse, documented.
pub(crate) const TABLES: [TableDoc; 5] = [
    TableDoc {
        name: "regions",
        description: "Sales regions; every customer belongs to one.",
        columns: &[
            ("region_id", "Region key."),
            ("name", "Region name, e.g. 'Western Europe'."),
            ("sales_director", "Who runs sales in the region."),
        ],
    },
    TableDoc {
        name: "products",
        description: "The product catalogue: hardware, software licences and services.",
        columns: &[
            ("product_id", "Product key."),
            ("sku", "Stock-keeping unit, e.g. 'LAP-1001'."),
            ("name", "Product name."),
            (
                "category",
                "One of Laptops, Monitors, Accessories, Networking, Software, Services.",
            ),
            ("unit_price", "Current list price per unit, in USD."),
            ("unit_cost", "What one unit costs us, in USD."),
            ("launched_on", "Launch date, YYYY-MM-DD."),
        ],
    },
    TableDoc {
        name: "customers",
        description: "Companies that buy from us.",
        columns: &[
            ("customer_id", "Customer key."),
            ("name", "Company name."),
            ("segment", "One of SMB, Mid-Market, Enterprise."),
            (
                "region_id",
                "The customer's sales region (regions.region_id).",
            ),
            ("country", "Country of the billing address."),
            ("signup_date", "When the customer first signed, YYYY-MM-DD."),
        ],
    },
    TableDoc {
        name: "orders",
        description: "One row per order, 2024-01-01 to 2025-12-31.",
        columns: &[
            ("order_id", "Order key."),
            ("customer_id", "Who ordered (customers.customer_id)."),
            ("order_date", "Order date, YYYY-MM-DD."),
            (
                "status",
                "One of completed, shipped, processing, cancelled, returned. Revenue usually counts completed and shipped only.",
            ),
            ("channel", "One of online, partner, direct."),
            (
                "total_amount",
                "Order total in USD after discounts: the sum over its items of quantity * unit_price * (1 - discount), rounded to cents.",
            ),
        ],
    },
    TableDoc {
        name: "order_items",
        description: "Order lines: one product, a quantity and the price actually charged.",
        columns: &[
            ("order_item_id", "Order line key."),
            ("order_id", "The order (orders.order_id)."),
            ("product_id", "The product (products.product_id)."),
            ("quantity", "Units ordered, at least 1."),
            (
                "unit_price",
                "List price per unit at the time of the order, in USD.",
            ),
            (
                "discount",
                "Discount granted on this line, a fraction from 0 to 0.3.",
            ),
        ],
    },
];

/// The documentation of table `name`, if it exists.
pub(crate) fn table_doc(name: &str) -> Option<&'static TableDoc> {
    TABLES.iter().find(|t| t.name == name)
}

/// `GET /tables/{name}` for an existing table: its columns, keys and documentation.
pub(crate) fn describe_table(conn: &Connection, doc: &TableDoc) -> Result<Value, ApiError> {
    let internal = |e: rusqlite::Error| ApiError::internal(format!("schema lookup failed: {e}"));
    let mut stmt = conn
        .prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid")
        .map_err(internal)?;
    let columns = stmt
        .query_map([doc.name], |r| {
            let name: String = r.get(0)?;
            let description = doc
                .columns
                .iter()
                .find(|(n, _)| *n == name)
                .map_or("", |(_, d)| *d);
            Ok(json!({
                "name": name,
                "type": r.get::<_, String>(1)?,
                "nullable": r.get::<_, i64>(2)? == 0 && r.get::<_, i64>(3)? == 0,
                "primary_key": r.get::<_, i64>(3)? > 0,
                "description": description,
            }))
        })
        .map_err(internal)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)?;
    let mut stmt = conn
        .prepare("SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?1) ORDER BY id")
        .map_err(internal)?;
    let foreign_keys = stmt
        .query_map([doc.name], |r| {
            Ok(json!({
                "column": r.get::<_, String>(0)?,
                "references": { "table": r.get::<_, String>(1)?, "column": r.get::<_, String>(2)? },
            }))
        })
        .map_err(internal)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)?;
    let row_count = row_count(conn, doc.name)?;
    let mut answer = Map::new();
    answer.insert("name".into(), doc.name.into());
    answer.insert("description".into(), doc.description.into());
    answer.insert("row_count".into(), row_count.into());
    answer.insert("columns".into(), columns.into());
    answer.insert("foreign_keys".into(), foreign_keys.into());
    answer.insert(
        "example_query".into(),
        format!("SELECT * FROM {} LIMIT 5", doc.name).into(),
    );
    Ok(Value::Object(answer))
}

/// The number of rows in table `name` (a documented table, never caller text).
pub(crate) fn row_count(conn: &Connection, name: &str) -> Result<i64, ApiError> {
    conn.query_row(&format!("SELECT count(*) FROM \"{name}\""), [], |r| {
        r.get(0)
    })
    .map_err(|e| ApiError::internal(format!("row count failed: {e}")))
}
