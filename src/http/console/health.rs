//! The health page: the serving config, the last reload with every problem, the upstreams
//! with their circuit breakers, and per-tool calls, errors and latency since start.

use super::html::{Section, escape, page};
use crate::config::RuntimeConfig;
use crate::metrics::Metrics;
use crate::reload::ReloadState;
use std::fmt::Write;
use std::sync::atomic::Ordering;

/// The health page.
pub(super) fn health_page(
    config: &RuntimeConfig,
    reload: &ReloadState,
    metrics: &Metrics,
) -> String {
    let body = format!(
        "<h1>Health</h1><p class=\"meta\"><a href=\"/admin/health\">Refresh</a> \
         <span id=\"live-note\"></span></p>{config}{upstreams}{tools}",
        config = config_section(config, reload),
        upstreams = upstreams_section(config),
        tools = tools_section(config, metrics),
    );
    page("Health", Section::Health, &body)
        .replace("<main id=\"main\">", "<main id=\"main\" data-live>")
}

fn config_section(config: &RuntimeConfig, reload: &ReloadState) -> String {
    let status = reload.status();
    let at = humantime::format_rfc3339_seconds(status.at).to_string();
    let outcome = if status.ok {
        "<span class=\"ok\">ok</span>".to_owned()
    } else {
        "<span class=\"bad\">failed: the previous config keeps serving</span>".to_owned()
    };
    let sources: Vec<String> = config
        .sources
        .iter()
        .map(|p| format!("<code>{}</code>", escape(&p.display().to_string())))
        .collect();
    let mut out = format!(
        "<section aria-labelledby=\"h-config\"><h2 id=\"h-config\">Config</h2><dl class=\"facts\">\
         <dt>Version</dt><dd><code id=\"config-version\">{version}</code></dd>\
         <dt>Files</dt><dd>{sources}</dd><dt>Tools</dt><dd>{tools}</dd>\
         <dt>Last reload</dt><dd id=\"reload-outcome\">{outcome} at <time datetime=\"{at}\">{at}</time></dd>\
         <dt>Reloads</dt><dd>{ok} applied, {failed} refused</dd></dl>",
        version = escape(&config.version),
        sources = if sources.is_empty() {
            "(none)".to_owned()
        } else {
            sources.join(", ")
        },
        tools = config.tools.len(),
        ok = reload.reloads_ok.load(Ordering::Relaxed),
        failed = reload.reloads_failed.load(Ordering::Relaxed),
    );
    if let Some(error) = &status.error {
        out.push_str("<h3>Problems</h3><ul class=\"problems\" id=\"problems\">");
        for line in error.lines().filter(|l| !l.trim().is_empty()) {
            let _ = write!(out, "<li><code>{}</code></li>", escape(line));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
    out
}

fn upstreams_section(config: &RuntimeConfig) -> String {
    let mut rows = String::new();
    for (name, upstream) in &config.upstreams {
        let (state, left) = upstream.breaker.describe();
        let breaker = match left {
            Some(left) => format!("{state} ({} ms left)", left.as_millis()),
            None => state.to_owned(),
        };
        let _ = write!(
            rows,
            "<tr><td data-label=\"Upstream\">{name}</td><td data-label=\"Base URL\"><code>{url}</code></td>\
             <td data-label=\"Circuit breaker\"><span class=\"breaker {state}\">{breaker}</span></td>\
             <td data-label=\"Concurrency\">{limit}</td><td data-label=\"Retries\">{retries}</td></tr>",
            name = escape(name),
            url = escape(upstream.base_url.as_str()),
            limit = upstream
                .concurrency
                .as_ref()
                .map_or_else(|| "no limit".to_owned(), |c| c.limit.to_string()),
            retries = upstream.retry.retries,
        );
    }
    format!(
        "<section aria-labelledby=\"h-up\"><h2 id=\"h-up\">Upstreams</h2><table>\
         <thead><tr><th scope=\"col\">Upstream</th><th scope=\"col\">Base URL</th>\
         <th scope=\"col\">Circuit breaker</th><th scope=\"col\">Concurrency</th>\
         <th scope=\"col\">Retries</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )
}

fn tools_section(config: &RuntimeConfig, metrics: &Metrics) -> String {
    let stats = metrics.tool_stats.snapshot();
    let ms = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("≤ {v} ms"));
    let mut rows = String::new();
    for tool in &config.tools {
        let found = stats.iter().find(|(name, _)| *name == tool.name);
        let (calls, errors, p50, p99, max) = found.map_or(
            (0, 0, "–".to_owned(), "–".to_owned(), "–".to_owned()),
            |(_, f)| {
                (
                    f.calls.load(Ordering::Relaxed),
                    f.errors.load(Ordering::Relaxed),
                    ms(f.quantile_ms(0.5)),
                    ms(f.quantile_ms(0.99)),
                    format!("{:.1} ms", f.max_us.load(Ordering::Relaxed) as f64 / 1000.0),
                )
            },
        );
        let _ = write!(
            rows,
            "<tr><td data-label=\"Tool\">{name}</td><td data-label=\"Calls\">{calls}</td>\
             <td data-label=\"Errors\">{errors}</td><td data-label=\"p50\">{p50}</td>\
             <td data-label=\"p99\">{p99}</td><td data-label=\"Max\">{max}</td></tr>",
            name = escape(&tool.name),
        );
    }
    format!(
        "<section aria-labelledby=\"h-calls\"><h2 id=\"h-calls\">Tool calls since start</h2><table>\
         <thead><tr><th scope=\"col\">Tool</th><th scope=\"col\">Calls</th><th scope=\"col\">Errors</th>\
         <th scope=\"col\">p50</th><th scope=\"col\">p99</th><th scope=\"col\">Max</th></tr></thead>\
         <tbody>{rows}</tbody></table><p class=\"hint\">p50 and p99 are bucket upper bounds.</p></section>"
    )
}
