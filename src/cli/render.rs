//! `toolgate render`: print the exact request a tool would send, secrets masked.

use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;
use toolgate::caller::Caller;
use toolgate::gateway::prepare;
use toolgate::render::RenderedRequest;

/// Prints the request, or the error the call would get (exit 1).
pub fn run(path: &Path, tool: &str, args: &str) -> anyhow::Result<ExitCode> {
    let config = super::load(path)?;
    let args = super::parse_args(args)?;
    let caller = Caller::anonymous("standard");
    match prepare(&config, &caller, tool, Some(args)) {
        Ok((_, request)) => {
            print!("{}", describe(&request));
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({ "error": error.body() }))?
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The request as HTTP text; sensitive header values (secrets) are shown as `***`.
pub fn describe(request: &RenderedRequest) -> String {
    let mut url = request.url.clone();
    if !request.secret_query.is_empty() {
        let pairs: Vec<(String, String)> = request
            .url
            .query_pairs()
            .map(|(k, v)| {
                let masked = request.secret_query.iter().any(|s| *s == k);
                (
                    k.into_owned(),
                    if masked {
                        "***".to_owned()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let mut out = format!("{} {}\n", request.method, url);
    for (name, value) in &request.headers {
        let shown = if value.is_sensitive() {
            "***".to_owned()
        } else {
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        };
        let _ = writeln!(out, "{name}: {shown}");
    }
    if let Some(body) = &request.body {
        let _ = writeln!(
            out,
            "\n{}",
            serde_json::to_string_pretty(body).unwrap_or_default()
        );
    }
    let _ = writeln!(out, "\n# timeout: {} ms", request.timeout.as_millis());
    out
}
