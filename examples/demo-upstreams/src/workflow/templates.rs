//! The workflow templates: their parameters, their steps, and what a run of each produces.

use serde_json::{Map, Value, json};

use super::params::{DefaultValue, Kind, Param};
use crate::common::ApiError;
use crate::common::time::{iso_date, parse_iso_date};

/// One step of a template.
pub(crate) struct Step {
    /// Machine name, e.g. `create_account`.
    pub(crate) id: &'static str,
    /// What it does, for people.
    pub(crate) title: &'static str,
    /// How long it takes at normal speed, in milliseconds.
    pub(crate) millis: u64,
}

/// How a run will end, decided from its parameters when it starts.
pub(crate) enum Outcome {
    /// Every step succeeds and the run returns this result.
    Success(Value),
    /// The step at this index fails with this message.
    Failure {
        /// Index of the failing step.
        step: usize,
        /// Why, for the caller.
        message: String,
    },
}

/// A run's plan: steps that do not apply, and the ending.
pub(crate) struct Plan {
    /// Indexes of steps that are skipped for these parameters.
    pub(crate) skipped: Vec<usize>,
    /// How the run ends.
    pub(crate) outcome: Outcome,
}

/// A workflow template.
pub(crate) struct Template {
    /// Machine name, e.g. `invoice_approval`.
    pub(crate) id: &'static str,
    /// Display name.
    pub(crate) name: &'static str,
    /// What it does.
    pub(crate) description: &'static str,
    /// Declared parameters.
    pub(crate) params: &'static [Param],
    /// Steps, in order.
    pub(crate) steps: &'static [Step],
    /// Checks across parameters, after each one is valid on its own.
    pub(crate) cross_check: fn(&Map<String, Value>) -> Result<(), ApiError>,
    /// The plan for a run with these (valid) parameters; `seed` varies per run, `today` is days
    /// since the epoch.
    pub(crate) plan: fn(&Map<String, Value>, u64, i64) -> Plan,
}

impl Template {
    /// The template as served by `GET /templates`.
    pub(crate) fn to_json(&self) -> Value {
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|s| json!({ "id": s.id, "title": s.title }))
            .collect();
        let total_ms: u64 = self.steps.iter().map(|s| s.millis).sum();
        json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "parameters": super::params::schema(self.params),
            "steps": steps,
            "estimated_duration_s": total_ms.div_ceil(1000),
        })
    }
}

/// The template with this id.
pub(crate) fn find(id: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.id == id)
}

/// A string parameter ("" when absent).
fn text<'a>(p: &'a Map<String, Value>, name: &str) -> &'a str {
    p.get(name).and_then(Value::as_str).unwrap_or("")
}

/// A number parameter (0 when absent).
fn number(p: &Map<String, Value>, name: &str) -> f64 {
    p.get(name).and_then(Value::as_f64).unwrap_or(0.0)
}

/// A boolean parameter (`false` when absent).
fn flag(p: &Map<String, Value>, name: &str) -> bool {
    p.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// `n` decimal digits derived from `seed`.
fn digits(seed: u64, n: u32) -> String {
    let modulus = 10u64.saturating_pow(n);
    format!("{:0width$}", seed % modulus, width = n as usize)
}

/// A lower-case slug of `name` for URLs.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(40).collect()
}

/// No checks across parameters.
fn no_cross_check(_: &Map<String, Value>) -> Result<(), ApiError> {
    Ok(())
}

