//! Errors, worded as Go's `text/template` words them.

use std::fmt;

/// A template failure. `Display` gives Go's exact text, which Helm passes on
/// to users (and which tooling greps), e.g.
/// `template: t:1:3: executing "t" at <.a.b>: nil pointer evaluating interface {}.b`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A syntax error: `template: NAME:LINE: MESSAGE`.
    #[error("{0}")]
    Parse(String),
    /// A failure while executing a template.
    #[error("{0}")]
    Exec(Box<ExecError>),
    /// Execution of a name that no template has.
    #[error("template: no template {name:?} associated with template {set:?}")]
    NoTemplate {
        /// The requested name.
        name: String,
        /// The name the set is known by.
        set: String,
    },
    /// A configured bound (steps, output size) was exceeded; protects the
    /// process from hostile templates.
    #[error("template: {template}: {message}")]
    Limit {
        /// The template being executed.
        template: String,
        /// Which bound and its value.
        message: String,
    },
}

/// Where and why execution failed.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecError {
    /// The template being executed (Go's `executing "NAME"`).
    pub template: String,
    /// `PARSENAME:LINE:COL` of the node, column 0-based as in Go.
    pub location: Option<String>,
    /// The node's source form.
    pub context: Option<String>,
    /// The cause.
    pub message: String,
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.location, &self.context) {
            (Some(loc), Some(ctx)) => write!(
                f,
                "template: {loc}: executing {} at <{ctx}>: {}",
                crate::gofmt::quote(&self.template),
                self.message
            ),
            _ => write!(f, "template: {}: {}", self.template, self.message),
        }
    }
}
