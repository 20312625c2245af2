//! `toolgate serve` follows a Kubernetes ConfigMap volume: files are symlinks through `..data`,
//! and an update swaps `..data` to a new timestamped directory (rename of `..data_tmp`) and
//! removes the old one. Both the main file and an included file update, repeatedly.

mod common;
mod reload_support;

use common::start_upstream;
use reload_support::{
    ChildGateway, ConfigMapDir, answered_uri, call, health, tools_yaml, until_served,
};
use serde_json::json;

fn main_file(upstream: &str, marker: &str) -> String {
    format!(
        "# {marker}\ninclude: [ \"tools.yaml\" ]\nupstreams:\n  api: {{ base_url: \"{upstream}\" }}\n"
    )
}

fn tools_file(tools: &[(&str, &str)]) -> String {
    format!("tools:\n{}", tools_yaml(tools))
}

#[tokio::test]
async fn a_configmap_symlink_swap_is_served_every_time() {
    let upstream = start_upstream().await;
    let volume = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let mut map = ConfigMapDir::new(
        volume.path(),
        &[
            ("gateway.yaml", &main_file(&upstream.url(), "one")),
            ("tools.yaml", &tools_file(&[("ping", "/v1/ping")])),
        ],
    );
    let config = volume.path().join("gateway.yaml");
    assert!(
        std::fs::symlink_metadata(&config)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let gateway = ChildGateway::start(&config, &logs.path().join("serve.log")).await;
    assert_eq!(
        answered_uri(&call(&gateway.url, "ping").await),
        Some("/v1/ping")
    );

    let mut latencies = Vec::new();
    // Only the included file changes.
    map.update(&[
        ("gateway.yaml", &main_file(&upstream.url(), "one")),
        ("tools.yaml", &tools_file(&[("ping", "/v2/ping")])),
    ]);
    latencies.push(until_served(&gateway.url, "ping", "/v2/ping").await);
    // Both change, and a tool is added.
    map.update(&[
        ("gateway.yaml", &main_file(&upstream.url(), "two")),
        (
            "tools.yaml",
            &tools_file(&[("ping", "/v3/ping"), ("pong", "/v3/pong")]),
        ),
    ]);
    latencies.push(until_served(&gateway.url, "pong", "/v3/pong").await);
    assert_eq!(
        answered_uri(&call(&gateway.url, "ping").await),
        Some("/v3/ping")
    );
    // Only the main file changes: the include now comes from a different upstream path prefix.
    map.update(&[
        (
            "gateway.yaml",
            &main_file(&format!("{}/prefix", upstream.url()), "three"),
        ),
        (
            "tools.yaml",
            &tools_file(&[("ping", "/v3/ping"), ("pong", "/v3/pong")]),
        ),
    ]);
    latencies.push(until_served(&gateway.url, "ping", "/prefix/v3/ping").await);
    println!("ConfigMap swap pickup latencies: {latencies:?}");

    let health = health(&gateway.url).await;
    assert_eq!(health["last_reload"]["ok"], json!(true), "{health}");
    assert_eq!(health["tools_count"], json!(2), "{health}");
    assert!(
        latencies.iter().all(|l| l.as_millis() < 1000),
        "every swap is picked up within a second: {latencies:?}\n{}",
        gateway.log_text()
    );
}
