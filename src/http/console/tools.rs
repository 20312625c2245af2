//! The tools list (searchable, with each tool's upstream, method, path template and who may
//! see it) and the page of one tool (its facts, its input schema as a form, Render and Call).

use super::form;
use super::html::{Section, escape, page};
use crate::config::RuntimeConfig;
use crate::tool::Tool;
use std::fmt::Write;

/// Who may see and call `tool`.
pub(super) fn visibility(config: &RuntimeConfig, tool: &Tool) -> String {
    let auth = &config.auth;
    if auth.is_open() {
        return "everyone (the gateway is open)".into();
    }
    let allowed: Vec<String> = auth
        .api_keys
        .iter()
        .filter(|key| key.tools.as_ref().is_none_or(|f| f.allows(&tool.name)))
        .map(|key| {
            if key.org.is_empty() {
                key.id.clone()
            } else {
                format!("{} (org {})", key.id, key.org)
            }
        })
        .collect();
    let mut parts = Vec::new();
    if !auth.api_keys.is_empty() {
        parts.push(if allowed.len() == auth.api_keys.len() {
            "every API key".to_owned()
        } else if allowed.is_empty() {
            "no API key".to_owned()
        } else {
            format!("API keys: {}", allowed.join(", "))
        });
    }
    if auth.jwt.is_some() {
        parts.push("JWT callers".to_owned());
    }
    parts.join("; ")
}

/// Whether `tool` matches the search words (name, description, upstream, path; any case).
fn matches(tool: &Tool, query: &str) -> bool {
    let haystack = search_text(tool);
    query
        .split_whitespace()
        .all(|word| haystack.contains(&word.to_lowercase()))
}

fn search_text(tool: &Tool) -> String {
    format!(
        "{} {} {} {} {}",
        tool.name,
        tool.description,
        tool.request.upstream.name,
        tool.request.method,
        shown_path(tool)
    )
    .to_lowercase()
}

/// The tools list, filtered by `query` (the script filters as one types, too).
pub(super) fn list_page(config: &RuntimeConfig, query: &str) -> String {
    let mut rows = String::new();
    let mut shown = 0;
    for tool in config.tools.iter().filter(|t| matches(t, query)) {
        shown += 1;
        let request = &tool.request;
        let _ = write!(
            rows,
            "<tr data-search=\"{search}\"><td data-label=\"Name\"><a href=\"/admin/tool/{link}\">{name}</a>\
             <div class=\"desc\">{desc}</div></td><td data-label=\"Upstream\">{upstream}</td>\
             <td data-label=\"Method\"><code>{method}</code></td><td data-label=\"Path\"><code>{path}</code></td>\
             <td data-label=\"Visible to\">{visible}</td></tr>",
            search = escape(&search_text(tool)),
            link = escape(&urlencode(&tool.name)),
            name = escape(&tool.name),
            desc = escape(&tool.description),
            upstream = escape(&request.upstream.name),
            method = escape(request.method.as_str()),
            path = escape(shown_path(tool)),
            visible = escape(&visibility(config, tool)),
        );
    }
    let body = format!(
        "<h1>Tools</h1><p class=\"meta\">Config version <code>{version}</code> · {total} tools</p>\
         <form class=\"search\" role=\"search\" method=\"get\" action=\"/admin/\">\
         <label for=\"q\">Search tools</label>\
         <input id=\"q\" name=\"q\" type=\"search\" value=\"{query}\" autocomplete=\"off\" \
         placeholder=\"name, upstream, path…\"><button type=\"submit\">Search</button></form>\
         <p class=\"meta\" id=\"tool-count\" aria-live=\"polite\">{shown} shown</p>\
         <table class=\"tools\"><caption class=\"sr-only\">Tools in the serving config</caption>\
         <thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Upstream</th><th scope=\"col\">Method</th>\
         <th scope=\"col\">Path template</th><th scope=\"col\">Visible to</th></tr></thead>\
         <tbody id=\"tool-rows\">{rows}</tbody></table>",
        version = escape(&config.version),
        total = config.tools.len(),
        query = escape(query),
    );
    page("Tools", Section::Tools, &body)
}

