//! Merging: field sets, server-side apply and the PATCH formats.

pub mod fields;
pub mod managed;
pub mod patch;
