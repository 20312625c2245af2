//! Small helpers of the tool and body steps: schema adjustments, media types and text.

use super::super::node::{Entry, Node};
use super::super::schema;

/// Write-only properties are never in a response: they must not be required there.
pub(super) fn drop_write_only(schema: &mut Node) {
    let write_only: Vec<String> = schema
        .get("properties")
        .map(Node::entries)
        .unwrap_or_default()
        .iter()
        .filter(|p| p.value.get("writeOnly").and_then(Node::as_bool) == Some(true))
        .map(|p| p.key.clone())
        .collect();
    if write_only.is_empty() {
        return;
    }
    if let Some(Node::Map(properties)) = schema.get_mut("properties") {
        properties.retain(|p| !write_only.contains(&p.key));
    }
    if let Some(Node::Seq(required)) = schema.get_mut("required") {
        required.retain(|r| {
            !r.as_str()
                .is_some_and(|r| write_only.iter().any(|w| w == r))
        });
    }
}

/// MCP annotations implied by the method.
pub(super) fn annotations(method: &str) -> Option<Node> {
    let hint = match method {
        "GET" | "HEAD" | "OPTIONS" => "readOnlyHint",
        "DELETE" => "destructiveHint",
        "PUT" => "idempotentHint",
        _ => return None,
    };
    Some(Node::Map(vec![Entry::new(hint, Node::Bool(true))]))
}

/// Makes a path parameter's schema a scalar one (toolgate puts it in one path segment).
pub(super) fn path_scalar(schema: &mut Node, origin: &str, comments: &mut Vec<String>) {
    let types = schema::types(schema);
    let scalar = |t: &String| matches!(t.as_str(), "string" | "integer" | "number");
    let kept: Vec<&String> = types.iter().filter(|t| *t != "null").collect();
    if !kept.is_empty() && kept.iter().all(|t| scalar(t)) {
        if kept.len() != types.len() {
            let kept = kept
                .into_iter()
                .map(|t| Node::String(t.clone()))
                .collect::<Vec<_>>();
            let value = if kept.len() == 1 {
                kept.into_iter().next().unwrap_or(Node::Null)
            } else {
                Node::Seq(kept)
            };
            schema.set("type", value);
        }
        return;
    }
    if types.is_empty()
        && let Some(values) = schema.get("enum").map(Node::items)
        && !values.is_empty()
    {
        if values.iter().all(|v| matches!(v, Node::String(_))) {
            schema.set("type", Node::str("string"));
            return;
        }
        if values
            .iter()
            .all(|v| matches!(v, Node::Number(n) if n.is_i64() || n.is_u64()))
        {
            schema.set("type", Node::str("integer"));
            return;
        }
    }
    let kind = if types.is_empty() {
        "untyped".to_owned()
    } else {
        types.join("/")
    };
    comments.push(format!(
        "guess: {origin} is {kind} in the spec; a path segment is taken as a string"
    ));
    let mut replacement = Node::map();
    if let Some(description) = schema.get("description") {
        replacement.set("description", description.clone());
    }
    replacement.set("type", Node::str("string"));
    *schema = replacement;
}

