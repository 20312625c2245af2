//! Templates: Handlebars syntax restricted to plain `{{args.x}}` / `{{caller.org}}` paths.
//!
//! Templates are parsed with the `handlebars` crate's own parser, then checked so that only raw
//! text and plain path expressions remain: no helpers, partials, blocks or triple-stash. The
//! gateway then substitutes values itself, because each place a value lands needs its own
//! encoding (a path segment, a query value, a header, a JSON string) applied to the value alone,
//! never to the literal text around it, and some values must be refused (a `..` path segment).
//! This is Handlebars with HTML escaping off and strict lookups: a reference the input schema
//! does not declare is a load error, and an absent optional value leaves its entry out.

use crate::caller::Caller;
use handlebars::template::{Parameter, Template as HbTemplate, TemplateElement};
use serde_json::Value;
use std::borrow::Cow;

/// Where a template variable is looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Root {
    /// `args.*`: the validated tool arguments.
    Args,
    /// `caller.*`: the authenticated caller (`id`, `org`, `tier`, `claims.*`).
    Caller,
    /// `answer.*`: the JSON body of a long-running operation's first answer (only in the
    /// URLs of `operation:`).
    Answer,
}

/// A reference such as `args.customer.id`: a root and the path below it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarRef {
    /// The root object.
    pub root: Root,
    /// Keys below the root; never empty for `args`.
    pub path: Vec<String>,
}

impl VarRef {
    /// The reference as written, e.g. `args.customer_id`.
    pub fn display(&self) -> String {
        let root = match self.root {
            Root::Args => "args",
            Root::Caller => "caller",
            Root::Answer => "answer",
        };
        std::iter::once(root)
            .chain(self.path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// One piece of a template.
#[derive(Clone, Debug)]
enum Part {
    Literal(String),
    Var(VarRef),
}

/// A compiled template.
#[derive(Clone, Debug)]
pub struct Template {
    parts: Vec<Part>,
    /// The template as written (after `${VAR}` substitution).
    source: String,
    /// Whether it holds a value from the environment (a secret, shown as `***`).
    secret: bool,
}

/// What a template's values are looked up in.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The validated arguments (a JSON object).
    pub args: &'a Value,
    /// Who is calling.
    pub caller: &'a Caller,
    /// The first answer of a long-running operation (`null` everywhere else).
    pub answer: &'a Value,
}

/// The `answer` of a context that has none.
pub static NO_ANSWER: Value = Value::Null;

impl<'a> Context<'a> {
    /// The value a reference points at, or `None` when it is absent (or JSON `null`).
    pub fn lookup(&self, var: &VarRef) -> Option<Cow<'a, Value>> {
        let found = match var.root {
            Root::Args | Root::Answer => {
                let mut node = if var.root == Root::Args {
                    self.args
                } else {
                    self.answer
                };
                for key in &var.path {
                    node = node.get(key)?;
                }
                Cow::Borrowed(node)
            }
            Root::Caller => Cow::Owned(self.caller.field(&var.path)?),
        };
        (!found.is_null()).then_some(found)
    }
}

/// Writes a value as text: strings as they are, other JSON as its compact JSON text.
pub fn value_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        // Through serde_json's writer, not `Display`, which goes through `fmt` per token.
        other => Cow::Owned(serde_json::to_string(other).unwrap_or_default()),
    }
}

impl Template {
    /// Parses and checks a template; the error says what is not allowed.
    pub fn parse(source: &str) -> Result<Self, String> {
        if !source.contains("{{") {
            return Ok(Self {
                parts: vec![Part::Literal(source.to_owned())],
                source: source.to_owned(),
                secret: false,
            });
        }
        if let Some(parts) = plain_parts(source) {
            return Ok(Self {
                parts: parts?,
                source: source.to_owned(),
                secret: false,
            });
        }
        Self::parse_with_handlebars(source)
    }

