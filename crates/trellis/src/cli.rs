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
    /// A Trellis server (e.g. http://127.0.0.1:8080): list, get, diff,
    /// sync, history, rollback and wait go through its API (default: the
    /// server of `trellis login`).
    #[arg(long, env = "TRELLIS_SERVER", value_name = "URL", global = true)]
    pub server: Option<String>,
    /// PEM file of the certificate authorities to trust for an https
    /// server, instead of the system's (saved by `trellis login`).
    #[arg(long, env = "TRELLIS_SERVER_CA", value_name = "FILE", global = true)]
    pub server_ca: Option<PathBuf>,
    /// API token for --server (default: the one `trellis login` saved).
    #[arg(
        long,
        env = "TRELLIS_TOKEN",
        value_name = "TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub token: Option<String>,
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
    /// Print (or apply) the manifests that run Trellis in a cluster.
    Install(InstallArgs),
    /// The embedded Kubernetes API server.
    Cluster(ClusterArgs),
    /// Show how an application's live resources differ from its manifests
    /// (exit 1 when anything differs).
    Diff(DiffArgs),
    /// Make the cluster match an application's manifests.
    Sync(SyncArgs),
    /// Show each resource of an application with its sync status and health.
    Status(StatusArgs),
    /// Wait until an application is synced and/or healthy.
    Wait(WaitArgs),
    /// Keep the Applications stored in a cluster in sync with git.
    Controller(ControllerArgs),
    /// The HTTP API over the Applications of a cluster.
    Server(ServerArgs),
    /// Start everything on this machine: an embedded cluster, the
    /// controller and the example repositories, synced until healthy.
    Up(UpArgs),
    /// List the applications of a Trellis server.
    List(ListArgs),
    /// Show an application of a Trellis server: its state and resources.
    Get(GetArgs),
    /// Show an application's past syncs (the ids rollback takes).
    History(HistoryArgs),
    /// Sync an application back to a past revision of its history.
    Rollback(RollbackArgs),
    /// Log in to a Trellis server and save an API token for later commands.
    Login(LoginArgs),
    /// Forget (and revoke) the credentials saved by `trellis login`.
    Logout(LogoutArgs),
}

/// The cluster and the Applications a controller or server works on.
#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Kubeconfig file (default: in-cluster, then $KUBECONFIG, then
    /// ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// The controller's namespace: Applications, AppProjects, repository
    /// and cluster Secrets, and the server's accounts Secret.
    #[arg(
        long,
        env = "TRELLIS_NAMESPACE",
        default_value = "trellis",
        value_name = "NS"
    )]
    pub namespace: String,
    /// Further namespaces whose Applications are served and reconciled
    /// (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "NS")]
    pub app_namespaces: Vec<String>,
    /// Also take Argo CD's argoproj.io/v1alpha1 Applications.
    #[arg(long)]
    pub argocd_compat: bool,
}

/// Options of `trellis controller`.
#[derive(Debug, Args)]
pub struct ControllerArgs {
    /// The cluster and which Applications.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// How often every application is compared with git.
    #[arg(long, value_name = "D", default_value = "3m", value_parser = parse_duration)]
    pub refresh_interval: std::time::Duration,
    /// Random extra delay per application and refresh, at most this.
    #[arg(long, value_name = "D", default_value = "30s", value_parser = parse_duration)]
    pub refresh_jitter: std::time::Duration,
    /// How long drift waits before self-heal syncs it.
    #[arg(long, value_name = "D", default_value = "5s", value_parser = parse_duration)]
    pub self_heal_delay: std::time::Duration,
    /// How long a sync waits for resources to become healthy and hooks to
    /// complete.
    #[arg(long, value_name = "D", default_value = "5m", value_parser = parse_duration)]
    pub sync_timeout: std::time::Duration,
    /// How often a running sync checks health.
    #[arg(long, value_name = "D", default_value = "2s", value_parser = parse_duration)]
    pub poll_interval: std::time::Duration,
    /// Reconciles run at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub workers: usize,
    /// Address of /metrics, /healthz and the webhook endpoint /api/webhook.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081")]
    pub listen: std::net::SocketAddr,
    /// Secret of git webhooks (GitHub HMAC secret or GitLab token).
    #[arg(
        long,
        env = "TRELLIS_WEBHOOK_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub webhook_secret: Option<String>,
    /// Spread destination clusters over this many controller replicas.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub shards: u32,
    /// This replica's name for leader election and shard claims (default:
    /// host name and process id).
    #[arg(long, value_name = "NAME")]
    pub identity: Option<String>,
    /// Lease duration of leader election and shard claims.
    #[arg(long, value_name = "D", default_value = "15s", value_parser = parse_duration)]
    pub lease_duration: std::time::Duration,
}

