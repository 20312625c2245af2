//! SIGHUP makes `toolgate serve` reload its config (here with file watching turned off, so that
//! nothing else can): a valid change is applied, an invalid one is refused and reported in
//! `/health` without stopping the process, and a later SIGHUP applies the fix.

mod common;
mod reload_support;

use common::start_upstream;
use reload_support::{
    ChildGateway, answered_uri, call, eventually, health, rename_over, tools_yaml, until_served,
};
use serde_json::json;
use std::time::Duration;

fn config(upstream: &str, tools: &[(&str, &str)]) -> String {
    format!(
        "server:\n  reload: {{ watch: false }}\nupstreams:\n  api: {{ base_url: \"{upstream}\" }}\ntools:\n{}",
        tools_yaml(tools)
    )
}

#[tokio::test]
async fn sighup_reloads_the_config() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, config(&upstream.url(), &[("ping", "/v1/ping")])).unwrap();
    let mut gateway = ChildGateway::start(&path, &dir.path().join("serve.log")).await;
    assert_eq!(
        answered_uri(&call(&gateway.url, "ping").await),
        Some("/v1/ping")
    );

    // With watching off, a change alone is not picked up.
    rename_over(&path, &config(&upstream.url(), &[("ping", "/v2/ping")]));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        answered_uri(&call(&gateway.url, "ping").await),
        Some("/v1/ping")
    );

    gateway.sighup();
    let applied = until_served(&gateway.url, "ping", "/v2/ping").await;
    println!("SIGHUP applied a valid change after {applied:?}");

    // An invalid config: SIGHUP neither stops the gateway nor replaces the serving config.
    std::fs::write(&path, "tools: [ oops\n").unwrap();
    gateway.sighup();
    let (refused, reported) = eventually("/health shows the refused reload", || async {
        let health = health(&gateway.url).await;
        (health["last_reload"]["ok"] == json!(false)).then_some(health)
    })
    .await;
    println!("SIGHUP reported an invalid config after {reported:?}");
    let error = refused["last_reload"]["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!("{}:1:", path.display())),
        "{refused}"
    );
    assert!(gateway.is_running());
    assert_eq!(
        answered_uri(&call(&gateway.url, "ping").await),
        Some("/v2/ping")
    );

    // Fixed, with a new tool; SIGHUP again.
    std::fs::write(
        &path,
        config(
            &upstream.url(),
            &[("ping", "/v3/ping"), ("pong", "/v3/pong")],
        ),
    )
    .unwrap();
    gateway.sighup();
    until_served(&gateway.url, "pong", "/v3/pong").await;
    assert_eq!(
        answered_uri(&call(&gateway.url, "ping").await),
        Some("/v3/ping")
    );
    let health = health(&gateway.url).await;
    assert_eq!(health["last_reload"]["ok"], json!(true), "{health}");
    assert_eq!(health["tools_count"], json!(2), "{health}");
    assert!(gateway.is_running());
    assert!(
        gateway.log_text().contains("SIGHUP"),
        "the log says why it reloaded:\n{}",
        gateway.log_text()
    );
}
