//! The `incident_escalation` template: page people and open a bridge for an incident.

use serde_json::{Map, Value, json};

use super::{Outcome, Plan, Step, digits, flag, text};
use crate::workflow::params::{DefaultValue, Kind, Param};

pub(super) const INCIDENT_PARAMS: [Param; 5] = [
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

pub(super) const INCIDENT_STEPS: [Step; 5] = [
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

pub(super) fn incident_plan(p: &Map<String, Value>, seed: u64, _today: i64) -> Plan {
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
