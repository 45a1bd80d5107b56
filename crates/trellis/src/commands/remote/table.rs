//! Tables of the remote commands: kubectl's layout with `-` for empty
//! cells.

use std::io::Write;

use anyhow::Result;

pub use crate::output::kind_label;

/// Writes a header and rows, `-` standing for an empty cell.
pub fn write(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    crate::output::write_table(out, header, rows, "-")
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
