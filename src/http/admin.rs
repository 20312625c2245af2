//! Operator endpoints, off unless `admin.key` is set and always behind that key:
//! `GET /admin/config` (the serving config, secrets masked), `GET /admin/tools` (per-tool
//! figures since start), `GET /admin/reload` (the last reload's outcome with every problem)
//! and `POST /admin/reload`.

use super::AppState;
use crate::config::RuntimeConfig;
use crate::reload::Outcome;
use crate::render::{BodyTemplate, RequestTemplate};
use crate::template::Template;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpRequest, HttpResponse, web};
use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};
use std::sync::atomic::Ordering;
use subtle::ConstantTimeEq;

/// Shown in place of every secret.
const MASK: &str = "***";

/// Where the admin key may be presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum KeyFrom {
    /// `Authorization: Bearer <key>` only: what scripts send, and the only form accepted by
    /// anything that acts (a browser never adds it on its own, so no cross-site request can).
    Bearer,
    /// Also `Authorization: Basic` with the key as password: the browser's own login prompt,
    /// accepted for the console's read-only pages.
    BearerOrBasic,
}

/// `Ok` when the request carries the admin key; else the answer to send (404 when the admin
/// endpoints are off, 401 for a missing or wrong key).
pub(super) fn authorize(req: &HttpRequest, config: &RuntimeConfig) -> Result<(), HttpResponse> {
    check_key(req, config, KeyFrom::Bearer).map_err(|refusal| refusal.json())
}

/// Why an admin request was refused.
#[derive(Debug)]
pub(super) enum KeyRefusal {
    /// No `admin.key` is configured.
    Off,
    /// The key is missing or wrong.
    Unauthorized,
}

impl KeyRefusal {
    /// The JSON answer of the admin API.
    pub(super) fn json(&self) -> HttpResponse {
        match self {
            Self::Off => HttpResponse::NotFound().json(json!({
                "error": { "code": "invalid_request", "message": "the admin endpoints are off: set admin.key" }
            })),
            Self::Unauthorized => HttpResponse::Unauthorized()
                .insert_header(("WWW-Authenticate", "Bearer realm=\"toolgate-admin\""))
                .json(json!({ "error": { "code": "unauthorized", "message": "the admin key is missing or wrong" } })),
        }
    }
}

/// Checks the admin key presented as `from` allows, in constant time.
pub(super) fn check_key(
    req: &HttpRequest,
    config: &RuntimeConfig,
    from: KeyFrom,
) -> Result<(), KeyRefusal> {
    let Some(expected) = config.admin_key else {
        return Err(KeyRefusal::Off);
    };
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let presented = match header.split_once(' ') {
        Some((scheme, key)) if scheme.eq_ignore_ascii_case("bearer") => Some(key.trim().to_owned()),
        Some((scheme, encoded))
            if from == KeyFrom::BearerOrBasic && scheme.eq_ignore_ascii_case("basic") =>
        {
            basic_password(encoded.trim())
        }
        _ => None,
    };
    match presented.map(|key| crate::auth::api_key::digest(&key)) {
        Some(digest) if bool::from(digest.ct_eq(&expected)) => Ok(()),
        _ => Err(KeyRefusal::Unauthorized),
    }
}

/// The password of HTTP Basic credentials (the user name is ignored).
fn basic_password(encoded: &str) -> Option<String> {
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':')
        .map(|(_, password)| password.to_owned())
}

/// `GET /admin/config`.
pub async fn config(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let config = state.gateway.config();
    if let Err(refusal) = authorize(&req, &config) {
        return refusal;
    }
    HttpResponse::Ok().json(describe(&config))
}

/// `GET /admin/tools`.
pub async fn tools(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let config = state.gateway.config();
    if let Err(refusal) = authorize(&req, &config) {
        return refusal;
    }
    let stats = state.gateway.metrics().tool_stats.snapshot();
    let figures = |name: &str| {
        let found = stats.iter().find(|(tool, _)| tool == name);
        let (calls, errors, total_us, max_us) = found.map_or((0, 0, 0, 0), |(_, f)| {
            (
                f.calls.load(Ordering::Relaxed),
                f.errors.load(Ordering::Relaxed),
                f.total_us.load(Ordering::Relaxed),
                f.max_us.load(Ordering::Relaxed),
            )
        });
        let avg_ms = if calls == 0 {
            0.0
        } else {
            total_us as f64 / calls as f64 / 1000.0
        };
        json!({
            "tool": name,
            "calls": calls,
            "errors": errors,
            "avg_ms": (avg_ms * 1000.0).round() / 1000.0,
            "max_ms": max_us as f64 / 1000.0,
        })
    };
    let tools: Vec<Value> = config.tools.iter().map(|t| figures(&t.name)).collect();
    HttpResponse::Ok().json(json!({ "config_version": config.version, "tools": tools }))
}

/// `GET /admin/reload`: the outcome of the latest load or reload, with every problem as
/// `file:line:col: message` (what `/health` leaves out), and the reload counters.
pub async fn reload_status(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let config = state.gateway.config();
    if let Err(refusal) = authorize(&req, &config) {
        return refusal;
    }
    let status = state.reload.status();
    let problems: Vec<&str> = status
        .error
        .as_deref()
        .map(|text| text.lines().filter(|l| !l.trim().is_empty()).collect())
        .unwrap_or_default();
    HttpResponse::Ok().json(json!({
        "ok": status.ok,
        "at": humantime::format_rfc3339_seconds(status.at).to_string(),
        "problems": problems,
        "config_version": config.version,
        "reloads_applied": state.reload.reloads_ok.load(Ordering::Relaxed),
        "reloads_refused": state.reload.reloads_failed.load(Ordering::Relaxed),
    }))
}