    /// The full parse through the `handlebars` crate's parser, for every template that
    /// [`plain_parts`] does not recognise.
    fn parse_with_handlebars(source: &str) -> Result<Self, String> {
        let compiled = HbTemplate::compile(source).map_err(|e| format!("template syntax: {e}"))?;
        let mut parts = Vec::new();
        for element in compiled.elements {
            match element {
                TemplateElement::RawString(text) => parts.push(Part::Literal(text)),
                TemplateElement::Comment(_) => {}
                TemplateElement::Expression(expr) => {
                    if !expr.params.is_empty() || !expr.hash.is_empty() {
                        return Err(
                            "helpers are not allowed in templates: use a plain {{args.name}}"
                                .into(),
                        );
                    }
                    let raw = match &expr.name {
                        Parameter::Name(_) | Parameter::Path(_) => expr.name.as_name(),
                        _ => None,
                    };
                    let raw = raw.ok_or("only plain {{path}} expressions are allowed")?;
                    parts.push(Part::Var(parse_var(raw)?));
                }
                TemplateElement::HtmlExpression(_) => {
                    return Err("triple-stash {{{...}}} is not allowed: values are never HTML-escaped, use {{...}}".into());
                }
                _ => {
                    return Err(
                        "only plain {{path}} expressions are allowed (no blocks, partials or decorators)"
                            .into(),
                    );
                }
            }
        }
        Ok(Self {
            parts,
            source: source.to_owned(),
            secret: false,
        })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Marks the template as holding a secret from the environment.
    pub fn mark_secret(mut self) -> Self {
        self.secret = true;
        self
    }

    /// Whether the template holds a secret from the environment: its rendered value is shown
    /// as `***` by `toolgate render` and the admin endpoints.
    pub fn is_secret(&self) -> bool {
        self.secret
    }

    /// Every variable the template references.
    pub fn vars(&self) -> impl Iterator<Item = &VarRef> {
        self.parts.iter().filter_map(|part| match part {
            Part::Var(var) => Some(var),
            Part::Literal(_) => None,
        })
    }

    /// The variable, when the template is exactly one `{{...}}` and nothing else.
    pub fn single_var(&self) -> Option<&VarRef> {
        match self.parts.as_slice() {
            [Part::Var(var)] => Some(var),
            _ => None,
        }
    }

    /// The text, when the template has no variables.
    pub fn as_literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Literal(text)] => Some(text),
            [] => Some(""),
            _ => None,
        }
    }

    /// Renders the template; each value goes through `encode`, literal text is kept as is.
    ///
    /// Returns `Ok(None)` when a referenced value is absent, so that the caller can leave the
    /// entry out. `encode` may refuse a value with an error message.
    pub fn render(
        &self,
        ctx: &Context<'_>,
        encode: impl Fn(&str, &mut String) -> Result<(), String>,
    ) -> Result<Option<String>, (VarRef, String)> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Var(var) => {
                    let Some(value) = ctx.lookup(var) else {
                        return Ok(None);
                    };
                    encode(&value_text(&value), &mut out).map_err(|msg| (var.clone(), msg))?;
                }
            }
        }
        Ok(Some(out))
    }
}

/// Parses `args.a.b` / `caller.org` into a [`VarRef`].
/// The parts of a template made only of literal text and `{{root.path}}` expressions with no
/// spaces, escapes or other Handlebars syntax: what nearly every template is, and what
/// Handlebars itself reads as raw strings and plain paths. Anything else (`{{{`, `\{{`,
/// `{{#`, `{{~`, a space inside the braces, a lone `{{`) is `None`, for the full parser.
/// Parsing tens of thousands of tools' templates this way skips the Handlebars grammar, which
/// dominated `toolgate check` on large configs.
fn plain_parts(source: &str) -> Option<Result<Vec<Part>, String>> {
    let mut parts = Vec::new();
    let mut rest = source;
    while let Some(open) = rest.find("{{") {
        let (literal, after) = rest.split_at(open);
        if literal.ends_with('\\') || literal.contains("}}") {
            return None;
        }
        let inner = &after[2..];
        let close = inner.find("}}")?;
        let name = &inner[..close];
        let plain = name.contains('.')
            && (name.starts_with("args.") || name.starts_with("caller."))
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !plain || inner[close + 2..].starts_with('}') {
            return None;
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal.to_owned()));
        }
        match parse_var(name) {
            Ok(var) => parts.push(Part::Var(var)),
            Err(message) => return Some(Err(message)),
        }
        rest = &inner[close + 2..];
    }
    if rest.contains("}}") {
        // Handlebars has its own view of stray closing braces: let it decide.
        return None;
    }
    if !rest.is_empty() {
        parts.push(Part::Literal(rest.to_owned()));
    }
    Some(Ok(parts))
}

