//! Runs a local cluster until Ctrl-C: `cargo run -p trellis-localcluster --example serve -- [PORT] [DATA]`.

fn main() -> Result<(), trellis_localcluster::Error> {
    let mut args = std::env::args().skip(1);
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let data = args.next().map(std::path::PathBuf::from);
    trellis_localcluster::serve_blocking(trellis_localcluster::ServeOptions {
        port,
        data,
        kubeconfig_path: Some(std::env::temp_dir().join(format!("trellis-local-{port}.yaml"))),
        ..Default::default()
    })
}
