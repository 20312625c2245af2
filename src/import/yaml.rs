//! Writing a [`Node`] tree as readable YAML: block style with 2-space indents, comments above
//! the entries that carry them, short lists of scalars in flow style (`[ a, b ]`), multi-line
//! text as literal blocks, and quotes only where YAML needs them.

use super::node::{Entry, Node};

/// Longest line a flow collection may make.
const FLOW_WIDTH: usize = 100;

/// Writes the entries of a top-level mapping.
pub fn write_map(out: &mut String, entries: &[Entry], indent: usize) {
    for entry in entries {
        write_comments(out, &entry.comments, indent);
        if entry.is_comment_only() {
            continue;
        }
        pad(out, indent);
        out.push_str(&key(&entry.key));
        out.push(':');
        write_after_key(out, &entry.key, &entry.value, indent);
    }
}

/// Writes `# ` comment lines at `indent`.
pub fn write_comments(out: &mut String, comments: &[String], indent: usize) {
    for comment in comments {
        if comment.is_empty() {
            pad(out, indent);
            out.push_str("#\n");
        }
        for line in comment.lines() {
            pad(out, indent);
            if line.is_empty() {
                out.push_str("#\n");
            } else {
                out.push_str("# ");
                out.push_str(line);
                out.push('\n');
            }
        }
    }
}

/// Writes one item of a block sequence at `indent` (`- ` then the value).
pub fn write_seq_item(out: &mut String, item: &Node, indent: usize) {
    pad(out, indent);
    out.push('-');
    match item {
        Node::Map(entries) if has_pairs(entries) => {
            // The first entry shares the line with the dash; the others align with it.
            let mut first = true;
            for entry in entries {
                if first && entry.comments.is_empty() && !entry.is_comment_only() {
                    out.push(' ');
                    out.push_str(&key(&entry.key));
                    out.push(':');
                    write_after_key(out, &entry.key, &entry.value, indent + 2);
                } else {
                    if first {
                        out.push('\n');
                    }
                    write_map(out, std::slice::from_ref(entry), indent + 2);
                }
                first = false;
            }
        }
        Node::Seq(items) if !items.is_empty() && flow(item).is_none() => {
            out.push('\n');
            for inner in items {
                write_seq_item(out, inner, indent + 2);
            }
        }
        other => {
            out.push(' ');
            write_inline(out, other, indent + 2);
        }
    }
}

/// Mappings under these keys are always written as blocks: they are the structure a reader
/// scans (a tool's request, its schemas), even when short.
const BLOCK_KEYS: [&str; 8] = [
    "request",
    "response",
    "input_schema",
    "output_schema",
    "body",
    "properties",
    "$defs",
    "upstreams",
];

/// Writes the value after `key:` (a space and a scalar, or a nested block on the next lines).
fn write_after_key(out: &mut String, key: &str, value: &Node, indent: usize) {
    match value {
        Node::Map(entries) if has_pairs(entries) => match flow(value) {
            Some(text) if !BLOCK_KEYS.contains(&key) && indent + text.len() < FLOW_WIDTH - 20 => {
                out.push(' ');
                out.push_str(&text);
                out.push('\n');
            }
            _ => {
                out.push('\n');
                write_map(out, entries, indent + 2);
            }
        },
        Node::Seq(items) if !items.is_empty() => match flow(value) {
            Some(text) if indent + text.len() < FLOW_WIDTH - 20 => {
                out.push(' ');
                out.push_str(&text);
                out.push('\n');
            }
            _ => {
                out.push('\n');
                for item in items {
                    write_seq_item(out, item, indent + 2);
                }
            }
        },
        other => {
            out.push(' ');
            write_inline(out, other, indent + 2);
        }
    }
}

/// Writes a scalar (or an empty collection) and the end of the line; multi-line strings become
/// literal blocks indented at `block_indent`.
fn write_inline(out: &mut String, value: &Node, block_indent: usize) {
    match value {
        Node::String(text) if literal_block_ok(text) => {
            let trailing = text.len() - text.trim_end_matches('\n').len();
            out.push_str(match trailing {
                0 => "|-",
                1 => "|",
                _ => "|+",
            });
            out.push('\n');
            for line in text.trim_end_matches('\n').split('\n') {
                if !line.is_empty() {
                    pad(out, block_indent);
                    out.push_str(line);
                }
                out.push('\n');
            }
            for _ in 1..trailing {
                out.push('\n');
            }
        }
        Node::Map(entries) if !has_pairs(entries) => out.push_str("{}\n"),
        Node::Seq(items) if items.is_empty() => out.push_str("[]\n"),
        other => {
            out.push_str(&scalar(other, false));
            out.push('\n');
        }
    }
}

fn has_pairs(entries: &[Entry]) -> bool {
    entries.iter().any(|e| !e.is_comment_only())
}

/// The flow form (`[ a, b ]`, `{ k: v }`) of a collection of scalars without comments, if it
/// is short enough to read on one line.
fn flow(value: &Node) -> Option<String> {
    let text = match value {
        Node::Seq(items) => {
            if items.is_empty() {
                return Some("[]".into());
            }
            let parts: Option<Vec<String>> = items.iter().map(flow_scalar).collect();
            format!("[ {} ]", parts?.join(", "))
        }
        Node::Map(entries) => {
            if entries.len() > 4 {
                return None;
            }
            let parts: Option<Vec<String>> = entries
                .iter()
                .map(|e| {
                    if !e.comments.is_empty() || e.is_comment_only() {
                        return None;
                    }
                    Some(format!("{}: {}", flow_key(&e.key)?, flow_scalar(&e.value)?))
                })
                .collect();
            format!("{{ {} }}", parts?.join(", "))
        }
        _ => return None,
    };
    (text.len() <= FLOW_WIDTH).then_some(text)
}

