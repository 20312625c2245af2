//! Reading config files: the main file, then every file its `include:` globs match.

use super::model::ConfigFile;
use super::{ConfigError, EnvLookup, Problem};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// One parsed file.
pub struct Source {
    /// The file's name in problem locations.
    pub name: String,
    /// Where it was read from (`None` for text given directly).
    pub path: Option<PathBuf>,
    /// Its raw text (for the config version hash).
    pub text: String,
    /// Its parsed content.
    pub file: ConfigFile,
}

/// Reads `path` and its includes. Syntax problems of every file are collected.
pub fn read_all(path: &Path, env: EnvLookup<'_>) -> Result<Vec<Source>, ConfigError> {
    let mut problems = Vec::new();
    let main = match read_one(path) {
        Ok(source) => source,
        Err(problem) => {
            return Err(ConfigError {
                problems: vec![problem],
            });
        }
    };
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut sources = Vec::new();
    // Every file is read once: a glob that also matches the main file (`*.yaml` next to it),
    // or two patterns matching the same file, must not load it again (its tools would be
    // "defined twice", the main file would be refused as an included file).
    let mut seen = HashSet::from([canonical(path)]);
    let mut to_read = Vec::new();
    for pattern in &main.file.include {
        let at = |message: String| Problem {
            file: main.name.clone(),
            line: pattern.referenced.line(),
            column: pattern.referenced.column(),
            message,
        };
        let pattern_text = match super::env::interpolate(&pattern.value, env) {
            Ok(text) => text,
            Err(missing) => {
                problems.push(at(format!(
                    "environment variable {} is not set",
                    missing.join(", ")
                )));
                continue;
            }
        };
        let full = base_dir.join(&pattern_text);
        let matches = match glob::glob(&full.to_string_lossy()) {
            Ok(paths) => paths.filter_map(Result::ok).collect::<Vec<_>>(),
            Err(e) => {
                problems.push(at(format!("invalid include pattern: {e}")));
                continue;
            }
        };
        if matches.is_empty() {
            problems.push(at(format!("include '{pattern_text}' matches no file")));
        }
        let mut matches = matches;
        matches.sort();
        to_read.extend(matches.into_iter().filter(|m| seen.insert(canonical(m))));
    }
    for read in read_in_parallel(&to_read) {
        match read {
            Ok(source) => {
                problems.extend(main_only_sections(&source));
                sources.push(source);
            }
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError { problems });
    }
    sources.insert(0, main);
    Ok(sources)
}

