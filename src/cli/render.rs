//! `toolgate render`: print the exact request a tool would send, secrets masked.

use std::path::Path;
use std::process::ExitCode;
use toolgate::caller::Caller;
use toolgate::gateway::prepare;

/// Prints the request, or the error the call would get (exit 1).
pub fn run(path: &Path, tool: &str, args: &str) -> anyhow::Result<ExitCode> {
    let config = super::load(path)?;
    let args = super::parse_args(args)?;
    let caller = Caller::anonymous("standard");
    match prepare(&config, &caller, tool, Some(args)) {
        Ok((_, request)) => {
            print!("{}", request.describe());
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