/// Options of `trellis server`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The cluster and which Applications.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Mark the session cookie Secure (when served behind TLS).
    #[arg(long)]
    pub secure_cookies: bool,
    /// Set the admin password from the first line of standard input
    /// (stored as an argon2 hash) instead of generating one, then serve.
    #[arg(long)]
    pub admin_password_stdin: bool,
}

/// Options of `trellis up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Where the cluster's data, the example repositories and the
    /// kubeconfig live (default: a per-user data directory).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Port of the web server on 127.0.0.1 (the API, metrics and the git
    /// webhook); 0 picks a free one.
    #[arg(long, default_value_t = 8080, value_name = "N")]
    pub port: u16,
    /// Port of the embedded Kubernetes API (default: any free port).
    #[arg(long, value_name = "N")]
    pub api_port: Option<u16>,
    /// Stop once every application is Synced and Healthy instead of
    /// running until interrupted.
    #[arg(long)]
    pub exit_when_synced: bool,
    /// Give up waiting for Synced and Healthy after this long.
    #[arg(long, value_name = "D", default_value = "10m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

/// Which application, on which cluster: options of the cluster commands.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Application manifest file, or the name (NAME or NAMESPACE/NAME) of an
    /// Application stored in the cluster or on the Trellis server.
    #[arg(value_name = "APP")]
    pub app: String,
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace of an Application named by APP (default: the context's
    /// namespace).
    #[arg(long, value_name = "NS")]
    pub app_namespace: Option<String>,
}

/// `trellis diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The application and cluster.
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `trellis sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The application and cluster.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete resources the application no longer declares.
    #[arg(long)]
    pub prune: bool,
    /// Take over fields other field managers own.
    #[arg(long)]
    pub force: bool,
    /// How long a wave or hook may take to become healthy (e.g. 90s, 5m);
    /// with a server, how long to wait for the operation.
    #[arg(long, value_name = "D", default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    /// With a server: sync to this revision instead of the application's.
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,
    /// With a server: sync only this resource, GROUP:KIND:NAME or
    /// GROUP:KIND:NAMESPACE/NAME (empty GROUP for the core group);
    /// repeatable.
    #[arg(long = "resource", value_name = "GROUP:KIND:NAME")]
    pub resources: Vec<String>,
    /// With a server: request the sync and return without waiting for it.
    #[arg(long = "async")]
    pub no_wait: bool,
}

/// `trellis status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The application and cluster.
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `trellis wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The application and cluster.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Wait until every resource is synced.
    #[arg(long)]
    pub sync: bool,
    /// Wait until the application is healthy.
    #[arg(long)]
    pub health: bool,
    /// Give up after this long (e.g. 30s, 5m; exit 3).
    #[arg(long, value_name = "D", default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

/// Output formats of `trellis list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// The table with more columns.
    Wide,
    /// The summaries as YAML.
    Yaml,
    /// The summaries as JSON.
    Json,
    /// NAMESPACE/NAME per line.
    Name,
}

/// `trellis list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only these projects (comma-separated or repeated).
    #[arg(short = 'p', long, value_delimiter = ',', value_name = "NAME")]
    pub project: Vec<String>,
    /// Only these sync statuses: Synced, OutOfSync, Unknown.
    #[arg(long, value_delimiter = ',', value_name = "STATUS")]
    pub sync: Vec<String>,
    /// Only these health statuses: Healthy, Progressing, Degraded,
    /// Suspended, Missing, Unknown.
    #[arg(long, value_delimiter = ',', value_name = "STATUS")]
    pub health: Vec<String>,
    /// Only applications in these namespaces.
    #[arg(long, value_delimiter = ',', value_name = "NS")]
    pub app_namespace: Vec<String>,
    /// Label selector: a=b, a!=b, a, !a (comma-separated terms all hold).
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Output format (default: a table).
    #[arg(short, long, value_enum)]
    pub output: Option<ListFormat>,
}

