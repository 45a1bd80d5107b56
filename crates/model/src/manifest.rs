//! Manifest streams: YAML (multi-document) and JSON files turned into objects
//! that remember where they came from.
//!
//! Documents are split on `---` lines the way kubectl's and Helm's readers
//! split them, so document numbers and line numbers in errors match what a
//! user sees in an editor.

use std::fmt;

use serde_json::Value;

/// Where a manifest object came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Origin {
    /// File path, relative to the repository root where there is one.
    pub file: String,
    /// 1-based index of the document within the file's stream.
    pub document: usize,
    /// 1-based line on which the document starts.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{} (document {})",
            self.file, self.line, self.document
        )
    }
}

/// One Kubernetes object read from a manifest stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The object; always a JSON object.
    pub object: Value,
    /// The file and document it was read from.
    pub origin: Origin,
}

/// A manifest stream that could not be read, with the position of the fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: document {document}: {message}")]
pub struct ManifestError {
    /// File path as given to the parser.
    pub file: String,
    /// 1-based document index.
    pub document: usize,
    /// 1-based line in the file.
    pub line: usize,
    /// 1-based column; 0 when unknown.
    pub column: usize,
    /// What is wrong, in one line.
    pub message: String,
}

/// Reads a file's manifests, choosing JSON for `.json` files and YAML otherwise.
pub fn parse_file(text: &str, file: &str) -> Result<Vec<Manifest>, ManifestError> {
    if file.to_ascii_lowercase().ends_with(".json") {
        parse_json(text, file)
    } else {
        parse_yaml_stream(text, file)
    }
}

/// Reads a JSON file holding one object (or a `List` of objects).
pub fn parse_json(text: &str, file: &str) -> Result<Vec<Manifest>, ManifestError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ManifestError {
        file: file.to_string(),
        document: 1,
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })?;
    let origin = Origin {
        file: file.to_string(),
        document: 1,
        line: 1,
    };
    objects_of(value, origin)
}

/// Reads a YAML stream of any number of documents.
///
/// Empty documents (nothing but comments or whitespace) are skipped, as
/// kubectl skips them; a document that is not a mapping is an error. Values
/// are read with YAML 1.1 rules, as Kubernetes' own YAML reader does
/// (`yes`/`on` are booleans, `0755` is octal).
pub fn parse_yaml_stream(text: &str, file: &str) -> Result<Vec<Manifest>, ManifestError> {
    let mut out = Vec::new();
    for (index, chunk) in split_documents(text).into_iter().enumerate() {
        let document = index + 1;
        if chunk.text.trim().is_empty() {
            continue;
        }
        let options = serde_saphyr::options! {
            with_snippet: false,
            legacy_octal_numbers: true,
        };
        let value: Option<Value> = serde_saphyr::from_str_with_options(chunk.text, options)
            .map_err(|e| {
                let (line, column) = e
                    .location()
                    .map(|l| (l.line() as usize, l.column() as usize))
                    .unwrap_or((1, 0));
                ManifestError {
                    file: file.to_string(),
                    document,
                    line: chunk.first_line + line.saturating_sub(1),
                    column,
                    message: strip_position(&e.to_string()),
                }
            })?;
        let Some(value) = value else { continue };
        if value.is_null() {
            continue;
        }
        let origin = Origin {
            file: file.to_string(),
            document,
            line: chunk.first_line,
        };
        out.extend(objects_of(value, origin)?);
    }
    Ok(out)
}

/// Writes one object as a YAML document the way kubectl prints it: keys
/// sorted, block style, strings that YAML 1.1 would read as another type
/// quoted, and long strings never folded (so a diff of two values is a diff
/// of their text).
pub fn to_yaml(value: &Value) -> String {
    let options = serde_saphyr::ser_options! {
        folded_wrap_chars: usize::MAX,
    };
    match serde_saphyr::to_string_with_options(value, options) {
        Ok(text) => text,
        // A serde_json::Value always serializes; fall back to JSON (which is
        // YAML) rather than losing the object if that ever changes.
        Err(_) => serde_json::to_string_pretty(value).unwrap_or_default() + "\n",
    }
}

/// A document's text and the file line it starts on.
struct Chunk<'a> {
    text: &'a str,
    first_line: usize,
}

