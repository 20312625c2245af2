//! A reload that would remove every tool (a whitespace-only or comment-only file) is refused
//! and the serving config keeps answering, unless the new file says `tools: []`.

mod common;
mod reload_support;

use common::start_upstream;
use reload_support::{
    answered_uri, call, config_yaml, eventually, health, serve_file, write_in_place,
};
use serde_json::json;

#[tokio::test]
async fn an_emptied_file_keeps_the_tools_and_tools_empty_list_removes_them() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, config_yaml(&upstream.url(), &[("ping", "/v1/ping")])).unwrap();
    let gateway = serve_file(&path).await;
    let initial = health(&gateway.url).await;
    assert_eq!(initial["tools_count"], json!(1), "{initial}");

    for text in ["\n", "   \n\n", "# all commented out\n# tools: []\n"] {
        write_in_place(&path, text);
        let (refused, _) = eventually("the reload is refused", || async {
            let health = health(&gateway.url).await;
            (health["last_reload"]["ok"] == json!(false)).then_some(health)
        })
        .await;
        assert_eq!(refused["tools_count"], json!(1), "{text:?}: {refused}");
        assert_eq!(refused["config_version"], initial["config_version"]);
        let answer = call(&gateway.url, "ping").await;
        assert_eq!(
            answered_uri(&answer),
            Some("/v1/ping"),
            "{text:?}: {answer}"
        );
        // Back to the serving config, so that the next edit is a change again.
        write_in_place(
            &path,
            &config_yaml(&upstream.url(), &[("ping", "/v1/ping")]),
        );
        eventually("the serving config is current again", || async {
            (health(&gateway.url).await["last_reload"]["ok"] == json!(true)).then_some(())
        })
        .await;
    }

    write_in_place(&path, "tools: []\n");
    let (emptied, _) = eventually("tools: [] is applied", || async {
        let health = health(&gateway.url).await;
        (health["tools_count"] == json!(0)).then_some(health)
    })
    .await;
    assert_eq!(emptied["last_reload"]["ok"], json!(true), "{emptied}");
}
