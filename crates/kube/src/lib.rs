//! The cluster seam.
#![warn(missing_docs)]
