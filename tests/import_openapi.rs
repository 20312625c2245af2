//! `toolgate import openapi`: golden files, and every output passes `toolgate check`.
//!
//! The specs and their expected output live in `tests/data/openapi/`. After an intended change
//! of the output, rewrite the golden files with
//! `UPDATE_GOLDEN=1 cargo test --test import_openapi` and review the diff.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_toolgate");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn data(name: &str) -> PathBuf {
    root().join("tests/data/openapi").join(name)
}

/// Runs the binary in the crate root (so that paths in messages are short and stable).
fn toolgate(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(root())
        .env_remove("RUST_LOG")
        .output()
        .expect("run toolgate")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Imports `spec` (with `flags`), compares stdout with `<stem>.expected.yaml`, and checks the
/// golden file; returns it.
fn golden(spec: &str, stem: &str, flags: &[&str]) -> String {
    let spec_path = format!("tests/data/openapi/{spec}");
    let mut args = vec!["import", "openapi", &spec_path];
    args.extend_from_slice(flags);
    let output = toolgate(&args);
    assert!(
        output.status.success(),
        "import of {spec} failed: {}",
        text(&output.stderr)
    );
    let actual = text(&output.stdout);
    let expected_path = data(&format!("{stem}.expected.yaml"));
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&expected_path, &actual).expect("write golden file");
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}\nrun UPDATE_GOLDEN=1 cargo test --test import_openapi to create it",
            expected_path.display()
        )
    });
    if actual != expected {
        let first_difference = actual
            .lines()
            .zip(expected.lines())
            .position(|(a, e)| a != e)
            .map_or_else(
                || "one output is a prefix of the other".to_owned(),
                |i| {
                    format!(
                        "first difference at line {}:\n  actual:   {}\n  expected: {}",
                        i + 1,
                        actual.lines().nth(i).unwrap_or(""),
                        expected.lines().nth(i).unwrap_or("")
                    )
                },
            );
        panic!(
            "the import of {spec} differs from {} ({first_difference})\nif the change is intended, run \
             UPDATE_GOLDEN=1 cargo test --test import_openapi and review the diff",
            expected_path.display()
        );
    }
    check_passes(&format!("tests/data/openapi/{stem}.expected.yaml"));
    actual
}

