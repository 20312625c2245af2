//! A tool's input schema as an HTML form: one labelled control per property (required ones
//! marked), enums as selects, numbers and integers as number inputs, booleans as checkboxes,
//! nested objects as fieldsets, anything else (arrays, free-form values) as a JSON text area.
//! The console script reads the controls back into arguments by their `data-path`.

use super::html::escape;
use serde_json::Value;
use std::fmt::Write;

/// Deeper objects are edited as JSON.
const MAX_DEPTH: usize = 6;

/// The form controls for an object schema (the tool's `input_schema`).
pub(super) fn fields(schema: &Value) -> String {
    let mut form = Form::default();
    form.object_members(schema, &[], 0);
    if form.out.is_empty() {
        form.out
            .push_str("<p class=\"hint\">This tool takes no arguments.</p>");
    }
    form.out
}

#[derive(Default)]
struct Form {
    out: String,
    next_id: usize,
}

/// How the script turns a control's value into JSON.
#[derive(Clone, Copy)]
enum Kind {
    String,
    Integer,
    Number,
    Boolean,
    /// The value is JSON text (enums of non-strings, arrays, free-form values).
    Json,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Json => "json",
        }
    }
}

/// The first non-null `type` of a schema.
fn type_of(schema: &Value) -> Option<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => Some(t.as_str()),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null"),
        _ => None,
    }
}

impl Form {
    fn object_members(&mut self, schema: &Value, path: &[String], depth: usize) {
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            return;
        };
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (name, property) in properties {
            let mut inner = path.to_vec();
            inner.push(name.clone());
            self.property(property, &inner, required.contains(&name.as_str()), depth);
        }
    }

    fn property(&mut self, schema: &Value, path: &[String], required: bool, depth: usize) {
        let name = path.last().map_or("", String::as_str);
        if type_of(schema) == Some("object")
            && schema.get("properties").is_some()
            && depth < MAX_DEPTH
        {
            let _ = write!(
                self.out,
                "<fieldset class=\"nested\" data-object=\"{path}\"{req}><legend>{name}{mark}</legend>",
                path = escape(&path_json(path)),
                req = if required { " data-required" } else { "" },
                name = escape(name),
                mark = required_mark(required),
            );
            if let Some(description) = schema.get("description").and_then(Value::as_str) {
                let _ = write!(self.out, "<p class=\"hint\">{}</p>", escape(description));
            }
            self.object_members(schema, path, depth + 1);
            self.out.push_str("</fieldset>");
            return;
        }
        self.next_id += 1;
        let id = format!("arg-{}", self.next_id);
        let (control, kind, type_note) = control(schema, &id, required);
        let mut hint = schema
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if !type_note.is_empty() {
            if !hint.is_empty() {
                hint.push_str(" · ");
            }
            hint.push_str(&type_note);
        }
        let described = if hint.is_empty() {
            String::new()
        } else {
            format!(" aria-describedby=\"{id}-hint\"")
        };
        let checkbox = matches!(kind, Kind::Boolean);
        let _ = write!(
            self.out,
            "<div class=\"field{cls}\">{label_first}{control_html}{label_after}{hint}</div>",
            cls = if checkbox { " check" } else { "" },
            label_first = if checkbox {
                String::new()
            } else {
                label(&id, name, required)
            },
            control_html = control.replace(
                "data-kind",
                &format!(
                    "data-path=\"{}\"{described} data-kind",
                    escape(&path_json(path))
                )
            ),
            label_after = if checkbox {
                label(&id, name, required)
            } else {
                String::new()
            },
            hint = if hint.is_empty() {
                String::new()
            } else {
                format!("<p class=\"hint\" id=\"{id}-hint\">{}</p>", escape(&hint))
            },
        );
    }
}

fn required_mark(required: bool) -> &'static str {
    if required {
        " <span class=\"req\">(required)</span>"
    } else {
        ""
    }
}

fn label(id: &str, name: &str, required: bool) -> String {
    format!(
        "<label for=\"{id}\">{}{}</label>",
        escape(name),
        required_mark(required)
    )
}

/// `["a","b"]`: the property's place in the arguments.
fn path_json(path: &[String]) -> String {
    Value::Array(path.iter().cloned().map(Value::String).collect()).to_string()
}

