//! Progress on stderr for long work (fetches, big renders), shown only when
//! stderr is a terminal so that logs and pipelines stay clean.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use trellis_source::SourceEvent;

/// A cheap, cloneable handle to the progress line (a no-op when stderr is not
/// a terminal).
#[derive(Clone, Default)]
pub struct Progress {
    bar: Option<Arc<Mutex<Option<ProgressBar>>>>,
}

impl Progress {
    /// Progress that draws on stderr if, and only if, it is a terminal.
    pub fn for_stderr() -> Self {
        if std::io::stderr().is_terminal() {
            Self {
                bar: Some(Arc::new(Mutex::new(None))),
            }
        } else {
            Self::default()
        }
    }

    /// Shows a spinner with a message, replacing any previous one.
    pub fn spin(&self, message: String) {
        let Some(slot) = &self.bar else { return };
        let Ok(mut slot) = slot.lock() else { return };
        let bar = slot.get_or_insert_with(|| {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        bar.set_message(message);
    }

    /// Removes the spinner.
    pub fn finish(&self) {
        let Some(slot) = &self.bar else { return };
        if let Ok(mut slot) = slot.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }

    /// Reflects a repository event.
    pub fn source_event(&self, event: &SourceEvent) {
        match event {
            SourceEvent::FetchStarted { url } => self.spin(format!("fetching {url}")),
            SourceEvent::LsRemote { url } => self.spin(format!("checking {url}")),
            SourceEvent::FetchFinished { .. } => self.spin("rendering".to_string()),
            _ => {}
        }
    }
}