fn flow_scalar(value: &Node) -> Option<String> {
    match value {
        Node::Map(_) | Node::Seq(_) => None,
        Node::String(s) if s.contains('\n') || s.len() > 40 => None,
        other => Some(scalar(other, true)),
    }
}

fn flow_key(text: &str) -> Option<String> {
    plain_ok(text, true).then(|| text.to_owned())
}

/// A mapping key as written.
fn key(text: &str) -> String {
    if plain_ok(text, false) {
        text.to_owned()
    } else {
        quoted(text)
    }
}

/// A scalar as written in block (`flow == false`) or flow context.
fn scalar(value: &Node, in_flow: bool) -> String {
    match value {
        Node::Null => "null".into(),
        Node::Bool(b) => b.to_string(),
        Node::Number(n) => n.to_string(),
        Node::String(s) if plain_ok(s, in_flow) => s.clone(),
        Node::String(s) => quoted(s),
        Node::Seq(_) | Node::Map(_) => unreachable!("collections are not scalars"),
    }
}

/// Whether `text` can be written without quotes and read back as the same string.
fn plain_ok(text: &str, in_flow: bool) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if text.trim() != text
        || "-?:,[]{}#&*!|>'\"%@`".contains(first)
        || text.contains(": ")
        || text.contains(" #")
        || text.ends_with(':')
        || text.chars().any(|c| c.is_control() || needs_escape(c))
        || (in_flow && text.contains([',', '[', ']', '{', '}']))
    {
        return false;
    }
    !looks_like_other_type(text)
}

/// Strings that a YAML reader (1.1 or 1.2) would take for a null, boolean or number.
fn looks_like_other_type(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "~" | "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    ) {
        return true;
    }
    if matches!(
        lower.trim_start_matches(['+', '-']),
        ".inf" | ".nan" | "inf" | "nan"
    ) {
        return true;
    }
    let first = text.chars().next().unwrap_or(' ');
    (first.is_ascii_digit() || matches!(first, '+' | '-' | '.'))
        && text.chars().all(|c| {
            c.is_ascii_hexdigit()
                || matches!(c, 'x' | 'X' | 'o' | 'O' | '.' | '_' | '+' | '-' | ':')
        })
}

/// Characters that are written as escapes inside double quotes.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// A double-quoted YAML string (JSON escapes are valid YAML escapes).
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether a multi-line string can be a literal block and read back unchanged.
fn literal_block_ok(text: &str) -> bool {
    let body = text.trim_end_matches('\n');
    body.contains('\n')
        && !body.starts_with([' ', '\t'])
        && !text
            .chars()
            .any(|c| c != '\n' && c != '\t' && needs_escape(c))
        && body.split('\n').all(|line| line.trim_end() == line)
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: Vec<(&str, Node)>) -> Node {
        Node::Map(entries.into_iter().map(|(k, v)| Entry::new(k, v)).collect())
    }

    fn render(node: &Node) -> String {
        let mut out = String::new();
        write_map(&mut out, node.entries(), 0);
        out
    }

    #[test]
    fn quotes_only_where_needed() {
        for (text, plain) in [
            ("list_pets", true),
            ("/pets/{{args.pet_id}}", true),
            ("{{args.limit}}", false),
            ("${X_BASE_URL:-http://h:1/v1}", true),
            ("true", false),
            ("no", false),
            ("123", false),
            ("1.5", false),
            ("0x1F", false),
            ("v1.2", true),
            ("a: b", false),
            ("a #b", false),
            ("#/$defs/Node", false),
            ("", false),
            (" x", false),
            ("- x", false),
            ("*", false),
        ] {
            assert_eq!(plain_ok(text, false), plain, "{text:?}");
        }
        assert!(!plain_ok("a,b", true));
        assert_eq!(quoted("a\"b\\c\n\u{1}"), r#""a\"b\\c\n\u0001""#);
    }

    #[test]
    fn writes_blocks_flows_and_literals() {
        let node = map(vec![
            ("name", Node::str("x")),
            ("required", Node::Seq(vec![Node::str("a"), Node::str("b")])),
            ("description", Node::str("Line one.\n\nLine two: yes")),
            ("empty", Node::map()),
            (
                "tools",
                Node::Seq(vec![map(vec![
                    ("name", Node::str("t")),
                    ("count", Node::Number(3.into())),
                ])]),
            ),
        ]);
        assert_eq!(
            render(&node),
            "name: x\nrequired: [ a, b ]\ndescription: |-\n  Line one.\n\n  Line two: yes\nempty: {}\ntools:\n  - name: t\n    count: 3\n"
        );
    }

    #[test]
    fn output_reads_back_as_the_same_tree() {
        let node = map(vec![
            ("s", Node::str("it's \"quoted\": #1")),
            ("t", Node::str("tab\tand\u{7}bell")),
            ("u", Node::str("ends with newline\nsecond\n")),
            ("v", Node::str("  leading\nspace")),
            ("k: odd", Node::str("null")),
            ("200", Node::str("yes")),
            (
                "f",
                Node::Seq(vec![Node::str("a,b"), Node::Bool(true), Node::Null]),
            ),
        ]);
        let text = render(&node);
        let back: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, node.to_json(), "{text}");
    }
}
