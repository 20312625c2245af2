//! The Host/Origin guard decides on every value: a repeated Host or Origin (even after an
//! allowed one), a Host that is not visible ASCII or not a host[:port], and a missing Host on
//! HTTP/1.1 are refused with 400; an allowed single Host still passes.

mod common;

use common::{raw_status, start_gateway};

const YAML: &str = r#"
upstreams:
  api: { base_url: "http://127.0.0.1:9" }
tools: []
"#;

const BODY: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

fn post(headers: &[u8]) -> Vec<u8> {
    let mut request = b"POST /mcp HTTP/1.1\r\n".to_vec();
    request.extend_from_slice(headers);
    request.extend_from_slice(
        format!(
            "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
            BODY.len()
        )
        .as_bytes(),
    );
    request
}

#[tokio::test]
async fn every_host_and_origin_value_is_decided_on() {
    let gateway = start_gateway(YAML, &[]).await;
    assert_eq!(
        raw_status(&gateway, &post(b"Host: localhost\r\n")).await,
        200
    );
    let refused: [(&[u8], &str); 6] = [
        (b"Host: localhost\r\nHost: evil.com\r\n", "second Host"),
        (
            b"Host: localhost\r\nOrigin: http://localhost\r\nOrigin: http://evil.com\r\n",
            "second Origin",
        ),
        (b"Host: local\xffhost\r\n", "non-ASCII Host"),
        (b"Host: localhost\x01\r\n", "control byte in Host"),
        (b"Host: local host\r\n", "unparsable Host"),
        (b"", "missing Host"),
    ];
    for (headers, case) in refused {
        assert_eq!(raw_status(&gateway, &post(headers)).await, 400, "{case}");
    }
}
