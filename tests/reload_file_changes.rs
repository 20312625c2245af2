//! A running gateway picks up config file changes by itself (within a second): an edit written in
//! place, an editor's rename-over save (repeatedly), a changed or new include file; a tool added
//! by a reload is callable at once and a removed one answers `tool_not_found`.

mod common;
mod reload_support;

use common::start_upstream;
use reload_support::{
    answered_uri, call, config_yaml, health, inode, rename_over, serve_file, tool_names,
    tools_yaml, until_served, write_in_place,
};
use serde_json::json;

#[tokio::test]
async fn an_edit_written_in_place_is_served_within_a_second() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, config_yaml(&upstream.url(), &[("ping", "/v1/ping")])).unwrap();
    let gateway = serve_file(&path).await;
    assert_eq!(
        answered_uri(&call(&gateway.url, "ping").await),
        Some("/v1/ping")
    );

    let before = inode(&path);
    let mut latencies = Vec::new();
    for version in 2..=4 {
        let uri = format!("/v{version}/ping");
        write_in_place(&path, &config_yaml(&upstream.url(), &[("ping", &uri)]));
        assert_eq!(inode(&path), before, "the file was rewritten in place");
        latencies.push(until_served(&gateway.url, "ping", &uri).await);
    }
    println!("write-in-place pickup latencies: {latencies:?}");
    assert!(
        latencies.iter().all(|l| l.as_millis() < 1000),
        "every edit is picked up within a second: {latencies:?}"
    );
    assert_eq!(
        gateway
            .state
            .reload
            .reloads_ok
            .load(std::sync::atomic::Ordering::Relaxed),
        3
    );
}

#[tokio::test]
async fn an_editor_rename_over_save_is_served_every_time() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, config_yaml(&upstream.url(), &[("ping", "/v1/ping")])).unwrap();
    let gateway = serve_file(&path).await;

    // A watch on the file itself would die with its first inode: save several times.
    let mut latencies = Vec::new();
    for version in 2..=4 {
        let before = inode(&path);
        let uri = format!("/v{version}/ping");
        rename_over(&path, &config_yaml(&upstream.url(), &[("ping", &uri)]));
        assert_ne!(inode(&path), before, "the save replaced the file");
        latencies.push(until_served(&gateway.url, "ping", &uri).await);
    }
    println!("rename-over pickup latencies: {latencies:?}");
    assert!(
        latencies.iter().all(|l| l.as_millis() < 1000),
        "every save is picked up within a second: {latencies:?}"
    );
}

#[tokio::test]
async fn a_changed_or_new_include_file_is_served() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    let tools_dir = dir.path().join("tools.d");
    std::fs::create_dir(&tools_dir).unwrap();
    std::fs::write(
        &path,
        format!(
            "include: [ \"tools.d/*.yaml\" ]\nupstreams:\n  api: {{ base_url: \"{}\" }}\n",
            upstream.url()
        ),
    )
    .unwrap();
    let included = tools_dir.join("ping.yaml");
    std::fs::write(
        &included,
        format!("tools:\n{}", tools_yaml(&[("ping", "/v1/ping")])),
    )
    .unwrap();
    let gateway = serve_file(&path).await;
    assert_eq!(
        answered_uri(&call(&gateway.url, "ping").await),
        Some("/v1/ping")
    );

    // The include file changes in place, then by rename-over; the main file stays untouched.
    write_in_place(
        &included,
        &format!("tools:\n{}", tools_yaml(&[("ping", "/v2/ping")])),
    );
    let in_place = until_served(&gateway.url, "ping", "/v2/ping").await;
    rename_over(
        &included,
        &format!("tools:\n{}", tools_yaml(&[("ping", "/v3/ping")])),
    );
    let renamed = until_served(&gateway.url, "ping", "/v3/ping").await;

    // A new file matching the include glob brings its tools.
    std::fs::write(
        tools_dir.join("pong.yaml"),
        format!("tools:\n{}", tools_yaml(&[("pong", "/v1/pong")])),
    )
    .unwrap();
    let added = until_served(&gateway.url, "pong", "/v1/pong").await;
    println!(
        "include pickup latencies: in place {in_place:?}, rename-over {renamed:?}, new file {added:?}"
    );
    assert_eq!(
        answered_uri(&call(&gateway.url, "ping").await),
        Some("/v3/ping")
    );
    assert_eq!(health(&gateway.url).await["tools_count"], json!(2));
}

#[tokio::test]
async fn an_added_tool_is_callable_at_once_and_a_removed_one_is_tool_not_found() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, config_yaml(&upstream.url(), &[("ping", "/v1/ping")])).unwrap();
    let gateway = serve_file(&path).await;
    let unknown = call(&gateway.url, "added").await;
    assert_eq!(
        unknown["error"]["data"]["code"],
        json!("tool_not_found"),
        "{unknown}"
    );

    rename_over(
        &path,
        &config_yaml(
            &upstream.url(),
            &[("ping", "/v1/ping"), ("added", "/v1/added")],
        ),
    );
    // As soon as the listing shows it, the very next call succeeds: no warm-up, no retry.
    let (_, latency) = reload_support::eventually("tools/list shows 'added'", || async {
        tool_names(&gateway.url)
            .await
            .contains(&"added".to_owned())
            .then_some(())
    })
    .await;
    let reply = call(&gateway.url, "added").await;
    assert_eq!(answered_uri(&reply), Some("/v1/added"), "{reply}");
    println!("added tool listed after {latency:?}");

    rename_over(
        &path,
        &config_yaml(&upstream.url(), &[("added", "/v1/added")]),
    );
    reload_support::eventually("tools/list drops 'ping'", || async {
        (tool_names(&gateway.url).await == ["added"]).then_some(())
    })
    .await;
    let reply = call(&gateway.url, "ping").await;
    assert_eq!(
        reply["error"]["data"]["code"],
        json!("tool_not_found"),
        "{reply}"
    );
    assert_eq!(reply["error"]["code"], json!(-32602), "{reply}");
    assert_eq!(
        answered_uri(&call(&gateway.url, "added").await),
        Some("/v1/added")
    );
}

#[tokio::test]
async fn an_idle_gateway_does_not_keep_rereading_its_config() {
    use notify::{EventKind, RecursiveMode, Watcher};
    use std::sync::{Arc, Mutex};
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, config_yaml(&upstream.url(), &[("ping", "/v1/ping")])).unwrap();
    let gateway = serve_file(&path).await;
    rename_over(
        &path,
        &config_yaml(&upstream.url(), &[("ping", "/v2/ping")]),
    );
    until_served(&gateway.url, "ping", "/v2/ping").await;

    // Every reload opens the config file: count the opens while nothing changes.
    let opens = Arc::new(Mutex::new(0));
    let counter = opens.clone();
    let watched = path.clone();
    let mut spy = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && matches!(
                event.kind,
                EventKind::Access(notify::event::AccessKind::Open(_))
            )
            && event.paths.contains(&watched)
        {
            *counter.lock().unwrap() += 1;
        }
    })
    .unwrap();
    spy.watch(dir.path(), RecursiveMode::NonRecursive).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    drop(spy);
    let opens = *opens.lock().unwrap();
    assert_eq!(
        opens, 0,
        "the config was read {opens} times in a second without any change"
    );
}
