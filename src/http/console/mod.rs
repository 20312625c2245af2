//! The operator console at `/admin/`: server-rendered pages (tools, one tool with its input
//! form, health) plus a small script, all compiled into the binary. Off unless `admin.key`
//! is set; the same Origin/Host checks and admin key as the admin API.
//!
//! Read-only pages accept the key as `Authorization: Bearer` or as the password of the
//! browser's own Basic login prompt, so they work without JavaScript. Render and Call act, so
//! they accept the key only as `Authorization: Bearer`, which the page's script adds from the
//! key typed into the page: a browser never attaches it by itself, and no cookie is used, so
//! another site cannot make a logged-in browser call a tool (no CSRF).

mod actions;
mod form;
mod health;
mod html;
mod tools;

use super::AppState;
use super::admin::{KeyFrom, KeyRefusal, check_key};
use super::guard;
use crate::config::RuntimeConfig;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use std::sync::Arc;

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

/// Only this origin's own scripts and styles; no framing, no form posts elsewhere.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(to_index))
        .route("/admin/", web::get().to(index))
        .route("/admin/tool/{name}", web::get().to(tool))
        .route("/admin/health", web::get().to(health))
        .route("/admin/assets/{file}", web::get().to(asset))
        .route(
            "/admin/api/tools/{name}/render",
            web::post().to(actions::render),
        )
        .route(
            "/admin/api/tools/{name}/call",
            web::post().to(actions::call),
        );
}

/// Headers every console answer carries.
fn secured(mut builder: HttpResponseBuilder) -> HttpResponseBuilder {
    builder
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    builder
}

fn html(builder: HttpResponseBuilder, body: String) -> HttpResponse {
    secured(builder)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

fn message_page(builder: HttpResponseBuilder, title: &str, text: &str) -> HttpResponse {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"stylesheet\" href=\"/admin/assets/console.css\"></head>\
         <body><main id=\"main\"><h1>{t}</h1><p>{m}</p></main></body></html>\n",
        t = html::escape(title),
        m = html::escape(text),
    );
    html(builder, body)
}

/// The serving config when the request may see a page; else the answer to send.
fn admit_page(req: &HttpRequest, state: &AppState) -> Result<Arc<RuntimeConfig>, HttpResponse> {
    let config = state.gateway.config();
    if let Err(refusal) = guard::check(req, &config.server) {
        return Err(message_page(
            HttpResponse::Forbidden(),
            "Forbidden",
            &refusal.message(),
        ));
    }
    match check_key(req, &config, KeyFrom::BearerOrBasic) {
        Ok(()) => Ok(config),
        Err(KeyRefusal::Off) => Err(message_page(
            HttpResponse::NotFound(),
            "Console off",
            "The console is off: set admin.key in the config.",
        )),
        Err(KeyRefusal::Unauthorized) => {
            let mut builder = HttpResponse::Unauthorized();
            builder.insert_header((
                header::WWW_AUTHENTICATE,
                "Basic realm=\"toolgate console\", charset=\"UTF-8\"",
            ));
            Err(message_page(
                builder,
                "Admin key needed",
                "Log in with any user name and the admin key as the password.",
            ))
        }
    }
}

async fn to_index() -> HttpResponse {
    secured(HttpResponse::PermanentRedirect())
        .insert_header((header::LOCATION, "/admin/"))
        .finish()
}

/// Query of the tools list.
#[derive(serde::Deserialize)]
struct Search {
    #[serde(default)]
    q: String,
}

/// `GET /admin/`: the tools list.
async fn index(
    req: HttpRequest,
    state: web::Data<AppState>,
    search: web::Query<Search>,
) -> HttpResponse {
    match admit_page(&req, &state) {
        Ok(config) => html(HttpResponse::Ok(), tools::list_page(&config, &search.q)),
        Err(refusal) => refusal,
    }
}

/// `GET /admin/tool/{name}`: one tool.
async fn tool(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> HttpResponse {
    let config = match admit_page(&req, &state) {
        Ok(config) => config,
        Err(refusal) => return refusal,
    };
    match config.tool(&name) {
        Some(tool) => html(HttpResponse::Ok(), tools::tool_page(&config, tool)),
        None => message_page(
            HttpResponse::NotFound(),
            "No such tool",
            &format!("The serving config has no tool '{name}'."),
        ),
    }
}

/// `GET /admin/health`.
async fn health(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match admit_page(&req, &state) {
        Ok(config) => html(
            HttpResponse::Ok(),
            health::health_page(&config, &state.reload, state.gateway.metrics()),
        ),
        Err(refusal) => refusal,
    }
}

/// `GET /admin/assets/{file}`: the stylesheet and the script (no secrets: no key needed,
/// but served only while the console is on).
async fn asset(state: web::Data<AppState>, file: web::Path<String>) -> HttpResponse {
    if state.gateway.config().admin_key.is_none() {
        return HttpResponse::NotFound().finish();
    }
    let (content_type, body) = match file.as_str() {
        "console.css" => ("text/css; charset=utf-8", CSS),
        "console.js" => ("text/javascript; charset=utf-8", JS),
        _ => return HttpResponse::NotFound().finish(),
    };
    secured(HttpResponse::Ok())
        .content_type(content_type)
        .body(body)
}