/// `trellis get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The application: NAME or NAMESPACE/NAME.
    #[arg(value_name = "APP")]
    pub app: String,
    /// Namespace of the application (instead of NAMESPACE/NAME).
    #[arg(long, value_name = "NS")]
    pub app_namespace: Option<String>,
    /// Ask the controller to compare with git first, and wait for it.
    #[arg(long)]
    pub refresh: bool,
    /// Like --refresh, and re-render even if the revision did not move.
    #[arg(long)]
    pub hard_refresh: bool,
    /// Print the whole Application object instead of the summary.
    #[arg(short, long, value_enum)]
    pub output: Option<ManifestFormat>,
}

/// `trellis history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The application: NAME or NAMESPACE/NAME.
    #[arg(value_name = "APP")]
    pub app: String,
    /// Namespace of the application (instead of NAMESPACE/NAME).
    #[arg(long, value_name = "NS")]
    pub app_namespace: Option<String>,
    /// Print the entries as YAML or JSON instead of a table.
    #[arg(short, long, value_enum)]
    pub output: Option<ManifestFormat>,
}

/// `trellis rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The application: NAME or NAMESPACE/NAME.
    #[arg(value_name = "APP")]
    pub app: String,
    /// The history entry to go back to (see `trellis history`); default:
    /// the one before the newest.
    #[arg(value_name = "ID")]
    pub id: Option<i64>,
    /// Namespace of the application (instead of NAMESPACE/NAME).
    #[arg(long, value_name = "NS")]
    pub app_namespace: Option<String>,
    /// Delete resources the old revision does not have.
    #[arg(long)]
    pub prune: bool,
    /// Have the controller check the rollback and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Request the rollback and return without waiting for it.
    #[arg(long = "async")]
    pub no_wait: bool,
    /// How long to wait for the operation (exit 3 after).
    #[arg(long, value_name = "D", default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

/// `trellis login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The server (default: --server, $TRELLIS_SERVER, the current login,
    /// else http://127.0.0.1:8080 where `trellis up` listens).
    #[arg(value_name = "URL")]
    pub url: Option<String>,
    /// The account.
    #[arg(long, default_value = "admin", value_name = "NAME")]
    pub username: String,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

/// `trellis logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The server to log out of (default: the current login).
    #[arg(value_name = "URL")]
    pub url: Option<String>,
}

/// Reads `500ms`, `30s`, `5m`, `1h` or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (examples: 500ms, 30s, 5m, 1h)"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} (use ms, s, m or h)"
            ));
        }
    };
    Ok(std::time::Duration::from_secs_f64(seconds))
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
    /// No simulated workloads: Deployments get no Pods and Jobs never run
    /// (garbage collection and namespace termination still happen).
    #[arg(long)]
    pub no_simulate: bool,
    /// Image pattern whose Pods crash-loop and whose Jobs fail, to show
    /// Degraded health and failing hooks.
    #[arg(long, value_name = "GLOB", default_value = "*:fail")]
    pub fail_image: String,
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

/// `trellis install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The controller's namespace (its Applications and Secrets live there).
    #[arg(long, default_value = "trellis", value_name = "NS")]
    pub namespace: String,
    /// The controller's image (default: ghcr.io/trellis-dev/trellis:VERSION).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Also install Argo CD's argoproj.io CRDs and reconcile its
    /// Applications (leave out where Argo CD itself is installed).
    #[arg(long)]
    pub argocd_compat: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = ManifestFormat::Yaml, conflicts_with = "apply")]
    pub output: ManifestFormat,
    /// Apply the manifests server-side instead of printing them.
    #[arg(long)]
    pub apply: bool,
    /// With --apply: have the server check everything and store nothing.
    #[arg(long, requires = "apply")]
    pub dry_run: bool,
    /// With --apply: take over fields other field managers own.
    #[arg(long, requires = "apply")]
    pub force_conflicts: bool,
    /// Kubeconfig file for --apply (default: $KUBECONFIG, then
    /// ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context for --apply (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
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
