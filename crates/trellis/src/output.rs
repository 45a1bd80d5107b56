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
