//! Template parameters: their declarations, their JSON Schema, and validation with a 400 that
//! names the offending field (`parameters.<name>`).

use serde_json::{Map, Value, json};

use crate::common::ApiError;
use crate::common::time::parse_iso_date;

/// The shape of one parameter's value.
pub(crate) enum Kind {
    /// A string of `min..=max` characters.
    Text {
        /// Fewest characters.
        min: usize,
        /// Most characters.
        max: usize,
    },
    /// An e-mail address.
    Email,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// An identifier: `prefix` then exactly `digits` ASCII digits, e.g. `INV-000123`.
    Id {
        /// The fixed start, e.g. `INV-`.
        prefix: &'static str,
        /// How many digits follow.
        digits: usize,
    },
    /// One of these strings.
    Choice(&'static [&'static str]),
    /// An integer in `min..=max`.
    Integer {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
    },
    /// A number in `min..=max`.
    Number {
        /// Smallest value.
        min: f64,
        /// Largest value.
        max: f64,
    },
    /// `true` or `false`.
    Flag,
}

/// A default value, applied when the parameter is not given.
#[derive(Clone, Copy)]
pub(crate) enum DefaultValue {
    /// No default: absent stays absent.
    None,
    /// A string.
    Str(&'static str),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
}

/// One declared parameter of a template.
pub(crate) struct Param {
    /// The parameter's name.
    pub(crate) name: &'static str,
    /// What it means, for people and models.
    pub(crate) description: &'static str,
    /// Its type and constraints.
    pub(crate) kind: Kind,
    /// Whether it must be given.
    pub(crate) required: bool,
    /// Its default.
    pub(crate) default: DefaultValue,
}

impl DefaultValue {
    fn value(self) -> Option<Value> {
        match self {
            Self::None => None,
            Self::Str(s) => Some(s.into()),
            Self::Bool(b) => Some(b.into()),
            Self::Int(i) => Some(i.into()),
        }
    }
}

impl Param {
    /// The parameter as a JSON Schema property.
    fn schema(&self) -> Value {
        let mut schema = match &self.kind {
            Kind::Text { min, max } => {
                json!({ "type": "string", "minLength": min, "maxLength": max })
            }
            Kind::Email => json!({ "type": "string", "format": "email", "maxLength": 254 }),
            Kind::Date => json!({ "type": "string", "format": "date" }),
            Kind::Id { prefix, digits } => {
                json!({ "type": "string", "pattern": format!("^{prefix}[0-9]{{{digits}}}$") })
            }
            Kind::Choice(options) => json!({ "type": "string", "enum": options }),
            Kind::Integer { min, max } => {
                json!({ "type": "integer", "minimum": min, "maximum": max })
            }
            Kind::Number { min, max } => {
                json!({ "type": "number", "minimum": min, "maximum": max })
            }
            Kind::Flag => json!({ "type": "boolean" }),
        };
        if let Some(obj) = schema.as_object_mut() {
            obj.insert("description".into(), self.description.into());
            if let Some(default) = self.default.value() {
                obj.insert("default".into(), default);
            }
        }
        schema
    }

    /// Checks one given value; the error names `parameters.<name>`.
    fn check(&self, value: &Value) -> Result<(), ApiError> {
        let field = format!("parameters.{}", self.name);
        let fail = |message: String| Err(ApiError::invalid(field.clone(), message));
        let name = self.name;
        match (&self.kind, value) {
            (Kind::Text { min, max }, Value::String(s)) => {
                let n = s.trim().chars().count();
                if n < *min || s.chars().count() > *max {
                    return fail(format!("{name} must be {min} to {max} characters long"));
                }
            }
            (Kind::Email, Value::String(s)) => {
                if !looks_like_email(s) {
                    return fail(format!(
                        "{name} must be an e-mail address like ops@example.com"
                    ));
                }
            }
            (Kind::Date, Value::String(s)) => {
                if parse_iso_date(s).is_none() {
                    return fail(format!("{name} must be a date written YYYY-MM-DD"));
                }
            }
            (Kind::Id { prefix, digits }, Value::String(s)) => {
                let ok = s
                    .strip_prefix(prefix)
                    .is_some_and(|d| d.len() == *digits && d.bytes().all(|b| b.is_ascii_digit()));
                if !ok {
                    let example = format!("{prefix}{}", "0".repeat(digits.saturating_sub(1)) + "7");
                    return fail(format!(
                        "{name} must be {prefix} followed by {digits} digits, e.g. {example}"
                    ));
                }
            }
            (Kind::Choice(options), Value::String(s)) => {
                if !options.contains(&s.as_str()) {
                    return fail(format!("{name} must be one of: {}", options.join(", ")));
                }
            }
            (Kind::Integer { min, max }, Value::Number(n)) => {
                if !n.as_i64().is_some_and(|i| (*min..=*max).contains(&i)) {
                    return fail(format!("{name} must be an integer from {min} to {max}"));
                }
            }
            (Kind::Number { min, max }, Value::Number(n)) => {
                if !n.as_f64().is_some_and(|x| x >= *min && x <= *max) {
                    return fail(format!("{name} must be a number from {min} to {max}"));
                }
            }
            (Kind::Flag, Value::Bool(_)) => {}
            (kind, _) => return fail(format!("{name} must be {}", kind_name(kind))),
        }
        Ok(())
    }
}

/// "a string", "an integer", … for messages.
fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Text { .. } | Kind::Email | Kind::Date | Kind::Id { .. } | Kind::Choice(_) => {
            "a string"
        }
        Kind::Integer { .. } => "an integer",
        Kind::Number { .. } => "a number",
        Kind::Flag => "true or false",
    }
}

