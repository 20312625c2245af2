//! Starts the demo CRM on a free port and talks to it over real HTTP.

use actix_web::dev::ServerHandle;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};
use toolgate_demo::{CrmOptions, start_crm};

struct Crm {
    base: String,
    handle: ServerHandle,
    client: reqwest::Client,
    token: Option<String>,
}

impl Crm {
    async fn start(token: Option<&str>) -> Self {
        let options = CrmOptions {
            token: token.map(str::to_owned),
            ..CrmOptions::default()
        };
        let (addr, handle) = start_crm("127.0.0.1:0", options).await.expect("start");
        Self {
            base: format!("http://{addr}"),
            handle,
            client: reqwest::Client::new(),
            token: token.map(str::to_owned),
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.client.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => req.header(AUTHORIZATION, format!("Bearer {token}")),
            None => req,
        }
    }

    async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
        let res = req.send().await.expect("send");
        let status = res.status().as_u16();
        let is_json = res
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let bytes = res.bytes().await.expect("body");
        assert!(is_json, "status {status}: not JSON: {bytes:?}");
        (status, serde_json::from_slice(&bytes).expect("JSON body"))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        Self::send(self.request(reqwest::Method::GET, path)).await
    }

    async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let req = self
            .request(reqwest::Method::POST, path)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        Self::send(req).await
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_raw(path, body.to_string()).await
    }

    async fn stop(self) {
        // Close pooled keep-alive connections first so the graceful stop need not wait for them.
        drop(self.client);
        self.handle.stop(true).await;
    }
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<none>")
}

#[tokio::test]
async fn health_and_unknown_routes() {
    let crm = Crm::start(None).await;
    assert_eq!(crm.get("/health").await, (200, json!({ "status": "ok" })));
    let (status, body) = crm.get("/nope").await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    let (status, body) = crm.post("/segments", &json!({})).await;
    assert_eq!((status, error_code(&body)), (405, "method_not_allowed"));
    crm.stop().await;
}

#[tokio::test]
async fn search_paginates_and_filters() {
    let crm = Crm::start(None).await;
    let (status, body) = crm.get("/customers").await;
    assert_eq!(status, 200);
    assert_eq!(body["total"], 150);
    assert_eq!(body["page"], 1);
    assert_eq!(body["limit"], 20);
    assert_eq!(body["next_page"], 2);
    let first = &body["customers"][0];
    assert_eq!(first["id"], "CUST-00001");
    for key in ["id", "name", "email", "company", "tier", "status"] {
        assert!(first[key].is_string(), "summary lacks {key}");
    }

    let (_, last) = crm.get("/customers?page=8&limit=20").await;
    assert_eq!(last["customers"].as_array().map(Vec::len), Some(10));
    assert_eq!(last["next_page"], Value::Null);
    assert_eq!(last["customers"][9]["id"], "CUST-00150");
    let (_, beyond) = crm.get("/customers?page=99").await;
    assert_eq!(beyond["customers"], json!([]));

    // Filters: company (case-insensitive substring), query across fields, tier.
    let company = first["company"].as_str().expect("company").to_owned();
    let needle = company[..4].to_uppercase();
    let (_, found) = crm
        .get(&format!("/customers?company={needle}&limit=100"))
        .await;
    let hits = found["customers"].as_array().expect("array");
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|c| {
        c["company"]
            .as_str()
            .is_some_and(|s| s.to_uppercase().contains(&needle))
    }));
    let email = first["email"].as_str().expect("email").to_owned();
    let (_, by_query) = crm.get(&format!("/customers?query={email}")).await;
    assert_eq!(by_query["total"], 1);
    assert_eq!(by_query["customers"][0]["id"], "CUST-00001");
    let (_, premium) = crm.get("/customers?tier=premium&limit=100").await;
    let premium = premium["customers"].as_array().expect("array");
    assert!(!premium.is_empty());
    assert!(premium.iter().all(|c| c["tier"] == "premium"));

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("tier=gold", "tier"),
    ] {
        let (status, body) = crm.get(&format!("/customers?{query}")).await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "validation_error"),
            "{query}"
        );
        assert_eq!(body["error"]["field"], field, "{query}");
    }
    crm.stop().await;
}