const ONBOARDING_PARAMS: [Param; 6] = [
    Param {
        name: "company_name",
        description: "The new customer's legal company name.",
        kind: Kind::Text { min: 2, max: 120 },
        required: true,
        default: DefaultValue::None,
    },
    Param {
        name: "contact_email",
        description: "E-mail of the customer's main contact; the welcome e-mail goes there.",
        kind: Kind::Email,
        required: true,
        default: DefaultValue::None,
    },
    Param {
        name: "plan",
        description: "Subscription plan.",
        kind: Kind::Choice(&["basic", "premium", "enterprise"]),
        required: true,
        default: DefaultValue::None,
    },
    Param {
        name: "region",
        description: "Data residency region of the new workspace.",
        kind: Kind::Choice(&["na", "emea", "apac"]),
        required: false,
        default: DefaultValue::Str("na"),
    },
    Param {
        name: "seats",
        description: "Number of user seats to provision.",
        kind: Kind::Integer {
            min: 1,
            max: 10_000,
        },
        required: false,
        default: DefaultValue::Int(10),
    },
    Param {
        name: "send_welcome_kit",
        description: "Ship the physical welcome kit to the contact.",
        kind: Kind::Flag,
        required: false,
        default: DefaultValue::Bool(true),
    },
];

fn onboarding_plan(p: &Map<String, Value>, seed: u64, today: i64) -> Plan {
    let email = text(p, "contact_email");
    let domain = email.rsplit('@').next().unwrap_or("");
    if domain.ends_with(".invalid") || domain.ends_with(".test") {
        return Plan {
            skipped: vec![],
            outcome: Outcome::Failure {
                step: 3,
                message: format!(
                    "the mail server for {domain} rejected {email}: mailbox does not exist; fix contact_email and start a new run"
                ),
            },
        };
    }
    let manager = match text(p, "region") {
        "emea" => "Claire Dubois",
        "apac" => "Kenji Watanabe",
        _ => "Dana Whitfield",
    };
    let company = text(p, "company_name");
    let kit = flag(p, "send_welcome_kit");
    Plan {
        skipped: vec![],
        outcome: Outcome::Success(json!({
            "account_id": format!("ACC-{}", digits(seed, 6)),
            "workspace_url": format!("https://{}.{}.workspace.example.com", slug(company), text(p, "region")),
            "plan": text(p, "plan"),
            "seats": p.get("seats").cloned().unwrap_or(Value::Null),
            "account_manager": manager,
            "welcome_email_sent_to": email,
            "welcome_kit": if kit { "shipped" } else { "not requested" },
            "kickoff_call_on": iso_date(today + 3),
        })),
    }
}

const ONBOARDING_STEPS: [Step; 5] = [
    Step {
        id: "verify_company",
        title: "Verify the company record and sanctions lists",
        millis: 1200,
    },
    Step {
        id: "create_account",
        title: "Create the billing account",
        millis: 1500,
    },
    Step {
        id: "provision_workspace",
        title: "Provision the workspace and seats",
        millis: 2000,
    },
    Step {
        id: "send_welcome_email",
        title: "Send the welcome e-mail",
        millis: 1000,
    },
    Step {
        id: "schedule_kickoff",
        title: "Schedule the kickoff call",
        millis: 1000,
    },
];

const INVOICE_PARAMS: [Param; 6] = [
    Param {
        name: "invoice_id",
        description: "The invoice number, INV- and six digits.",
        kind: Kind::Id {
            prefix: "INV-",
            digits: 6,
        },
        required: true,
        default: DefaultValue::None,
    },
    Param {
        name: "vendor",
        description: "Who sent the invoice.",
        kind: Kind::Text { min: 2, max: 120 },
        required: true,
        default: DefaultValue::None,
    },
    Param {
        name: "amount",
        description: "Invoice total, in `currency`.",
        kind: Kind::Number {
            min: 0.01,
            max: 10_000_000.0,
        },
        required: true,
        default: DefaultValue::None,
    },
    Param {
        name: "currency",
        description: "ISO currency code.",
        kind: Kind::Choice(&["USD", "EUR", "GBP", "JPY"]),
        required: false,
        default: DefaultValue::Str("USD"),
    },
    Param {
        name: "cost_center",
        description: "Cost center charged, CC- and four digits.",
        kind: Kind::Id {
            prefix: "CC-",
            digits: 4,
        },
        required: true,
        default: DefaultValue::None,
    },
    Param {
        name: "due_date",
        description: "Payment due date, YYYY-MM-DD; default 30 days from today.",
        kind: Kind::Date,
        required: false,
        default: DefaultValue::None,
    },
];

