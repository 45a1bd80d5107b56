//! Live updates: application changes as Server-Sent Events.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State as AxState;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt, stream};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::Params;
use crate::auth::Caller;
use crate::cache::ChangeKind;
use crate::error::ApiError;
use crate::policy::Action;
use crate::server::State;
use crate::summary::{AppEntry, Filter};

/// An SSE event about one application.
fn event(kind: ChangeKind, entry: &AppEntry) -> Event {
    Event::default()
        .event("application")
        .data(json!({"type": kind.as_str(), "application": entry.summary}).to_string())
}

/// `GET /api/v1/stream`: every change to an application the caller may
/// read (optionally only of `namespace`, `project`, `name`), as events
/// named `application` with data `{"type": "ADDED"|"MODIFIED"|"DELETED",
/// "application": <summary>}`. Unless `snapshot=false`, the current
/// applications come first as `ADDED`. A client that fell behind gets an
/// event named `resync` and should list again. The stream ends when the
/// caller's session or token does.
pub(crate) async fn stream(
    caller: Caller,
    AxState(state): AxState<Arc<State>>,
    params: Params,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let filter = Filter {
        projects: params.all("project"),
        namespaces: params.all("namespace"),
        groups: params.all("group"),
        ..Filter::default()
    };
    let names = params.all("name");
    let snapshot = params.flag("snapshot", true)?;
    let visible = {
        let state = state.clone();
        let caller = caller.clone();
        move |entry: &AppEntry| {
            filter.accepts(entry)
                && (names.is_empty() || names.contains(&entry.key.name))
                && state.allows_entry(&caller, Action::Get, entry)
        }
    };
    // Subscribed before the snapshot is taken, so nothing falls between.
    let changes = state.cache.subscribe();
    let initial: Vec<Result<Event, Infallible>> = if snapshot {
        state
            .cache
            .apps()
            .iter()
            .filter(|e| visible(e))
            .map(|e| Ok(event(ChangeKind::Added, e)))
            .collect()
    } else {
        Vec::new()
    };
    let stopping = state.stopping.subscribe();
    let live = stream::unfold(
        (changes, stopping, state, caller, visible),
        |(mut changes, mut stopping, state, caller, visible)| async move {
            loop {
                let received = tokio::select! {
                    _ = stopping.wait_for(|s| *s) => return None,
                    received = changes.recv() => received,
                };
                let event = match received {
                    Ok(change) => {
                        if !caller.still_valid(&state) {
                            return None;
                        }
                        if !visible(&change.entry) {
                            continue;
                        }
                        event(change.kind, &change.entry)
                    }
                    Err(RecvError::Lagged(_)) => Event::default().event("resync").data("{}"),
                    Err(RecvError::Closed) => return None,
                };
                return Some((Ok(event), (changes, stopping, state, caller, visible)));
            }
        },
    );
    Ok(Sse::new(stream::iter(initial).chain(live)).keep_alive(KeepAlive::default()))
}