/// Splits a stream on `---` separator lines (and `...` end markers).
fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut start = 0usize;
    let mut first_line = 1usize;
    let mut offset = 0usize;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches(['\n', '\r']);
        let is_separator =
            bare == "---" || bare.starts_with("--- ") || bare.starts_with("---\t") || bare == "...";
        if is_separator {
            chunks.push(Chunk {
                text: &text[start..offset],
                first_line,
            });
            start = offset + line.len();
            first_line = index + 2;
        }
        offset += line.len();
    }
    chunks.push(Chunk {
        text: &text[start..],
        first_line,
    });
    chunks
}

/// Turns a parsed document into objects, flattening `List` kinds.
fn objects_of(value: Value, origin: Origin) -> Result<Vec<Manifest>, ManifestError> {
    let error = |message: String| ManifestError {
        file: origin.file.clone(),
        document: origin.document,
        line: origin.line,
        column: 0,
        message,
    };
    let Value::Object(map) = &value else {
        return Err(error(format!(
            "expected a Kubernetes object (a mapping), found {}",
            type_name(&value)
        )));
    };
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
    let is_list = kind == "List" || (kind.ends_with("List") && map.get("items").is_some());
    if !is_list {
        return Ok(vec![Manifest {
            object: value,
            origin,
        }]);
    }
    let items = match map.get("items") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items.clone(),
        Some(other) => {
            return Err(error(format!(
                "{kind}.items must be a list, found {}",
                type_name(other)
            )));
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        if !item.is_object() {
            return Err(error(format!(
                "{kind}.items[{i}] must be an object, found {}",
                type_name(&item)
            )));
        }
        out.extend(objects_of(item, origin.clone())?);
    }
    Ok(out)
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Drops the parser's own " at line L, column C" suffix: positions are
/// reported in the error's fields, relative to the file rather than the
/// document.
fn strip_position(message: &str) -> String {
    match message.rsplit_once(" at line ") {
        Some((head, _)) => head.to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn splits_documents_and_keeps_their_lines() {
        let text = "# leading comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# nothing here\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n";
        let got = parse_yaml_stream(text, "x.yaml").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].origin.document, 2);
        assert_eq!(got[0].origin.line, 3);
        assert_eq!(got[1].origin.document, 4);
        assert_eq!(got[1].origin.line, 9);
        assert_eq!(got[1].object["kind"], "Secret");
    }

    #[test]
    fn reads_yaml_1_1_scalars_as_kubernetes_does() {
        let got = parse_yaml_stream("a: yes\nb: 0755\nc: '0755'\nd: 1.5\n", "f.yaml").unwrap();
        assert_eq!(
            got[0].object,
            json!({"a": true, "b": 493, "c": "0755", "d": 1.5})
        );
    }

    #[test]
    fn syntax_error_names_file_document_and_file_line() {
        let text = "apiVersion: v1\nkind: A\nmetadata: {name: a}\n---\napiVersion: v1\nkind: B\nmetadata: [oops\n";
        let err = parse_yaml_stream(text, "apps/bad.yaml").unwrap_err();
        assert_eq!(err.file, "apps/bad.yaml");
        assert_eq!(err.document, 2);
        assert_eq!(err.line, 7);
        assert!(err.to_string().starts_with("apps/bad.yaml:7:"), "{err}");
        assert!(!err.message.contains("at line"), "{}", err.message);
    }

    #[test]
    fn non_mapping_document_is_an_error() {
        let err = parse_yaml_stream("- a\n- b\n", "list.yaml").unwrap_err();
        assert!(err.message.contains("found a list"), "{err}");
    }

    #[test]
    fn lists_are_flattened() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n";
        let got = parse_yaml_stream(text, "l.yaml").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].object["metadata"]["name"], "b");
        let json_list = r#"{"apiVersion":"v1","kind":"ConfigMapList","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}]}"#;
        let got = parse_file(json_list, "l.json").unwrap();
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn yaml_output_round_trips_and_never_folds() {
        let object =
            json!({"b": "yes", "a": "x ".repeat(80), "c": "l1\nl2\n", "d": [1, {"e": null}]});
        let text = to_yaml(&object);
        assert!(text.starts_with("a: "), "{text}");
        assert!(text.contains("b: \"yes\""), "{text}");
        assert!(!text.contains(">-"), "{text}");
        let back = parse_yaml_stream(&text, "t.yaml").unwrap();
        assert_eq!(back[0].object, object);
    }

    #[test]
    fn json_errors_carry_position() {
        let err = parse_file("{\n  \"a\": ,\n}", "bad.json").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().starts_with("bad.json:2:"), "{err}");
    }
}
