//! Reading an upstream answer's body by its `Content-Type`: JSON, text decoded from its
//! charset, or binary bytes (images, audio, anything else) kept as they are.

use crate::error::{CallError, ErrorCode};
use crate::forward::UpstreamAnswer;
use base64::Engine;
use serde_json::{Value, json};

/// An upstream body, read by its content type.
#[derive(Debug)]
pub enum Body {
    /// A JSON answer (labelled JSON, or unlabelled and parsing as JSON).
    Json(Value),
    /// A text answer, decoded from its charset (UTF-8 when it names none).
    Text(String),
    /// Bytes that are not text: an image, audio, or any other binary type, or text whose
    /// charset is unknown or whose bytes do not decode (never shown garbled).
    Binary(Media),
}

/// What a binary answer is, for the MCP content block it becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaKind {
    /// `image/*`: MCP `image` content.
    Image,
    /// `audio/*`: MCP `audio` content.
    Audio,
    /// Anything else: an embedded MCP `resource` with a `blob`.
    Blob,
}

impl MediaKind {
    /// The name used in results: `image`, `audio` or `blob`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Audio => "audio",
            Self::Blob => "blob",
        }
    }
}

/// A binary answer: its kind, MIME type and bytes, base64-encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Media {
    /// Image, audio or other.
    pub kind: MediaKind,
    /// The MIME type: the answer's `Content-Type` (for images and audio without parameters),
    /// `application/octet-stream` when it sent none.
    pub mime_type: String,
    /// The bytes, base64 (standard alphabet, padded).
    pub data: String,
    /// How many bytes the answer had (before encoding).
    pub size: usize,
}

impl Media {
    /// The result value of a binary answer (what the legacy protocol returns):
    /// `{"type": "image"|"audio"|"blob", "mimeType": …, "data": base64, "size": bytes}`.
    pub fn value(&self) -> Value {
        json!({
            "type": self.kind.as_str(),
            "mimeType": self.mime_type,
            "data": self.data,
            "size": self.size,
        })
    }

    /// A one-line description for logs and text views: `image/png, 2048 bytes`.
    pub fn summary(&self) -> String {
        format!("{}, {} bytes", self.mime_type, self.size)
    }
}

/// The parts of a `Content-Type` that decide how a body is read.
struct ContentType<'a> {
    /// `type/subtype`, lower-case.
    essence: String,
    /// The `charset` parameter, if any.
    charset: Option<&'a str>,
}

fn content_type(header: &str) -> ContentType<'_> {
    let mut parts = header.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let charset = parts.find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    });
    ContentType { essence, charset }
}

/// Whether a MIME type (lower-case `type/subtype`) is text: `text/*` and the textual
/// application types (XML, YAML, JavaScript, CSV, forms, NDJSON, SQL, GraphQL, TOML).
fn is_text(essence: &str) -> bool {
    const TEXTUAL: [&str; 12] = [
        "application/xml",
        "application/javascript",
        "application/ecmascript",
        "application/yaml",
        "application/x-yaml",
        "application/toml",
        "application/csv",
        "application/sql",
        "application/graphql",
        "application/x-www-form-urlencoded",
        "application/x-ndjson",
        "application/jsonl",
    ];
    essence.starts_with("text/")
        || TEXTUAL.contains(&essence)
        || essence.ends_with("+xml")
        || essence.ends_with("+yaml")
}

/// Decodes `bytes` from `charset` (UTF-8 when `None`); `None` when the charset is unknown or
/// the bytes are not valid in it. A byte-order mark is honoured and removed.
fn decode(bytes: &[u8], charset: Option<&str>) -> Option<String> {
    let encoding = match charset {
        None => encoding_rs::UTF_8,
        Some(label) => encoding_rs::Encoding::for_label(label.as_bytes())?,
    };
    let (text, _, had_errors) = encoding.decode(bytes);
    (!had_errors).then(|| text.into_owned())
}

