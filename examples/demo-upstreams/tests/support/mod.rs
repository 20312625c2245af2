//! A small HTTP client for the demo APIs' tests: JSON in, `(status, JSON or text)` out.

#![allow(dead_code)]

use actix_web::dev::ServerHandle;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;

/// One running demo API and a client for it.
pub struct Api {
    pub base: String,
    pub handle: ServerHandle,
    client: reqwest::Client,
    token: Option<String>,
}

impl Api {
    /// Wraps a started server.
    pub fn new(addr: std::net::SocketAddr, handle: ServerHandle, token: Option<&str>) -> Self {
        Self {
            base: format!("http://{addr}"),
            handle,
            client: reqwest::Client::new(),
            token: token.map(str::to_owned),
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.client.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => req.header(AUTHORIZATION, format!("Bearer {token}")),
            None => req,
        }
    }

    /// Sends and reads the answer: status, content type, body.
    pub async fn send_raw(req: reqwest::RequestBuilder) -> (u16, String, String) {
        let res = req.send().await.expect("send");
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = res.text().await.expect("body");
        (status, content_type, body)
    }

    async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
        let (status, content_type, body) = Self::send_raw(req).await;
        assert!(
            content_type.starts_with("application/json"),
            "status {status}: not JSON ({content_type}): {body}"
        );
        (status, serde_json::from_str(&body).expect("JSON body"))
    }

    /// `GET path`, answered with JSON.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        Self::send(self.request(reqwest::Method::GET, path)).await
    }

    /// `POST path` with this exact body text, answered with JSON.
    pub async fn post_raw(&self, path: &str, body: &str) -> (u16, Value) {
        Self::send(self.post_request(path, body)).await
    }

    /// `POST path` with a JSON body, answered with JSON.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_raw(path, &body.to_string()).await
    }

    /// A `POST path` request with a JSON body, to send with [`Api::send_raw`].
    pub fn post_request(&self, path: &str, body: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::POST, path)
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_owned())
    }

    /// Stops the server (closing pooled connections first so the stop need not wait).
    pub async fn stop(self) {
        drop(self.client);
        self.handle.stop(true).await;
    }
}

/// `error.code` of an error answer.
pub fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<none>")
}

/// `error.field` of an error answer.
pub fn error_field(body: &Value) -> &str {
    body["error"]["field"].as_str().unwrap_or("<none>")
}
