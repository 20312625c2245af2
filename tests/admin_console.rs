//! The operator console: off without `admin.key`, pages behind the key (Bearer or the
//! browser's Basic prompt), Render masks secrets and sends nothing, Call makes one real call,
//! and the acting endpoints refuse Basic credentials and foreign origins (no CSRF).

mod common;

use base64::Engine;
use common::{client, start_gateway, start_upstream};
use serde_json::{Value, json};

const ADMIN_KEY: &str = "admin-key-0123456789";
const SECRET: &str = "upstream-secret-value";

fn yaml(admin: bool) -> String {
    let admin = if admin {
        "admin: { key: \"${ADMIN_KEY}\" }\n"
    } else {
        ""
    };
    format!(
        r#"{admin}auth:
  api_keys:
    - {{ id: ops, key: "ops-key-0123456789abcdef", org: acme }}
    - {{ id: narrow, key: "narrow-key-0123456789abcd", tools: [ "other_*" ] }}
upstreams:
  api:
    base_url: "${{API}}"
    headers: {{ Authorization: "Bearer ${{SECRET}}" }}
tools:
  - name: get_item
    description: Get an <item>.
    input_schema:
      type: object
      properties:
        id: {{ type: string }}
        kind: {{ type: string, enum: [ small, large ] }}
        count: {{ type: integer }}
      required: [ id ]
    request:
      upstream: api
      path: "/items/{{{{args.id}}}}"
      query: {{ api_key: "${{SECRET}}", kind: "{{{{args.kind}}}}" }}
"#
    )
}

fn basic(key: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("admin:{key}"));
    format!("Basic {encoded}")
}

async fn get(
    url: &str,
    authorization: Option<String>,
) -> (u16, String, reqwest::header::HeaderMap) {
    let mut request = client().get(url);
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.text().await.unwrap(), headers)
}

#[tokio::test]
async fn the_console_is_off_without_an_admin_key() {
    let upstream = start_upstream().await;
    let env = [("API", upstream.url()), ("SECRET", SECRET.to_owned())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gateway = start_gateway(&yaml(false), &env).await;
    let (status, _, _) = get(&format!("{}/admin/", gateway.url), Some(basic(ADMIN_KEY))).await;
    assert_eq!(status, 404);
    let (status, _, _) = get(&format!("{}/admin/assets/console.js", gateway.url), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn pages_need_the_key_and_show_tools_and_health() {
    let upstream = start_upstream().await;
    let env = [
        ("API", upstream.url()),
        ("SECRET", SECRET.to_owned()),
        ("ADMIN_KEY", ADMIN_KEY.to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gateway = start_gateway(&yaml(true), &env).await;

    let (status, _, headers) = get(&format!("{}/admin/", gateway.url), None).await;
    assert_eq!(status, 401);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let (status, _, _) = get(
        &format!("{}/admin/", gateway.url),
        Some(basic("wrong-key-0123456789")),
    )
    .await;
    assert_eq!(status, 401);

    let (status, list, headers) =
        get(&format!("{}/admin/", gateway.url), Some(basic(ADMIN_KEY))).await;
    assert_eq!(status, 200);
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert!(
        list.contains("get_item") && list.contains("Get an &lt;item&gt;."),
        "{list}"
    );
    assert!(list.contains("/items/{{args.id}}"));
    assert!(
        list.contains("API keys: ops (org acme)"),
        "visibility by key: {list}"
    );
    assert!(!list.contains(SECRET));
    let (_, filtered, _) = get(
        &format!("{}/admin/?q=nothing-like-this", gateway.url),
        Some(basic(ADMIN_KEY)),
    )
    .await;
    assert!(!filtered.contains("href=\"/admin/tool/get_item\""));

    let (status, page, _) = get(
        &format!("{}/admin/tool/get_item", gateway.url),
        Some(format!("Bearer {ADMIN_KEY}")),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        page.contains("<option value=\"large\">large</option>"),
        "enum as a select"
    );
    assert!(
        page.contains("type=\"number\""),
        "integer as a number input"
    );
    assert!(page.contains("(required)"));
    assert!(!page.contains(SECRET));

    let (status, health, _) = get(
        &format!("{}/admin/health", gateway.url),
        Some(basic(ADMIN_KEY)),
    )
    .await;
    assert_eq!(status, 200);
    let version = gateway.state.gateway.config().version.clone();
    assert!(
        health.contains(&version) && health.contains("closed"),
        "{health}"
    );
}

async fn act(
    gateway: &str,
    action: &str,
    authorization: &str,
    origin: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut request = client()
        .post(format!("{gateway}/admin/api/tools/get_item/{action}"))
        .header("Authorization", authorization)
        .json(&body);
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn render_masks_secrets_and_call_calls_once() {
    let upstream = start_upstream().await;
    let env = [
        ("API", upstream.url()),
        ("SECRET", SECRET.to_owned()),
        ("ADMIN_KEY", ADMIN_KEY.to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gateway = start_gateway(&yaml(true), &env).await;
    let bearer = format!("Bearer {ADMIN_KEY}");
    let args = json!({ "arguments": { "id": "a 1", "kind": "large" } });

    let (status, rendered) = act(&gateway.url, "render", &bearer, None, args.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(rendered["ok"], true, "{rendered}");
    let text = rendered["request"].as_str().unwrap();
    assert!(
        text.starts_with("GET ") && text.contains("/items/a%201?api_key=***&kind=large"),
        "{text}"
    );
    assert!(
        text.contains("authorization: ***") && !text.contains(SECRET),
        "{text}"
    );
    assert!(upstream.requests().is_empty(), "render sends nothing");

    let (_, invalid) = act(
        &gateway.url,
        "render",
        &bearer,
        None,
        json!({ "arguments": { "count": 1 } }),
    )
    .await;
    assert_eq!(invalid["ok"], false);
    assert_eq!(invalid["error"]["code"], "invalid_parameters");

    let (status, called) = act(
        &gateway.url,
        "call",
        &bearer,
        Some(&gateway.url),
        args.clone(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(called["ok"], true, "{called}");
    assert_eq!(called["result"]["method"], "GET");
    assert!(called["elapsed_ms"].as_f64().is_some());
    assert_eq!(upstream.requests().len(), 1, "one real call");

    let (_, hidden) = act(
        &gateway.url,
        "call",
        &bearer,
        None,
        json!({ "arguments": { "id": "x" }, "caller": "narrow" }),
    )
    .await;
    assert_eq!(
        hidden["error"]["code"], "tool_not_found",
        "the chosen key's visibility applies"
    );

    // Ambient browser credentials and foreign pages cannot act.
    let (status, _) = act(&gateway.url, "call", &basic(ADMIN_KEY), None, args.clone()).await;
    assert_eq!(
        status, 401,
        "Basic credentials are for read-only pages only"
    );
    let (status, _) = act(
        &gateway.url,
        "call",
        &bearer,
        Some("https://evil.example"),
        args,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(upstream.requests().len(), 1);
}
