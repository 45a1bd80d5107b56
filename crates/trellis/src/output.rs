//! Printing: manifests as YAML or JSON, and whether to color.

use std::io::{IsTerminal, Write};

use anyhow::Result;
use serde_json::{Value, json};
use trellis_model::{Manifest, to_yaml};

/// True when stdout is a terminal and `NO_COLOR` is unset.
pub fn color_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Writes manifests as a YAML stream, each document headed by comments naming
/// its application (when given) and source file, as `helm template` heads its
/// documents with `# Source:`.
pub fn write_yaml_stream(
    out: &mut dyn Write,
    manifests: &[Manifest],
    application: Option<&str>,
) -> Result<()> {
    for manifest in manifests {
        writeln!(out, "---")?;
        if let Some(app) = application {
            writeln!(out, "# Application: {app}")?;
        }
        writeln!(out, "# Source: {}", manifest.origin.file)?;
        out.write_all(to_yaml(&manifest.object).as_bytes())?;
    }
    Ok(())
}

/// A `v1` `List` of the objects, as `kubectl get -o json` prints several.
pub fn list_of(objects: impl IntoIterator<Item = Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "items": objects.into_iter().collect::<Vec<_>>()})
}

/// Writes a value as pretty JSON followed by a newline.
pub fn write_json(out: &mut dyn Write, value: &impl serde::Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Writes a table as kubectl prints one: upper-case headers, columns padded
/// to their widest cell and two spaces apart, the last column unpadded.
/// `empty` stands for an empty cell (`-` keeps columns readable by eye and
/// by `awk`).
pub fn write_table(
    out: &mut dyn Write,
    header: &[&str],
    rows: &[Vec<String>],
    empty: &str,
) -> Result<()> {
    let cell = |text: &str| -> String {
        if text.is_empty() {
            empty.to_string()
        } else {
            text.replace(['\n', '\t'], " ")
        }
    };
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| cell(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let last = cells.len().saturating_sub(1);
        cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == last {
                    c.to_string()
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for row in &rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// `Kind.group` as kubectl names kinds; `Kind` alone in the core group.
pub fn kind_label(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    }
}
