//! `toolgate check` and `toolgate render`, run as the real binary on config files in temp
//! directories: every broken config exits 1 printing each problem exactly as
//! `FILE:LINE:COL: message` at the offending node; a valid one exits 0; `render` prints the
//! request with secrets as `***`.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

/// Variables the configs below reference and that must be unset for the checks.
const UNSET: [&str; 3] = [
    "TG_TEST_UNSET_TOKEN",
    "TG_TEST_UNSET_URL",
    "TG_TEST_UNSET_OTHER",
];

/// What the binary did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the real binary from `/` (so that nothing depends on the working directory).
fn toolgate(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_toolgate"));
    command.args(args).current_dir("/").env("RUST_LOG", "off");
    for name in UNSET {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("the toolgate binary runs");
    Run {
        code: output.status.code().expect("exited normally"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Writes `files` (relative path, text) into a fresh temp dir; returns it.
fn write(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// The 1-based line and column where `needle` starts in `text`; it must occur exactly once.
fn at(text: &str, needle: &str) -> (usize, usize) {
    let mut found = text.match_indices(needle);
    let (offset, _) = found
        .next()
        .unwrap_or_else(|| panic!("{needle:?} is not in the config"));
    assert!(found.next().is_none(), "{needle:?} occurs more than once");
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = offset - before.rfind('\n').map_or(0, |nl| nl + 1) + 1;
    (line, column)
}

/// `FILE:LINE:COL: message` for the node starting at `needle` in `text`.
fn problem(file: &Path, text: &str, needle: &str, message: &str) -> String {
    let (line, column) = at(text, needle);
    format!("{}:{line}:{column}: {message}", file.display())
}

/// Checks `yaml` as `gateway.yaml` and asserts exit 1 with exactly `expected` problems, each
/// given as (needle locating the node, message), in this order.
fn assert_problems(yaml: &str, expected: &[(&str, &str)]) {
    let dir = write(&[("gateway.yaml", yaml)]);
    let file = dir.path().join("gateway.yaml");
    let lines: Vec<String> = expected
        .iter()
        .map(|(needle, message)| problem(&file, yaml, needle, message))
        .collect();
    assert_check_fails(&file, &lines);
}

/// Runs `check --config FILE`; asserts exit 1 and exactly `lines` on stdout.
fn assert_check_fails(file: &Path, lines: &[String]) {
    let run = toolgate(&["check", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(
        run.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let printed: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(printed, lines, "stderr:\n{}", run.stderr);
    assert_eq!(
        run.stderr.trim_end(),
        format!("{} problem(s) found", lines.len())
    );
}

#[test]
fn an_unknown_field_is_reported_at_the_typo() {
    let yaml = r#"
upstreams:
  api: { base_url: "http://127.0.0.1:9" }
tools:
  - name: get_item
    description: Get an item.
    request:
      upstream: api
      methd: GET
      path: /items
"#;
    assert_problems(
        yaml,
        &[(
            "methd",
            "unknown field `methd`, expected one of upstream, method, path, query, headers, body, timeout",
        )],
    );
    let yaml = "\
upstreams: {}
tool:
  - name: a
";
    assert_problems(
        yaml,
        &[(
            "tool:",
            "unknown field `tool`, expected one of server, include, upstreams, tools, resources, resource_templates, prompts, auth, rate_limits, admin, telemetry",
        )],
    );
}

#[test]
fn yaml_syntax_errors_are_located() {
    let yaml = "\
tools:
  - name: a
    description: b: c
";
    assert_problems(
        yaml,
        &[(": c", "mapping values are not allowed in this context")],
    );
    let yaml = "\
upstreams:
  api:
    base_url: \"http://127.0.0.1:9
";
    assert_problems(yaml, &[("\"http", "unclosed quote")]);
}

#[test]
fn an_unknown_upstream_is_reported_at_the_reference() {
    let yaml = r#"
upstreams:
  api: { base_url: "http://127.0.0.1:9" }
tools:
  - name: get_item
    description: Get an item.
    request: { upstream: crm_api, path: /items }
resources:
  - uri: x://y
    name: Y
    request: { upstream: dw, path: /y }
"#;
    assert_problems(
        yaml,
        &[
            ("crm_api", "unknown upstream 'crm_api'"),
            ("dw,", "unknown upstream 'dw'"),
        ],
    );
}

#[test]
fn a_template_variable_missing_from_the_input_schema_is_reported() {
    let yaml = r#"
upstreams:
  api: { base_url: "http://127.0.0.1:9" }
tools:
  - name: search
    description: Search.
    input_schema:
      type: object
      properties:
        q: { type: string }
        filter: { type: object, properties: { state: { type: string } } }
    request:
      upstream: api
      path: /search
      query: { q: "{{args.query}}", state: "{{args.filter.kind}}" }
      headers: { X-Q: "{{args.q}}" }
"#;
    assert_problems(
        yaml,
        &[
            (
                "\"{{args.query}}\"",
                "'args.query' is not declared in input_schema.properties",
            ),
            (
                "\"{{args.filter.kind}}\"",
                "'args.filter.kind' is not declared in input_schema.properties",
            ),
        ],
    );
}

#[test]
fn a_path_placeholder_must_be_a_required_scalar() {
    let yaml = r#"
upstreams:
  api: { base_url: "http://127.0.0.1:9" }
tools:
  - name: get_item
    description: Get an item.
    input_schema:
      type: object
      properties: { id: { type: string } }
    request: { upstream: api, path: "/items/{{args.id}}" }
  - name: find
    description: Find by filter.
    input_schema:
      type: object
      properties: { filter: { type: object } }
      required: [ filter ]
    request: { upstream: api, path: "/find/{{args.filter}}" }
"#;
    assert_problems(
        yaml,
        &[
            (
                "\"/items/",
                "path placeholder 'args.id' must be a required top-level argument (add it to input_schema.required)",
            ),
            (
                "\"/find/",
                "path placeholder 'args.filter' must have type string, integer or number",
            ),
        ],
    );
}

#[test]
fn helpers_blocks_and_triple_stash_are_refused() {
    let yaml = r#"
upstreams:
  api: { base_url: "http://127.0.0.1:9" }
tools:
  - name: helper
    description: d
    input_schema: { type: object, properties: { x: { type: string } } }
    request: { upstream: api, path: /h, query: { x: "{{lookup args 'x'}}" } }
  - name: block
    description: d
    input_schema: { type: object, properties: { x: { type: string } } }
    request: { upstream: api, path: /b, query: { x: "{{#if args.x}}yes{{/if}}" } }
  - name: triple
    description: d
    input_schema: { type: object, properties: { x: { type: string } } }
    request: { upstream: api, path: /t, query: { x: "{{{args.x}}}" } }
  - name: unclosed
    description: d
    input_schema: { type: object, properties: { x: { type: string } } }
    request: { upstream: api, path: /u, query: { x: "{{args.x" } }
"#;
    assert_problems(
        yaml,
        &[
            (
                "\"{{lookup",
                "helpers are not allowed in templates: use a plain {{args.name}}",
            ),
            (
                "\"{{#if",
                "only plain {{path}} expressions are allowed (no blocks, partials or decorators)",
            ),
            (
                "\"{{{",
                "triple-stash {{{...}}} is not allowed: values are never HTML-escaped, use {{...}}",
            ),
            // One line, even though Handlebars renders a snippet.
            (
                "\"{{args.x\" ",
                "template syntax: Template error: invalid handlebars syntax: expected trailing_tilde_to_omit_whitespace",
            ),
        ],
    );
}

#[test]
fn a_missing_environment_variable_without_default_is_named() {
    let yaml = r#"
upstreams:
  api:
    base_url: "${TG_TEST_UNSET_URL:-http://127.0.0.1:9}"
    headers: { Authorization: "Bearer ${TG_TEST_UNSET_TOKEN}" }
  other:
    base_url: "http://${TG_TEST_UNSET_OTHER}/${TG_TEST_UNSET_TOKEN}"
"#;
    assert_problems(
        yaml,
        &[
            (
                "\"Bearer",
                "environment variable TG_TEST_UNSET_TOKEN is not set and has no default",
            ),
            (
                "\"http://${",
                "environment variable TG_TEST_UNSET_OTHER, TG_TEST_UNSET_TOKEN is not set and has no default",
            ),
        ],
    );
}

#[test]
fn invalid_durations_are_reported() {
    let yaml = r#"
upstreams:
  api: { base_url: "http://127.0.0.1:9", timeout: 5 parsecs }
tools:
  - name: t
    description: d
    request: { upstream: api, path: /x, timeout: 0s }
"#;
    assert_problems(
        yaml,
        &[
            (
                "5 parsecs",
                "invalid duration '5 parsecs': write it like 250ms, 5s or 2m",
            ),
            ("0s", "invalid duration '0s': write it like 250ms, 5s or 2m"),
        ],
    );
}

#[test]
fn a_duplicate_tool_name_is_reported_at_the_second() {
    let yaml = r#"
upstreams:
  api: { base_url: "http://127.0.0.1:9" }
tools:
  - name: get_item
    description: First.
    request: { upstream: api, path: /a }
  - name: "get_item"
    description: Second.
    request: { upstream: api, path: /b }
"#;
    assert_problems(
        yaml,
        &[("\"get_item\"", "tool 'get_item' is defined twice")],
    );
}

#[test]
fn invalid_tool_names_are_reported() {
    let long = "n".repeat(129);
    let yaml = format!(
        r#"
upstreams:
  api: {{ base_url: "http://127.0.0.1:9" }}
tools:
  - name: get customer
    description: d
    request: {{ upstream: api, path: /a }}
  - name: {long}
    description: d
    request: {{ upstream: api, path: /b }}
  - name: "crm/get"
    description: d
    request: {{ upstream: api, path: /c }}
"#
    );
    assert_problems(
        &yaml,
        &[
            (
                "get customer",
                "tool name 'get customer' must be 1-128 characters of A-Z a-z 0-9 _ - .",
            ),
            (
                &long,
                &format!("tool name '{long}' must be 1-128 characters of A-Z a-z 0-9 _ - ."),
            ),
            (
                "\"crm/get\"",
                "tool name 'crm/get' must be 1-128 characters of A-Z a-z 0-9 _ - .",
            ),
        ],
    );
}

#[test]
fn an_input_schema_must_have_type_object() {
    let yaml = r#"
upstreams:
  api: { base_url: "http://127.0.0.1:9" }
tools:
  - name: a
    description: d
    input_schema: { type: array, items: { type: string } }
    request: { upstream: api, path: /a }
  - name: b
    description: d
    input_schema:
      properties: { x: { type: string } }
    request: { upstream: api, path: /b }
"#;
    assert_problems(
        yaml,
        &[
            (
                "{ type: array",
                "input_schema must be a JSON Schema with type: object",
            ),
            (
                "properties: { x",
                "input_schema must be a JSON Schema with type: object",
            ),
        ],
    );
}

#[test]
fn an_invalid_json_schema_is_reported() {
    let yaml = r#"
upstreams:
  api: { base_url: "http://127.0.0.1:9" }
tools:
  - name: a
    description: d
    input_schema:
      type: object
      properties:
        x: { type: 12 }
    request: { upstream: api, path: /a }
"#;
    assert_problems(
        yaml,
        &[(
            "type: object",
            "input_schema: invalid JSON Schema: 12 is not valid under any of the schemas listed in the 'anyOf' keyword",
        )],
    );
}

#[test]
fn a_remote_ref_fails_offline_without_fetching() {
    // A real listener the $ref points at: it must never see a connection.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/item.json", listener.local_addr().unwrap());
    let yaml = format!(
        r#"
upstreams:
  api: {{ base_url: "http://127.0.0.1:9" }}
tools:
  - name: a
    description: d
    input_schema:
      type: object
      properties:
        item: {{ $ref: "{url}" }}
    request: {{ upstream: api, path: /a }}
  - name: b
    description: d
    input_schema:
      type: object
      properties:
        item: {{ $ref: "file:///etc/hostname" }}
    request: {{ upstream: api, path: /b }}
"#
    );
    let dir = write(&[("gateway.yaml", &yaml)]);
    let file = dir.path().join("gateway.yaml");
    let (first, second) = yaml.split_at(yaml.find("  - name: b").unwrap());
    let (line_a, col_a) = at(first, "type: object");
    let (line_b, col_b) = at(second, "type: object");
    let line_b = line_b + first.matches('\n').count();
    assert_check_fails(
        &file,
        &[
            format!(
                "{}:{line_a}:{col_a}: input_schema: invalid JSON Schema: Resource '{url}' is not present in a registry and retrieving it failed: `resolve-http` feature or a custom resolver is required to resolve external schemas via HTTP",
                file.display()
            ),
            format!(
                "{}:{line_b}:{col_b}: input_schema: invalid JSON Schema: Resource 'file:///etc/hostname' is not present in a registry and retrieving it failed: `resolve-file` feature or a custom resolver is required to resolve external schemas via files",
                file.display()
            ),
        ],
    );
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the remote $ref was fetched: {other:?}"),
    }
}

#[test]
fn a_base_url_must_be_http_or_https() {
    let yaml = r#"
upstreams:
  files: { base_url: "ftp://files.internal/pub" }
  bare: { base_url: "127.0.0.1:9101" }
  query: { base_url: "http://127.0.0.1:9101/api?key=1" }
"#;
    assert_problems(
        yaml,
        &[
            (
                "\"127.0.0.1:9101\"",
                "base_url of upstream 'bare' must be an http(s) URL without query or fragment",
            ),
            (
                "\"ftp:",
                "base_url of upstream 'files' must be an http(s) URL without query or fragment",
            ),
            (
                "\"http://127.0.0.1:9101/api?",
                "base_url of upstream 'query' must be an http(s) URL without query or fragment",
            ),
        ],
    );
}

#[test]
fn a_body_on_a_get_is_reported() {
    let yaml = r#"
upstreams:
  api: { base_url: "http://127.0.0.1:9" }
tools:
  - name: get_with_body
    description: d
    input_schema: { type: object, properties: { q: { type: string } } }
    request:
      upstream: api
      path: /search
      body: { q: "{{args.q}}" }
"#;
    assert_problems(
        yaml,
        &[("{ q: \"", "a GET or HEAD request cannot have a body")],
    );
}

#[test]
fn a_problem_in_an_included_file_names_that_file() {
    let main = r#"include: [ "tools/*.yaml" ]
upstreams:
  api: { base_url: "http://127.0.0.1:9" }
"#;
    let crm = r#"tools:
  - name: crm_get
    description: d
    request: { upstream: crm, path: /c }
"#;
    let extra = r#"upstreams:
  dw: { base_url: "http://127.0.0.1:9" }
server:
  listen: 0.0.0.0:1
"#;
    let dir = write(&[
        ("config/gateway.yaml", main),
        ("config/tools/crm.yaml", crm),
        ("config/tools/extra.yaml", extra),
        ("config/other/ignored.yaml", "tools: [ broken"),
    ]);
    let config = dir.path().join("config");
    // A section only the main file may hold is caught while reading, before compiling.
    assert_check_fails(
        &config.join("gateway.yaml"),
        &[problem(
            &config.join("tools/extra.yaml"),
            extra,
            "listen:",
            "'server' is only allowed in the main file: an included file may only hold upstreams, tools and resources",
        )],
    );
    std::fs::write(config.join("tools/extra.yaml"), "upstreams: {}\n").unwrap();
    assert_check_fails(
        &config.join("gateway.yaml"),
        &[problem(
            &config.join("tools/crm.yaml"),
            crm,
            "crm,",
            "unknown upstream 'crm'",
        )],
    );
    // A syntax error in an included file too.
    let broken = "tools:\n  - name: x\n    description: a: b\n";
    std::fs::write(config.join("tools/crm.yaml"), broken).unwrap();
    assert_check_fails(
        &config.join("gateway.yaml"),
        &[problem(
            &config.join("tools/crm.yaml"),
            broken,
            ": b",
            "mapping values are not allowed in this context",
        )],
    );
}

#[test]
fn an_include_matching_no_file_is_reported() {
    let yaml = r#"include:
  - "tools/*.yaml"
  - "missing/*.yaml"
upstreams:
  api: { base_url: "http://127.0.0.1:9" }
"#;
    let dir = write(&[
        ("gateway.yaml", yaml),
        (
            "tools/ok.yaml",
            "tools:\n  - { name: ok, description: d, request: { upstream: api, path: /ok } }\n",
        ),
    ]);
    let file = dir.path().join("gateway.yaml");
    assert_check_fails(
        &file,
        &[problem(
            &file,
            yaml,
            "\"missing",
            "include 'missing/*.yaml' matches no file",
        )],
    );
}

#[test]
fn overlapping_include_globs_load_each_file_once() {
    // `*.yaml` also matches the main file, and `tools/a.yaml` is matched by two patterns.
    let main = r#"include: [ "*.yaml", "tools/*.yaml", "tools/a.yaml" ]
upstreams:
  api: { base_url: "http://127.0.0.1:9" }
"#;
    let dir = write(&[
        ("gateway.yaml", main),
        (
            "more.yaml",
            "tools:\n  - { name: b, description: d, request: { upstream: api, path: /b } }\n",
        ),
        (
            "tools/a.yaml",
            "tools:\n  - { name: a, description: d, request: { upstream: api, path: /a } }\n",
        ),
    ]);
    let file = dir.path().join("gateway.yaml");
    let run = toolgate(&["check", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.starts_with(&format!(
            "{}: ok (2 tools, 1 upstreams, 0 resources, version ",
            file.display()
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn three_problems_are_all_printed_in_file_order() {
    let yaml = r#"
upstreams:
  api: { base_url: "http://127.0.0.1:9", timeout: soon }
tools:
  - name: get_item
    description: Get an item.
    input_schema: { type: object, properties: { id: { type: string } }, required: [ id ] }
    request: { upstream: api, path: "/items/{{args.item_id}}" }
  - name: list_notes
    description: List notes.
    request: { upstream: notes, path: /notes }
"#;
    assert_problems(
        yaml,
        &[
            (
                "soon",
                "invalid duration 'soon': write it like 250ms, 5s or 2m",
            ),
            (
                "\"/items/",
                "'args.item_id' is not declared in input_schema.properties",
            ),
            ("notes,", "unknown upstream 'notes'"),
        ],
    );
}

const VALID: &str = r#"include: [ "tools/*.yaml" ]
upstreams:
  api:
    base_url: "${TG_TEST_UNSET_URL:-http://127.0.0.1:9101}/v1"
    timeout: 5s
    headers: { Authorization: "Bearer ${TG_TEST_SECRET}", X-Client: toolgate }
resources:
  - uri: crm://segments
    name: Segments
    request: { upstream: api, path: /segments }
"#;

const VALID_TOOLS: &str = r#"tools:
  - name: get_item
    description: Get an item.
    input_schema:
      type: object
      properties:
        id: { type: string, minLength: 1 }
        fields: { type: string }
      required: [ id ]
    request:
      upstream: api
      path: "/items/{{args.id}}"
      query: { fields: "{{args.fields}}" }
      headers: { X-Api-Key: "${TG_TEST_SECRET}" }
  - name: create_item
    description: Create an item.
    input_schema:
      type: object
      properties: { name: { type: string }, tags: { type: array } }
    request:
      upstream: api
      method: POST
      path: /items
      body: { name: "{{args.name}}", source: "gateway/{{caller.id}}", tags: "{{args.tags}}" }
"#;

const SECRET: &str = "s3cr3t-t0ken-VALUE";

#[test]
fn a_valid_config_exits_0() {
    let dir = write(&[("gateway.yaml", VALID), ("tools/items.yaml", VALID_TOOLS)]);
    let file = dir.path().join("gateway.yaml");
    let run = toolgate(
        &["check", "--config", file.to_str().unwrap()],
        &[("TG_TEST_SECRET", SECRET)],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let prefix = format!(
        "{}: ok (2 tools, 1 upstreams, 1 resources, version ",
        file.display()
    );
    let line = run.stdout.trim_end();
    assert!(line.starts_with(&prefix), "{line}");
    let version = line[prefix.len()..].strip_suffix(')').unwrap();
    assert_eq!(version.len(), 12, "{version}");
    assert!(version.bytes().all(|b| b.is_ascii_hexdigit()), "{version}");
    assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET));
}

/// The config from `a_valid_config_exits_0`, in a temp dir.
fn valid_config() -> (TempDir, PathBuf) {
    let dir = write(&[("gateway.yaml", VALID), ("tools/items.yaml", VALID_TOOLS)]);
    let file = dir.path().join("gateway.yaml");
    (dir, file)
}

/// `render`'s output split into (request line, header lines, body text, trailer).
fn split_rendered(stdout: &str) -> (&str, Vec<&str>, &str, &str) {
    let (head, rest) = stdout
        .split_once("\n\n")
        .expect("a blank line after the headers");
    let mut head = head.lines();
    let request_line = head.next().unwrap();
    let (body, trailer) = match rest.rsplit_once("\n\n") {
        Some((body, trailer)) => (body, trailer),
        None => ("", rest),
    };
    (request_line, head.collect(), body, trailer)
}

#[test]
fn render_prints_the_request_with_secrets_masked() {
    let (_dir, file) = valid_config();
    let run = toolgate(
        &[
            "render",
            "--config",
            file.to_str().unwrap(),
            "--tool",
            "get_item",
            "--args",
            r#"{"id":"a b/c?d","fields":"x&y=z"}"#,
        ],
        &[("TG_TEST_SECRET", SECRET)],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET));
    let (request_line, headers, body, trailer) = split_rendered(&run.stdout);
    assert_eq!(
        request_line,
        "GET http://127.0.0.1:9101/v1/items/a%20b%2Fc%3Fd?fields=x%26y%3Dz"
    );
    // The upstream's Authorization and the tool's X-Api-Key both come from ${TG_TEST_SECRET}.
    for line in ["authorization: ***", "x-client: toolgate", "x-api-key: ***"] {
        assert!(headers.contains(&line), "{line:?} in {headers:?}");
    }
    assert_eq!(body, "");
    assert_eq!(trailer, "# timeout: 5000 ms\n");

    let run = toolgate(
        &[
            "render",
            "--config",
            file.to_str().unwrap(),
            "--tool",
            "create_item",
            "--args",
            r#"{"name":"n","tags":["a"]}"#,
        ],
        &[("TG_TEST_SECRET", SECRET)],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET));
    let (request_line, headers, body, trailer) = split_rendered(&run.stdout);
    assert_eq!(request_line, "POST http://127.0.0.1:9101/v1/items");
    for line in [
        "authorization: ***",
        "x-client: toolgate",
        "content-type: application/json",
    ] {
        assert!(headers.contains(&line), "{line:?} in {headers:?}");
    }
    assert!(!headers.iter().any(|h| h.starts_with("x-api-key")));
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "name": "n", "source": "gateway/anonymous", "tags": ["a"] })
    );
    assert_eq!(trailer, "# timeout: 5000 ms\n");
}

#[test]
fn render_exits_1_with_invalid_parameters_for_bad_arguments() {
    let (_dir, file) = valid_config();
    let run = toolgate(
        &[
            "render",
            "--config",
            file.to_str().unwrap(),
            "--tool",
            "get_item",
            "--args",
            r#"{"id":""}"#,
        ],
        &[("TG_TEST_SECRET", SECRET)],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let reply: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(reply["error"]["code"], "invalid_parameters");
    assert_eq!(
        reply["error"]["details"]["errors"],
        serde_json::json!([{ "path": "/id", "message": "\"\" is shorter than 1 character" }])
    );
    // A path segment that would climb out of the path.
    let run = toolgate(
        &[
            "render",
            "--config",
            file.to_str().unwrap(),
            "--tool",
            "get_item",
            "--args",
            r#"{"id":".."}"#,
        ],
        &[("TG_TEST_SECRET", SECRET)],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let reply: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(reply["error"]["code"], "invalid_parameters");
    assert_eq!(reply["error"]["details"]["errors"][0]["path"], "/id");
    assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET));
}

#[test]
fn a_secret_with_invalid_header_bytes_is_reported_without_its_value() {
    let yaml = r#"
upstreams:
  api:
    base_url: "http://127.0.0.1:9"
    headers: { Authorization: "Bearer ${TG_TEST_SECRET}" }
"#;
    let dir = write(&[("gateway.yaml", yaml)]);
    let file = dir.path().join("gateway.yaml");
    let secret = "line1\nline2-very-secret";
    let run = toolgate(
        &["check", "--config", file.to_str().unwrap()],
        &[("TG_TEST_SECRET", secret)],
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        vec![problem(
            &file,
            yaml,
            "\"Bearer",
            "the value of header 'Authorization' has invalid characters"
        )]
    );
    assert!(!run.stdout.contains("very-secret") && !run.stderr.contains("very-secret"));
}

#[test]
fn an_unusable_listen_address_is_reported() {
    for (value, why) in [
        ("not-an-address", "must be host:port, e.g. 0.0.0.0:8766"),
        (
            "127.0.0.1:99999",
            "needs a port from 1 to 65535, e.g. 0.0.0.0:8766",
        ),
    ] {
        let yaml = format!("server:\n  listen: \"{value}\"\nupstreams: {{}}\n");
        assert_problems(
            &yaml,
            &[(
                &format!("\"{value}\""),
                &format!("server.listen '{value}' {why}"),
            )],
        );
    }
}

#[test]
fn framing_and_hop_by_hop_headers_are_refused() {
    let yaml = r#"
upstreams:
  crm:
    base_url: "http://127.0.0.1:9101"
    headers: { Connection: "close" }
tools:
  - name: t
    description: d
    input_schema: { type: object, properties: { h: { type: string } } }
    request:
      upstream: crm
      path: /x
      headers: { Host: "{{args.h}}", Transfer-Encoding: "chunked" }
"#;
    let why = "cannot be configured: toolgate sets the framing and hop-by-hop headers (Host, Content-Length, Transfer-Encoding, Connection, ...) itself";
    assert_problems(
        yaml,
        &[
            ("\"close\"", &format!("header 'Connection' {why}")),
            ("\"{{args.h}}\"", &format!("header 'Host' {why}")),
            ("\"chunked\"", &format!("header 'Transfer-Encoding' {why}")),
        ],
    );
}

#[test]
fn user_info_in_a_base_url_and_an_authorization_header_are_refused_together() {
    let yaml = r#"
upstreams:
  api:
    base_url: "http://admin:pw@127.0.0.1:9101/api"
    headers: { Authorization: "Bearer abc" }
  per_org:
    base_url: "http://admin:pw@127.0.0.1:9102"
    headers_by_org: { acme: { authorization: "Bearer def" } }
  colon:
    base_url: "http://a%3Ab:pw@127.0.0.1:9103"
"#;
    assert_problems(
        yaml,
        &[
            (
                "\"Bearer abc\"",
                "upstream 'api' has user info in base_url (sent as HTTP Basic auth) and an Authorization header: keep one",
            ),
            (
                "\"http://a%3Ab",
                "the user name in base_url of upstream 'colon' contains ':', which HTTP Basic auth cannot carry",
            ),
            (
                "\"Bearer def\"",
                "upstream 'per_org' has user info in base_url (sent as HTTP Basic auth) and an Authorization header: keep one",
            ),
        ],
    );
}

#[test]
fn numbers_are_typed_after_substitution_and_reported_at_their_node() {
    let yaml = r#"
server:
  max_body_bytes: ${TG_TEST_BODY}
upstreams:
  api: { base_url: "http://127.0.0.1:9101", retries: "two", breaker_failures: 5000000000 }
rate_limits:
  tiers:
    standard: { requests: "${TG_TEST_RATE:-ten}", per: 1s }
"#;
    let dir = write(&[("gateway.yaml", yaml)]);
    let file = dir.path().join("gateway.yaml");
    let lines = [
        problem(
            &file,
            yaml,
            "${TG_TEST_BODY}",
            "max_body_bytes must be a whole number (after substituting its ${VAR}s)",
        ),
        problem(
            &file,
            yaml,
            "\"${TG_TEST_RATE",
            "requests must be a whole number (after substituting its ${VAR}s)",
        ),
        problem(
            &file,
            yaml,
            "\"two\"",
            "retries must be a whole number, not 'two'",
        ),
        problem(
            &file,
            yaml,
            "5000000000",
            "breaker_failures must be at most 4294967295, not '5000000000'",
        ),
    ];
    let run = toolgate(
        &["check", "--config", file.to_str().unwrap()],
        &[("TG_TEST_BODY", "1 MiB")],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let printed: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(printed, lines, "stderr:\n{}", run.stderr);
    assert!(
        !run.stdout.contains("1 MiB"),
        "a value from the environment was quoted"
    );
}

#[test]
fn a_completion_for_an_undeclared_tool_argument_is_reported() {
    let yaml = r#"
upstreams:
  api: { base_url: "http://127.0.0.1:9" }
tools:
  - name: get_item
    description: Get an item.
    input_schema: { type: object, properties: { id: { type: string } } }
    request: { upstream: api, path: /items }
    complete:
      item_id: { request: { upstream: api, path: /ids } }
"#;
    assert_problems(
        yaml,
        &[(
            "item_id:",
            "complete: 'item_id' is not an argument of tool 'get_item' (a property of its input_schema)",
        )],
    );
}
