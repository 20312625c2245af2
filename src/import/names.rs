//! Names: tool names, argument names, upstream names and environment variable names.

use std::collections::HashSet;

/// Longest tool name toolgate accepts.
pub const MAX_TOOL_NAME: usize = 128;

/// `snake_case` of any text: words split at non-alphanumerics and camelCase humps, lower-cased,
/// joined with `_`. Only ASCII letters and digits survive. `listPets` → `list_pets`,
/// `getHTTPStatus` → `get_http_status`, `GET /pets/{petId}` → `get_pets_pet_id`.
pub fn snake_case(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            continue;
        }
        if c.is_ascii_uppercase() && !word.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                words.push(std::mem::take(&mut word));
            }
        }
        word.push(c.to_ascii_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words.join("_")
}

/// Whether `name` can be used as is in `{{args.name}}`.
fn plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An argument name for a parameter or property: the name itself when it is a plain
/// identifier, else its snake_case (prefixed with `_` when it would start with a digit).
pub fn argument(name: &str) -> String {
    if plain_identifier(name) {
        return name.to_owned();
    }
    let snake = snake_case(name);
    if snake.is_empty() {
        "arg".into()
    } else if snake.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{snake}")
    } else {
        snake
    }
}

/// A tool name from `base`, at most [`MAX_TOOL_NAME`] characters, not yet in `taken` (a
/// numeric suffix makes it unique); it is added to `taken`.
pub fn unique_tool_name(base: &str, taken: &mut HashSet<String>) -> String {
    let base = if base.is_empty() { "operation" } else { base };
    let mut n = 1;
    loop {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!("_{n}")
        };
        let keep = MAX_TOOL_NAME - suffix.len();
        let stem = &base[..base.len().min(keep)];
        let candidate = format!("{}{suffix}", stem.trim_end_matches('_'));
        if taken.insert(candidate.clone()) {
            return candidate;
        }
        n += 1;
    }
}

/// The environment variable that overrides an upstream's base URL: `PETSTORE_BASE_URL`.
pub fn base_url_variable(upstream: &str) -> String {
    env_prefix(upstream) + "_BASE_URL"
}

/// An environment variable prefix for an upstream: upper case, `_` for anything else.
pub fn env_prefix(upstream: &str) -> String {
    let prefix: String = upstream
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if prefix.starts_with(|c: char| c.is_ascii_digit()) {
        format!("API_{prefix}")
    } else {
        prefix
    }
}

/// Whether an upstream name is usable (it also names environment variables and metrics).
pub fn valid_upstream(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_cases() {
        for (input, expected) in [
            ("listPets", "list_pets"),
            ("showPetById", "show_pet_by_id"),
            ("getHTTPStatus", "get_http_status"),
            ("GET /pets/{petId}", "get_pets_pet_id"),
            ("get-v2Users", "get_v2_users"),
            ("X-Request-ID", "x_request_id"),
            ("page[size]", "page_size"),
            ("Swagger Petstore", "swagger_petstore"),
            ("already_snake", "already_snake"),
            ("ÄÖ", ""),
        ] {
            assert_eq!(snake_case(input), expected, "{input}");
        }
    }

    #[test]
    fn arguments_and_unique_names() {
        assert_eq!(argument("petId"), "petId");
        assert_eq!(argument("page[size]"), "page_size");
        assert_eq!(argument("2fa"), "_2fa");
        assert_eq!(argument("$"), "arg");
        let mut taken = HashSet::new();
        assert_eq!(unique_tool_name("a", &mut taken), "a");
        assert_eq!(unique_tool_name("a", &mut taken), "a_2");
        let long = "x".repeat(200);
        let first = unique_tool_name(&long, &mut taken);
        let second = unique_tool_name(&long, &mut taken);
        assert_eq!(first.len(), MAX_TOOL_NAME);
        assert_eq!(second.len(), MAX_TOOL_NAME);
        assert!(second.ends_with("_2"));
        assert_eq!(
            base_url_variable("swagger_petstore"),
            "SWAGGER_PETSTORE_BASE_URL"
        );
    }
}
