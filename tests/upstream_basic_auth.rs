//! User info in an upstream's `base_url` (`http://user:${PASS}@host/api`) is HTTP Basic auth:
//! percent-decoded, sent as `Authorization: Basic …` on every call, taken out of the URL the
//! request goes to, and shown as `***` by the admin API and `toolgate render`.

mod common;

use common::{client, legacy_call, start_gateway, start_upstream};
use serde_json::{Value, json};
use std::process::Command;

const ADMIN_KEY: &str = "admin-key-0123456789abcdef";
/// The password as written in the URL (percent-encoded) and as sent.
const PASSWORD_IN_URL: &str = "s3cr%40t%3Ax";
const PASSWORD: &str = "s3cr@t:x";

fn yaml(api: &str) -> String {
    format!(
        r#"
admin: {{ key: "${{ADMIN_KEY}}" }}
upstreams:
  api: {{ base_url: "http://ad%20min:${{TG_BASIC_PASS}}@{api}/api" }}
tools:
  - name: get_item
    description: Get an item.
    input_schema: {{ type: object, properties: {{ id: {{ type: string }} }}, required: [id] }}
    request: {{ upstream: api, path: "/items/{{{{args.id}}}}" }}
"#
    )
}

fn expected_authorization() -> String {
    use base64::Engine;
    let credentials = format!("ad min:{PASSWORD}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

#[tokio::test]
async fn calls_carry_the_user_info_as_basic_auth_and_the_admin_api_masks_it() {
    let upstream = start_upstream().await;
    let api = upstream.addr.to_string();
    let gateway = start_gateway(
        &yaml(&api),
        &[("TG_BASIC_PASS", PASSWORD_IN_URL), ("ADMIN_KEY", ADMIN_KEY)],
    )
    .await;

    let (status, body) = legacy_call(&gateway, "get_item", json!({ "id": "7" })).await;
    assert_eq!(status, 200, "{body}");
    let sent = upstream.last();
    assert_eq!(sent.uri, "/api/items/7");
    assert_eq!(
        sent.header("authorization"),
        Some(expected_authorization().as_str())
    );

    let config: Value = client()
        .get(format!("{}/admin/config", gateway.url))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api_config = &config["upstreams"]["api"];
    assert_eq!(api_config["base_url"], json!(format!("http://{api}/api")));
    assert_eq!(api_config["headers"]["authorization"], json!("***"));
    let text = config.to_string();
    for secret in [
        PASSWORD_IN_URL,
        PASSWORD,
        "s3cr",
        &expected_authorization()[6..],
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

#[test]
fn render_shows_the_basic_auth_header_as_stars() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.yaml");
    std::fs::write(&file, yaml("127.0.0.1:9101")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_toolgate"))
        .args(["render", "--config", file.to_str().unwrap()])
        .args(["--tool", "get_item", "--args", r#"{"id":"7"}"#])
        .env("TG_BASIC_PASS", PASSWORD_IN_URL)
        .env("ADMIN_KEY", ADMIN_KEY)
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some("GET http://127.0.0.1:9101/api/items/7"),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l == "authorization: ***"),
        "{stdout}"
    );
    for secret in [
        PASSWORD_IN_URL,
        PASSWORD,
        "s3cr",
        &expected_authorization()[6..],
    ] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} leaked:\n{stdout}\n{stderr}"
        );
    }
}
