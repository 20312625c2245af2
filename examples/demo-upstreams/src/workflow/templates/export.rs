//! The `data_export` template: export a dataset for a date range to a file.

use serde_json::{Map, Value, json};

use super::{Outcome, Plan, Step, digits, text};
use crate::common::ApiError;
use crate::common::time::{iso_date, parse_iso_date};
use crate::workflow::params::{DefaultValue, Kind, Param};

pub(super) const EXPORT_PARAMS: [Param; 6] = [
    Param {
        name: "dataset",
        description: "What to export.",
        kind: Kind::Choice(&["sales_orders", "customers", "products", "support_tickets"]),
        required: true,
        default: DefaultValue::None,
    },
    Param {
        name: "format",
        description: "File format.",
        kind: Kind::Choice(&["csv", "json", "parquet"]),
        required: false,
        default: DefaultValue::Str("csv"),
    },
    Param {
        name: "date_from",
        description: "First day included, YYYY-MM-DD.",
        kind: Kind::Date,
        required: true,
        default: DefaultValue::None,
    },
    Param {
        name: "date_to",
        description: "Last day included, YYYY-MM-DD; at most two years after date_from.",
        kind: Kind::Date,
        required: true,
        default: DefaultValue::None,
    },
    Param {
        name: "destination",
        description: "Where the file goes: a download link, the team's S3 bucket, or the partner SFTP.",
        kind: Kind::Choice(&["download", "s3", "sftp"]),
        required: false,
        default: DefaultValue::Str("download"),
    },
    Param {
        name: "notify_email",
        description: "Who gets an e-mail when the file is ready (optional).",
        kind: Kind::Email,
        required: false,
        default: DefaultValue::None,
    },
];

pub(super) const EXPORT_STEPS: [Step; 5] = [
    Step {
        id: "plan_export",
        title: "Plan the export and check permissions",
        millis: 800,
    },
    Step {
        id: "extract_rows",
        title: "Extract the rows",
        millis: 2500,
    },
    Step {
        id: "transform",
        title: "Convert to the requested format",
        millis: 1200,
    },
    Step {
        id: "write_file",
        title: "Write the file to its destination",
        millis: 1500,
    },
    Step {
        id: "notify",
        title: "Notify the recipient",
        millis: 500,
    },
];

/// Support tickets before this day are archived and cannot be exported.
const TICKET_ARCHIVE_DAY: &str = "2023-01-01";

pub(super) fn export_cross_check(p: &Map<String, Value>) -> Result<(), ApiError> {
    let from = parse_iso_date(text(p, "date_from")).unwrap_or(0);
    let to = parse_iso_date(text(p, "date_to")).unwrap_or(0);
    if to < from {
        return Err(ApiError::invalid(
            "parameters.date_to",
            "date_to must not be before date_from",
        ));
    }
    if to - from > 731 {
        return Err(ApiError::invalid(
            "parameters.date_to",
            "the range from date_from to date_to may span at most two years",
        ));
    }
    Ok(())
}

pub(super) fn export_plan(p: &Map<String, Value>, seed: u64, today: i64) -> Plan {
    let dataset = text(p, "dataset");
    let (from, to) = (text(p, "date_from"), text(p, "date_to"));
    let archive = parse_iso_date(TICKET_ARCHIVE_DAY).unwrap_or(0);
    let skipped = if p.get("notify_email").is_none() {
        vec![4]
    } else {
        vec![]
    };
    if dataset == "support_tickets" && parse_iso_date(from).unwrap_or(0) < archive {
        return Plan {
            skipped,
            outcome: Outcome::Failure {
                step: 1,
                message: format!(
                    "support tickets before {TICKET_ARCHIVE_DAY} are archived to cold storage and cannot be exported; start a new run with date_from on or after {TICKET_ARCHIVE_DAY}"
                ),
            },
        };
    }
    let days = parse_iso_date(to).unwrap_or(0) - parse_iso_date(from).unwrap_or(0) + 1;
    let per_day = match dataset {
        "sales_orders" => 41,
        "support_tickets" => 23,
        "customers" => 2,
        _ => 1,
    };
    let rows = u64::try_from(days.max(1)).unwrap_or(1) * per_day + seed % 17;
    let ext = text(p, "format");
    let bytes_per_row = match ext {
        "json" => 410,
        "parquet" => 95,
        _ => 180,
    };
    let file = format!("{dataset}_{from}_{to}.{ext}");
    let location = match text(p, "destination") {
        "s3" => format!("s3://acme-data-exports/{file}"),
        "sftp" => format!("sftp://partners.example.com/outbound/{file}"),
        _ => format!("https://exports.example.com/d/{}/{file}", digits(seed, 10)),
    };
    Plan {
        skipped,
        outcome: Outcome::Success(json!({
            "dataset": dataset,
            "format": ext,
            "rows": rows,
            "bytes": rows * bytes_per_row,
            "location": location,
            "checksum_sha256": format!("{:016x}{:016x}", seed, seed.rotate_left(17) ^ rows),
            "expires_on": iso_date(today + 7),
            "notified": p.get("notify_email").cloned().unwrap_or(Value::Null),
        })),
    }
}
