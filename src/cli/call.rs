//! `toolgate call`: send one call for real and print the shaped result and its timing.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use toolgate::caller::Caller;
use toolgate::gateway::Gateway;

/// Calls the tool once; exit 1 when the call fails.
pub fn run(path: &Path, tool: &str, args: &str) -> anyhow::Result<ExitCode> {
    let config = super::load(path)?;
    let args = super::parse_args(args)?;
    let gateway = Gateway::new(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let result = runtime.block_on(gateway.call_tool(
        &Caller::anonymous("standard"),
        tool,
        Some(args),
        "toolgate-call",
    ));
    let elapsed = started.elapsed();
    let (body, code) = match result {
        Ok(result) => (
            serde_json::json!({ "result": result.value, "truncated": result.truncated }),
            ExitCode::SUCCESS,
        ),
        Err(error) => (
            serde_json::json!({ "error": error.body() }),
            ExitCode::FAILURE,
        ),
    };
    println!("{}", serde_json::to_string_pretty(&body)?);
    eprintln!("took {:.1} ms", elapsed.as_secs_f64() * 1000.0);
    Ok(code)
}
