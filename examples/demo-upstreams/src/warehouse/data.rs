//! The warehouse's sample sales data, generated deterministically (same seed, same rows) into an
//! in-memory SQLite database.

use rusqlite::{Connection, params};

use super::schema::SCHEMA;
use crate::common::rng::Rng;
use crate::common::time::{civil_from_days, days_from_civil, iso_date};

/// The seed of the sample data; change it and every number in the examples changes.
const SEED: u64 = 0x5EED_2024_0001;
/// How many customers are generated.
pub(crate) const CUSTOMER_COUNT: usize = 400;
/// How many orders are generated.
pub(crate) const ORDER_COUNT: usize = 3000;

/// `(name, sales director, countries)` of each region.
const REGIONS: [(&str, &str, &[&str]); 6] = [
    (
        "North America",
        "Dana Whitfield",
        &["United States", "Canada", "Mexico"],
    ),
    (
        "Latin America",
        "Rafael Moreira",
        &["Brazil", "Argentina", "Chile", "Colombia"],
    ),
    (
        "Western Europe",
        "Claire Dubois",
        &[
            "Germany",
            "France",
            "United Kingdom",
            "Netherlands",
            "Spain",
            "Italy",
        ],
    ),
    (
        "Nordics",
        "Erik Lindqvist",
        &["Sweden", "Norway", "Denmark", "Finland"],
    ),
    (
        "Middle East & Africa",
        "Amara Okafor",
        &[
            "United Arab Emirates",
            "South Africa",
            "Saudi Arabia",
            "Nigeria",
        ],
    ),
    (
        "Asia Pacific",
        "Kenji Watanabe",
        &["Japan", "Australia", "Singapore", "India", "South Korea"],
    ),
];

/// How likely a customer is to be in each region (same order as [`REGIONS`]).
const REGION_WEIGHTS: [u32; 6] = [34, 8, 26, 9, 7, 16];

