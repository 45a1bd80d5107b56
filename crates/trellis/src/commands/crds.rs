//! `trellis crds`: the CustomResourceDefinitions of Trellis's kinds.

use std::io::Write;

use anyhow::Result;
use trellis_model::to_yaml;

use crate::Outcome;
use crate::cli::{CrdsArgs, ManifestFormat};
use crate::output::{list_of, write_json};

/// Prints the CRDs for both API groups.
pub fn run(args: &CrdsArgs, out: &mut dyn Write) -> Result<Outcome> {
    let crds = trellis_model::crd::crds();
    match args.output {
        ManifestFormat::Yaml => {
            for crd in &crds {
                writeln!(out, "---")?;
                out.write_all(to_yaml(crd).as_bytes())?;
            }
        }
        ManifestFormat::Json => write_json(out, &list_of(crds))?,
    }
    Ok(Outcome::Clean)
}