/// Reads and parses `paths` on up to one thread per core, in their order. Parsing YAML is
/// most of the time a large config takes to load (about 80 % of `check` on 10,000 tools in
/// 11 files), and the files are independent.
fn read_in_parallel(paths: &[PathBuf]) -> Vec<Result<Source, Problem>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(paths.len());
    if threads <= 1 {
        return paths.iter().map(|path| read_one(path)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut read: Vec<(usize, Result<Source, Problem>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(path) = paths.get(index) else {
                            return done;
                        };
                        done.push((index, read_one(path)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                // A panic while parsing (a bug) goes on as if the file had been read here.
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    read.sort_by_key(|(index, _)| *index);
    read.into_iter().map(|(_, result)| result).collect()
}

/// The file's canonical path (symlinks resolved), to recognise a file matched twice.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// One problem per section of an included file that only the main file may hold, located at
/// the section itself (not at the top of the file) so that `check` points at the offending node.
fn main_only_sections(source: &Source) -> Vec<Problem> {
    let file = &source.file;
    [
        ("server", file.server.as_ref().map(|s| s.referenced)),
        ("include", file.include.first().map(|i| i.referenced)),
        ("auth", file.auth.as_ref().map(|s| s.referenced)),
        ("rate_limits", file.rate_limits.as_ref().map(|s| s.referenced)),
        ("admin", file.admin.as_ref().map(|s| s.referenced)),
        ("telemetry", file.telemetry.as_ref().map(|s| s.referenced)),
    ]
    .into_iter()
    .filter_map(|(section, at)| {
        at.map(|at| Problem {
            file: source.name.clone(),
            line: at.line(),
            column: at.column(),
            message: format!(
                "'{section}' is only allowed in the main file: an included file may only hold upstreams, tools and resources"
            ),
        })
    })
    .collect()
}

/// Parses config texts given directly, as `(name, text)`: the first is the main file, the
/// others play the part of included files. `include:` is not available here.
pub fn read_texts(files: &[(&str, &str)]) -> Result<Vec<Source>, ConfigError> {
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for (index, (name, text)) in files.iter().enumerate() {
        let source = match parse(name, None, (*text).to_owned()) {
            Ok(source) => source,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        if index > 0 {
            problems.extend(main_only_sections(&source));
        } else if let Some(first) = source.file.include.first() {
            problems.push(Problem {
                file: source.name.clone(),
                line: first.referenced.line(),
                column: first.referenced.column(),
                message: "include is only available when the config is read from a file".into(),
            });
        }
        sources.push(source);
    }
    if problems.is_empty() && !sources.is_empty() {
        Ok(sources)
    } else {
        Err(ConfigError { problems })
    }
}

fn read_one(path: &Path) -> Result<Source, Problem> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Problem {
        file: name.clone(),
        line: 0,
        column: 0,
        message: format!("cannot read the file: {e}"),
    })?;
    parse(&name, Some(path.to_path_buf()), text)
}

fn parse(name: &str, path: Option<PathBuf>, text: String) -> Result<Source, Problem> {
    let parsed: Result<Option<ConfigFile>, _> =
        serde_saphyr::from_str_with_options(&text, yaml_options());
    match parsed {
        Ok(file) => Ok(Source {
            name: name.to_owned(),
            path,
            file: file.unwrap_or_default(),
            text,
        }),
        Err(error) => {
            let location = error.location();
            Err(Problem {
                file: name.to_owned(),
                line: location.map_or(0, |l| l.line()),
                column: location.map_or(0, |l| l.column()),
                message: problem_message(&error, &text),
            })
        }
    }
}

/// The parser's options. YAML 1.2 booleans only: a property named `y`, `n`, `on` or `off`
/// stays a string. Budgets sized for large generated configs (tens of thousands of tools)
/// while still bounding what a hostile file can make the parser do.
fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_events = 20_000_000;
    budget.max_nodes = 10_000_000;
    budget.max_total_scalar_bytes = 256 * 1024 * 1024;
    serde_saphyr::options! { strict_booleans: true, budget: Some(budget) }
}

/// The top-level sections of a config file (those of [`ConfigFile`]).
const SECTIONS: [&str; 10] = [
    "server",
    "include",
    "upstreams",
    "tools",
    "resources",
    "resource_templates",
    "prompts",
    "auth",
    "rate_limits",
    "admin",
];

/// What to tell the user about a file that does not parse. A file that is valid YAML but not
/// a config the user wrote (no top-level section of a config: `/etc/passwd` matched by an
/// include glob, a certificate, an `.env` file) gets a message that says where, never what:
/// serde's messages quote values and keys. Syntax errors describe the token, not the text.
fn problem_message(error: &serde_saphyr::Error, text: &str) -> String {
    if let serde_saphyr::Error::MultipleDocuments { .. } = error.without_snippet() {
        return "this file has several YAML documents (---); put each config in its own file \
                (and include it) or remove the extra `---`"
            .to_owned();
    }
    let is_yaml =
        serde_saphyr::from_str_with_options::<serde::de::IgnoredAny>(text, yaml_options()).is_ok();
    if is_yaml && !looks_like_config(text) {
        return format!(
            "this file is not a toolgate config (a YAML mapping with {}); its content is not shown",
            SECTIONS.join(", ")
        );
    }
    yaml_message(error)
}

/// Whether the YAML text is a mapping with at least one config section at its top level.
fn looks_like_config(text: &str) -> bool {
    let top: Result<Option<std::collections::BTreeMap<String, serde::de::IgnoredAny>>, _> =
        serde_saphyr::from_str_with_options(text, yaml_options());
    top.ok()
        .flatten()
        .is_some_and(|map| map.keys().any(|key| SECTIONS.contains(&key.as_str())))
}

/// The error's message alone, without the snippet serde-saphyr can render.
fn yaml_message(error: &serde_saphyr::Error) -> String {
    let rendered = error.without_snippet().to_string();
    let first = rendered.lines().next().unwrap_or("invalid YAML").trim();
    // serde-saphyr appends " at line L column C"; the location is printed separately.
    match first.rfind(" at line ") {
        Some(cut) => first[..cut].to_owned(),
        None => first.to_owned(),
    }
}
