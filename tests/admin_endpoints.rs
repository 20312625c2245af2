//! The admin endpoints: off without `admin.key`, behind the key, secrets masked, per-tool
//! figures counted.

mod common;

use common::{client, mcp_call, start_gateway, start_upstream};
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
        r#"{admin}upstreams:
  api:
    base_url: "${{API}}"
    headers: {{ Authorization: "Bearer ${{SECRET}}" }}
tools:
  - name: get_item
    description: Get an item.
    input_schema:
      type: object
      properties: {{ id: {{ type: string }} }}
      required: [ id ]
    request:
      upstream: api
      path: "/items/{{{{args.id}}}}"
      query: {{ api_key: "${{SECRET}}", id: "{{{{args.id}}}}" }}
"#
    )
}

async fn get(url: &str, key: Option<&str>) -> (u16, Value) {
    let mut request = client().get(url);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn admin_endpoints_are_off_without_a_key() {
    let upstream = start_upstream().await;
    let gateway = start_gateway(
        &yaml(false),
        &[("API", &upstream.url()), ("SECRET", SECRET)],
    )
    .await;
    let (status, _) = get(&format!("{}/admin/config", gateway.url), Some(ADMIN_KEY)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn admin_endpoints_need_the_key_and_never_show_secrets() {
    let upstream = start_upstream().await;
    let env = [
        ("API", upstream.url()),
        ("SECRET", SECRET.into()),
        ("ADMIN_KEY", ADMIN_KEY.into()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gateway = start_gateway(&yaml(true), &env).await;
    let url = format!("{}/admin/config", gateway.url);
    assert_eq!(get(&url, None).await.0, 401);
    assert_eq!(get(&url, Some("wrong-key-0123456789")).await.0, 401);

    let (status, config) = get(&url, Some(ADMIN_KEY)).await;
    assert_eq!(status, 200);
    let text = config.to_string();
    assert!(!text.contains(SECRET), "a secret leaked: {text}");
    assert!(!text.contains(ADMIN_KEY), "the admin key leaked");
    assert_eq!(
        config["upstreams"]["api"]["headers"]["authorization"],
        json!("***")
    );
    assert_eq!(
        config["tools"][0]["request"]["query"]["api_key"],
        json!("***")
    );
    assert_eq!(
        config["tools"][0]["request"]["path"],
        json!("/items/{{args.id}}")
    );

    for id in ["1", "2"] {
        let reply = mcp_call(&gateway, "get_item", json!({ "id": id })).await;
        assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
    }
    let reply = mcp_call(&gateway, "get_item", json!({})).await;
    assert_eq!(reply["result"]["isError"], json!(true));
    let (status, tools) = get(&format!("{}/admin/tools", gateway.url), Some(ADMIN_KEY)).await;
    assert_eq!(status, 200);
    assert_eq!(tools["tools"][0]["tool"], json!("get_item"));
    assert_eq!(tools["tools"][0]["calls"], json!(3));
    assert_eq!(tools["tools"][0]["errors"], json!(1));
}

#[tokio::test]
async fn admin_reload_without_a_config_file_says_so() {
    let upstream = start_upstream().await;
    let env = [
        ("API", upstream.url()),
        ("SECRET", SECRET.into()),
        ("ADMIN_KEY", ADMIN_KEY.into()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gateway = start_gateway(&yaml(true), &env).await;
    let response = client()
        .post(format!("{}/admin/reload", gateway.url))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 409);
}
