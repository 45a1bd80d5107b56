//! Trellis against Helm on the chart corpus (../shared/corpus/helm), in one
//! run: every case rendered by Trellis in this process and by the Helm Go
//! SDK in one long-lived Python process (the reference harness, timing
//! inside Python), the ratio per case, the median and the worst, and peak
//! memory of both processes.
//!
//! `TRELLIS_BENCH_SIZE=full` renders every case; the default (`smoke`)
//! renders the first few. `TRELLIS_BENCH_ITERS` sets renders per case
//! (default 5 for smoke, 20 for full), `TRELLIS_BENCH_FILTER` keeps the
//! cases whose `chart/case` label contains it. Times are medians per case.
//!
//! ```text
//! TRELLIS_BENCH_SIZE=full cargo bench -p trellis-helm --bench corpus
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/it/corpus.rs"]
#[allow(dead_code)]
mod corpus;
#[path = "../tests/it/reference.rs"]
#[allow(dead_code)]
mod reference;

use std::time::Instant;

use trellis_helm::{FsChartFiles, load_chart, render_chart, render_on_this_thread};

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let full = std::env::var("TRELLIS_BENCH_SIZE").is_ok_and(|s| s == "full");
    let iters: usize = std::env::var("TRELLIS_BENCH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if full { 20 } else { 5 });
    let mut cases = corpus::cases();
    if let Ok(f) = std::env::var("TRELLIS_BENCH_FILTER") {
        cases.retain(|c| format!("{}/{}", c.chart, c.name).contains(&f));
    } else if !full {
        cases.truncate(4);
    }

    // Helm first, in one process.
    let jobs: Vec<_> = cases.iter().map(corpus::helm_job).collect();
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join("bench.json");
    std::fs::write(
        &spec,
        serde_json::to_vec(&serde_json::json!({"iterations": iters, "jobs": jobs})).unwrap(),
    )
    .unwrap();
    let helm = reference::helm_render(&["--bench-batch", spec.to_str().unwrap()]);
    let helm_results = helm["results"].as_array().unwrap();

    // Trellis on one thread with a large stack, as render_chart would use.
    let files = FsChartFiles::new(corpus::root().join("charts"));
    let rows: Vec<(String, f64, bool)> = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            let mut rows = Vec::new();
            for case in &cases {
                let chart = load_chart(&files, &case.chart).unwrap();
                let req = corpus::request(case);
                let mut ok = render_chart(&chart, &req).is_ok();
                let mut times = Vec::with_capacity(iters);
                for _ in 0..iters {
                    let t0 = Instant::now();
                    ok &= render_on_this_thread(&chart, &req).is_ok();
                    times.push(t0.elapsed().as_secs_f64());
                }
                times.sort_by(f64::total_cmp);
                rows.push((
                    format!("{}/{}", case.chart, case.name),
                    times[times.len() / 2],
                    ok,
                ));
            }
            rows
        })
        .unwrap()
        .join()
        .unwrap();

    println!(
        "{:<66} {:>10} {:>10} {:>8}",
        "case", "helm ms", "trellis ms", "ratio"
    );
    let mut ratios = Vec::new();
    let mut excluded = Vec::new();
    for ((label, ours, ok), h) in rows.iter().zip(helm_results) {
        let theirs = h["seconds"].as_f64().unwrap();
        let helm_ok = h["ok"].as_bool().unwrap();
        let ratio = theirs / ours;
        let note = match (helm_ok, ok) {
            (true, true) => {
                ratios.push((ratio, label.clone()));
                ""
            }
            (false, false) => {
                excluded.push(label.clone());
                "  (both fail)"
            }
            _ => {
                excluded.push(label.clone());
                "  (only one fails)"
            }
        };
        println!(
            "{label:<66} {:>10.3} {:>10.3} {:>7.1}x{note}",
            theirs * 1e3,
            ours * 1e3,
            ratio
        );
    }
    ratios.sort_by(|a, b| a.0.total_cmp(&b.0));
    if let (Some(worst), Some(med)) = (ratios.first(), ratios.get(ratios.len() / 2)) {
        println!(
            "\n{} cases rendered by both: median {:.1}x faster than Helm, worst {:.1}x ({})",
            ratios.len(),
            med.0,
            worst.0,
            worst.1
        );
    }
    if !excluded.is_empty() {
        println!(
            "not in the ratios (a render fails): {}",
            excluded.join(", ")
        );
    }
    println!(
        "peak memory: trellis {} MiB (VmHWM), helm {} MiB (python + Go SDK, ru_maxrss)",
        peak_rss_kb() / 1024,
        helm["peak_rss_kb"].as_u64().unwrap_or(0) / 1024
    );
}
