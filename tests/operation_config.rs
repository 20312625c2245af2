//! `toolgate check` on `operation:` blocks, run as the real binary: each problem is printed
//! as `FILE:LINE:COL: message` at the offending node; `answer.*` is refused outside the URLs
//! of `operation:`; a valid operation passes.

use std::process::Command;

/// Runs `toolgate check` on `yaml` written to a temp file: exit code, stdout, the file path.
fn check(yaml: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.yaml");
    std::fs::write(&file, yaml).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_toolgate"))
        .args(["check", "--config", file.to_str().unwrap()])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        file.display().to_string(),
    )
}

/// `FILE:LINE:COL: message` for the node starting at `needle` (which occurs once).
fn problem(file: &str, text: &str, needle: &str, message: &str) -> String {
    let offset = text.find(needle).unwrap();
    assert_eq!(text.matches(needle).count(), 1, "{needle}");
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = offset - before.rfind('\n').map_or(0, |nl| nl + 1) + 1;
    format!("{file}:{line}:{column}: {message}")
}

const HEAD: &str = r#"
upstreams:
  jobs: { base_url: "http://127.0.0.1:9" }
tools:
"#;

#[test]
fn every_bad_operation_node_is_reported_where_it_is() {
    let yaml = format!(
        "{HEAD}{}",
        r#"  - name: export
    description: Export.
    request: { upstream: jobs, method: POST, path: /exports, query: { after: "{{answer.id}}" } }
    operation:
      poll: { url_from: Location, interval: soon }
      done_when: { pointer: state, equals: [done] }
      result_from: result
      cancel: { method: ZAP }
"#
    );
    let (code, stdout, file) = check(&yaml);
    assert_eq!(code, 1, "{stdout}");
    let printed: Vec<&str> = stdout.lines().collect();
    let expected = [
        problem(
            &file,
            &yaml,
            "\"{{answer.id}}\"",
            "'answer.id' is only available in the URLs of operation: (the job's first answer)",
        ),
        problem(
            &file,
            &yaml,
            "Location,",
            "url_from 'Location' must be header.NAME, body./json/pointer or a path such as /jobs/{{answer.id}}",
        ),
        problem(
            &file,
            &yaml,
            "soon",
            "invalid duration 'soon': write it like 250ms, 5s or 2m",
        ),
        problem(
            &file,
            &yaml,
            "state,",
            "'state' must be a JSON Pointer such as /state",
        ),
        problem(
            &file,
            &yaml,
            "result\n",
            "result_from 'result' must be body./json/pointer or { url_from: ... }",
        ),
        problem(&file, &yaml, "ZAP", "unsupported HTTP method 'ZAP'"),
    ];
    assert_eq!(printed, expected);
}

#[test]
fn a_valid_operation_passes_and_may_use_the_first_answer_in_its_urls() {
    let yaml = format!(
        "{HEAD}{}",
        r#"  - name: export
    description: Export.
    input_schema: { type: object, properties: { sql: { type: string } }, required: [sql] }
    request: { upstream: jobs, method: POST, path: /exports, body: { sql: "{{args.sql}}" } }
    operation:
      poll: { url_from: "/exports/{{answer.id}}", interval: 1s, max_interval: 10s, timeout: 10m }
      done_when: { pointer: /state, equals: [succeeded, failed] }
      failed_when: { pointer: /state, equals: [failed] }
      progress: { pointer: /percent }
      result_from: { url_from: body./result_url }
      cancel: { method: DELETE, url_from: "/exports/{{answer.id}}" }
"#
    );
    let (code, stdout, _) = check(&yaml);
    assert_eq!(code, 0, "{stdout}");
}
