//! `${VAR}` and `${VAR:-default}` substitution in config strings.

/// Looks up an environment variable; tests and the demo pass their own.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Replaces every `${VAR}` / `${VAR:-default}` in `text`.
///
/// `$$` stands for a literal `$`. Returns the names of variables that are unset and have no
/// default, so that a caller can report all of them at once.
pub fn interpolate(text: &str, env: EnvLookup<'_>) -> Result<String, Vec<String>> {
    if !text.contains('$') {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut missing = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner_and_tail) = after.strip_prefix('{') {
            let Some(end) = inner_and_tail.find('}') else {
                out.push_str(&rest[at..]);
                rest = "";
                break;
            };
            let inner = &inner_and_tail[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (inner, None),
            };
            match (
                env(name).filter(|v| !v.is_empty() || default.is_none()),
                default,
            ) {
                (Some(value), _) => out.push_str(&value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => missing.push(name.to_owned()),
            }
            rest = &inner_and_tail[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "SET" => Some("value".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_variables_and_defaults() {
        assert_eq!(interpolate("a ${SET} b", &env).unwrap(), "a value b");
        assert_eq!(interpolate("${NOPE:-x:y}", &env).unwrap(), "x:y");
        assert_eq!(interpolate("${EMPTY:-fallback}", &env).unwrap(), "fallback");
        assert_eq!(interpolate("${EMPTY}", &env).unwrap(), "");
        assert_eq!(interpolate("cost $$5 $x", &env).unwrap(), "cost $5 $x");
    }

    #[test]
    fn reports_every_missing_variable() {
        assert_eq!(
            interpolate("${A}/${SET}/${B}", &env).unwrap_err(),
            vec!["A".to_string(), "B".to_string()]
        );
    }
}