/// `toolgate check` accepts the file as a complete config.
fn check_passes(config: &str) {
    let output = toolgate(&["check", "--config", config]);
    assert!(
        output.status.success(),
        "toolgate check rejects {config}:\n{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

fn render(config: &str, tool: &str, args: &str) -> String {
    let output = toolgate(&["render", "--config", config, "--tool", tool, "--args", args]);
    assert!(
        output.status.success(),
        "render {tool} failed: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

#[test]
fn petstore_3_0_matches_its_golden_file_and_checks() {
    golden("petstore.yaml", "petstore", &[]);
}

#[test]
fn petstore_3_1_matches_its_golden_file_and_checks() {
    golden("petstore-3.1.yaml", "petstore-3.1", &[]);
}

#[test]
fn swagger_2_0_matches_its_golden_file_and_checks() {
    let imported = golden("swagger-2.0.yaml", "swagger-2.0", &[]);
    assert!(
        imported.contains("(Swagger 2.0, read as OpenAPI 3.0)"),
        "{imported}"
    );
    let config = "tests/data/openapi/swagger-2.0.expected.yaml";
    // host + basePath + the first scheme; a body parameter is the JSON body.
    let added = render(
        config,
        "add_pet",
        r#"{"name":"Rex","photoUrls":["http://x/1.png"],"status":"sold"}"#,
    );
    assert!(
        added.starts_with("POST https://petstore.example.com/v2/pet\n"),
        "{added}"
    );
    assert!(added.contains("\"name\": \"Rex\""), "{added}");
    // A definition reached through $ref checks the arguments (the enum of Pet.status).
    let output = toolgate(&[
        "render",
        "--config",
        config,
        "--tool",
        "add_pet",
        "--args",
        r#"{"name":"Rex","photoUrls":[],"status":"lost"}"#,
    ]);
    assert!(!output.status.success(), "{}", text(&output.stdout));
    // A query array (comma-separated, as for 3.x) and a parameter from `parameters:`.
    let found = render(
        config,
        "find_pets_by_status",
        r#"{"status":"available,sold","limit":5}"#,
    );
    assert!(found.contains("status=available%2Csold"), "{found}");
    assert!(found.contains("limit=5"), "{found}");
    // A path-level parameter reached through `$ref`.
    let shown = render(config, "get_pet_by_id", r#"{"petId":42}"#);
    assert!(
        shown.starts_with("GET https://petstore.example.com/v2/pet/42\n"),
        "{shown}"
    );
    let order = render(
        config,
        "place_order",
        r#"{"petId":1,"quantity":2,"shipDate":null}"#,
    );
    assert!(order.contains("\"quantity\": 2"), "{order}");
}

#[test]
fn helpdesk_json_matches_its_golden_file_and_checks() {
    golden("helpdesk.json", "helpdesk", &[]);
}

#[test]
fn output_schemas_are_written_only_with_the_flag() {
    for (spec, stem) in [("petstore.yaml", "petstore"), ("helpdesk.json", "helpdesk")] {
        let plain = golden(spec, stem, &[]);
        assert!(!plain.contains("output_schema:"), "{stem}: {plain}");
        let strict = golden(
            spec,
            &format!("{stem}.output-schemas"),
            &["--output-schemas"],
        );
        assert!(strict.contains("output_schema:"), "{stem}: {strict}");
    }
}

#[test]
fn imported_tools_render_the_requests_the_spec_describes() {
    let config = "tests/data/openapi/petstore.expected.yaml";
    let shown = render(config, "show_pet_by_id", r#"{"petId":"a/b"}"#);
    assert!(
        shown.starts_with("GET http://petstore.swagger.io/v1/pets/a%2Fb\n"),
        "{shown}"
    );
    let created = render(config, "create_pets", r#"{"id":7,"name":"Rex"}"#);
    assert!(created.starts_with("POST http://petstore.swagger.io/v1/pets\n"));
    assert!(created.contains("\"id\": 7"), "{created}");

    let config = "tests/data/openapi/helpdesk.expected.yaml";
    // Path `id` and body `id` are two arguments.
    let replaced = render(
        config,
        "replace_organization",
        r#"{"id":"org-1","body_id":"org-2","name":"Acme"}"#,
    );
    assert!(replaced.contains("/organizations/org-1\n"), "{replaced}");
    assert!(replaced.contains("\"id\": \"org-2\""), "{replaced}");
    // Sanitised query names keep the spec's names on the wire; headers are sent.
    let listed = render(
        config,
        "list_tickets",
        r#"{"page_size":5,"x_request_id":"3f1c2a4e-8b7d-4e34-9a51-0c2f5e6d7a81"}"#,
    );
    assert!(listed.contains("page%5Bsize%5D=5"), "{listed}");
    assert!(listed.contains("x-request-id: 3f1c2a4e"), "{listed}");
    // A body that is not an object is the `body` argument, sent whole.
    let tags = render(
        config,
        "set_ticket_tags",
        r#"{"ticketId":"TCK-000001","body":["vip","billing"]}"#,
    );
    assert!(tags.contains("[\n  \"vip\",\n  \"billing\"\n]"), "{tags}");
    // Descriptions keep a literal `${...}` (escaped as `$${...}` in the file).
    let listed = toolgate(&["check", "--config", config]);
    assert!(listed.status.success());
}

#[test]
fn output_file_upstream_name_and_globs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pets.yaml");
    let output = toolgate(&[
        "import",
        "openapi",
        "tests/data/openapi/helpdesk.json",
        "--upstream",
        "helpdesk",
        "--include",
        "*ticket*",
        "--include",
        "GET /users/*",
        "--exclude",
        "delete*",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(output.stdout.is_empty(), "with -o nothing goes to stdout");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("tool(s) written to"), "{stderr}");
    let yaml = std::fs::read_to_string(&out).unwrap();
    assert!(
        yaml.contains("  helpdesk:\n    # guess: server variables"),
        "{yaml}"
    );
    assert!(yaml.contains("${HELPDESK_BASE_URL:-https://acme.helpdesk.example.com/api/v2}"));
    assert!(yaml.contains("upstream: helpdesk\n"));
    let names: Vec<&str> = yaml
        .lines()
        .filter_map(|l| l.strip_prefix("  - name: "))
        .collect();
    // operationIds match case-insensitively; `GET /users/*` matches by method and path.
    assert!(names.contains(&"list_tickets"), "{names:?}");
    assert!(!names.contains(&"get_sla_stats"), "{names:?}");
    assert!(names.contains(&"get_user"), "{names:?}");
    assert!(names.contains(&"get_current_user"), "{names:?}");
    assert!(!names.contains(&"delete_ticket"), "{names:?}");
    assert!(!names.contains(&"list_users"), "{names:?}");
    check_passes(out.to_str().unwrap());
}

#[test]
fn refuses_what_it_cannot_import() {
    let dir = tempfile::tempdir().unwrap();
    let swagger = dir.path().join("swagger.yaml");
    std::fs::write(
        &swagger,
        "swagger: '1.2'\ninfo: { title: x, version: '1' }\npaths: {}\n",
    )
    .unwrap();
    let output = toolgate(&["import", "openapi", swagger.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("Swagger 1.2 is not supported"),
        "{}",
        text(&output.stderr)
    );

    let output = toolgate(&[
        "import",
        "openapi",
        "tests/data/openapi/petstore.yaml",
        "--include",
        "nothing*",
    ]);
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("no operation matches"));

    let output = toolgate(&[
        "import",
        "openapi",
        "tests/data/openapi/petstore.yaml",
        "--upstream",
        "bad name",
    ]);
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("--upstream"));

    let output = toolgate(&["import", "openapi", "tests/data/openapi/missing.yaml"]);
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("cannot read"));
}

#[test]
fn a_recursive_schema_and_an_odd_spec_still_check() {
    // No servers, no operationIds, a self-referencing body, names that need sanitising, a
    // description with `${...}`, a path parameter that is not declared.
    let spec = r##"
openapi: 3.0.1
info: { title: "Tree & Co. API", version: "0.1" }
paths:
  /nodes/{nodeId}/children/{child-name}:
    post:
      summary: "Add a ${child}"
      description: "Adds a child; labels may contain ${placeholders} and $$ signs."
      parameters:
        - { name: nodeId, in: path, required: true, schema: { type: boolean } }
        - { name: "2fa", in: query, schema: { type: string } }
        - { name: nodeId, in: query, schema: { type: integer } }
      requestBody:
        required: true
        content:
          application/json:
            schema: { $ref: "#/components/schemas/Node" }
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Node" }
components:
  schemas:
    Node:
      type: object
      required: [label]
      properties:
        label: { type: string }
        children: { type: array, items: { $ref: "#/components/schemas/Node" } }
"##;
    let dir = tempfile::tempdir().unwrap();
    let spec_path = dir.path().join("tree.yaml");
    std::fs::write(&spec_path, spec).unwrap();
    let out = dir.path().join("tree.tools.yaml");
    let output = toolgate(&[
        "import",
        "openapi",
        spec_path.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let yaml = std::fs::read_to_string(&out).unwrap();
    for expected in [
        "tree_co_api:",
        "${TREE_CO_API_BASE_URL:-http://localhost}",
        "guess: the spec names no server",
        "name: post_nodes_node_id_children_child_name",
        "guess: path parameter 'nodeId' is boolean in the spec",
        "guess: path parameter 'child-name' is not declared",
        "path: /nodes/{{args.nodeId}}/children/{{args.child_name}}",
        "note: argument 'query_nodeId' is the query parameter 'nodeId'",
        "_2fa:",
        "\"2fa\": \"{{args._2fa}}\"",
        "$${placeholders} and $$$ signs",
        "title: Add a $${child}",
        "$ref: \"#/$defs/Node\"",
    ] {
        assert!(yaml.contains(expected), "missing {expected:?} in:\n{yaml}");
    }
    check_passes(out.to_str().unwrap());
    let rendered = render(
        out.to_str().unwrap(),
        "post_nodes_node_id_children_child_name",
        r#"{"nodeId":"n1","child_name":"c","label":"x","children":[{"label":"y"}]}"#,
    );
    assert!(
        rendered.starts_with("POST http://localhost/nodes/n1/children/c\n"),
        "{rendered}"
    );
}
