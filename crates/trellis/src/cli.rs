//! The command line as typed: clap's view of the arguments, before any of
//! them is checked or resolved (see `config` for that).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Trellis keeps Kubernetes clusters in sync with what is in git.
#[derive(Debug, Parser)]
#[command(name = "trellis", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Render repository URL from another location (a mirror or a local copy):
    /// URL=LOCATION, repeatable.
    #[arg(long = "repo-map", value_name = "URL=LOCATION", global = true)]
    pub repo_map: Vec<String>,
    /// Configuration file (repository map, credentials, cache directory).
    #[arg(long, env = "TRELLIS_CONFIG", value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Where fetched repositories are cached.
    #[arg(long, env = "TRELLIS_CACHE_DIR", value_name = "DIR", global = true)]
    pub cache_dir: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// More log output (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render an application's manifests.
    Render(RenderArgs),
    /// Render an app of apps and print the tree of applications.
    Tree(TreeArgs),
    /// Show what a change does: render the tree at two revisions and compare.
    Preview(PreviewArgs),
    /// Print the CustomResourceDefinitions of Trellis's kinds.
    Crds(CrdsArgs),
    /// The embedded Kubernetes API server.
    Cluster(ClusterArgs),
}

/// `trellis cluster`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// What to do with the embedded cluster.
    #[command(subcommand)]
    pub command: ClusterCommand,
}

/// `trellis cluster` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Serve a Kubernetes API (stored in a SQLite file) and write a kubeconfig
    /// for it; runs until interrupted.
    Serve(ClusterServeArgs),
}

/// `trellis cluster serve`.
#[derive(Debug, Args)]
pub struct ClusterServeArgs {
    /// SQLite file holding the cluster's objects; in memory when omitted.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 6443)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// Where to write the kubeconfig (default: next to --data, or the
    /// current directory, as trellis-kubeconfig.yaml).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
}

/// `trellis render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Application manifest file (one or more Applications).
    #[arg(
        value_name = "APP.yaml",
        required_unless_present = "repo",
        conflicts_with = "repo"
    )]
    pub app: Option<PathBuf>,
    /// Render a directory of this repository instead of an Application file.
    #[arg(long, value_name = "URL")]
    pub repo: Option<String>,
    /// Path within --repo.
    #[arg(long, default_value = ".", requires = "repo")]
    pub path: String,
    /// Revision of --repo: branch, tag, commit or HEAD.
    #[arg(long, default_value = "HEAD", requires = "repo")]
    pub revision: String,
    /// Also render every Application found in the output, recursively.
    #[arg(long)]
    pub recursive: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = ManifestFormat::Yaml)]
    pub output: ManifestFormat,
    /// How many levels of applications to expand with --recursive.
    #[arg(long, default_value_t = 16)]
    pub max_depth: usize,
}

/// `trellis tree`.
#[derive(Debug, Args)]
pub struct TreeArgs {
    /// Application manifest file of the root app of apps.
    #[arg(value_name = "APP.yaml")]
    pub app: PathBuf,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = TreeFormat::Text)]
    pub output: TreeFormat,
    /// How many levels of applications to expand.
    #[arg(long, default_value_t = 16)]
    pub max_depth: usize,
}

/// `trellis preview`.
#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// Application manifest file of the root app of apps.
    #[arg(value_name = "APP.yaml")]
    pub app: PathBuf,
    /// The revision the change starts from (e.g. main).
    #[arg(long, value_name = "REV")]
    pub base: String,
    /// The revision with the change (e.g. the pull request's branch or commit).
    #[arg(long, value_name = "REV")]
    pub head: String,
    /// The repository the revisions belong to; defaults to the root
    /// application's repository. Every source of this repository, at any depth,
    /// renders at --base and --head.
    #[arg(long, value_name = "URL")]
    pub repo: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = PreviewFormat::Text)]
    pub output: PreviewFormat,
    /// How many levels of applications to expand.
    #[arg(long, default_value_t = 16)]
    pub max_depth: usize,
}

/// `trellis crds`.
#[derive(Debug, Args)]
pub struct CrdsArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = ManifestFormat::Yaml)]
    pub output: ManifestFormat,
}

/// Formats for commands that print Kubernetes objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ManifestFormat {
    /// A YAML stream, one document per object.
    Yaml,
    /// A JSON `List`, as `kubectl get -o json` prints several objects.
    Json,
}

/// Formats of `trellis tree`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TreeFormat {
    /// An indented tree for people.
    Text,
    /// The tree as JSON.
    Json,
    /// The tree as YAML.
    Yaml,
}

/// Formats of `trellis preview`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PreviewFormat {
    /// A summary and unified diffs (colored on a terminal).
    Text,
    /// Markdown for a pull-request comment.
    Markdown,
    /// The comparison as JSON.
    Json,
}
