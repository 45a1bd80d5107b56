//! Running the git command-line program for the network operations (`ls-remote`, `fetch`) and for
//! creating cache repositories.
//!
//! Why the CLI and not gix for these: git's transports (https with the system's TLS and proxy
//! settings, ssh with the user's agent and config, credential helpers) are what users already
//! configure and debug, and linking an HTTP stack into gix would add a second TLS provider and a
//! long C build. Reading objects, which is the hot path, goes through gix.
//!
//! Every run is non-interactive (no terminal or askpass prompts, stdin closed), uses the C locale
//! so messages can be classified, and is bounded by the configured timeout. Credentials reach git
//! only through environment variables of the child read by an inline credential helper, so they
//! never appear on a command line, in `ps` output, in logs or in errors.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use crate::config::{RepoCredentials, SourceConfig};
use crate::error::{Result, SourceError};
use crate::url::redact;

const USERNAME_VAR: &str = "TRELLIS_SOURCE_GIT_USERNAME";
const PASSWORD_VAR: &str = "TRELLIS_SOURCE_GIT_PASSWORD";

/// Answers git's `get` requests from the child's environment; `store` and `erase` are ignored so
/// nothing is ever written anywhere. The password line is always sent (possibly empty) because
/// prompting is disabled: a token given as the user name alone is then tried with an empty
/// password instead of failing on a prompt.
const CREDENTIAL_HELPER: &str = "!f() { test \"$1\" = get || exit 0; \
    test -n \"$TRELLIS_SOURCE_GIT_USERNAME\" && printf 'username=%s\\n' \"$TRELLIS_SOURCE_GIT_USERNAME\"; \
    printf 'password=%s\\n' \"$TRELLIS_SOURCE_GIT_PASSWORD\"; \
    exit 0; }; f";

/// Variables that would redirect git to another repository than the one we name.
const REPOSITORY_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
];

/// One git invocation about one location.
pub(crate) struct Git<'a> {
    pub config: &'a SourceConfig,
    /// The location git talks to; selects credentials and appears (redacted) in errors.
    pub location: &'a str,
    /// Credentials from the location's URL, used instead of configured ones.
    pub embedded: Option<&'a RepoCredentials>,
    /// `ls-remote`, `fetch` or `init`: names the operation in errors.
    pub operation: &'static str,
}