/// The page of one tool.
pub(super) fn tool_page(config: &RuntimeConfig, tool: &Tool) -> String {
    let request = &tool.request;
    let mut callers = String::from("<option value=\"\">console (every tool)</option>");
    for key in config
        .auth
        .api_keys
        .iter()
        .filter(|k| k.tools.as_ref().is_none_or(|f| f.allows(&tool.name)))
    {
        let _ = write!(
            callers,
            "<option value=\"{id}\">API key {id}{org}</option>",
            id = escape(&key.id),
            org = if key.org.is_empty() {
                String::new()
            } else {
                format!(" (org {})", escape(&key.org))
            }
        );
    }
    let schema = serde_json::to_string_pretty(tool.input_schema()).unwrap_or_default();
    let body = format!(
        "<p><a href=\"/admin/\">← All tools</a></p><h1>{name}</h1><p>{desc}</p>\
         <dl class=\"facts\"><dt>Upstream</dt><dd>{upstream} <code>{base}</code></dd>\
         <dt>Method</dt><dd><code>{method}</code></dd><dt>Path template</dt><dd><code>{path}</code></dd>\
         <dt>Visible to</dt><dd>{visible}</dd><dt>Timeout</dt><dd>{timeout} ms</dd>\
         <dt>Answer</dt><dd>{stream}</dd></dl>\
         <section aria-labelledby=\"try\"><h2 id=\"try\">Try it</h2>\
         <noscript><p class=\"notice\">Render and Call need JavaScript: they send the admin key \
         in a header, never in a cookie.</p></noscript>\
         <form id=\"tool-form\" data-tool=\"{name}\">\
         <div class=\"field\"><label for=\"admin-key\">Admin key</label>\
         <input id=\"admin-key\" type=\"password\" autocomplete=\"current-password\" required \
         aria-describedby=\"admin-key-hint\"><p class=\"hint\" id=\"admin-key-hint\">Sent as \
         <code>Authorization: Bearer</code> with Render and Call; kept in this tab only.</p></div>\
         <div class=\"field\"><label for=\"as-caller\">Call as</label>\
         <select id=\"as-caller\">{callers}</select></div>\
         <fieldset class=\"args\"><legend>Arguments</legend>{fields}</fieldset>\
         <div class=\"actions\"><button type=\"submit\" data-action=\"render\">Render</button>\
         <button type=\"button\" data-action=\"call\" class=\"primary\">Call</button></div></form>\
         <section id=\"result\" aria-live=\"polite\" aria-labelledby=\"result-title\" hidden>\
         <h3 id=\"result-title\">Result</h3><p id=\"result-meta\" class=\"meta\"></p>\
         <pre id=\"result-body\" tabindex=\"0\"></pre></section></section>\
         <details><summary>Input schema (JSON)</summary><pre>{schema}</pre></details>",
        name = escape(&tool.name),
        desc = escape(&tool.description),
        upstream = escape(&request.upstream.name),
        base = escape(request.upstream.base_url.as_str()),
        method = escape(request.method.as_str()),
        path = escape(shown_path(tool)),
        visible = escape(&visibility(config, tool)),
        timeout = request.timeout.as_millis(),
        stream = if tool.stream {
            "streamed line by line"
        } else {
            "one piece"
        },
        fields = form::fields(tool.input_schema()),
        schema = escape(&schema),
    );
    page(&tool.name, Section::Tools, &body)
}

/// Percent-encodes a tool name for a path segment.
fn urlencode(name: &str) -> String {
    percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The path template as written, or `***` when a secret was substituted into it.
fn shown_path(tool: &Tool) -> &str {
    let path = &tool.request.path;
    if path.is_secret() {
        "***"
    } else {
        path.source()
    }
}