/// A plausible e-mail address: one `@`, a non-empty local part, a dotted domain, no spaces.
fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The JSON Schema of a parameter list.
pub(crate) fn schema(params: &[Param]) -> Value {
    let properties: Map<String, Value> = params
        .iter()
        .map(|p| (p.name.to_owned(), p.schema()))
        .collect();
    let required: Vec<&str> = params
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name)
        .collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// Validates `given` against `params` and returns it with defaults filled in.
pub(crate) fn validate(params: &[Param], given: &Value) -> Result<Map<String, Value>, ApiError> {
    let Value::Object(given) = given else {
        return Err(ApiError::invalid(
            "parameters",
            "parameters must be a JSON object",
        ));
    };
    if let Some(unknown) = given.keys().find(|k| !params.iter().any(|p| p.name == *k)) {
        let known: Vec<&str> = params.iter().map(|p| p.name).collect();
        return Err(ApiError::invalid(
            format!("parameters.{unknown}"),
            format!(
                "unknown parameter {unknown:?}; this template takes: {}",
                known.join(", ")
            ),
        ));
    }
    let mut out = Map::new();
    for param in params {
        match given.get(param.name) {
            Some(Value::Null) | None => {
                if param.required {
                    return Err(ApiError::invalid(
                        format!("parameters.{}", param.name),
                        format!("{} is required", param.name),
                    ));
                }
                if let Some(default) = param.default.value() {
                    out.insert(param.name.to_owned(), default);
                }
            }
            Some(value) => {
                param.check(value)?;
                out.insert(param.name.to_owned(), value.clone());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: [Param; 3] = [
        Param {
            name: "invoice_id",
            description: "Invoice.",
            kind: Kind::Id {
                prefix: "INV-",
                digits: 6,
            },
            required: true,
            default: DefaultValue::None,
        },
        Param {
            name: "email",
            description: "Mail.",
            kind: Kind::Email,
            required: false,
            default: DefaultValue::None,
        },
        Param {
            name: "urgent",
            description: "Hurry.",
            kind: Kind::Flag,
            required: false,
            default: DefaultValue::Bool(false),
        },
    ];

    fn field(given: Value) -> Option<String> {
        validate(&PARAMS, &given).err().map(|e| e.to_string())
    }

    #[test]
    fn validation_names_the_field_and_fills_defaults() {
        let ok = validate(&PARAMS, &json!({ "invoice_id": "INV-000123" })).expect("valid");
        assert_eq!(ok.get("urgent"), Some(&json!(false)));
        assert!(field(json!({})).is_some());
        assert!(field(json!({ "invoice_id": "INV-123" })).is_some());
        assert!(field(json!({ "invoice_id": "INV-000123", "email": "nope" })).is_some());
        assert!(field(json!({ "invoice_id": "INV-000123", "urgent": "yes" })).is_some());
        assert!(field(json!({ "invoice_id": "INV-000123", "extra": 1 })).is_some());
        assert!(field(json!([1])).is_some());
        assert!(looks_like_email("a.b@c.io"));
        for bad in ["a@b", "@b.io", "a b@c.io", "a@@b.io", "a@.io"] {
            assert!(!looks_like_email(bad), "{bad}");
        }
        let schema = schema(&PARAMS);
        assert_eq!(schema["required"], json!(["invoice_id"]));
        assert_eq!(
            schema["properties"]["invoice_id"]["pattern"],
            "^INV-[0-9]{6}$"
        );
    }
}
