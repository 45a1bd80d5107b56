//! The error of this crate.

use trellis_model::ModelError;

use crate::generators::GeneratorError;
use crate::render::RenderError;

/// Why an ApplicationSet could not be turned into Applications, or its
/// Applications not be brought in line with it.
///
/// The generation variants ([`AppSetError::is_generation_error`]) come before
/// any write to the cluster: when one occurs, nothing is created, changed or
/// deleted.
#[derive(Debug, thiserror::Error)]
pub enum AppSetError {
    /// The object is not a valid ApplicationSet.
    #[error("invalid ApplicationSet: {0}")]
    Invalid(#[source] Box<ModelError>),
    /// The ApplicationSet cannot be used as it is: metadata this operation
    /// needs is missing (a namespace to create Applications in, a uid to own
    /// them by), or a setting is malformed (`goTemplateOptions`).
    #[error("ApplicationSet {name:?}: {message}")]
    Spec {
        /// The set's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A generator failed.
    #[error("generator {index} ({kind}): {source}")]
    Generator {
        /// Index in `spec.generators`.
        index: usize,
        /// Kind of the generator (`list`, `git`, `matrix`, ...).
        kind: &'static str,
        /// The cause.
        #[source]
        source: Box<GeneratorError>,
    },
    /// The template could not be rendered with one parameter set.
    #[error("generator {index} ({kind}), parameter set {set}: {source}")]
    Template {
        /// Index in `spec.generators`.
        index: usize,
        /// Kind of the generator.
        kind: &'static str,
        /// Index of the parameter set among the generator's.
        set: usize,
        /// The cause, naming the template field.
        #[source]
        source: RenderError,
    },
    /// `spec.templatePatch` did not render to a patch, or patched into
    /// something that is not an Application.
    #[error("generator {index} ({kind}), parameter set {set}: templatePatch: {message}")]
    TemplatePatch {
        /// Index in `spec.generators`.
        index: usize,
        /// Kind of the generator.
        kind: &'static str,
        /// Index of the parameter set.
        set: usize,
        /// What is wrong.
        message: String,
    },
    /// A generated Application is not valid (a name that is not a DNS name,
    /// no source, no destination).
    #[error(
        "generator {index} ({kind}), parameter set {set}: generated Application {name:?} is invalid: {source}"
    )]
    InvalidApplication {
        /// Index in `spec.generators`.
        index: usize,
        /// Kind of the generator.
        kind: &'static str,
        /// Index of the parameter set.
        set: usize,
        /// The generated name (may be empty).
        name: String,
        /// What is wrong, with field paths.
        #[source]
        source: Box<ModelError>,
    },
    /// Two parameter sets produce Applications of the same name.
    #[error(
        "Application {name:?} is generated twice: by generator {first} ({first_kind}) and by generator {second} ({second_kind})"
    )]
    DuplicateName {
        /// The name.
        name: String,
        /// Index of the generator that produced it first.
        first: usize,
        /// Its kind.
        first_kind: &'static str,
        /// Index of the generator that produced it again.
        second: usize,
        /// Its kind.
        second_kind: &'static str,
    },
    /// An Application of a generated name exists and belongs to another
    /// controller; it is left alone.
    #[error(
        "Application {namespace}/{name} exists and is controlled by {owner}; not taking it over"
    )]
    Conflict {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// The controlling owner (`Kind/name`).
        owner: String,
    },
    /// A request to the cluster through the cluster seam failed.
    #[error("{action}: {source}")]
    Cluster {
        /// What was being done (`apply Application ns/web`).
        action: String,
        /// The cause.
        #[source]
        source: trellis_kube::Error,
    },
    /// A request made directly with the Kubernetes client failed.
    #[error("{action}: {source}")]
    Kube {
        /// What was being done (`list Applications in argocd`).
        action: String,
        /// The cause.
        #[source]
        source: Box<kube::Error>,
    },
    /// The generation task ended without a result (it panicked or was
    /// cancelled).
    #[error("generation did not complete: {0}")]
    Interrupted(String),
}

impl AppSetError {
    /// Whether the error happened while generating, before the cluster was
    /// touched: the existing Applications were left exactly as they were.
    pub fn is_generation_error(&self) -> bool {
        matches!(
            self,
            AppSetError::Invalid(_)
                | AppSetError::Spec { .. }
                | AppSetError::Generator { .. }
                | AppSetError::Template { .. }
                | AppSetError::TemplatePatch { .. }
                | AppSetError::InvalidApplication { .. }
                | AppSetError::DuplicateName { .. }
                | AppSetError::Interrupted(_)
        )
    }

    /// The `reason` Argo CD gives this error in the set's conditions.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            AppSetError::Invalid(_) | AppSetError::Spec { .. } => "ApplicationSetSpecInvalid",
            AppSetError::Generator { .. } | AppSetError::Interrupted(_) => {
                "ApplicationGenerationFromParamsError"
            }
            AppSetError::Template { .. } | AppSetError::TemplatePatch { .. } => {
                "RenderTemplateParamsError"
            }
            AppSetError::InvalidApplication { .. } | AppSetError::DuplicateName { .. } => {
                "ApplicationValidationError"
            }
            AppSetError::Conflict { .. } => "CreateApplicationError",
            AppSetError::Cluster { .. } | AppSetError::Kube { .. } => "UpdateApplicationError",
        }
    }
}
