//! The workflow templates: their parameters, their steps, and what a run of each produces.
//! Each template lives in its own file; this one holds what they share.

mod export;
mod incident;
mod invoice;
mod onboarding;

use serde_json::{Map, Value, json};

use super::params::Param;
use crate::common::ApiError;

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
pub(super) fn text<'a>(p: &'a Map<String, Value>, name: &str) -> &'a str {
    p.get(name).and_then(Value::as_str).unwrap_or("")
}

/// A number parameter (0 when absent).
pub(super) fn number(p: &Map<String, Value>, name: &str) -> f64 {
    p.get(name).and_then(Value::as_f64).unwrap_or(0.0)
}

/// A boolean parameter (`false` when absent).
pub(super) fn flag(p: &Map<String, Value>, name: &str) -> bool {
    p.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// `n` decimal digits derived from `seed`.
pub(super) fn digits(seed: u64, n: u32) -> String {
    let modulus = 10u64.saturating_pow(n);
    format!("{:0width$}", seed % modulus, width = n as usize)
}

/// A lower-case slug of `name` for URLs.
pub(super) fn slug(name: &str) -> String {
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

/// Every template.
pub(crate) const TEMPLATES: [Template; 4] = [
    Template {
        id: "customer_onboarding",
        name: "Customer onboarding",
        description: "Set up a new customer: verify the company, create the billing account, provision the workspace, send the welcome e-mail and schedule the kickoff call.",
        params: &onboarding::ONBOARDING_PARAMS,
        steps: &onboarding::ONBOARDING_STEPS,
        cross_check: no_cross_check,
        plan: onboarding::onboarding_plan,
    },
    Template {
        id: "invoice_approval",
        name: "Invoice approval",
        description: "Route a supplier invoice through PO matching, manager approval and (from 5,000) finance approval, then schedule the payment. Invoices over 250,000 are rejected.",
        params: &invoice::INVOICE_PARAMS,
        steps: &invoice::INVOICE_STEPS,
        cross_check: no_cross_check,
        plan: invoice::invoice_plan,
    },
    Template {
        id: "data_export",
        name: "Data export",
        description: "Export a dataset for a date range to a file (CSV, JSON or Parquet) and deliver it as a download link, to S3 or to the partner SFTP.",
        params: &export::EXPORT_PARAMS,
        steps: &export::EXPORT_STEPS,
        cross_check: export::export_cross_check,
        plan: export::export_plan,
    },
    Template {
        id: "incident_escalation",
        name: "Incident escalation",
        description: "Escalate an incident: open a bridge, page on-call, notify stakeholders, update the status page for sev1/sev2, and wait for an acknowledgement.",
        params: &incident::INCIDENT_PARAMS,
        steps: &incident::INCIDENT_STEPS,
        cross_check: no_cross_check,
        plan: incident::incident_plan,
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
