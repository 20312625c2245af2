//! Starts the demo workflow engine on a free port and talks to it over real HTTP.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Api, error_code, error_field};
use toolgate_demo::{WorkflowOptions, start_workflow};

/// Every step takes this long in these tests.
const STEP: Duration = Duration::from_millis(150);

async fn engine(step_time: Option<Duration>) -> Api {
    let options = WorkflowOptions {
        token: None,
        step_time,
    };
    let (addr, handle) = start_workflow("127.0.0.1:0", options).await.expect("start");
    Api::new(addr, handle, None)
}

fn invoice(amount: f64) -> Value {
    json!({
        "template_id": "invoice_approval",
        "parameters": {
            "invoice_id": "INV-004211",
            "vendor": "Acme Office Supply",
            "amount": amount,
            "currency": "EUR",
            "cost_center": "CC-1042",
        },
    })
}

/// Polls the run until it is no longer running, at most `within`.
async fn wait_done(api: &Api, id: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (status, run) = api.get(&format!("/runs/{id}")).await;
        assert_eq!(status, 200, "{run}");
        if run["state"] != "running" || Instant::now() > deadline {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn step_states(run: &Value) -> Vec<&str> {
    run["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["state"].as_str())
        .collect()
}

#[tokio::test]
async fn templates_have_parameter_schemas() {
    let api = engine(Some(STEP)).await;
    let (status, body) = api.get("/templates").await;
    assert_eq!(status, 200);
    let templates = body["templates"].as_array().expect("templates");
    let ids: Vec<&str> = templates.iter().filter_map(|t| t["id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "customer_onboarding",
            "invoice_approval",
            "data_export",
            "incident_escalation"
        ]
    );
    for t in templates {
        let schema = &t["parameters"];
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["additionalProperties"], false);
        assert!(!schema["required"].as_array().expect("required").is_empty());
        for (name, prop) in schema["properties"].as_object().expect("properties") {
            assert!(prop["description"].is_string(), "{name}");
        }
        assert!(t["steps"].as_array().is_some_and(|s| s.len() >= 3));
        assert!(
            t["estimated_duration_s"]
                .as_u64()
                .is_some_and(|s| (3..=15).contains(&s))
        );
    }
    let (status, one) = api.get("/templates/data_export").await;
    assert_eq!((status, &one["id"]), (200, &json!("data_export")));
    let (status, body) = api.get("/templates/payroll").await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    api.stop().await;
}

#[tokio::test]
async fn a_run_progresses_through_its_steps_and_succeeds() {
    let api = engine(Some(STEP)).await;
    let (status, run) = api.post("/runs", &invoice(12_450.0)).await;
    assert_eq!(status, 202, "{run}");
    let id = run["run_id"].as_str().expect("run_id").to_owned();
    assert!(id.starts_with("run-") && id.len() == 16, "{id}");
    assert_eq!(run["state"], "running");
    assert_eq!(run["current_step"], "validate_invoice");
    assert_eq!(step_states(&run)[0], "running");
    assert_eq!(run["parameters"]["currency"], "EUR");

    // Mid-way: a later step is running, progress has moved.
    tokio::time::sleep(STEP * 5 / 2).await;
    let (_, mid) = api.get(&format!("/runs/{id}")).await;
    assert_eq!(mid["state"], "running", "{mid}");
    let progress = mid["progress"].as_u64().expect("progress");
    assert!((20..100).contains(&progress), "{mid}");
    assert_ne!(mid["current_step"], "validate_invoice");

    let done = wait_done(&api, &id, Duration::from_secs(10)).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["progress"], 100);
    assert_eq!(done["current_step"], Value::Null);
    assert!(
        step_states(&done).iter().all(|s| *s == "succeeded"),
        "{done}"
    );
    assert_eq!(done["result"]["decision"], "approved");
    assert_eq!(
        done["result"]["approvals"].as_array().map(Vec::len),
        Some(2)
    );
    assert!(done["finished_at"].is_string());

    // Listed, newest first.
    let (_, list) = api.get("/runs?state=succeeded").await;
    assert_eq!(list["runs"][0]["run_id"], json!(id));

    // Cancelling a finished run is a conflict.
    let (status, body) = api.post(&format!("/runs/{id}/cancel"), &json!({})).await;
    assert_eq!((status, error_code(&body)), (409, "conflict"));
    api.stop().await;
}

#[tokio::test]
async fn plans_skip_steps_and_fail_realistically() {
    let api = engine(Some(Duration::from_millis(40))).await;
    // Under 5,000: no finance approval.
    let (_, small) = api.post("/runs", &invoice(480.0)).await;
    let small = wait_done(
        &api,
        small["run_id"].as_str().expect("id"),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(step_states(&small)[3], "skipped");
    assert_eq!(small["result"]["decision"], "approved");
    // Over 250,000: rejected by finance.
    let (_, big) = api.post("/runs", &invoice(900_000.0)).await;
    let big = wait_done(
        &api,
        big["run_id"].as_str().expect("id"),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(big["result"]["decision"], "rejected", "{big}");

    // An undeliverable address fails the welcome e-mail step.
    let (status, run) = api
        .post(
            "/runs",
            &json!({ "template_id": "customer_onboarding", "parameters": {
                "company_name": "Harbor Foods", "contact_email": "ops@harborfoods.invalid", "plan": "premium" } }),
        )
        .await;
    assert_eq!(status, 202, "{run}");
    assert_eq!(run["parameters"]["region"], "na", "defaults are filled in");
    assert_eq!(run["parameters"]["seats"], 10);
    let failed = wait_done(
        &api,
        run["run_id"].as_str().expect("id"),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert_eq!(failed["current_step"], "send_welcome_email");
    assert_eq!(failed["error"]["code"], "step_failed");
    assert_eq!(
        step_states(&failed),
        ["succeeded", "succeeded", "succeeded", "failed", "skipped"]
    );
    let (status, _) = api
        .post(
            &format!("/runs/{}/cancel", failed["run_id"].as_str().expect("id")),
            &json!({}),
        )
        .await;
    assert_eq!(status, 409);

    // The other templates complete with their results.
    for (template, parameters, key) in [
        (
            "data_export",
            json!({ "dataset": "sales_orders", "format": "parquet", "date_from": "2025-01-01", "date_to": "2025-03-31", "destination": "s3" }),
            "location",
        ),
        (
            "incident_escalation",
            json!({ "incident_id": "INC-20417", "severity": "sev2", "service": "checkout-api", "summary": "Checkout latency p99 above 4 s since 09:12 UTC" }),
            "bridge_url",
        ),
        (
            "customer_onboarding",
            json!({ "company_name": "Northwind Traders", "contact_email": "it@northwind.com", "plan": "enterprise", "region": "emea", "seats": 250 }),
            "account_id",
        ),
    ] {
        let (status, run) = api
            .post(
                "/runs",
                &json!({ "template_id": template, "parameters": parameters }),
            )
            .await;
        assert_eq!(status, 202, "{run}");
        let done = wait_done(
            &api,
            run["run_id"].as_str().expect("id"),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(done["state"], "succeeded", "{done}");
        assert!(done["result"][key].is_string(), "{template}: {done}");
    }
    api.stop().await;
}

#[tokio::test]
async fn cancel_is_idempotent_and_stops_the_run() {
    let api = engine(Some(Duration::from_secs(2))).await;
    let (_, run) = api.post("/runs", &invoice(12_450.0)).await;
    let id = run["run_id"].as_str().expect("id").to_owned();
    let (status, cancelled) = api.post(&format!("/runs/{id}/cancel"), &json!({})).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["state"], "cancelled");
    assert_eq!(cancelled["error"]["code"], "cancelled");
    assert_eq!(
        step_states(&cancelled),
        ["cancelled", "skipped", "skipped", "skipped", "skipped"]
    );
    let (status, again) = api.post(&format!("/runs/{id}/cancel"), &json!({})).await;
    assert_eq!((status, &again["state"]), (200, &json!("cancelled")));
    assert_eq!(again["finished_at"], cancelled["finished_at"]);
    // It stays cancelled: the background task stopped.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, later) = api.get(&format!("/runs/{id}")).await;
    assert_eq!(later["state"], "cancelled");
    assert_eq!(later["progress"], cancelled["progress"]);

    let (status, body) = api.get("/runs/run-000000000000").await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    let (status, body) = api.post("/runs/run-000000000000/cancel", &json!({})).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    api.stop().await;
}

#[tokio::test]
async fn bad_parameters_name_the_field() {
    let api = engine(Some(STEP)).await;
    let onboarding = |parameters: Value| json!({ "template_id": "customer_onboarding", "parameters": parameters });
    let good = json!({ "company_name": "Harbor Foods", "contact_email": "ops@harborfoods.com", "plan": "basic" });
    let with = |key: &str, value: Value| {
        let mut p = good.clone();
        p[key] = value;
        onboarding(p)
    };
    let cases = [
        (
            onboarding(json!({ "company_name": "Harbor Foods", "plan": "basic" })),
            "parameters.contact_email",
        ),
        (
            with("contact_email", json!("not-an-email")),
            "parameters.contact_email",
        ),
        (with("plan", json!("gold")), "parameters.plan"),
        (with("seats", json!(0)), "parameters.seats"),
        (with("seats", json!(2.5)), "parameters.seats"),
        (
            with("send_welcome_kit", json!("yes")),
            "parameters.send_welcome_kit",
        ),
        (with("company_name", json!(" ")), "parameters.company_name"),
        (with("nickname", json!("HF")), "parameters.nickname"),
        (onboarding(json!("not an object")), "parameters"),
        (
            json!({ "template_id": "payroll", "parameters": {} }),
            "template_id",
        ),
        (json!({ "parameters": {} }), "template_id"),
        (
            json!({ "template_id": "data_export", "parameters": { "dataset": "customers", "date_from": "2025-02-30", "date_to": "2025-03-01" } }),
            "parameters.date_from",
        ),
        (
            json!({ "template_id": "data_export", "parameters": { "dataset": "customers", "date_from": "2025-03-01", "date_to": "2025-02-01" } }),
            "parameters.date_to",
        ),
        (
            json!({ "template_id": "data_export", "parameters": { "dataset": "customers", "date_from": "2020-01-01", "date_to": "2025-02-01" } }),
            "parameters.date_to",
        ),
        (
            json!({ "template_id": "incident_escalation", "parameters": { "incident_id": "INC-1", "severity": "sev1", "service": "api", "summary": "down!" } }),
            "parameters.incident_id",
        ),
        (
            json!({ "template_id": "invoice_approval", "parameters": { "invoice_id": "INV-000001", "vendor": "Acme", "amount": 0, "cost_center": "CC-1000" } }),
            "parameters.amount",
        ),
        (
            json!({ "template_id": "invoice_approval", "parameters": {}, "priority": "high" }),
            "priority",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = api.post("/runs", &body).await;
        assert_eq!(
            (status, error_field(&answer)),
            (400, field),
            "{body} → {answer}"
        );
        assert_eq!(error_code(&answer), "validation_error");
    }
    let (status, body) = api.post_raw("/runs", "{").await;
    assert_eq!((status, error_code(&body)), (400, "validation_error"));
    let (status, body) = api.get("/runs?state=paused").await;
    assert_eq!((status, error_field(&body)), (400, "state"));
    api.stop().await;
}

#[tokio::test]
async fn default_step_times_take_seconds() {
    let api = engine(None).await;
    let (_, templates) = api.get("/templates").await;
    let estimated = templates["templates"][1]["estimated_duration_s"].as_u64();
    assert_eq!(estimated, Some(7));
    let (_, run) = api.post("/runs", &invoice(100.0)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, run) = api
        .get(&format!("/runs/{}", run["run_id"].as_str().expect("id")))
        .await;
    assert_eq!(run["state"], "running");
    assert_eq!(run["current_step"], "validate_invoice");
    api.stop().await;
}