fn binary(kind: MediaKind, mime_type: String, bytes: &[u8]) -> Body {
    Body::Binary(Media {
        kind,
        mime_type,
        data: base64::engine::general_purpose::STANDARD.encode(bytes),
        size: bytes.len(),
    })
}

/// Reads an answer by its content type. Labelled JSON (`application/json`, `+json`) must
/// parse (else `upstream_error`; an empty body is the empty string); an unlabelled body that
/// parses as JSON is JSON. `image/*` and `audio/*` are media; text types are decoded from
/// their charset; any other type, text in an unknown charset, and bytes that do not decode
/// are binary. `max_binary` (the tool's `max_bytes`) caps a binary answer before it is
/// encoded: a larger one is an `upstream_error`, never a cut image.
pub fn read_body(answer: &UpstreamAnswer, max_binary: Option<usize>) -> Result<Body, CallError> {
    if answer.looks_like_json() {
        match serde_json::from_slice(&answer.body) {
            Ok(value) => return Ok(Body::Json(value)),
            Err(error) if answer.labelled_json() && !answer.body.trim_ascii().is_empty() => {
                return Err(CallError::new(
                    ErrorCode::UpstreamError,
                    format!("the upstream answer is labelled JSON but is not valid JSON: {error}"),
                )
                .with_details(json!({ "content_type": answer.content_type })));
            }
            Err(_) => {}
        }
    }
    let body = &answer.body[..];
    let (kind, mime_type) = match answer.content_type.as_deref() {
        None => match std::str::from_utf8(body) {
            Ok(text) => return Ok(Body::Text(text.to_owned())),
            Err(_) => (MediaKind::Blob, "application/octet-stream".to_owned()),
        },
        Some(header) => {
            let parsed = content_type(header);
            if parsed.essence.starts_with("image/") {
                (MediaKind::Image, parsed.essence)
            } else if parsed.essence.starts_with("audio/") {
                (MediaKind::Audio, parsed.essence)
            } else if answer.labelled_json() || is_text(&parsed.essence) {
                match decode(body, parsed.charset) {
                    Some(text) => return Ok(Body::Text(text)),
                    None => (MediaKind::Blob, header.trim().to_owned()),
                }
            } else {
                (MediaKind::Blob, header.trim().to_owned())
            }
        }
    };
    if let Some(max) = max_binary
        && body.len() > max
    {
        return Err(CallError::new(
            ErrorCode::UpstreamError,
            format!(
                "the upstream answered {} bytes of {mime_type}, over the tool's max_bytes ({max}); a binary answer is never cut",
                body.len()
            ),
        )
        .with_details(json!({ "content_type": mime_type, "size": body.len(), "max_bytes": max })));
    }
    Ok(binary(kind, mime_type, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(content_type: Option<&str>, body: &[u8]) -> UpstreamAnswer {
        UpstreamAnswer {
            status: 200,
            content_type: content_type.map(str::to_owned),
            body: bytes::Bytes::copy_from_slice(body),
            retry_after: None,
            headers: Default::default(),
        }
    }

    #[test]
    fn latin1_and_utf16_text_decode_and_unknown_charsets_stay_bytes() {
        let latin1 = answer(Some("text/plain; charset=ISO-8859-1"), b"caf\xe9");
        assert!(matches!(read_body(&latin1, None), Ok(Body::Text(t)) if t == "café"));
        let utf16 = answer(Some("text/plain; charset=\"utf-16le\""), b"h\0i\0");
        assert!(matches!(read_body(&utf16, None), Ok(Body::Text(t)) if t == "hi"));
        let unknown = answer(Some("text/plain; charset=x-nothing"), b"abc");
        assert!(
            matches!(read_body(&unknown, None), Ok(Body::Binary(m)) if m.kind == MediaKind::Blob)
        );
        let bad_utf8 = answer(Some("text/plain"), b"caf\xe9");
        assert!(matches!(read_body(&bad_utf8, None), Ok(Body::Binary(_))));
    }
}
