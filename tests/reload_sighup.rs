//! SIGHUP makes `toolgate serve` reload its config (here with file watching turned off, so that
//! nothing else can): a valid change is applied, an invalid one is refused and reported (in
//! `/health` as `last_reload.ok: false`, with its location in the log) without stopping the process, and a later SIGHUP applies the fix. A SIGHUP reload
//! racing the watcher's reload of a newer edit never leaves the older config serving.

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
    // The problem is in the log (and behind the admin key), not on the unauthenticated /health.
    assert_eq!(refused["last_reload"].get("error"), None, "{refused}");
    let located = format!("{}:1:", path.display());
    eventually("the log names the problem's location", || async {
        gateway.log_text().contains(&located).then_some(())
    })
    .await;
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

#[tokio::test]
async fn two_reloads_racing_never_leave_the_older_config_serving() {
    use notify::event::{AccessKind, EventKind};
    use notify::{RecursiveMode, Watcher};
    use std::sync::Arc;
    use toolgate::gateway::Gateway;
    use toolgate::reload::{ReloadState, Reloader};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    let api = "http://127.0.0.1:9";
    std::fs::write(&path, config(api, &[("ping", "/v1/ping")])).unwrap();
    let load = |path: &std::path::Path| {
        toolgate::config::load_file(path, &toolgate::config::process_env).unwrap()
    };
    let gateway = Arc::new(Gateway::new(load(&path)).unwrap());
    let reloader = Arc::new(Reloader::new(
        path.clone(),
        gateway.clone(),
        Arc::new(ReloadState::default()),
    ));

    // Edit 1 is large (slow to compile); edit 2, saved while edit 1 compiles, is small.
    let fillers: Vec<(String, String)> = (0..2000)
        .map(|i| (format!("filler_{i}"), format!("/filler/{i}")))
        .collect();
    let mut large_tools = vec![("ping", "/v2/ping")];
    large_tools.extend(fillers.iter().map(|(n, p)| (n.as_str(), p.as_str())));
    let large = config(api, &large_tools);
    let small = config(api, &[("ping", "/v3/ping")]);

    // Knowing when the first reload has opened the file makes the race deterministic.
    let (opened, mut opens) = tokio::sync::mpsc::unbounded_channel();
    let watched = path.clone();
    let mut spy = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && matches!(event.kind, EventKind::Access(AccessKind::Open(_)))
            && event.paths.contains(&watched)
        {
            let _ = opened.send(());
        }
    })
    .unwrap();
    spy.watch(dir.path(), RecursiveMode::NonRecursive).unwrap();

    rename_over(&path, &large);
    // The first reload (think: SIGHUP) reads edit 1 and compiles it...
    let first = tokio::spawn({
        let reloader = reloader.clone();
        async move { reloader.reload().await }
    });
    tokio::time::timeout(reload_support::DEADLINE, opens.recv())
        .await
        .expect("the first reload opens the file");
    // ...while edit 2 is saved (a new inode: the first reload still reads edit 1) and a second
    // reload (think: the watcher) starts.
    rename_over(&path, &small);
    let second = reloader.reload().await;
    let first = first.await.unwrap();
    drop(spy);
    println!("first reload: {first:?}\nsecond reload: {second:?}");

    let serving = gateway.config();
    assert_eq!(
        serving.version,
        load(&path).version,
        "the file holds edit 2, but {} tools serve",
        serving.tools.len()
    );
    assert_eq!(serving.tools.len(), 1);
}
