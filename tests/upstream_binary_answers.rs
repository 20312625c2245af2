//! Non-JSON upstream answers over real sockets: `image/*` and `audio/*` become MCP image and
//! audio content (base64 of the exact bytes), another binary type an embedded resource with its
//! MIME type and a `blob`, text is decoded from its charset (Latin-1, UTF-16) and never
//! garbled (an unknown charset stays bytes), `max_bytes` caps a binary answer before it is
//! encoded; in the handshake era (2025-06-18), the stateless era (2026-07-28) and the legacy
//! protocol.

mod common;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use common::{GatewayUnderTest, client, legacy_call, start_gateway};
use serde_json::{Value, json};
use std::net::TcpListener;

/// A PNG signature and an IHDR start: not UTF-8 (0x89) and containing a NUL.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01";
const WAV: &[u8] = b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\xff\xfe";
const PDF: &[u8] = b"%PDF-1.7\n\xe2\xe3\xcf\xd3\n1 0 obj\n";

async fn answer(req: HttpRequest) -> HttpResponse {
    let (content_type, body): (&str, Vec<u8>) = match req.path() {
        "/png" => ("image/png", PNG.to_vec()),
        "/wav" => ("audio/wav; codecs=1", WAV.to_vec()),
        "/pdf" => ("application/pdf", PDF.to_vec()),
        "/latin1" => (
            "text/plain; charset=ISO-8859-1",
            b"Cr\xe8me br\xfbl\xe9e".to_vec(),
        ),
        "/utf16" => (
            "text/csv; charset=utf-16",
            // A little-endian byte-order mark, then "ü,ß".
            b"\xff\xfe\xfc\0,\0\xdf\0".to_vec(),
        ),
        "/unknown" => ("text/plain; charset=x-martian", b"\xc3\x28 caf".to_vec()),
        _ => ("text/plain", b"not found".to_vec()),
    };
    HttpResponse::Ok().content_type(content_type).body(body)
}

fn start_media_upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(|| App::new().default_service(web::to(answer)))
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
    tokio::spawn(server);
    url
}

fn tool(name: &str, path: &str, extra: &str) -> String {
    format!(
        "  - name: {name}\n    description: The {path} answer.\n    input_schema: {{ type: object }}\n    request: {{ upstream: media, path: {path} }}\n{extra}"
    )
}

async fn gateway() -> GatewayUnderTest {
    let url = start_media_upstream();
    let mut yaml = String::from("upstreams:\n  media: { base_url: \"${MEDIA}\" }\ntools:\n");
    for (name, path) in [
        ("png", "/png"),
        ("wav", "/wav"),
        ("pdf", "/pdf"),
        ("latin1", "/latin1"),
        ("utf16", "/utf16"),
        ("unknown", "/unknown"),
    ] {
        yaml.push_str(&tool(name, path, ""));
    }
    yaml.push_str(&tool(
        "small_png",
        "/png",
        "    response: { max_bytes: 8 }\n",
    ));
    yaml.push_str(&tool("picked_png", "/png", "    response: { pick: /x }\n"));
    start_gateway(&yaml, &[("MEDIA", &url)]).await
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `tools/call` in the handshake era (after `initialize` with 2025-06-18) or the stateless era.
async fn call(gateway: &GatewayUnderTest, session: Option<&str>, tool: &str) -> Value {
    let mut body = json!({ "jsonrpc": "2.0", "id": 7, "method": "tools/call",
                           "params": { "name": tool, "arguments": {} } });
    let mut request = client()
        .post(gateway.mcp_url())
        .header("Accept", "application/json, text/event-stream");
    match session {
        Some(session) => {
            request = request
                .header("Mcp-Session-Id", session)
                .header("MCP-Protocol-Version", "2025-06-18");
        }
        None => {
            body["params"]["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": { "name": "media-test", "version": "1" },
            });
            request = request
                .header("MCP-Protocol-Version", "2026-07-28")
                .header("Mcp-Method", "tools/call")
                .header("Mcp-Name", tool);
        }
    }
    let reply: Value = request
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["result"].clone()
}

async fn initialize(gateway: &GatewayUnderTest) -> String {
    let response = client()
        .post(gateway.mcp_url())
        .header("Accept", "application/json, text/event-stream")
        .json(
            &json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": { "name": "media-test", "version": "1" } } }),
        )
        .send()
        .await
        .unwrap();
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    client()
        .post(gateway.mcp_url())
        .header("Mcp-Session-Id", &session)
        .header("MCP-Protocol-Version", "2025-06-18")
        .json(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))
        .send()
        .await
        .unwrap();
    session
}

fn only_block(result: &Value) -> &Value {
    assert_eq!(result["isError"], false, "{result}");
    assert!(result.get("structuredContent").is_none(), "{result}");
    let content = result["content"].as_array().unwrap();
    assert_eq!(content.len(), 1, "{result}");
    &content[0]
}

#[actix_web::test]
async fn binary_answers_become_mcp_media_and_text_keeps_its_charset() {
    let gateway = gateway().await;
    let session = initialize(&gateway).await;
    for era in [Some(session.as_str()), None] {
        let png = call(&gateway, era, "png").await;
        assert_eq!(
            only_block(&png),
            &json!({ "type": "image", "data": b64(PNG), "mimeType": "image/png" })
        );
        let wav = call(&gateway, era, "wav").await;
        assert_eq!(
            only_block(&wav),
            &json!({ "type": "audio", "data": b64(WAV), "mimeType": "audio/wav" })
        );
        let pdf = call(&gateway, era, "pdf").await;
        assert_eq!(
            only_block(&pdf),
            &json!({ "type": "resource", "resource": {
                "uri": "toolgate://tools/pdf/result", "mimeType": "application/pdf", "blob": b64(PDF) } })
        );
        let latin1 = call(&gateway, era, "latin1").await;
        assert_eq!(
            only_block(&latin1),
            &json!({ "type": "text", "text": "Crème brûlée" })
        );
        let utf16 = call(&gateway, era, "utf16").await;
        assert_eq!(
            only_block(&utf16),
            &json!({ "type": "text", "text": "ü,ß" })
        );
        // An unknown charset is not guessed: the bytes go out as they came.
        let unknown = call(&gateway, era, "unknown").await;
        assert_eq!(
            only_block(&unknown)["resource"],
            json!({ "uri": "toolgate://tools/unknown/result",
                    "mimeType": "text/plain; charset=x-martian", "blob": b64(b"\xc3\x28 caf") })
        );
        // Over max_bytes (8 < 20 bytes): refused before encoding, never a cut image.
        let small = call(&gateway, era, "small_png").await;
        assert_eq!(small["isError"], true, "{small}");
        let error = &small["structuredContent"]["error"];
        assert_eq!(error["code"], "upstream_error", "{small}");
        assert_eq!(error["details"]["size"], PNG.len(), "{small}");
        assert_eq!(error["details"]["max_bytes"], 8, "{small}");
        // A pick needs JSON.
        let picked = call(&gateway, era, "picked_png").await;
        assert_eq!(picked["isError"], true, "{picked}");
    }

    let (status, png) = legacy_call(&gateway, "png", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        png["result"],
        json!({ "type": "image", "mimeType": "image/png", "data": b64(PNG), "size": PNG.len() })
    );
    let (_, pdf) = legacy_call(&gateway, "pdf", json!({})).await;
    assert_eq!(pdf["result"]["type"], "blob");
    assert_eq!(pdf["result"]["mimeType"], "application/pdf");
    let (_, latin1) = legacy_call(&gateway, "latin1", json!({})).await;
    assert_eq!(latin1["result"], "Crème brûlée");
}
