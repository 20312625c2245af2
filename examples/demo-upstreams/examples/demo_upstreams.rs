//! Runs all three demo APIs (CRM, data warehouse, workflow engine) on fixed ports, for trying
//! the example configs with a separately started gateway, or in containers (`deploy/`).
//!
//! ```text
//! cargo run -p toolgate-demo --example demo_upstreams                      # 127.0.0.1:9101/9102/9103
//! cargo run -p toolgate-demo --example demo_upstreams -- --listen 0.0.0.0  # every interface
//! ```
//!
//! Options: `--listen HOST` (default 127.0.0.1), `--crm-port`, `--dw-port`, `--workflow-port`
//! (default 9101, 9102, 9103). Tokens come from `DW_TOKEN` and `WORKFLOW_TOKEN` (defaults
//! `demo-dw-token`, `demo-workflow-token`; set one empty for no token). The CRM issues tokens
//! at `POST /oauth2/token` to the client `CRM_CLIENT_ID` / `CRM_CLIENT_SECRET` (defaults
//! `toolgate` / `demo-crm-secret`) and also accepts the static token `CRM_TOKEN` when that is
//! set. Stops on Ctrl-C or SIGTERM.

use std::process::ExitCode;

use toolgate_demo::{CrmOptions, OAuthClient, WarehouseOptions, WorkflowOptions};

/// Where to listen.
struct Args {
    host: String,
    crm_port: u16,
    dw_port: u16,
    workflow_port: u16,
}

const USAGE: &str =
    "usage: demo_upstreams [--listen HOST] [--crm-port N] [--dw-port N] [--workflow-port N]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        host: "127.0.0.1".to_owned(),
        crm_port: 9101,
        dw_port: 9102,
        workflow_port: 9103,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.to_owned());
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let port = || {
            value
                .parse::<u16>()
                .map_err(|_| format!("{flag}: {value:?} is not a port"))
        };
        match flag.as_str() {
            "--listen" => args.host = value.clone(),
            "--crm-port" => args.crm_port = port()?,
            "--dw-port" => args.dw_port = port()?,
            "--workflow-port" => args.workflow_port = port()?,
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    Ok(args)
}

/// The token from `var`, `default` when unset, none when set empty.
fn token(var: &str, default: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(t) if t.is_empty() => None,
        Ok(t) => Some(t),
        Err(_) => Some(default.to_owned()),
    }
}

/// The CRM's OAuth client, from `CRM_CLIENT_ID` and `CRM_CLIENT_SECRET`.
fn crm_client() -> OAuthClient {
    let var = |name: &str, default: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_owned())
    };
    OAuthClient {
        client_id: var("CRM_CLIENT_ID", "toolgate"),
        client_secret: var("CRM_CLIENT_SECRET", "demo-crm-secret"),
    }
}

/// `host:port`, bracketing IPv6 literals.
fn addr(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let crm = toolgate_demo::start_crm(
        &addr(&args.host, args.crm_port),
        CrmOptions {
            token: std::env::var("CRM_TOKEN").ok().filter(|t| !t.is_empty()),
            oauth_client: Some(crm_client()),
        },
    )
    .await;
    let dw = toolgate_demo::start_warehouse(
        &addr(&args.host, args.dw_port),
        WarehouseOptions {
            token: token("DW_TOKEN", "demo-dw-token"),
            ..WarehouseOptions::default()
        },
    )
    .await;
    let wf = toolgate_demo::start_workflow(
        &addr(&args.host, args.workflow_port),
        WorkflowOptions {
            token: token("WORKFLOW_TOKEN", "demo-workflow-token"),
            ..WorkflowOptions::default()
        },
    )
    .await;
    let (crm, dw, wf) = match (crm, dw, wf) {
        (Ok(crm), Ok(dw), Ok(wf)) => (crm, dw, wf),
        (crm, dw, wf) => {
            for (name, result) in [("CRM", crm), ("warehouse", dw), ("workflow engine", wf)] {
                match result {
                    Err(e) => eprintln!("cannot start the demo {name}: {e}"),
                    Ok((_, handle)) => handle.stop(false).await,
                }
            }
            return ExitCode::FAILURE;
        }
    };
    println!("demo CRM             http://{}", crm.0);
    println!("demo data warehouse  http://{}", dw.0);
    println!("demo workflow engine http://{}", wf.0);
    println!("press Ctrl-C to stop");
    shutdown_signal().await;
    for handle in [crm.1, dw.1, wf.1] {
        handle.stop(true).await;
    }
    ExitCode::SUCCESS
}
