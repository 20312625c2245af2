//! An invalid edit is refused: `/health` shows `last_reload.ok == false`, the reload state (what
//! `GET /admin/reload` and the console show) holds the `file:line:col: message` of each
//! problem, the old config keeps serving, and the next valid
//! edit is applied and clears the error. Also for an invalid included file.

mod common;
mod reload_support;

use common::start_upstream;
use reload_support::{
    answered_uri, call, config_yaml, eventually, health, rename_over, serve_file, tools_yaml,
    until_served, write_in_place,
};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

/// Polls `/health` until `last_reload.ok` is `ok`; returns the health document.
async fn until_last_reload_ok(url: &str, ok: bool) -> (Value, std::time::Duration) {
    eventually(&format!("/health shows last_reload.ok == {ok}"), || async {
        let health = health(url).await;
        (health["last_reload"]["ok"] == json!(ok)).then_some(health)
    })
    .await
}

#[tokio::test]
async fn an_invalid_edit_is_reported_and_the_old_config_keeps_serving_until_fixed() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, config_yaml(&upstream.url(), &[("ping", "/v1/ping")])).unwrap();
    let gateway = serve_file(&path).await;
    let initial = health(&gateway.url).await;
    assert_eq!(initial["last_reload"]["ok"], json!(true), "{initial}");
    assert_eq!(gateway.state.reload.status().error, None, "{initial}");

    // Line 6, column 26: the unknown upstream `nope`; and a second tool with the same mistake.
    let invalid = format!(
        "upstreams:\n  api: {{ base_url: \"{}\" }}\ntools:\n  - name: ping\n    description: Tool ping.\n    request: {{ upstream: nope, path: \"/v2/ping\" }}\n  - name: pong\n    description: Tool pong.\n    request: {{ upstream: nope, path: \"/v2/pong\" }}\n",
        upstream.url()
    );
    write_in_place(&path, &invalid);
    let (refused, latency) = until_last_reload_ok(&gateway.url, false).await;
    println!("invalid edit reported after {latency:?}: {refused}");
    let error = gateway.state.reload.status().error.expect("an error text");
    let file = path.display().to_string();
    assert_eq!(
        error.lines().collect::<Vec<_>>(),
        [
            format!("{file}:6:26: unknown upstream 'nope'"),
            format!("{file}:9:26: unknown upstream 'nope'"),
        ],
        "{refused}"
    );
    // The old config is untouched and still answers.
    assert_eq!(refused["config_version"], initial["config_version"]);
    assert_eq!(refused["tools_count"], json!(1));
    assert_eq!(
        answered_uri(&call(&gateway.url, "ping").await),
        Some("/v1/ping")
    );
    assert_eq!(
        call(&gateway.url, "pong").await["error"]["data"]["code"],
        json!("tool_not_found")
    );
    assert_eq!(
        gateway.state.reload.reloads_failed.load(Ordering::Relaxed),
        1
    );
    assert_eq!(gateway.state.reload.reloads_ok.load(Ordering::Relaxed), 0);

    // A YAML syntax error replaces the previous error text.
    write_in_place(
        &path,
        &format!(
            "{}  - name: [ broken\n",
            config_yaml(&upstream.url(), &[("ping", "/v2/ping")])
        ),
    );
    let (syntax, _) = eventually("the reload state holds the syntax error", || async {
        let error = gateway.state.reload.status().error.unwrap_or_default();
        if error.starts_with(&format!("{file}:7:11: ")) {
            Some(health(&gateway.url).await)
        } else {
            None
        }
    })
    .await;
    assert_eq!(syntax["last_reload"]["ok"], json!(false), "{syntax}");
    assert_eq!(syntax["config_version"], initial["config_version"]);
    assert_eq!(
        answered_uri(&call(&gateway.url, "ping").await),
        Some("/v1/ping")
    );
    assert_eq!(
        gateway.state.reload.reloads_failed.load(Ordering::Relaxed),
        2
    );

    // The fix is applied and clears the error.
    rename_over(
        &path,
        &config_yaml(
            &upstream.url(),
            &[("ping", "/v2/ping"), ("pong", "/v2/pong")],
        ),
    );
    let (fixed, latency) = until_last_reload_ok(&gateway.url, true).await;
    println!("fixed edit applied after {latency:?}");
    assert_eq!(gateway.state.reload.status().error, None, "{fixed}");
    assert_ne!(fixed["config_version"], initial["config_version"]);
    assert_eq!(fixed["tools_count"], json!(2));
    assert_eq!(
        answered_uri(&call(&gateway.url, "ping").await),
        Some("/v2/ping")
    );
    assert_eq!(
        answered_uri(&call(&gateway.url, "pong").await),
        Some("/v2/pong")
    );
    assert_eq!(gateway.state.reload.reloads_ok.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn reverting_an_invalid_edit_to_the_serving_config_clears_the_error() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    let valid = config_yaml(&upstream.url(), &[("ping", "/v1/ping")]);
    std::fs::write(&path, &valid).unwrap();
    let gateway = serve_file(&path).await;
    let initial = health(&gateway.url).await;

    rename_over(&path, "tools: [ oops\n");
    until_last_reload_ok(&gateway.url, false).await;
    rename_over(&path, &valid);
    let (reverted, _) = until_last_reload_ok(&gateway.url, true).await;
    assert_eq!(reverted["config_version"], initial["config_version"]);
    assert_eq!(gateway.state.reload.status().error, None, "{reverted}");
    assert_eq!(
        answered_uri(&call(&gateway.url, "ping").await),
        Some("/v1/ping")
    );
}

#[tokio::test]
async fn an_invalid_include_file_is_reported_at_its_own_location() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    std::fs::write(
        &path,
        format!(
            "include: [ \"tools.yaml\" ]\nupstreams:\n  api: {{ base_url: \"{}\" }}\n",
            upstream.url()
        ),
    )
    .unwrap();
    let included = dir.path().join("tools.yaml");
    std::fs::write(
        &included,
        format!("tools:\n{}", tools_yaml(&[("ping", "/v1/ping")])),
    )
    .unwrap();
    let gateway = serve_file(&path).await;

    // Line 4, column 26 of the included file: an unknown upstream.
    write_in_place(
        &included,
        "tools:\n  - name: ping\n    description: Tool ping.\n    request: { upstream: nope, path: \"/v2/ping\" }\n",
    );
    let (refused, _) = until_last_reload_ok(&gateway.url, false).await;
    assert_eq!(
        gateway.state.reload.status().error,
        Some(format!(
            "{}:4:26: unknown upstream 'nope'",
            included.display()
        )),
        "{refused}"
    );
    assert_eq!(
        answered_uri(&call(&gateway.url, "ping").await),
        Some("/v1/ping")
    );

    write_in_place(
        &included,
        &format!("tools:\n{}", tools_yaml(&[("ping", "/v2/ping")])),
    );
    until_served(&gateway.url, "ping", "/v2/ping").await;
    assert_eq!(health(&gateway.url).await["last_reload"]["ok"], json!(true));
}