/// `POST /admin/reload`: reload the config file now.
pub async fn reload(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let config = state.gateway.config();
    if let Err(refusal) = authorize(&req, &config) {
        return refusal;
    }
    let Some(reloader) = &state.reloader else {
        return HttpResponse::Conflict().json(json!({
            "error": { "code": "invalid_request", "message": "this gateway was not started from a config file" }
        }));
    };
    match reloader.reload().await {
        Outcome::Unchanged => HttpResponse::Ok()
            .json(json!({ "result": "unchanged", "config_version": config.version })),
        Outcome::Applied {
            version,
            tools_changed,
        } => HttpResponse::Ok().json(json!({
            "result": "applied", "config_version": version, "tools_changed": tools_changed,
        })),
        Outcome::Failed(error) => HttpResponse::UnprocessableEntity().json(json!({
            "result": "failed",
            "config_version": config.version,
            "problems": error.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })),
    }
}

/// The serving config as JSON, every secret masked.
fn describe(config: &RuntimeConfig) -> Value {
    let upstreams: Map<String, Value> = config
        .upstreams
        .iter()
        .map(|(name, u)| {
            let by_org: Map<String, Value> = u
                .headers_by_org
                .iter()
                .map(|(org, h)| (org.clone(), headers(h)))
                .collect();
            (
                name.clone(),
                json!({
                    "base_url": u.base_url.as_str(),
                    "timeout_ms": u.timeout.as_millis() as u64,
                    "headers": headers(&u.headers),
                    "headers_by_org": by_org,
                    "max_response_bytes": u.max_response_bytes,
                    "max_concurrency": u.concurrency.as_ref().map(|c| c.limit),
                    "retries": u.retry.retries,
                    "tls": u.client.is_some(),
                    "auth": u.auth.as_ref().map(crate::credentials::UpstreamAuth::describe),
                }),
            )
        })
        .collect();
    let tools: Vec<Value> = config
        .tools
        .iter()
        .map(|t| {
            let mut tool = t.mcp_descriptor.clone();
            tool["request"] = request(&t.request);
            tool
        })
        .collect();
    let resources: Vec<Value> = config
        .resources
        .iter()
        .map(|r| {
            let mut resource = r.descriptor.clone();
            resource["request"] = request(&r.request);
            resource
        })
        .collect();
    let api_keys: Vec<Value> = config
        .auth
        .api_keys
        .iter()
        .map(|k| json!({ "id": k.id, "org": k.org, "tier": k.tier, "tools": k.tools.as_ref().map(|f| f.patterns()) }))
        .collect();
    let limit = |l: &crate::limit::Limit| json!({ "requests": l.rate.requests.get(), "per_ms": l.rate.per.as_millis() as u64, "burst": l.rate.burst.get() });
    json!({
        "config_version": config.version,
        "sources": config.sources.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "server": {
            "listen": config.server.listen,
            "public_url": config.server.public_url.as_ref().map(|u| u.as_str()),
            "max_body_bytes": config.server.max_body_bytes,
            "allowed_origins": config.server.allowed_origins,
            "allowed_hosts": config.server.allowed_hosts,
            "page_size": config.server.page_size,
        },
        "auth": {
            "open": config.auth.is_open(),
            "api_keys": api_keys,
            "jwt": config.auth.jwt.as_ref().map(|j| json!({ "issuer": j.issuer(), "audience": j.audience() })),
        },
        "rate_limits": {
            "default_tier": config.limits.default_tier,
            "tiers": config.limits.tiers.iter().map(|(n, l)| (n.clone(), limit(l))).collect::<Map<_, _>>(),
            "tools": config.limits.tools.iter().map(|(n, l)| (n.clone(), limit(l))).collect::<Map<_, _>>(),
            "backend": if config.limits.redis.is_some() { "redis" } else { "memory" },
        },
        "upstreams": upstreams,
        "tools": tools,
        "resources": resources,
    })
}

fn headers(map: &HeaderMap) -> Value {
    let mut out = Map::new();
    for (name, value) in map {
        let shown = if value.is_sensitive() {
            MASK.to_owned()
        } else {
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        };
        out.insert(name.as_str().to_owned(), Value::String(shown));
    }
    Value::Object(out)
}

fn template(t: &Template) -> Value {
    Value::String(if t.is_secret() {
        MASK.to_owned()
    } else {
        t.source().to_owned()
    })
}

fn request(r: &RequestTemplate) -> Value {
    let query: Map<String, Value> = r
        .query
        .iter()
        .map(|(k, t)| (k.clone(), template(t)))
        .collect();
    let headers: Map<String, Value> = r
        .headers
        .iter()
        .map(|(k, t)| (k.as_str().to_owned(), template(t)))
        .collect();
    json!({
        "upstream": r.upstream.name,
        "method": r.method.as_str(),
        "path": template(&r.path),
        "query": query,
        "headers": headers,
        "body": r.body.as_ref().map(body),
        "timeout_ms": r.timeout.as_millis() as u64,
    })
}

fn body(b: &BodyTemplate) -> Value {
    match b {
        BodyTemplate::Object(members) => {
            Value::Object(members.iter().map(|(k, v)| (k.clone(), body(v))).collect())
        }
        BodyTemplate::Array(items) => Value::Array(items.iter().map(body).collect()),
        BodyTemplate::Typed(var) => Value::String(format!("{{{{{}}}}}", var.display())),
        BodyTemplate::Text(t) => template(t),
        BodyTemplate::Literal(v) => v.clone(),
    }
}