const INVOICE_STEPS: [Step; 5] = [
    Step {
        id: "validate_invoice",
        title: "Validate the invoice fields and duplicates",
        millis: 1000,
    },
    Step {
        id: "match_purchase_order",
        title: "Match the invoice to its purchase order",
        millis: 1500,
    },
    Step {
        id: "manager_approval",
        title: "Cost-center manager approval",
        millis: 2000,
    },
    Step {
        id: "finance_approval",
        title: "Finance approval (amounts of 5,000 and more)",
        millis: 1500,
    },
    Step {
        id: "schedule_payment",
        title: "Schedule the payment",
        millis: 1000,
    },
];

/// Above this, an invoice is rejected by finance.
const INVOICE_LIMIT: f64 = 250_000.0;
/// From this amount, finance must approve too.
const FINANCE_THRESHOLD: f64 = 5_000.0;

fn invoice_plan(p: &Map<String, Value>, seed: u64, today: i64) -> Plan {
    let amount = number(p, "amount");
    let mut approvals = vec![
        json!({ "step": "manager_approval", "approver": "Priya Raman (cost-center manager)", "decision": "approved" }),
    ];
    let skipped = if amount < FINANCE_THRESHOLD {
        vec![3]
    } else {
        let decision = if amount > INVOICE_LIMIT {
            "rejected"
        } else {
            "approved"
        };
        approvals.push(json!({ "step": "finance_approval", "approver": "Marcus Webb (finance controller)", "decision": decision }));
        vec![]
    };
    let due = p
        .get("due_date")
        .and_then(Value::as_str)
        .and_then(parse_iso_date)
        .unwrap_or(today + 30);
    let result = if amount > INVOICE_LIMIT {
        json!({
            "invoice_id": text(p, "invoice_id"),
            "decision": "rejected",
            "reason": format!("{amount} {} exceeds the single-invoice limit of 250000; split the invoice or get CFO sign-off", text(p, "currency")),
            "approvals": approvals,
        })
    } else {
        json!({
            "invoice_id": text(p, "invoice_id"),
            "decision": "approved",
            "approvals": approvals,
            "payment_reference": format!("PAY-{}", digits(seed, 8)),
            "payment_scheduled_for": iso_date(due.max(today + 1)),
            "amount": amount,
            "currency": text(p, "currency"),
        })
    };
    Plan {
        skipped,
        outcome: Outcome::Success(result),
    }
}