#[tokio::test]
async fn get_customer_answers_200_404_400() {
    let crm = Crm::start(None).await;
    let (status, profile) = crm.get("/customers/CUST-00042").await;
    assert_eq!(status, 200);
    assert_eq!(profile["id"], "CUST-00042");
    for key in [
        "name", "email", "company", "phone", "city", "country", "tier", "status",
    ] {
        assert!(profile[key].is_string(), "profile lacks {key}");
    }
    assert!(profile["lifetime_value"].is_number());
    assert!(profile.get("interactions").is_none());

    let (_, with) = crm.get("/customers/CUST-00042?include=interactions").await;
    assert_eq!(
        with["interactions"].as_array().map(Vec::len),
        profile["interaction_count"].as_u64().map(|n| n as usize)
    );

    let (status, body) = crm.get("/customers/CUST-99999").await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    for bad in ["CUST-1", "cust-00001", "CUST-0000A", "%F0%9F%98%80"] {
        let (status, body) = crm.get(&format!("/customers/{bad}")).await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "validation_error"),
            "{bad}"
        );
    }
    let (status, body) = crm.get("/customers/CUST-00001?include=everything").await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (400, json!("include"))
    );
    crm.stop().await;
}

#[tokio::test]
async fn interactions_are_newest_first_and_filtered() {
    let crm = Crm::start(None).await;
    // Find a customer with several interactions.
    let mut id = None;
    for n in 1..=150 {
        let path = format!("/customers/CUST-{n:05}");
        let (_, profile) = crm.get(&path).await;
        if profile["interaction_count"].as_u64() >= Some(5) {
            id = Some(format!("CUST-{n:05}"));
            break;
        }
    }
    let id = id.expect("some customer has 5+ interactions");
    let (status, body) = crm.get(&format!("/customers/{id}/interactions")).await;
    assert_eq!(status, 200);
    assert_eq!(body["customer_id"], id.as_str());
    let list = body["interactions"].as_array().expect("array");
    assert_eq!(Some(list.len() as u64), body["total"].as_u64());
    let times: Vec<&str> = list.iter().filter_map(|i| i["at"].as_str()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");

    let (_, two) = crm
        .get(&format!("/customers/{id}/interactions?limit=2"))
        .await;
    assert_eq!(two["interactions"].as_array().map(Vec::len), Some(2));
    let (_, calls) = crm
        .get(&format!("/customers/{id}/interactions?type=call"))
        .await;
    let calls = calls["interactions"].as_array().expect("array");
    assert!(calls.iter().all(|i| i["type"] == "call"));
    let (status, body) = crm
        .get(&format!("/customers/{id}/interactions?type=fax"))
        .await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (400, json!("type"))
    );
    crm.stop().await;
}

