//! The `customer_onboarding` template: set up a new customer's account and workspace.

use serde_json::{Map, Value, json};

use super::{Outcome, Plan, Step, digits, flag, slug, text};
use crate::common::time::iso_date;
use crate::workflow::params::{DefaultValue, Kind, Param};

pub(super) const ONBOARDING_PARAMS: [Param; 6] = [
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

pub(super) fn onboarding_plan(p: &Map<String, Value>, seed: u64, today: i64) -> Plan {
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

pub(super) const ONBOARDING_STEPS: [Step; 5] = [
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
