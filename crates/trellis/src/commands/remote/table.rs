//! Tables as kubectl prints them: upper-case headers, columns padded to
//! their widest cell and two spaces apart, the last column unpadded.

use std::io::Write;

use anyhow::Result;

/// Writes a header and rows; `-` stands for an empty cell so columns stay
/// readable by eye and by `awk`.
pub fn write(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let cell = |text: &str| -> String {
        if text.is_empty() {
            "-".to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_and_empty_cells_dashed() {
        let mut out = Vec::new();
        write(
            &mut out,
            &["NAME", "SYNC", "HEALTH"],
            &[
                vec!["web".into(), "Synced".into(), "Healthy".into()],
                vec!["checkout-production".into(), String::new(), "x".into()],
            ],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "NAME                 SYNC    HEALTH\nweb                  Synced  Healthy\ncheckout-production  -       x\n"
        );
    }
}
