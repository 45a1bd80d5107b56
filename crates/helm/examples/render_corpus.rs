//! Renders corpus cases repeatedly in one process, for profilers
//! (`valgrind --tool=callgrind`) that need a small, repeatable driver:
//!
//! ```text
//! cargo build --release -p trellis-helm --example render_corpus
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*timed_renders*' \
//!     target/release/examples/render_corpus argo-cd/default 3
//! ```
//!
//! The first argument keeps the cases whose `chart/case` label contains it;
//! the second is the number of renders per case after a first, untimed one
//! (which fills the parse caches, as in the benchmark).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/it/corpus.rs"]
#[allow(dead_code)]
mod corpus;

use trellis_helm::{
    Chart, FsChartFiles, RenderRequest, load_chart, render_chart, render_on_this_thread,
};

/// The renders a profiler should look at (`--toggle-collect=*timed_renders*`
/// leaves out loading and the first render).
#[inline(never)]
fn timed_renders(chart: &Chart, req: &RenderRequest, iters: usize) -> usize {
    (0..iters)
        .filter(|_| render_on_this_thread(chart, req).is_ok())
        .count()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let filter = args.next().unwrap_or_default();
    let iters: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let files = FsChartFiles::new(corpus::root().join("charts"));
    let cases: Vec<_> = corpus::cases()
        .into_iter()
        .filter(|c| format!("{}/{}", c.chart, c.name).contains(&filter))
        .collect();
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            for case in &cases {
                let chart = load_chart(&files, &case.chart).unwrap();
                let req = corpus::request(case);
                let _ = render_chart(&chart, &req);
                let ok = timed_renders(&chart, &req, iters);
                println!("{}/{}: {ok}/{iters} rendered", case.chart, case.name);
            }
        })
        .unwrap()
        .join()
        .unwrap();
}
