//! The `invoice_approval` template: route a supplier invoice through approvals to payment.

use serde_json::{Map, Value, json};

use super::{Outcome, Plan, Step, digits, number, text};
use crate::common::time::{iso_date, parse_iso_date};
use crate::workflow::params::{DefaultValue, Kind, Param};

pub(super) const INVOICE_PARAMS: [Param; 6] = [
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

pub(super) const INVOICE_STEPS: [Step; 5] = [
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

pub(super) fn invoice_plan(p: &Map<String, Value>, seed: u64, today: i64) -> Plan {
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