/// `(product name, list price in USD)`.
type Item = (&'static str, f64);

/// `(SKU prefix, category, items)`.
const CATALOGUE: [(&str, &str, &[Item]); 6] = [
    (
        "LAP",
        "Laptops",
        &[
            ("ProBook 14 Laptop", 1149.0),
            ("ProBook 16 Laptop", 1399.0),
            ("AirLite 13 Ultrabook", 999.0),
            ("WorkStation X1 Mobile", 2499.0),
            ("EduBook 11 Chromebook", 329.0),
            ("Rugged Field Laptop R7", 1899.0),
            ("ProBook 14 Laptop (2025)", 1249.0),
        ],
    ),
    (
        "MON",
        "Monitors",
        &[
            ("ClearView 24\" Monitor", 189.0),
            ("ClearView 27\" QHD Monitor", 329.0),
            ("UltraWide 34\" Curved Monitor", 649.0),
            ("StudioPro 32\" 4K Monitor", 1099.0),
            ("Portable 15\" USB-C Display", 249.0),
            ("ClearView 27\" 4K Monitor", 459.0),
        ],
    ),
    (
        "ACC",
        "Accessories",
        &[
            ("Wireless Keyboard & Mouse Set", 79.0),
            ("USB-C Docking Station", 229.0),
            ("Noise-Cancelling Headset", 159.0),
            ("1080p Conference Webcam", 119.0),
            ("Laptop Sleeve 14\"", 39.0),
            ("65W USB-C Charger", 49.0),
            ("Ergonomic Vertical Mouse", 59.0),
            ("Thunderbolt 4 Cable 2m", 45.0),
        ],
    ),
    (
        "NET",
        "Networking",
        &[
            ("Wi-Fi 7 Access Point", 399.0),
            ("24-Port PoE Switch", 749.0),
            ("Branch Office Firewall", 1290.0),
            ("48-Port Core Switch", 3490.0),
            ("Mesh Wi-Fi Kit (3 pack)", 449.0),
            ("SD-WAN Edge Router", 1850.0),
        ],
    ),
    (
        "SW",
        "Software",
        &[
            ("Endpoint Security (1 seat, 1 year)", 48.0),
            ("Office Suite Business (1 seat, 1 year)", 150.0),
            ("Backup Cloud 1 TB (1 year)", 120.0),
            ("Device Management (1 seat, 1 year)", 36.0),
            ("Analytics Platform (1 seat, 1 year)", 480.0),
            ("Password Manager Teams (1 seat, 1 year)", 40.0),
            ("Video Conferencing Pro (1 host, 1 year)", 180.0),
        ],
    ),
    (
        "SVC",
        "Services",
        &[
            ("On-site Installation (per day)", 950.0),
            ("Premium Support (per device, 1 year)", 89.0),
            ("Network Assessment", 4500.0),
            ("Device Imaging & Setup (per device)", 35.0),
            ("Security Audit", 7800.0),
            ("Training Workshop (half day)", 1200.0),
        ],
    ),
];

const NAME_FIRST: [&str; 20] = [
    "Summit",
    "Harbor",
    "Pioneer",
    "Granite",
    "Silverline",
    "Cedar",
    "Nova",
    "Bluewater",
    "Ironwood",
    "Meridian",
    "Evergreen",
    "Redstone",
    "Atlas",
    "Lighthouse",
    "Northstar",
    "Brightpath",
    "Crescent",
    "Oakridge",
    "Falcon",
    "Horizon",
];

const NAME_SECOND: [&str; 20] = [
    "Analytics",
    "Logistics",
    "Foods",
    "Health",
    "Labs",
    "Retail",
    "Energy",
    "Systems",
    "Manufacturing",
    "Media",
    "Consulting",
    "Pharma",
    "Insurance",
    "Robotics",
    "Outdoor",
    "Telecom",
    "Hospitality",
    "Engineering",
    "Capital",
    "Education",
];

/// Customer segments with their share of customers.
const SEGMENTS: [(&str, u32); 3] = [("SMB", 55), ("Mid-Market", 30), ("Enterprise", 15)];
/// Order statuses with their share of orders.
const STATUSES: [(&str, u32); 5] = [
    ("completed", 80),
    ("shipped", 7),
    ("processing", 3),
    ("cancelled", 6),
    ("returned", 4),
];
/// Relative order volume by month, January first (Q4 is busiest).
const MONTH_WEIGHTS: [(i64, u32); 12] = [
    (1, 7),
    (2, 7),
    (3, 9),
    (4, 8),
    (5, 8),
    (6, 10),
    (7, 7),
    (8, 7),
    (9, 10),
    (10, 11),
    (11, 13),
    (12, 15),
];

/// A customer as generated, kept to generate its orders.
struct GenCustomer {
    segment: &'static str,
}

/// A product as generated, kept to generate order lines.
struct GenProduct {
    category: &'static str,
    price: f64,
}

/// Rounds to cents.
fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Creates the schema and fills it with the sample data, in one transaction.
pub(crate) fn populate(conn: &mut Connection) -> rusqlite::Result<()> {
    let mut rng = Rng::new(SEED);
    let tx = conn.transaction()?;
    tx.execute_batch(SCHEMA)?;
    {
        let mut insert = tx.prepare("INSERT INTO regions VALUES (?1, ?2, ?3)")?;
        for (i, (name, director, _)) in REGIONS.iter().enumerate() {
            insert.execute(params![i + 1, name, director])?;
        }
    }
    let products = insert_products(&tx, &mut rng)?;
    let customers = insert_customers(&tx, &mut rng)?;
    insert_orders(&tx, &mut rng, &customers, &products)?;
    tx.commit()
}

fn insert_products(tx: &Connection, rng: &mut Rng) -> rusqlite::Result<Vec<GenProduct>> {
    let mut insert = tx.prepare("INSERT INTO products VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
    let mut products = Vec::new();
    let first_launch = days_from_civil(2019, 1, 1);
    for (prefix, category, items) in CATALOGUE {
        for (n, (name, price)) in items.iter().enumerate() {
            let margin = match category {
                "Software" => 0.15 + 0.10 * rng.unit(),
                "Services" => 0.45 + 0.15 * rng.unit(),
                _ => 0.60 + 0.15 * rng.unit(),
            };
            let launched = first_launch + rng.between(0, 6 * 365 - 200);
            let id = products.len() + 1;
            insert.execute(params![
                id,
                format!("{prefix}-{}", 1001 + n),
                name,
                category,
                price,
                cents(price * margin),
                iso_date(launched),
            ])?;
            products.push(GenProduct {
                category,
                price: *price,
            });
        }
    }
    Ok(products)
}

fn insert_customers(tx: &Connection, rng: &mut Rng) -> rusqlite::Result<Vec<GenCustomer>> {
    let mut insert = tx.prepare("INSERT INTO customers VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
    let weights: Vec<(usize, u32)> = REGION_WEIGHTS.iter().copied().enumerate().collect();
    let first_signup = days_from_civil(2019, 3, 1);
    let last_signup = days_from_civil(2025, 9, 30);
    let mut customers = Vec::with_capacity(CUSTOMER_COUNT);
    for i in 0..CUSTOMER_COUNT {
        // (i % 20, (i / 20 + 3 * (i % 20)) % 20) visits each of the 400 name pairs once.
        let first = NAME_FIRST[i % 20];
        let second = NAME_SECOND[(i / 20 + 3 * (i % 20)) % 20];
        let segment = rng.weighted(&SEGMENTS).copied().unwrap_or("SMB");
        let region = rng.weighted(&weights).copied().unwrap_or(0);
        let (_, _, countries) = REGIONS[region];
        let country = rng.pick(countries).copied().unwrap_or("United States");
        // Most customers signed before the order history starts; some join during it.
        let signup = if rng.chance(0.8) {
            rng.between(first_signup, days_from_civil(2023, 12, 31))
        } else {
            rng.between(days_from_civil(2024, 1, 1), last_signup)
        };
        insert.execute(params![
            i + 1,
            format!("{first} {second}"),
            segment,
            region + 1,
            country,
            iso_date(signup),
        ])?;
        customers.push(GenCustomer { segment });
    }
    Ok(customers)
}

/// A random order date in 2024 or 2025, busier towards the end of the year.
fn order_day(rng: &mut Rng) -> i64 {
    let year = if rng.chance(0.45) { 2024 } else { 2025 };
    let month = rng.weighted(&MONTH_WEIGHTS).copied().unwrap_or(6);
    let first = days_from_civil(year, month, 1);
    let next = if month == 12 {
        days_from_civil(year + 1, 1, 1)
    } else {
        days_from_civil(year, month + 1, 1)
    };
    rng.between(first, next - 1)
}

fn insert_orders(
    tx: &Connection,
    rng: &mut Rng,
    customers: &[GenCustomer],
    products: &[GenProduct],
) -> rusqlite::Result<()> {
    let mut order = tx.prepare("INSERT INTO orders VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
    let mut item = tx.prepare("INSERT INTO order_items VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
    let mut days: Vec<i64> = (0..ORDER_COUNT).map(|_| order_day(rng)).collect();
    days.sort_unstable();
    let december_2025 = days_from_civil(2025, 12, 1);
    let mut next_item = 1usize;
    for (n, day) in days.into_iter().enumerate() {
        // Bigger customers order more often.
        let (customer_id, segment) = loop {
            let i = usize::try_from(rng.below(customers.len() as u64)).unwrap_or(0);
            let segment = customers.get(i).map_or("SMB", |c| c.segment);
            let keep = match segment {
                "Enterprise" => 1.0,
                "Mid-Market" => 0.6,
                _ => 0.3,
            };
            if rng.chance(keep) {
                break (i + 1, segment);
            }
        };
        let mut status = rng.weighted(&STATUSES).copied().unwrap_or("completed");
        if day < december_2025 && (status == "processing" || status == "shipped") {
            status = "completed";
        }
        let channel = match segment {
            "Enterprise" => rng.weighted(&[("direct", 60), ("partner", 30), ("online", 10)]),
            "Mid-Market" => rng.weighted(&[("direct", 25), ("partner", 40), ("online", 35)]),
            _ => rng.weighted(&[("direct", 5), ("partner", 25), ("online", 70)]),
        }
        .copied()
        .unwrap_or("online");
        let lines = rng
            .weighted(&[(1, 30), (2, 30), (3, 20), (4, 12), (5, 8)])
            .copied()
            .unwrap_or(1);
        let year_2025 = civil_from_days(day).0 >= 2025;
        let mut total = 0.0;
        let order_id = n + 1;
        let mut rows = Vec::with_capacity(lines);
        for _ in 0..lines {
            let p = usize::try_from(rng.below(products.len() as u64)).unwrap_or(0);
            let Some(product) = products.get(p) else {
                continue;
            };
            let max_qty = match (segment, product.category) {
                ("Enterprise", "Software") => 500,
                ("Enterprise", _) => 60,
                ("Mid-Market", "Software") => 120,
                ("Mid-Market", _) => 15,
                (_, "Software") => 25,
                _ => 4,
            };
            let quantity = rng.between(1, max_qty);
            // List prices went up 4 % in 2025.
            let price = if year_2025 {
                cents(product.price * 1.04)
            } else {
                product.price
            };
            let max_discount = match segment {
                "Enterprise" => 30,
                "Mid-Market" => 15,
                _ => 5,
            };
            let discount = rng.between(0, max_discount) as f64 / 100.0;
            total += quantity as f64 * price * (1.0 - discount);
            rows.push((p + 1, quantity, price, discount));
        }
        order.execute(params![
            order_id,
            customer_id,
            iso_date(day),
            status,
            channel,
            cents(total)
        ])?;
        for (product_id, quantity, price, discount) in rows {
            item.execute(params![
                next_item, order_id, product_id, quantity, price, discount
            ])?;
            next_item += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::schema::TABLES;

    fn count(conn: &Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap_or(-1)
    }

    #[test]
    fn data_is_deterministic_and_consistent() {
        let mut a = Connection::open_in_memory().expect("open");
        let mut b = Connection::open_in_memory().expect("open");
        populate(&mut a).expect("populate a");
        populate(&mut b).expect("populate b");
        assert_eq!(count(&a, "customers"), CUSTOMER_COUNT as i64);
        assert_eq!(count(&a, "orders"), ORDER_COUNT as i64);
        assert!(count(&a, "order_items") > 5000);
        let sum = "SELECT sum(total_amount) FROM orders";
        let (x, y): (f64, f64) = (
            a.query_row(sum, [], |r| r.get(0)).expect("sum"),
            b.query_row(sum, [], |r| r.get(0)).expect("sum"),
        );
        assert_eq!(x.to_bits(), y.to_bits());
        // Every order total matches its lines.
        let off: i64 = a
            .query_row(
                "SELECT count(*) FROM orders o WHERE abs(o.total_amount - (SELECT round(sum(quantity * unit_price * (1 - discount)), 2) FROM order_items i WHERE i.order_id = o.order_id)) > 0.011",
                [],
                |r| r.get(0),
            )
            .expect("check");
        assert_eq!(off, 0);
        let distinct: i64 = a
            .query_row("SELECT count(DISTINCT name) FROM customers", [], |r| {
                r.get(0)
            })
            .expect("names");
        assert_eq!(distinct, CUSTOMER_COUNT as i64);
        for doc in &TABLES {
            let columns: i64 = a
                .query_row(
                    "SELECT count(*) FROM pragma_table_info(?1)",
                    [doc.name],
                    |r| r.get(0),
                )
                .expect("columns");
            assert_eq!(columns, doc.columns.len() as i64, "{}", doc.name);
        }
    }
}
