//! A `telemetry:` block that cannot work is refused by `toolgate check` at its node, and an
//! OTLP protocol toolgate does not speak stops `serve` with a message saying what to set.

use std::process::Command;

fn toolgate(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_toolgate"));
    command.args(args).env("RUST_LOG", "off");
    for name in [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    ] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let output = command.output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), text)
}

const TOOLS: &str = r#"upstreams:
  api: { base_url: "http://127.0.0.1:9" }
tools:
  - name: ping
    description: Ping.
    input_schema: { type: object }
    request: { upstream: api, path: /ping }
"#;

#[test]
fn a_bad_endpoint_or_ratio_is_located_and_grpc_is_refused_with_a_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.yaml");
    let yaml =
        format!("{TOOLS}telemetry:\n  otlp_endpoint: \"collector:4318\"\n  sample_ratio: 1.5\n");
    std::fs::write(&file, &yaml).unwrap();
    let (code, out) = toolgate(&["check", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(code, 1, "{out}");
    let at = |line: usize, col: usize| format!("{}:{line}:{col}: ", file.display());
    assert!(
        out.contains(&format!(
            "{}telemetry.otlp_endpoint 'collector:4318' is not an http(s) URL",
            at(9, 18)
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{}telemetry.sample_ratio 1.5 must be between 0.0 and 1.0",
            at(10, 17)
        )),
        "{out}"
    );

    std::fs::write(&file, TOOLS).unwrap();
    let (code, out) = toolgate(
        &[
            "serve",
            "--config",
            file.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ],
    );
    assert_ne!(code, 0);
    assert!(out.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc"), "{out}");
    assert!(out.contains("http/protobuf"), "{out}");
}
