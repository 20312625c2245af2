//! Document-level parts of a spec: the server URL (the upstream base_url) and the security
//! schemes (comments saying how to send credentials).

use super::super::names;
use super::super::node::Node;
use super::follow;

/// The upstream's `base_url` value, `${NAME_BASE_URL:-<first server URL>}`, and notes.
pub(super) fn base_url(spec: &Node, upstream: &str) -> (String, Vec<String>) {
    let variable = names::base_url_variable(upstream);
    let servers = spec.get("servers").map(Node::items).unwrap_or_default();
    let mut notes = Vec::new();
    let server = servers.first();
    let mut url = match server.and_then(|s| s.get_str("url")) {
        Some(url) => url.trim().to_owned(),
        None => {
            notes.push(format!(
                "guess: the spec names no server: set {variable} or edit the default"
            ));
            String::new()
        }
    };
    if let Some(variables) = server.and_then(|s| s.get("variables")) {
        let mut filled = Vec::new();
        for entry in variables.entries() {
            let default = match entry.value.get("default") {
                Some(Node::String(s)) => s.clone(),
                Some(Node::Number(n)) => n.to_string(),
                _ => continue,
            };
            let placeholder = format!("{{{}}}", entry.key);
            if url.contains(&placeholder) {
                url = url.replace(&placeholder, &default);
                filled.push(format!("{}={default}", entry.key));
            }
        }
        if !filled.is_empty() {
            notes.push(format!(
                "guess: server variables set to their defaults ({})",
                filled.join(", ")
            ));
        }
    }
    if servers.len() > 1 {
        notes.push(format!(
            "note: the spec lists {} servers; this is the first",
            servers.len()
        ));
    }
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        if !url.is_empty() {
            notes.push(format!(
                "guess: the server URL '{url}' is relative: set {variable} to the API's address"
            ));
        }
        let path = url.trim_start_matches(['.', '/']);
        url = if path.is_empty() {
            "http://localhost".into()
        } else {
            format!("http://localhost/{path}")
        };
    }
    let url = url.trim_end_matches('/').replace('}', "%7D");
    (format!("${{{variable}:-{url}}}"), notes)
}

/// Comments telling how to send the credentials the spec declares.
pub(super) fn security(spec: &Node, upstream: &str) -> Vec<String> {
    let schemes = spec
        .get("components")
        .and_then(|c| c.get("securitySchemes"))
        .map(Node::entries)
        .unwrap_or_default();
    if schemes.is_empty() {
        return Vec::new();
    }
    let prefix = names::env_prefix(upstream);
    let mut lines = vec![
        "The spec declares credentials (components.securitySchemes). toolgate sends none until"
            .to_owned(),
        "you add them here, from the environment:".to_owned(),
    ];
    for entry in schemes {
        let Ok(scheme) = follow(spec, &entry.value) else {
            continue;
        };
        let name = &entry.key;
        let kind = scheme.get_str("type").unwrap_or("");
        let line = match kind {
            "apiKey" => {
                let param = scheme.get_str("name").unwrap_or("X-API-Key");
                match scheme.get_str("in").unwrap_or("header") {
                    "query" => format!(
                        "{name} (API key in query parameter '{param}'): add `{param}: \"${{{prefix}_API_KEY}}\"` to each tool's request.query"
                    ),
                    "cookie" => format!(
                        "{name} (API key in cookie '{param}'): headers: {{ Cookie: \"{param}=${{{prefix}_API_KEY}}\" }}"
                    ),
                    _ => format!(
                        "{name} (API key in header '{param}'): headers: {{ {param}: \"${{{prefix}_API_KEY}}\" }}"
                    ),
                }
            }
            "http" => match scheme
                .get_str("scheme")
                .unwrap_or("")
                .to_ascii_lowercase()
                .as_str()
            {
                "basic" => format!(
                    "{name} (HTTP basic): headers: {{ Authorization: \"Basic ${{{prefix}_BASIC_AUTH}}\" }} (base64 of user:password)"
                ),
                _ => format!(
                    "{name} (HTTP bearer): headers: {{ Authorization: \"Bearer ${{{prefix}_TOKEN}}\" }}"
                ),
            },
            "oauth2" | "openIdConnect" => format!(
                "{name} ({kind}): headers: {{ Authorization: \"Bearer ${{{prefix}_TOKEN}}\" }} (a token obtained out of band)"
            ),
            other => format!("{name} ({other}): not understood by the importer"),
        };
        lines.push(format!("  {line}"));
    }
    lines
}
