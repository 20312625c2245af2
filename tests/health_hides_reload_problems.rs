//! The unauthenticated `/health` says only whether the last reload worked and when; the
//! problems (with `file:line:col`) are behind the admin key (`GET /admin/reload`, the console's
//! health page). An include glob that matches a file which is not a config the user wrote (here
//! a copy of an `/etc/shadow` line) is reported by location only: its content is never quoted.

mod common;
mod reload_support;

use common::{client, start_upstream};
use reload_support::{config_yaml, eventually, health, serve_file};
use serde_json::{Value, json};

const ADMIN_KEY: &str = "admin-key-0123456789";
const SHADOW: &str = "root:$6$SECRETSALT$SECRETHASH:19000:0:99999:7:::\n";

async fn admin_get(url: &str) -> (u16, String) {
    let response = client()
        .get(url)
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn health_shows_no_problem_text_and_a_foreign_include_is_not_quoted() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf.d")).unwrap();
    let path = dir.path().join("gateway.yaml");
    let main = format!(
        "include: [ \"conf.d/*\" ]\nadmin: {{ key: \"{ADMIN_KEY}\" }}\n{}",
        config_yaml(&upstream.url(), &[("ping", "/v1/ping")])
    );
    std::fs::write(dir.path().join("conf.d/extra.yaml"), "tools: []\n").unwrap();
    std::fs::write(&path, main).unwrap();
    let gateway = serve_file(&path).await;

    // The glob now also matches a file that is not a config.
    let shadow = dir.path().join("conf.d/shadow");
    std::fs::write(&shadow, SHADOW).unwrap();
    let (refused, _) = eventually("/health shows the refused reload", || async {
        let health = health(&gateway.url).await;
        (health["last_reload"]["ok"] == json!(false)).then_some(health)
    })
    .await;

    // /health: status, counts, ok and time; no problem text, no file name.
    let mut keys: Vec<&String> = refused["last_reload"].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["at", "ok"], "{refused}");
    let text = refused.to_string();
    assert!(
        !text.contains("SECRET") && !text.contains("shadow"),
        "{text}"
    );
    assert_eq!(refused["tools_count"], json!(1), "{refused}");

    // The admin API has the located problem, without the file's content.
    let (status, body) = admin_get(&format!("{}/admin/reload", gateway.url)).await;
    assert_eq!(status, 200, "{body}");
    let reload: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reload["ok"], json!(false), "{reload}");
    let problems = reload["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{reload}");
    let problem = problems[0].as_str().unwrap();
    assert!(
        problem.starts_with(&format!("{}:1:1: ", shadow.display())),
        "{problem}"
    );
    assert!(problem.contains("not a toolgate config"), "{problem}");
    assert!(!body.contains("SECRET") && !body.contains("root"), "{body}");

    // The console's health page shows the same located problem.
    let (status, page) = admin_get(&format!("{}/admin/health", gateway.url)).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("{}:1:1: ", shadow.display())),
        "{page}"
    );
    assert!(!page.contains("SECRET"), "{page}");

    // Without the key the problems stay hidden.
    let anonymous = client()
        .get(format!("{}/admin/reload", gateway.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
}