impl Git<'_> {
    /// Runs git with `args` (in `git_dir` when given) and returns its standard output.
    pub fn run(&self, git_dir: Option<&Path>, args: &[&str]) -> Result<Vec<u8>> {
        let mut cmd = Command::new("git");
        if let Some(dir) = git_dir {
            cmd.arg("--git-dir").arg(dir);
        }
        cmd.args([
            "-c",
            "credential.helper=",
            "-c",
            "core.askPass=",
            // Finish any automatic gc inside this (locked) run instead of in a detached process.
            "-c",
            "gc.autoDetach=false",
            "-c",
            "maintenance.autoDetach=false",
        ]);
        // A stalled transfer ends by itself after the timeout too, so a remote helper left behind
        // by a timed-out (killed) git does not linger.
        let stall = self.config.git_timeout.as_secs().max(1).to_string();
        cmd.args([
            "-c",
            "http.lowSpeedLimit=1",
            "-c",
            &format!("http.lowSpeedTime={stall}"),
        ]);
        for var in REPOSITORY_ENV {
            cmd.env_remove(var);
        }
        cmd.env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ASKPASS", "")
            .env("GCM_INTERACTIVE", "never")
            .env("LC_ALL", "C")
            .env("LANGUAGE", "C")
            .env_remove("SSH_ASKPASS")
            .env_remove(USERNAME_VAR)
            .env_remove(PASSWORD_VAR);

        let credentials = self
            .embedded
            .or_else(|| self.config.credentials_for(self.location));
        let mut secret = None;
        let mut has_credentials = false;
        if let Some(c) = credentials
            && (c.username.is_some() || c.password.is_some())
        {
            has_credentials = true;
            cmd.args(["-c", &format!("credential.helper={CREDENTIAL_HELPER}")]);
            if let Some(user) = &c.username {
                cmd.env(USERNAME_VAR, user);
            }
            if let Some(password) = &c.password {
                cmd.env(PASSWORD_VAR, password);
                secret = Some(password.as_str());
            }
        }
        cmd.env(
            "GIT_SSH_COMMAND",
            self.ssh_command(credentials.and_then(|c| c.ssh_private_key_file.as_deref())),
        );
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());

        tracing::debug!(operation = self.operation, url = %redact(self.location), "running git");
        let mut child = cmd
            .spawn()
            .map_err(|source| SourceError::GitNotFound { source })?;

        let (tx, rx) = mpsc::channel::<(bool, Vec<u8>)>();
        let spawn_reader = |is_stdout: bool, pipe: Option<Box<dyn Read + Send>>| {
            let tx = tx.clone();
            if let Some(mut pipe) = pipe {
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let _ = pipe.read_to_end(&mut buf);
                    let _ = tx.send((is_stdout, buf));
                });
            } else {
                let _ = tx.send((is_stdout, Vec::new()));
            }
        };
        spawn_reader(
            true,
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        spawn_reader(
            false,
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        drop(tx);

        let deadline = Instant::now() + self.config.git_timeout;
        let (mut stdout, mut stderr) = (None, None);
        while stdout.is_none() || stderr.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((true, out)) => stdout = Some(out),
                Ok((false, err)) => stderr = Some(err),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(SourceError::Timeout {
                        operation: self.operation,
                        url: redact(self.location),
                        after: self.config.git_timeout,
                    });
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let status = child
            .wait()
            .map_err(|source| SourceError::GitNotFound { source })?;
        if status.success() {
            return Ok(stdout.unwrap_or_default());
        }
        let stderr = String::from_utf8_lossy(&stderr.unwrap_or_default()).into_owned();
        Err(self.classify_failure(&stderr, secret, has_credentials, status.code()))
    }

    fn ssh_command(&self, key: Option<&Path>) -> String {
        // The configured command, else the user's own GIT_SSH_COMMAND (proxies, jump hosts), is
        // the base; our options are appended.
        let base = self
            .config
            .ssh_command
            .clone()
            .or_else(|| std::env::var("GIT_SSH_COMMAND").ok())
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "ssh".to_string());
        let alive = (self.config.git_timeout.as_secs() / 4).clamp(1, 30);
        let mut cmd = format!(
            "{base} -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o ConnectTimeout={} \
             -o ServerAliveInterval={alive} -o ServerAliveCountMax=4",
            self.config.git_timeout.as_secs().clamp(1, 60)
        );
        if let Some(key) = key {
            cmd.push_str(&format!(
                " -i {} -o IdentitiesOnly=yes",
                shell_quote(&key.to_string_lossy())
            ));
        }
        if let Some(known_hosts) = &self.config.ssh_known_hosts_file {
            cmd.push_str(&format!(
                " -o UserKnownHostsFile={}",
                shell_quote(&known_hosts.to_string_lossy())
            ));
        }
        cmd
    }

    fn classify_failure(
        &self,
        stderr: &str,
        secret: Option<&str>,
        has_credentials: bool,
        code: Option<i32>,
    ) -> SourceError {
        let mut message = summarize(stderr);
        if let Some(secret) = secret.filter(|s| !s.is_empty()) {
            message = message.replace(secret, "<redacted>");
        }
        if message.is_empty() {
            message = match code {
                Some(code) => format!("git exited with status {code}"),
                None => "git was terminated by a signal".to_string(),
            };
        }
        let url = redact(self.location);
        let lower = message.to_ascii_lowercase();
        const AUTH: &[&str] = &[
            "authentication failed",
            "could not read username",
            "could not read password",
            "terminal prompts disabled",
            "permission denied (publickey",
            "http basic: access denied",
            "the requested url returned error: 401",
            "the requested url returned error: 403",
            "invalid username or password",
        ];
        const LOCAL: &[&str] = &[
            "not our ref",
            "couldn't find remote ref",
            "unadvertised object",
            "no space left",
            // Failures of the cache repository itself, not of the remote.
            "cannot lock ref",
            "unable to create",
            "unable to write",
            "disk quota exceeded",
            "read-only file system",
        ];
        if !has_credentials
            && (lower.contains("could not read username")
                || lower.contains("could not read password"))
        {
            // git's words for "the server wants credentials and there are none".
            SourceError::Authentication {
                url,
                message: format!(
                    "the server requires credentials and none are configured for this URL \
                     (configure credentials for it, or set {} and {})",
                    crate::config::ENV_USERNAME,
                    crate::config::ENV_PASSWORD
                ),
            }
        } else if AUTH.iter().any(|p| lower.contains(p)) {
            SourceError::Authentication { url, message }
        } else if self.operation == "init" || LOCAL.iter().any(|p| lower.contains(p)) {
            SourceError::Git {
                operation: self.operation,
                url,
                message,
            }
        } else {
            SourceError::Unreachable { url, message }
        }
    }
}

/// Condenses git's stderr into one line: the `fatal:`/`error:` lines when there are any (they
/// carry the cause), else everything; credentials removed; bounded in length.
fn summarize(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let important: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("fatal:") || l.starts_with("error:"))
        .collect();
    let chosen = if important.is_empty() {
        lines
    } else {
        important
    };
    let joined = chosen
        .iter()
        .map(|l| {
            l.strip_prefix("fatal: ")
                .or_else(|| l.strip_prefix("error: "))
                .unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut message = redact(&joined);
    if message.len() > 600 {
        let mut cut = 600;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    message
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_prefers_fatal_lines_and_redacts() {
        let stderr = "remote: Invalid credentials\nfatal: Authentication failed for 'https://bob:pw@host/x.git/'\n";
        assert_eq!(
            summarize(stderr),
            "Authentication failed for 'https://host/x.git/'"
        );
        assert_eq!(summarize("just noise\n"), "just noise");
    }

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(shell_quote("/a b/it's"), "'/a b/it'\\''s'");
    }
}