/// Query and header values are single strings: an array argument becomes comma-separated text.
pub(super) fn single_value(
    schema: &mut Node,
    parameter: &Node,
    origin: &str,
    is_header: bool,
    comments: &mut Vec<String>,
) {
    let types = schema::types(schema);
    if types.iter().any(|t| t == "array") {
        let values = schema
            .get("items")
            .and_then(|i| i.get("enum"))
            .map(|e| {
                e.items()
                    .iter()
                    .filter_map(|v| match v {
                        Node::String(s) => Some(s.clone()),
                        Node::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|s| !s.is_empty());
        let extra = match values {
            Some(list) => format!("Comma-separated list of: {list}."),
            None => "Comma-separated list.".to_owned(),
        };
        let description = match schema.get_str("description").map(str::trim) {
            Some(d) if !d.is_empty() => {
                let sep = if d.ends_with(['.', '!', '?']) {
                    " "
                } else {
                    ". "
                };
                format!("{d}{sep}{extra}")
            }
            _ => extra,
        };
        let explode = parameter.get("explode").and_then(Node::as_bool);
        let comment = if is_header {
            format!(
                "note: {origin} is an array; it is sent as comma-separated text (OpenAPI's style)"
            )
        } else if explode == Some(false) {
            format!(
                "note: {origin} is an array sent comma-separated (explode: false), as the spec says"
            )
        } else {
            format!(
                "guess: {origin} is an array; toolgate sends one value, so the items go comma-separated"
            )
        };
        comments.push(comment);
        *schema = Node::Map(vec![
            Entry::new("description", Node::String(description)),
            Entry::new("type", Node::str("string")),
        ]);
    } else if types.iter().any(|t| t == "object") {
        comments.push(format!(
            "note: {origin} is an object; it is sent as JSON text"
        ));
    }
}

/// A few words on what a schema describes, for notes.
pub(super) fn describe(schema: &Node) -> String {
    let types = schema::types(schema);
    match types.first().map(String::as_str) {
        Some("array") => "an array".into(),
        Some("object") if schema.get("properties").is_none() => {
            "an object without declared properties".into()
        }
        Some("integer") => "an integer".into(),
        Some(t) if types.len() == 1 => format!("a {t}"),
        Some(_) => format!("one of {}", types.join("/")),
        None if schema.get("oneOf").is_some() => "one of several schemas".into(),
        None if schema.get("anyOf").is_some() => "any of several schemas".into(),
        None => "not a declared object".into(),
    }
}

/// The media type alone, lower case (`application/json; charset=utf-8` → `application/json`).
pub(super) fn media_type(key: &str) -> String {
    key.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

pub(super) fn is_json(key: &str) -> bool {
    let media = media_type(key);
    media.ends_with("/json") || media.ends_with("+json")
}

/// A trimmed, non-empty text field, with line breaks normalised.
pub(super) fn text_field(node: &Node, key: &str) -> Option<String> {
    let text = node.get_str(key)?.replace("\r\n", "\n");
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Text for a one-line comment.
pub(super) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Config strings expand `${VAR}` and read `$$` as `$`: a `$` before `{` or `$` is doubled so
/// that the text reads back as written.
pub(super) fn escape_dollars(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '$' && matches!(chars.peek(), Some('{' | '$')) {
            out.push('$');
        }
    }
    out
}

pub(super) enum PathPiece<'a> {
    Literal(&'a str),
    Placeholder(&'a str),
}

/// `/pets/{petId}/photos` → literal `/pets/`, placeholder `petId`, literal `/photos`.
pub(super) fn split_path(path: &str) -> Vec<PathPiece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        if start > 0 {
            pieces.push(PathPiece::Literal(&rest[..start]));
        }
        pieces.push(PathPiece::Placeholder(&rest[start + 1..start + len]));
        rest = &rest[start + len + 1..];
    }
    if !rest.is_empty() {
        pieces.push(PathPiece::Literal(rest));
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_read_back_as_written() {
        let env = |_: &str| None;
        for text in ["costs $5", "${HOME}", "$$", "a$${b}", "$"] {
            let escaped = escape_dollars(text);
            assert_eq!(
                crate::config::env::interpolate(&escaped, &env).unwrap(),
                text,
                "{escaped}"
            );
        }
    }

    #[test]
    fn splits_paths() {
        let pieces = split_path("/a/{x}.{y}/b");
        let shown: Vec<String> = pieces
            .iter()
            .map(|p| match p {
                PathPiece::Literal(l) => format!("L{l}"),
                PathPiece::Placeholder(p) => format!("P{p}"),
            })
            .collect();
        assert_eq!(shown, ["L/a/", "Px", "L.", "Py", "L/b"]);
    }
}
