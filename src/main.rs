//! The `toolgate` command line (CONTRACT §1).

mod cli;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// mimalloc instead of the system allocator: a call allocates and frees a few hundred small
/// objects (JSON values, headers, buffers), which mimalloc serves in far fewer instructions
/// (see bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Hands memory the allocator holds but nobody uses back to the operating system. Loading a
/// large config frees most of what parsing built (the YAML tree, the spanned values); an idle
/// gateway would keep those pages, since mimalloc only purges them on later allocations.
fn release_free_memory() {
    // SAFETY: mi_collect only walks mimalloc's own heaps and may be called at any time.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// toolgate: serve internal REST APIs as MCP tools declared in one YAML file.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How logs are written.
#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Where the config comes from: `--config`, then `$TOOLGATE_CONFIG`, then `config/gateway.yaml`.
#[derive(clap::Args)]
struct ConfigArg {
    /// The config file.
    #[arg(long, env = "TOOLGATE_CONFIG", default_value = "config/gateway.yaml")]
    config: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        #[command(flatten)]
        config: ConfigArg,
        /// Address to listen on (overrides server.listen).
        #[arg(long)]
        listen: Option<String>,
        /// Number of HTTP worker threads (default: one per CPU).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Load and fully validate a config; print every problem as file:line:col: message.
    Check {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Print the exact HTTP request a tool would send for these arguments, without sending it.
    Render {
        #[command(flatten)]
        config: ConfigArg,
        /// The tool.
        #[arg(long)]
        tool: String,
        /// The arguments, as a JSON object.
        #[arg(long, default_value = "{}")]
        args: String,
    },
    /// Send one call for real and print the shaped result and its timing.
    Call {
        #[command(flatten)]
        config: ConfigArg,
        /// The tool.
        #[arg(long)]
        tool: String,
        /// The arguments, as a JSON object.
        #[arg(long, default_value = "{}")]
        args: String,
    },
    /// Run every tool's `tests:` entries without sending anything.
    Test {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Write tool YAML generated from an API description.
    Import {
        #[command(subcommand)]
        source: cli::import::ImportSource,
    },
    /// Print the JSON Schema of the config file (published as config/toolgate.schema.json).
    Schema,
    /// Run the gateway on the bundled example with its demo upstream API.
    #[cfg(feature = "demo")]
    Demo {
        /// Address for the gateway.
        #[arg(long, default_value = "127.0.0.1:8766")]
        listen: String,
    },
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let json = matches!(args.log_format, LogFormat::Json);
    if !matches!(args.command, Command::Serve { .. }) {
        // `serve` sets up logging once its config says whether traces are exported.
        cli::init_logging(json, None);
    }
    let result = match args.command {
        Command::Serve {
            config,
            listen,
            workers,
        } => cli::serve::run(&config.config, listen, workers, json),
        Command::Check { config } => cli::check::run(&config.config),
        Command::Render { config, tool, args } => cli::render::run(&config.config, &tool, &args),
        Command::Call { config, tool, args } => cli::call::run(&config.config, &tool, &args),
        Command::Test { config } => cli::test::run(&config.config),
        Command::Import { source } => cli::import::run(source),
        Command::Schema => cli::schema::run(),
        #[cfg(feature = "demo")]
        Command::Demo { listen } => cli::demo::run(&listen),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