#[tokio::test]
async fn created_note_is_listed_and_embedded() {
    let crm = Crm::start(None).await;
    let (status, body) = crm
        .post(
            "/customers/CUST-00042/notes",
            &json!({ "text": "Called about renewal", "pinned": true, "author": "tester" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let note = &body["note"];
    assert_eq!(note["customer_id"], "CUST-00042");
    assert_eq!(note["text"], "Called about renewal");
    assert_eq!(note["pinned"], true);
    assert_eq!(note["author"], "tester");
    let note_id = note["id"].as_str().expect("id").to_owned();
    assert!(
        note_id.starts_with("NOTE-") && note_id.len() == 10,
        "{note_id}"
    );
    assert!(
        note["created_at"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z'))
    );

    let (_, notes) = crm.get("/customers/CUST-00042/notes").await;
    assert_eq!(notes["customer_id"], "CUST-00042");
    assert_eq!(
        notes["notes"][0]["id"],
        note_id.as_str(),
        "pinned newest note first"
    );
    let (_, profile) = crm.get("/customers/CUST-00042?include=notes").await;
    let embedded = profile["notes"].as_array().expect("notes embedded");
    assert!(embedded.iter().any(|n| n["id"] == note_id.as_str()));

    let (status, body) = crm
        .post("/customers/CUST-00042/notes", &json!({ "text": "plain" }))
        .await;
    assert_eq!(status, 201);
    assert_eq!(body["note"]["pinned"], false);

    let long = "x".repeat(2001);
    for (bad, field) in [
        (json!({}), Some("text")),
        (json!({ "text": "" }), Some("text")),
        (json!({ "text": 5 }), Some("text")),
        (json!({ "text": long }), Some("text")),
        (json!({ "text": "ok", "pinned": "yes" }), Some("pinned")),
        (json!({ "text": "ok", "author": 1 }), Some("author")),
        (json!(["text"]), None),
    ] {
        let (status, body) = crm.post("/customers/CUST-00042/notes", &bad).await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "validation_error"),
            "{bad}"
        );
        assert_eq!(body["error"]["field"].as_str(), field, "{bad}");
    }
    let (status, body) = crm
        .post_raw("/customers/CUST-00042/notes", "{not json")
        .await;
    assert_eq!((status, error_code(&body)), (400, "validation_error"));
    let (status, body) = crm
        .post("/customers/CUST-00999/notes", &json!({ "text": "hi" }))
        .await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    let big = format!("{{\"text\":\"{}\"}}", "y".repeat(70 * 1024));
    let (status, body) = crm.post_raw("/customers/CUST-00042/notes", big).await;
    assert_eq!((status, error_code(&body)), (413, "payload_too_large"));
    crm.stop().await;
}

#[tokio::test]
async fn discount_rates_by_tier() {
    let crm = Crm::start(None).await;
    for (tier, rate, discount, final_amount) in [
        ("basic", 0.05, 5.0, 95.0),
        ("premium", 0.10, 10.0, 90.0),
        ("enterprise", 0.20, 20.0, 80.0),
    ] {
        let (status, body) = crm
            .post(
                "/pricing/discount",
                &json!({ "customer_tier": tier, "purchase_amount": 100 }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["customer_tier"], tier);
        assert_eq!(body["discount_rate"].as_f64(), Some(rate));
        assert_eq!(body["discount_amount"].as_f64(), Some(discount));
        assert_eq!(body["final_amount"].as_f64(), Some(final_amount));
    }
    let (_, body) = crm
        .post(
            "/pricing/discount",
            &json!({ "customer_tier": "premium", "purchase_amount": 123.45 }),
        )
        .await;
    assert_eq!(body["discount_amount"].as_f64(), Some(12.35));
    assert_eq!(body["final_amount"].as_f64(), Some(111.1));
    for (bad, field) in [
        (
            json!({ "customer_tier": "gold", "purchase_amount": 10 }),
            "customer_tier",
        ),
        (json!({ "purchase_amount": 10 }), "customer_tier"),
        (
            json!({ "customer_tier": "basic", "purchase_amount": 0 }),
            "purchase_amount",
        ),
        (
            json!({ "customer_tier": "basic", "purchase_amount": -5 }),
            "purchase_amount",
        ),
        (
            json!({ "customer_tier": "basic", "purchase_amount": "10" }),
            "purchase_amount",
        ),
        (json!({ "customer_tier": "basic" }), "purchase_amount"),
    ] {
        let (status, body) = crm.post("/pricing/discount", &bad).await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "validation_error"),
            "{bad}"
        );
        assert_eq!(body["error"]["field"], field, "{bad}");
    }
    crm.stop().await;
}

#[tokio::test]
async fn segments_and_slow_report() {
    let crm = Crm::start(None).await;
    let (status, body) = crm.get("/segments").await;
    assert_eq!(status, 200);
    let segments = body["segments"].as_array().expect("array");
    let sum = |prefix: &str| -> u64 {
        segments
            .iter()
            .filter(|s| s["id"].as_str().is_some_and(|id| id.starts_with(prefix)))
            .filter_map(|s| s["customer_count"].as_u64())
            .sum()
    };
    assert_eq!(sum("tier-"), 150);
    assert_eq!(sum("status-"), 150);

    let (status, body) = crm.get("/reports/slow?delay_ms=50").await;
    assert_eq!(
        (status, body),
        (200, json!({ "report": "done", "delay_ms": 50 }))
    );
    let (status, body) = crm.get("/reports/slow?delay_ms=30001").await;
    assert_eq!((status, error_code(&body)), (400, "validation_error"));
    crm.stop().await;
}

#[tokio::test]
async fn token_is_enforced() {
    let crm = Crm::start(Some("s3cret")).await;
    assert_eq!(crm.get("/customers/CUST-00001").await.0, 200);

    let anonymous = reqwest::Client::new();
    let url = format!("{}/customers/CUST-00001", crm.base);
    let (status, body) = Crm::send(anonymous.get(&url)).await;
    assert_eq!((status, error_code(&body)), (401, "unauthorized"));
    let (status, _) = Crm::send(anonymous.get(&url).header(AUTHORIZATION, "Bearer wrong")).await;
    assert_eq!(status, 401);
    let (status, _) = Crm::send(anonymous.get(&url).header(AUTHORIZATION, "s3cret")).await;
    assert_eq!(status, 401);
    let res = anonymous.get(&url).send().await.expect("send");
    assert!(res.headers().contains_key("www-authenticate"));
    let (status, _) = Crm::send(anonymous.get(format!("{}/health", crm.base))).await;
    assert_eq!(status, 200, "health needs no token");
    crm.stop().await;
}

/// A form POST to the CRM's token endpoint, with HTTP Basic client authentication if given.
async fn token_request(base: &str, basic: Option<&str>, form: &str) -> (u16, Value) {
    use base64::Engine;
    let mut req = reqwest::Client::new()
        .post(format!("{base}/oauth2/token"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form.to_owned());
    if let Some(pair) = basic {
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        req = req.header(AUTHORIZATION, format!("Basic {encoded}"));
    }
    let res = req.send().await.expect("send");
    let status = res.status().as_u16();
    let bytes = res.bytes().await.expect("body");
    (status, serde_json::from_slice(&bytes).expect("JSON body"))
}

#[tokio::test]
async fn oauth_tokens_are_issued_to_the_client_and_required() {
    let options = CrmOptions {
        token: None,
        oauth_client: Some(toolgate_demo::OAuthClient {
            client_id: "toolgate".into(),
            client_secret: "demo-crm-secret".into(),
        }),
    };
    let (addr, handle) = start_crm("127.0.0.1:0", options).await.expect("start");
    let base = format!("http://{addr}");
    let customer = format!("{base}/customers/CUST-00001");
    let client = reqwest::Client::new();

    // Without a token, or with one the CRM did not issue: 401.
    let (status, body) = Crm::send(client.get(&customer)).await;
    assert_eq!((status, error_code(&body)), (401, "unauthorized"));
    let (status, _) = Crm::send(client.get(&customer).bearer_auth("crm-guessed")).await;
    assert_eq!(status, 401);

    // The wrong client, or another grant: refused as RFC 6749 §5.2 says.
    let form = "grant_type=client_credentials&scope=crm.read";
    let (status, body) = token_request(&base, Some("toolgate:wrong"), form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = token_request(&base, None, form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let password = "grant_type=password&client_id=toolgate&client_secret=demo-crm-secret";
    let (status, body) = token_request(&base, None, password).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );

    // HTTP Basic and form client authentication both get a token the CRM then accepts.
    let (status, basic) = token_request(&base, Some("toolgate:demo-crm-secret"), form).await;
    assert_eq!(status, 200, "{basic}");
    assert_eq!(basic["token_type"], json!("Bearer"));
    assert_eq!(basic["expires_in"], json!(900));
    let post = "grant_type=client_credentials&client_id=toolgate&client_secret=demo-crm-secret";
    let (status, posted) = token_request(&base, None, post).await;
    assert_eq!(status, 200, "{posted}");
    assert_ne!(
        basic["access_token"], posted["access_token"],
        "every token is new"
    );
    for issued in [&basic, &posted] {
        let token = issued["access_token"].as_str().expect("a token");
        let (status, body) = Crm::send(client.get(&customer).bearer_auth(token)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["id"], json!("CUST-00001"));
    }
    handle.stop(true).await;
}
