//! OpenAPI schema objects to self-contained JSON Schema 2020-12.
//!
//! Local `$ref`s (`#/components/...`) are inlined, so that each tool's schemas stand alone.
//! A schema that refers to itself, directly or through others (a tree, a thread of replies),
//! cannot be inlined: it goes to the root's `$defs` once and is referenced as
//! `{"$ref": "#/$defs/Name"}`, which is exact and terminates. OpenAPI 3.0 dialect is translated:
//! `nullable: true` becomes a `"null"` type, boolean `exclusiveMinimum`/`exclusiveMaximum`
//! become numbers, `example` becomes `examples`; `discriminator`, `xml`, `externalDocs` and
//! `x-` extensions are dropped.

use super::node::{Entry, Node};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

/// Deeper nesting than this (without a repeated `$ref`) is cut and left free-form.
const MAX_DEPTH: usize = 64;

/// The spec's schemas, with what is known about recursion.
pub struct Schemas<'a> {
    spec: &'a Node,
    /// For each `$ref` asked about: whether its target can reach itself.
    recursive: RefCell<HashMap<String, bool>>,
}

impl<'a> Schemas<'a> {
    /// Schemas of `spec`.
    pub fn new(spec: &'a Node) -> Self {
        Self {
            spec,
            recursive: RefCell::new(HashMap::new()),
        }
    }

    /// The node a local reference (`#/components/schemas/Pet`) points at.
    pub fn pointer(&self, reference: &str) -> Option<&'a Node> {
        pointer(self.spec, reference)
    }

    /// Whether the target of `reference` refers back to it.
    fn is_recursive(&self, reference: &str) -> bool {
        if let Some(&known) = self.recursive.borrow().get(reference) {
            return known;
        }
        let mut visited = HashSet::new();
        let found = self.reaches(reference, reference, &mut visited);
        self.recursive
            .borrow_mut()
            .insert(reference.to_owned(), found);
        found
    }

    fn reaches(&self, from: &str, target: &str, visited: &mut HashSet<String>) -> bool {
        let Some(node) = self.pointer(from) else {
            return false;
        };
        let mut refs = Vec::new();
        collect_refs(node, &mut refs);
        for reference in refs {
            if reference == target {
                return true;
            }
            if visited.insert(reference.clone()) && self.reaches(&reference, target, visited) {
                return true;
            }
        }
        false
    }
}