/// The control for a leaf property: `(html, kind, type note)`. The HTML carries a
/// `data-kind` attribute where the caller adds `data-path`.
fn control(schema: &Value, id: &str, required: bool) -> (String, Kind, String) {
    let req = if required { " required" } else { "" };
    let default = schema.get("default");
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        let strings = options.iter().all(Value::is_string);
        let kind = if strings { Kind::String } else { Kind::Json };
        let mut html = format!("<select id=\"{id}\" data-kind=\"{}\"{req}>", kind.as_str());
        if !required || default.is_none() {
            html.push_str("<option value=\"\">(not set)</option>");
        }
        for option in options {
            let value = match option {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let selected = if default == Some(option) {
                " selected"
            } else {
                ""
            };
            let _ = write!(
                html,
                "<option value=\"{v}\"{selected}>{v}</option>",
                v = escape(&value)
            );
        }
        html.push_str("</select>");
        return (html, kind, "one of the listed values".into());
    }
    let default_attr = |text: String| format!(" value=\"{}\"", escape(&text));
    match type_of(schema) {
        Some("string") => {
            let mut attrs = String::new();
            if let Some(n) = schema.get("minLength").and_then(Value::as_u64) {
                let _ = write!(attrs, " minlength=\"{n}\"");
            }
            if let Some(n) = schema.get("maxLength").and_then(Value::as_u64) {
                let _ = write!(attrs, " maxlength=\"{n}\"");
            }
            if let Some(Value::String(d)) = default {
                attrs.push_str(&default_attr(d.clone()));
            }
            let note = schema
                .get("format")
                .and_then(Value::as_str)
                .map_or_else(|| "text".to_owned(), |f| format!("text ({f})"));
            (
                format!("<input id=\"{id}\" type=\"text\" data-kind=\"string\"{attrs}{req}>"),
                Kind::String,
                note,
            )
        }
        Some(t @ ("integer" | "number")) => {
            let integer = t == "integer";
            let mut attrs = format!(" step=\"{}\"", if integer { "1" } else { "any" });
            if let Some(n) = schema.get("minimum").filter(|v| v.is_number()) {
                let _ = write!(attrs, " min=\"{n}\"");
            }
            if let Some(n) = schema.get("maximum").filter(|v| v.is_number()) {
                let _ = write!(attrs, " max=\"{n}\"");
            }
            if let Some(d) = default.filter(|v| v.is_number()) {
                attrs.push_str(&default_attr(d.to_string()));
            }
            let kind = if integer { Kind::Integer } else { Kind::Number };
            (
                format!(
                    "<input id=\"{id}\" type=\"number\" inputmode=\"{mode}\" data-kind=\"{k}\"{attrs}{req}>",
                    mode = if integer { "numeric" } else { "decimal" },
                    k = kind.as_str()
                ),
                kind,
                t.to_owned(),
            )
        }
        Some("boolean") => {
            let checked = if default == Some(&Value::Bool(true)) {
                " checked"
            } else {
                ""
            };
            let note = if required {
                "unchecked sends false"
            } else {
                "unchecked leaves it out"
            };
            (
                format!(
                    "<input id=\"{id}\" type=\"checkbox\" data-kind=\"boolean\"{}{checked}>",
                    if required { " data-required" } else { "" }
                ),
                Kind::Boolean,
                note.into(),
            )
        }
        other => {
            let note = match other {
                Some("array") => "JSON array, e.g. [\"a\", \"b\"]".to_owned(),
                _ => "JSON value".to_owned(),
            };
            let text = default.map(Value::to_string).unwrap_or_default();
            (
                format!(
                    "<textarea id=\"{id}\" rows=\"3\" spellcheck=\"false\" data-kind=\"json\"{req}>{}</textarea>",
                    escape(&text)
                ),
                Kind::Json,
                note,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_of_property_gets_a_labelled_control() {
        let html = fields(&json!({
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": { "type": "string", "description": "The <id>" },
                "status": { "type": "string", "enum": ["open", "closed"] },
                "limit": { "type": "integer", "minimum": 1 },
                "active": { "type": "boolean" },
                "tags": { "type": "array", "items": { "type": "string" } },
                "address": { "type": "object", "properties": { "city": { "type": "string" } } }
            }
        }));
        assert!(html.contains(">id <span class=\"req\">(required)</span></label>"));
        assert!(html.contains("The &lt;id&gt;"));
        assert!(html.contains("<option value=\"closed\">closed</option>"));
        assert!(html.contains("type=\"number\""));
        assert!(html.contains("type=\"checkbox\""));
        assert!(html.contains("<textarea"));
        assert!(html.contains("<legend>address</legend>"));
        assert!(html.contains("data-path=\"[&quot;address&quot;,&quot;city&quot;]\""));
    }
}