fn parse_var(raw: &str) -> Result<VarRef, String> {
    let mut segments = raw.split('.');
    let root = match segments.next() {
        Some("args") => Root::Args,
        Some("caller") => Root::Caller,
        Some("answer") => Root::Answer,
        _ => {
            return Err(format!(
                "unknown template variable '{raw}': use args.<name> or caller.id/org/tier/claims.<name>"
            ));
        }
    };
    let path: Vec<String> = segments.map(str::to_owned).collect();
    let valid = |s: &String| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if path.is_empty() || !path.iter().all(valid) {
        return Err(format!("invalid template variable '{raw}'"));
    }
    if root == Root::Caller {
        let ok = match path[0].as_str() {
            "id" | "org" | "tier" => path.len() == 1,
            "claims" => path.len() >= 2,
            _ => false,
        };
        if !ok {
            return Err(format!(
                "unknown caller field '{raw}': use caller.id, caller.org, caller.tier or caller.claims.<name>"
            ));
        }
    }
    Ok(VarRef { root, path })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The plain-template fast path reads templates exactly as Handlebars does.
    #[test]
    fn plain_templates_parse_as_handlebars_does() {
        for source in [
            "{{args.id}}",
            "/v1/items/{{args.id}}",
            "/v1/{{args.a}}{{args.b}}/x",
            "Bearer {{caller.claims.sub}} for {{caller.org}}",
            "{ \"a\": {{args.a}} }",
            "{{args.my-key}} and {{args.k_2}}",
            "{{args.nope-}}",
            "{{caller.name}}",
        ] {
            let fast = plain_parts(source).expect("taken by the fast path");
            let slow = Template::parse_with_handlebars(source).map(|t| t.parts);
            assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{source}");
        }
        for source in [
            "{{ args.id }}",
            "{{{args.id}}}",
            "\\{{args.id}}",
            "{{#if args.x}}y{{/if}}",
            "{{~args.id}}",
            "{{args.id}",
            "a }} {{args.id}}",
            "{{args.id}} }}",
            "{{lookup args 'x'}}",
        ] {
            assert!(plain_parts(source).is_none(), "{source}");
        }
    }

    fn render(source: &str, args: Value) -> Option<String> {
        let caller = Caller::anonymous("standard");
        let ctx = Context {
            args: &args,
            caller: &caller,
            answer: &NO_ANSWER,
        };
        Template::parse(source)
            .unwrap()
            .render(&ctx, |v, out| {
                out.push_str(v);
                Ok(())
            })
            .unwrap()
    }

    #[test]
    fn substitutes_plain_paths_without_html_escaping() {
        let args = json!({"name": "<a & b>", "n": 3, "o": {"k": true}});
        assert_eq!(
            render("x {{args.name}} {{args.n}} {{args.o.k}}", args).as_deref(),
            Some("x <a & b> 3 true")
        );
        assert_eq!(
            render("{{caller.id}}/{{caller.tier}}", json!({})).as_deref(),
            Some("anonymous/standard")
        );
    }

    #[test]
    fn absent_values_leave_the_entry_out() {
        assert_eq!(render("a={{args.missing}}", json!({})), None);
        assert_eq!(render("a={{args.n}}", json!({"n": null})), None);
    }

    #[test]
    fn refuses_anything_but_plain_paths() {
        for bad in [
            "{{#if args.x}}y{{/if}}",
            "{{{args.x}}}",
            "{{> partial}}",
            "{{lookup args 'x'}}",
            "{{env.HOME}}",
            "{{caller.password}}",
            "{{args}}",
            "{{this}}",
            "{{@root.args.x}}",
            "{{args.x",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn knows_single_variables_and_literals() {
        let t = Template::parse("{{args.x}}").unwrap();
        assert_eq!(t.single_var().unwrap().display(), "args.x");
        assert_eq!(
            Template::parse("plain").unwrap().as_literal(),
            Some("plain")
        );
        assert!(
            Template::parse("a{{args.x}}")
                .unwrap()
                .single_var()
                .is_none()
        );
    }
}
