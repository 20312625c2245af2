//! `toolgate check`: validate a config and print every problem.

use std::path::Path;
use std::process::ExitCode;
use toolgate::config;

/// Exit 0 when the config is valid (after printing any `file:line:col: warning: message`
/// lines); else print `file:line:col: message` lines and exit 1.
pub fn run(path: &Path) -> anyhow::Result<ExitCode> {
    match config::load_file(path, &config::process_env) {
        Ok(config) => {
            for warning in &config.warnings {
                println!(
                    "{}:{}:{}: warning: {}",
                    warning.file, warning.line, warning.column, warning.message
                );
            }
            println!(
                "{}: ok ({} tools, {} upstreams, {} resources, version {})",
                path.display(),
                config.tools.len(),
                config.upstreams.len(),
                config.resources.len(),
                config.version
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            for problem in &error.problems {
                println!("{problem}");
            }
            eprintln!("{} problem(s) found", error.problems.len());
            Ok(ExitCode::FAILURE)
        }
    }
}
