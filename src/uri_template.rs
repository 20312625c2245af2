//! RFC 6570 URI templates for MCP resource templates, in the two forms a REST mapping needs:
//! `{name}` (simple expansion: one value without `/`, `?` or `#`) and `{+name}` (reserved
//! expansion: may span `/`). Templates are matched against concrete URIs to recover the
//! values, which then fill the resource's upstream request like a tool's arguments.

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

/// One part of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// A variable: its name and whether it may contain `/` (`{+name}`).
    Var(String, bool),
}

/// A parsed URI template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UriTemplate {
    parts: Vec<Part>,
}

impl UriTemplate {
    /// Parses a template; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                None => {
                    parts.push(Part::Literal(rest.to_owned()));
                    break;
                }
                Some(at) if rest.as_bytes()[at] == b'}' => {
                    return Err("a '}' without its '{'".into());
                }
                Some(at) => {
                    if at > 0 {
                        parts.push(Part::Literal(rest[..at].to_owned()));
                    }
                    let close = rest[at..].find('}').ok_or("a '{' without its '}'")? + at;
                    let expression = &rest[at + 1..close];
                    let (reserved, name) = match expression.strip_prefix('+') {
                        Some(name) => (true, name),
                        None => (false, expression),
                    };
                    if name.is_empty()
                        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    {
                        return Err(format!(
                            "'{{{expression}}}' is not supported: use {{name}} or {{+name}} with a name of letters, digits and '_'"
                        ));
                    }
                    if matches!(parts.last(), Some(Part::Var(..))) {
                        return Err(format!(
                            "'{{{expression}}}' follows another variable directly: separate them with literal text"
                        ));
                    }
                    if parts
                        .iter()
                        .any(|p| matches!(p, Part::Var(other, _) if other == name))
                    {
                        return Err(format!("variable '{name}' appears twice"));
                    }
                    parts.push(Part::Var(name.to_owned(), reserved));
                    rest = &rest[close + 1..];
                }
            }
        }
        if !parts.iter().any(|p| matches!(p, Part::Var(..))) {
            return Err("a resource template needs at least one {variable}".into());
        }
        Ok(Self { parts })
    }

    /// The variable names, in order.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(name, _) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// The values of the variables if `uri` matches the template (percent-decoded; every
    /// value non-empty), else `None`.
    pub fn matches(&self, uri: &str) -> Option<Map<String, Value>> {
        let mut values = Map::new();
        match_parts(&self.parts, uri, &mut values).then_some(values)
    }
}

fn match_parts(parts: &[Part], uri: &str, values: &mut Map<String, Value>) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return uri.is_empty();
    };
    match first {
        Part::Literal(literal) => uri
            .strip_prefix(literal.as_str())
            .is_some_and(|tail| match_parts(rest, tail, values)),
        Part::Var(name, reserved) => {
            // The longest run of allowed characters bounds the value; try every end, shortest
            // first, until the rest of the template matches.
            let limit = uri
                .find(|c: char| c == '?' || c == '#' || (!*reserved && c == '/'))
                .unwrap_or(uri.len());
            for end in (1..=limit).filter(|&end| uri.is_char_boundary(end)) {
                let Ok(value) = percent_decode_str(&uri[..end]).decode_utf8() else {
                    // A cut through an encoded character: a longer value may still decode.
                    continue;
                };
                if match_parts(rest, &uri[end..], values) {
                    values.insert(name.clone(), Value::String(value.into_owned()));
                    return true;
                }
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn simple_variables_match_one_segment() {
        let t = UriTemplate::parse("crm://customers/{customer_id}/notes/{note}").unwrap();
        assert_eq!(t.vars().collect::<Vec<_>>(), ["customer_id", "note"]);
        assert_eq!(
            Value::Object(t.matches("crm://customers/CUST-1/notes/7").unwrap()),
            json!({ "customer_id": "CUST-1", "note": "7" })
        );
        assert_eq!(t.matches("crm://customers/a/b/notes/7"), None);
        assert_eq!(t.matches("crm://customers//notes/7"), None);
        assert_eq!(t.matches("crm://customers/x/notes/7/more"), None);
        assert_eq!(t.matches("crm://other/x/notes/7"), None);
    }

    #[test]
    fn values_are_percent_decoded_and_reserved_variables_span_slashes() {
        let t = UriTemplate::parse("docs://{+path}").unwrap();
        assert_eq!(
            Value::Object(t.matches("docs://a/b%20c.md").unwrap()),
            json!({ "path": "a/b c.md" })
        );
        let t = UriTemplate::parse("file:///{dir}/{name}.json").unwrap();
        assert_eq!(
            Value::Object(t.matches("file:///etc/a.b.json").unwrap()),
            json!({ "dir": "etc", "name": "a.b" })
        );
    }

    #[test]
    fn unsupported_templates_are_refused() {
        for bad in [
            "x://{a}{b}",
            "x://{?q}",
            "x://{a",
            "x://a}",
            "x://plain",
            "x://{a}/{a}",
            "x://{}",
        ] {
            assert!(UriTemplate::parse(bad).is_err(), "{bad}");
        }
    }
}