const EXPORT_PARAMS: [Param; 6] = [
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

const EXPORT_STEPS: [Step; 5] = [
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

fn export_cross_check(p: &Map<String, Value>) -> Result<(), ApiError> {
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

fn export_plan(p: &Map<String, Value>, seed: u64, today: i64) -> Plan {
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

const INCIDENT_PARAMS: [Param; 5] = [
    Param {
        name: "incident_id",
        description: "The incident number, INC- and five digits.",
        kind: Kind::Id {
            prefix: "INC-",
            digits: 5,
        },
        required: true,
        default: DefaultValue::None,
    },
    Param {
        name: "severity",
        description: "sev1 (outage) to sev4 (minor).",
        kind: Kind::Choice(&["sev1", "sev2", "sev3", "sev4"]),
        required: true,
        default: DefaultValue::None,
    },
    Param {
        name: "service",
        description: "The affected service, e.g. checkout-api.",
        kind: Kind::Text { min: 2, max: 80 },
        required: true,
        default: DefaultValue::None,
    },
    Param {
        name: "summary",
        description: "What is happening, in a sentence or two.",
        kind: Kind::Text { min: 5, max: 500 },
        required: true,
        default: DefaultValue::None,
    },
    Param {
        name: "page_oncall",
        description: "Page the service's on-call engineers.",
        kind: Kind::Flag,
        required: false,
        default: DefaultValue::Bool(true),
    },
];

const INCIDENT_STEPS: [Step; 5] = [
    Step {
        id: "open_bridge",
        title: "Open the incident bridge",
        millis: 800,
    },
    Step {
        id: "page_oncall",
        title: "Page the on-call engineers",
        millis: 1500,
    },
    Step {
        id: "notify_stakeholders",
        title: "Notify stakeholders",
        millis: 1000,
    },
    Step {
        id: "update_status_page",
        title: "Post to the public status page (sev1 and sev2)",
        millis: 1000,
    },
    Step {
        id: "await_acknowledgement",
        title: "Wait for an acknowledgement",
        millis: 2500,
    },
];

fn incident_plan(p: &Map<String, Value>, seed: u64, _today: i64) -> Plan {
    let severity = text(p, "severity");
    let service = text(p, "service");
    let page = flag(p, "page_oncall");
    let public = severity == "sev1" || severity == "sev2";
    let mut skipped = Vec::new();
    if !page {
        skipped.push(1);
    }
    if !public {
        skipped.push(3);
    }
    let paged: Vec<String> = if !page {
        vec![]
    } else if severity == "sev1" {
        vec![
            format!("{service} primary on-call"),
            format!("{service} secondary on-call"),
            "incident commander".to_owned(),
        ]
    } else {
        vec![format!("{service} primary on-call")]
    };
    let stakeholders: &[&str] = match severity {
        "sev1" => &["VP Engineering", "Head of Support", "Communications"],
        "sev2" => &["Engineering manager", "Head of Support"],
        _ => &["Engineering manager"],
    };
    Plan {
        skipped,
        outcome: Outcome::Success(json!({
            "incident_id": text(p, "incident_id"),
            "severity": severity,
            "bridge_url": format!("https://meet.example.com/inc-{}", text(p, "incident_id").trim_start_matches("INC-")),
            "paged": paged,
            "stakeholders_notified": stakeholders,
            "status_page_incident": public.then(|| format!("SP-{}", digits(seed, 5))),
            "acknowledged_by": if page { format!("{service} primary on-call") } else { "incident commander".to_owned() },
            "acknowledged_after_s": 45 + seed % 200,
        })),
    }
}

/// Every template.
pub(crate) const TEMPLATES: [Template; 4] = [
    Template {
        id: "customer_onboarding",
        name: "Customer onboarding",
        description: "Set up a new customer: verify the company, create the billing account, provision the workspace, send the welcome e-mail and schedule the kickoff call.",
        params: &ONBOARDING_PARAMS,
        steps: &ONBOARDING_STEPS,
        cross_check: no_cross_check,
        plan: onboarding_plan,
    },
    Template {
        id: "invoice_approval",
        name: "Invoice approval",
        description: "Route a supplier invoice through PO matching, manager approval and (from 5,000) finance approval, then schedule the payment. Invoices over 250,000 are rejected.",
        params: &INVOICE_PARAMS,
        steps: &INVOICE_STEPS,
        cross_check: no_cross_check,
        plan: invoice_plan,
    },
    Template {
        id: "data_export",
        name: "Data export",
        description: "Export a dataset for a date range to a file (CSV, JSON or Parquet) and deliver it as a download link, to S3 or to the partner SFTP.",
        params: &EXPORT_PARAMS,
        steps: &EXPORT_STEPS,
        cross_check: export_cross_check,
        plan: export_plan,
    },
    Template {
        id: "incident_escalation",
        name: "Incident escalation",
        description: "Escalate an incident: open a bridge, page on-call, notify stakeholders, update the status page for sev1/sev2, and wait for an acknowledgement.",
        params: &INCIDENT_PARAMS,
        steps: &INCIDENT_STEPS,
        cross_check: no_cross_check,
        plan: incident_plan,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_consistent() {
        for t in &TEMPLATES {
            assert!(find(t.id).is_some());
            assert!(t.steps.len() >= 3, "{}", t.id);
            let schema = t.to_json();
            assert_eq!(schema["parameters"]["type"], "object", "{}", t.id);
        }
        assert!(find("nope").is_none());
        assert_eq!(slug("Northwind Traders, Inc."), "northwind-traders-inc");
        assert_eq!(digits(1234567, 4), "4567");
    }
}