/// Resolves a local JSON Pointer reference in `root`.
pub fn pointer<'n>(root: &'n Node, reference: &str) -> Option<&'n Node> {
    let path = reference.strip_prefix('#')?;
    if path.is_empty() {
        return Some(root);
    }
    let mut node = root;
    for raw in path.strip_prefix('/')?.split('/') {
        let segment = percent_decode(raw).replace("~1", "/").replace("~0", "~");
        node = match node {
            Node::Map(_) => node.get(&segment)?,
            Node::Seq(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

fn collect_refs(node: &Node, out: &mut Vec<String>) {
    match node {
        Node::Map(entries) => {
            for entry in entries {
                match (&entry.key[..], &entry.value) {
                    ("$ref", Node::String(r)) if r.starts_with("#/") => out.push(r.clone()),
                    (_, value) => collect_refs(value, out),
                }
            }
        }
        Node::Seq(items) => items.iter().for_each(|item| collect_refs(item, out)),
        _ => {}
    }
}

/// Converts the schemas of one root (a tool's input schema or output schema), collecting the
/// `$defs` they need and notes about what could not be converted.
pub struct Converter<'s, 'a> {
    schemas: &'s Schemas<'a>,
    /// `$ref`s being inlined (to catch cycles the recursion check did not foresee).
    stack: Vec<String>,
    /// `$defs` needed: (reference, name).
    defs: Vec<(String, String)>,
    /// Notes for the tool.
    pub notes: Vec<String>,
}

impl<'s, 'a> Converter<'s, 'a> {
    /// A converter for one root schema.
    pub fn new(schemas: &'s Schemas<'a>) -> Self {
        Self {
            schemas,
            stack: Vec::new(),
            defs: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Converts a schema whose own top-level `$ref` (if any) is always expanded, even when it
    /// is recursive: the caller wants to see its properties.
    pub fn convert_root(&mut self, schema: &Node) -> Node {
        if let Some(reference) = schema.get_str("$ref")
            && reference.starts_with("#/")
            && !self.stack.iter().any(|r| r == reference)
            && let Some(target) = self.schemas.pointer(reference)
        {
            self.stack.push(reference.to_owned());
            let mut inner = self.convert_root(target);
            self.stack.pop();
            self.merge_siblings(&mut inner, schema, 0);
            return inner;
        }
        self.convert(schema, 0)
    }

    /// Converts one schema.
    pub fn convert(&mut self, schema: &Node, depth: usize) -> Node {
        if depth > MAX_DEPTH {
            self.note("note: a schema nested too deeply was left free-form".into());
            return Node::map();
        }
        let Node::Map(entries) = schema else {
            // `true`/`false` schemas (3.1), or something invalid that is kept as written.
            return schema.clone();
        };
        if let Some(reference) = schema.get_str("$ref") {
            return self.reference(reference, schema, depth);
        }
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let key = entry.key.as_str();
            if key.starts_with("x-")
                || matches!(
                    key,
                    "discriminator" | "xml" | "externalDocs" | "$id" | "$schema" | "nullable"
                )
            {
                continue;
            }
            let value = match key {
                "properties" | "patternProperties" | "$defs" | "definitions"
                | "dependentSchemas" => Node::Map(
                    entry
                        .value
                        .entries()
                        .iter()
                        .map(|e| Entry::new(e.key.clone(), self.convert(&e.value, depth + 1)))
                        .collect(),
                ),
                "allOf" | "anyOf" | "oneOf" | "prefixItems" => Node::Seq(
                    entry
                        .value
                        .items()
                        .iter()
                        .map(|item| self.convert(item, depth + 1))
                        .collect(),
                ),
                "items" if matches!(entry.value, Node::Seq(_)) => {
                    // The old tuple form; 2020-12 spells it prefixItems.
                    let items = entry
                        .value
                        .items()
                        .iter()
                        .map(|item| self.convert(item, depth + 1))
                        .collect();
                    out.push(Entry::new("prefixItems", Node::Seq(items)));
                    continue;
                }
                "items"
                | "not"
                | "additionalProperties"
                | "additionalItems"
                | "contains"
                | "if"
                | "then"
                | "else"
                | "propertyNames"
                | "unevaluatedProperties"
                | "unevaluatedItems"
                | "contentSchema" => self.convert(&entry.value, depth + 1),
                "example" => {
                    if schema.get("examples").is_none() {
                        out.push(Entry::new("examples", Node::Seq(vec![entry.value.clone()])));
                    }
                    continue;
                }
                _ => entry.value.clone(),
            };
            out.push(Entry::new(key, value));
        }
        let mut out = Node::Map(out);
        openapi30_exclusive(&mut out, "exclusiveMinimum", "minimum");
        openapi30_exclusive(&mut out, "exclusiveMaximum", "maximum");
        if schema.get("nullable").and_then(Node::as_bool) == Some(true) {
            make_nullable(&mut out);
        }
        out
    }

    fn reference(&mut self, reference: &str, schema: &Node, depth: usize) -> Node {
        let mut result = if !reference.starts_with("#/") {
            self.note(format!(
                "note: the external $ref '{reference}' is not resolved: left free-form"
            ));
            Node::map()
        } else if self.schemas.pointer(reference).is_none() {
            self.note(format!(
                "note: the $ref '{reference}' points at nothing: left free-form"
            ));
            Node::map()
        } else if self.stack.iter().any(|r| r == reference) || self.schemas.is_recursive(reference)
        {
            let name = self.def_name(reference);
            Node::Map(vec![Entry::new(
                "$ref",
                Node::String(format!("#/$defs/{name}")),
            )])
        } else {
            let target = self.schemas.pointer(reference).unwrap_or(&Node::Null);
            self.stack.push(reference.to_owned());
            let inner = self.convert(target, depth + 1);
            self.stack.pop();
            inner
        };
        self.merge_siblings(&mut result, schema, depth);
        result
    }

    /// Keywords written beside a `$ref` (a `description`, `nullable`) apply on top of it.
    fn merge_siblings(&mut self, target: &mut Node, schema: &Node, depth: usize) {
        let siblings: Vec<Entry> = schema
            .entries()
            .iter()
            .filter(|e| e.key != "$ref")
            .cloned()
            .collect();
        if siblings.is_empty() {
            return;
        }
        if !target.is_map() {
            *target = Node::map();
        }
        let converted = self.convert(&Node::Map(siblings), depth + 1);
        for entry in converted.entries() {
            target.set(&entry.key, entry.value.clone());
        }
        if schema.get("nullable").and_then(Node::as_bool) == Some(true) {
            make_nullable(target);
        }
    }

    /// The `$defs` name for a reference, registering it.
    fn def_name(&mut self, reference: &str) -> String {
        if let Some((_, name)) = self.defs.iter().find(|(r, _)| r == reference) {
            return name.clone();
        }
        let last = reference.rsplit('/').next().unwrap_or("schema");
        let last = percent_decode(last).replace("~1", "_").replace("~0", "_");
        let base: String = last
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut name = base.clone();
        let mut n = 2;
        while self.defs.iter().any(|(_, taken)| *taken == name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.defs.push((reference.to_owned(), name.clone()));
        name
    }

    /// Adds the `$defs` the converted schemas refer to to `root` (a mapping).
    pub fn finish(mut self, root: &mut Node) -> Vec<String> {
        let mut defs = Vec::new();
        let mut done = 0;
        while done < self.defs.len() {
            let (reference, name) = self.defs[done].clone();
            let target = self.schemas.pointer(&reference).unwrap_or(&Node::Null);
            self.stack.push(reference.clone());
            let converted = self.convert(target, 1);
            self.stack.pop();
            defs.push(Entry::new(name, converted));
            done += 1;
        }
        if !defs.is_empty() {
            root.set("$defs", Node::Map(defs));
        }
        self.notes
    }

    fn note(&mut self, note: String) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }
}

/// OpenAPI 3.0's `exclusiveMinimum: true` beside `minimum: 5` is 2020-12's `exclusiveMinimum: 5`.
fn openapi30_exclusive(schema: &mut Node, exclusive: &str, bound: &str) {
    match schema.get(exclusive) {
        Some(Node::Bool(true)) => {
            if let Some(value) = schema.remove(bound) {
                schema.set(exclusive, value);
            } else {
                schema.remove(exclusive);
            }
        }
        Some(Node::Bool(false)) => {
            schema.remove(exclusive);
        }
        _ => {}
    }
}

/// OpenAPI 3.0's `nullable: true`: `null` joins the types (and the enum, if any). A schema
/// without `type` (`allOf: [{$ref: ...}]`, the usual way to make a reference nullable) becomes
/// `anyOf: [<it>, {type: "null"}]`, its annotations kept beside.
fn make_nullable(schema: &mut Node) {
    if schema.get("type").is_none() && schema.get("enum").is_none() {
        let mut outer = Vec::new();
        let mut inner = Vec::new();
        for entry in schema.entries() {
            let annotation = matches!(
                entry.key.as_str(),
                "description"
                    | "title"
                    | "default"
                    | "examples"
                    | "readOnly"
                    | "writeOnly"
                    | "deprecated"
            );
            if annotation {
                outer.push(entry.clone());
            } else {
                inner.push(entry.clone());
            }
        }
        let inner = match inner.as_slice() {
            [only] if only.key == "allOf" && only.value.items().len() == 1 => {
                only.value.items()[0].clone()
            }
            _ => Node::Map(inner),
        };
        let null = Node::Map(vec![Entry::new("type", Node::str("null"))]);
        outer.insert(0, Entry::new("anyOf", Node::Seq(vec![inner, null])));
        *schema = Node::Map(outer);
        return;
    }
    match schema.get("type").cloned() {
        Some(Node::String(t)) if t != "null" => {
            schema.set("type", Node::Seq(vec![Node::String(t), Node::str("null")]));
        }
        Some(Node::Seq(mut types)) if !types.contains(&Node::str("null")) => {
            types.push(Node::str("null"));
            schema.set("type", Node::Seq(types));
        }
        _ => {}
    }
    if let Some(Node::Seq(values)) = schema.get_mut("enum")
        && !values.contains(&Node::Null)
    {
        values.push(Node::Null);
    }
}

/// The schema's types (`type: x` or `type: [x, y]`), empty when not given.
pub fn types(schema: &Node) -> Vec<String> {
    match schema.get("type") {
        Some(Node::String(t)) => vec![t.clone()],
        Some(Node::Seq(ts)) => ts
            .iter()
            .filter_map(Node::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a converted schema describes JSON objects only (so it can be an MCP output schema
/// or a body split into arguments).
pub fn object_like(schema: &Node) -> bool {
    let types = types(schema);
    if !types.is_empty() {
        return types == ["object"];
    }
    if !schema.is_map() {
        return false;
    }
    if schema.get("properties").is_some() || schema.get("additionalProperties").is_some() {
        return true;
    }
    ["allOf", "oneOf", "anyOf"].iter().any(|key| {
        schema
            .get(key)
            .is_some_and(|parts| !parts.items().is_empty() && parts.items().iter().all(object_like))
    })
}

/// An `allOf` of object schemas flattened into one object schema (properties and `required`
/// merged), for splitting a request body into arguments. `None` when that is not possible.
pub fn flatten_object(schema: &Node) -> Option<Node> {
    let mut out = Node::Map(vec![Entry::new("type", Node::str("object"))]);
    let mut properties: Vec<Entry> = Vec::new();
    let mut required: Vec<Node> = Vec::new();
    merge_object(schema, &mut out, &mut properties, &mut required)?;
    if properties.is_empty() {
        return None;
    }
    out.set("properties", Node::Map(properties));
    if !required.is_empty() {
        out.set("required", Node::Seq(required));
    }
    Some(out)
}

fn merge_object(
    schema: &Node,
    out: &mut Node,
    properties: &mut Vec<Entry>,
    required: &mut Vec<Node>,
) -> Option<()> {
    let types = types(schema);
    if !(types.is_empty() || types == ["object"]) || schema.get("$ref").is_some() {
        return None;
    }
    if schema.get("oneOf").is_some() || schema.get("anyOf").is_some() {
        return None;
    }
    for entry in schema.entries() {
        match entry.key.as_str() {
            "properties" => {
                for property in entry.value.entries() {
                    properties.retain(|p| p.key != property.key);
                    properties.push(property.clone());
                }
            }
            "required" => {
                for name in entry.value.items() {
                    if !required.contains(name) {
                        required.push(name.clone());
                    }
                }
            }
            "allOf" => {
                for part in entry.value.items() {
                    merge_object(part, out, properties, required)?;
                }
            }
            "type" => {}
            key => {
                if out.get(key).is_none() {
                    out.set(key, entry.value.clone());
                }
            }
        }
    }
    Some(())
}
