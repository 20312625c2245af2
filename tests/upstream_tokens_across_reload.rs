//! Upstream tokens across a hot reload: a reload that leaves an upstream's grant as it was
//! (here: only a tool description changes) keeps its cached client-credentials token, so no
//! new token is fetched; a reload changing the grant (its scopes) starts with a new token.

mod common;

use common::oauth::{issue, start_guarded_upstream, start_token_server};
use common::{mcp_call, serve_reloadable};
use serde_json::json;
use std::sync::Arc;
use toolgate::reload::Outcome;

fn config(api: &str, token_url: &str, scopes: &str, description: &str) -> String {
    format!(
        r#"
upstreams:
  crm:
    base_url: "{api}"
    auth:
      oauth2_client_credentials:
        token_url: "{token_url}"
        client_id: toolgate
        client_secret: reload-test-secret
        scopes: [ {scopes} ]
tools:
  - name: crm_whoami
    description: {description}
    request: {{ upstream: crm, path: /whoami }}
"#
    )
}

#[tokio::test]
async fn a_reload_keeps_the_token_unless_the_grant_changed() {
    let tokens = start_token_server(issue(300.0)).await;
    let upstream = start_guarded_upstream(Arc::new(|auth| {
        auth.is_some_and(|a| a.starts_with("Bearer tok-"))
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.yaml");
    let write = |scopes: &str, description: &str| {
        std::fs::write(
            &path,
            config(&upstream.url, &tokens.url, scopes, description),
        )
        .unwrap();
    };
    write("crm.read", "Which token the upstream saw.");
    let (gateway, reloader) = serve_reloadable(&path).await;
    let whoami = || async {
        let reply = mcp_call(&gateway, "crm_whoami", json!({})).await;
        assert_eq!(reply["result"]["isError"], json!(false), "{reply}");
        reply["result"]["structuredContent"]["authorization"].clone()
    };

    assert_eq!(whoami().await, json!("Bearer tok-1"));
    assert_eq!(tokens.hits(), 1);

    // Only a tool description changes: the upstream's grant is the same.
    write("crm.read", "The token the upstream saw.");
    assert!(matches!(reloader.reload().await, Outcome::Applied { .. }));
    assert_eq!(whoami().await, json!("Bearer tok-1"), "the token is kept");
    assert_eq!(
        tokens.hits(),
        1,
        "a reload not touching the upstream fetches nothing"
    );

    // The grant asks for other scopes: a new token is fetched, with them.
    write("crm.read, crm.write", "The token the upstream saw.");
    assert!(matches!(reloader.reload().await, Outcome::Applied { .. }));
    assert_eq!(
        whoami().await,
        json!("Bearer tok-2"),
        "a changed grant gets a new token"
    );
    assert_eq!(tokens.hits(), 2);
    assert_eq!(tokens.requests()[1].form["scope"], "crm.read crm.write");
}
