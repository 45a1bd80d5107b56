//! `trellis login` and `trellis logout`.
//!
//! A login opens a session with the password, creates an API token with it
//! and saves the token (the session ends right away): later commands send
//! the token, which lasts until `trellis logout` revokes it. Where the
//! account may not create tokens, the session itself is saved instead
//! (and lasts as long as the server keeps sessions).

use std::io::{IsTerminal, Read, Write};

use anyhow::{Context, Result};

use super::client::{Auth, RemoteClient, RemoteError, TlsOptions, normalize_server};
use super::store::{self, SavedLogin};
use crate::cli::{GlobalArgs, LoginArgs, LogoutArgs};
use crate::{Outcome, UsageError};

/// Where `trellis up` serves, the server of a login that names none.
const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// Logs in and saves the credentials as the current login.
pub fn run(args: &LoginArgs, global: &GlobalArgs, out: &mut dyn Write) -> Result<Outcome> {
    let path = store::path()?;
    let mut logins = store::load(&path)?;
    let server = match args.url.as_deref().or(global.server.as_deref()) {
        Some(url) => url.to_string(),
        None => logins
            .current
            .clone()
            .unwrap_or_else(|| DEFAULT_SERVER.to_string()),
    };
    let server = normalize_server(&server).map_err(|e| UsageError(e.to_string()))?;
    // A relative CA file would mean another file from another directory.
    let ca_file = match &global.server_ca {
        Some(path) => Some(
            std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))?,
        ),
        None => logins.servers.get(&server).and_then(|l| l.ca_file.clone()),
    };
    let tls = TlsOptions {
        ca_file: ca_file.clone(),
    };
    let password = read_password(args, &server)?;
    let rt = crate::kubeclient::runtime()?;
    let saved = rt.block_on(async {
        let client = RemoteClient::new(&server, Auth::None, &tls)?;
        let session = client.login(&args.username, &password).await?;
        let session_auth = Auth::Session {
            cookie: session.cookie.clone(),
            csrf: session.csrf.clone(),
        };
        let as_session = client.with_auth(session_auth);
        let saved = match as_session
            .create_token(&token_name(&session.username), "admin")
            .await
        {
            Ok(token) => {
                // The token must work before it replaces the session (a
                // leftover session would only linger until it expires).
                client
                    .with_auth(Auth::Token(token.token.clone()))
                    .whoami()
                    .await
                    .context("checking the new API token")?;
                if let Err(e) = as_session.end_session().await {
                    tracing::debug!(error = %e, "ending the login session");
                }
                SavedLogin {
                    username: session.username.clone(),
                    token: Some(token.token),
                    token_id: Some(token.id),
                    ca_file: ca_file.clone(),
                    ..SavedLogin::default()
                }
            }
            Err(RemoteError::Forbidden { message }) => {
                tracing::info!(%message, "no API token allowed: saving the session");
                SavedLogin {
                    username: session.username.clone(),
                    session: Some(session.cookie),
                    csrf: Some(session.csrf),
                    ca_file: ca_file.clone(),
                    ..SavedLogin::default()
                }
            }
            Err(e) => return Err(anyhow::Error::new(e).context("creating an API token")),
        };
        // A new login replaces the previous one of that server: revoke its
        // token rather than leave it valid and forgotten.
        if let Some(old) = logins.servers.get(&server) {
            revoke(&client, old).await;
        }
        anyhow::Ok(saved)
    })?;
    let username = saved.username.clone();
    let kind = if saved.token.is_some() {
        "API token"
    } else {
        "session"
    };
    logins.servers.insert(server.clone(), saved);
    logins.current = Some(server.clone());
    store::save(&path, &logins)?;
    writeln!(
        out,
        "Logged in to {server} as {username} ({kind} saved in {})",
        path.display()
    )?;
    Ok(Outcome::Clean)
}

/// Revokes the saved credentials (best effort) and forgets them.
pub fn logout(args: &LogoutArgs, global: &GlobalArgs, out: &mut dyn Write) -> Result<Outcome> {
    let path = store::path()?;
    let mut logins = store::load(&path)?;
    let server = match args.url.as_deref().or(global.server.as_deref()) {
        Some(url) => normalize_server(url).map_err(|e| UsageError(e.to_string()))?,
        None => logins
            .current
            .clone()
            .ok_or_else(|| UsageError("not logged in to any Trellis server".into()))?,
    };
    let Some(saved) = logins.servers.remove(&server) else {
        return Err(UsageError(format!("not logged in to {server}")).into());
    };
    let rt = crate::kubeclient::runtime()?;
    rt.block_on(async {
        let tls = TlsOptions {
            ca_file: global.server_ca.clone().or(saved.ca_file.clone()),
        };
        match RemoteClient::new(&server, Auth::None, &tls) {
            Ok(client) => revoke(&client, &saved).await,
            Err(e) => eprintln!("warning: {e}"),
        }
    });
    if logins.current.as_deref() == Some(server.as_str()) {
        logins.current = logins.servers.keys().next().cloned();
    }
    store::save(&path, &logins)?;
    writeln!(out, "Logged out of {server}")?;
    Ok(Outcome::Clean)
}

/// Revokes a saved token or ends a saved session; a failure is a warning,
/// since forgetting the credentials locally still logs out.
async fn revoke(client: &RemoteClient, saved: &SavedLogin) {
    let result = match (&saved.token, &saved.token_id) {
        (Some(_), Some(id)) => client.with_auth(saved.auth()).delete_token(id).await,
        (None, _) if saved.session.is_some() => client.with_auth(saved.auth()).end_session().await,
        _ => Ok(()),
    };
    match result {
        Ok(()) => {}
        // Already revoked or expired: nothing is left to revoke.
        Err(RemoteError::Unauthorized { .. } | RemoteError::NotFound { .. }) => {}
        Err(e) => eprintln!(
            "warning: could not revoke the saved credentials on {}: {e}; an API token stays valid until deleted there",
            client.server()
        ),
    }
}

/// A name telling the token's origin: `trellis login USER@HOST`.
fn token_name(username: &str) -> String {
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    let name = if host.is_empty() {
        format!("trellis login {username}")
    } else {
        format!("trellis login {username}@{host}")
    };
    name.chars().filter(|c| !c.is_control()).take(63).collect()
}

/// The password: standard input's first line with `--password-stdin`,
/// else asked for on the terminal without echo.
fn read_password(args: &LoginArgs, server: &str) -> Result<String> {
    let stdin = std::io::stdin();
    let password = if args.password_stdin {
        let mut text = String::new();
        stdin
            .lock()
            .read_to_string(&mut text)
            .context("reading the password from standard input")?;
        text.lines().next().unwrap_or_default().to_string()
    } else if stdin.is_terminal() {
        prompt(&format!("Password for {} at {server}: ", args.username))?
    } else {
        return Err(UsageError(
            "no password: pass --password-stdin with the password on standard input, or run on a terminal"
                .into(),
        )
        .into());
    };
    if password.is_empty() {
        return Err(UsageError("the password is empty".into()).into());
    }
    Ok(password)
}

/// Asks on stderr and reads a line from the terminal with echo off.
fn prompt(question: &str) -> Result<String> {
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    eprint!("{question}");
    std::io::stderr().flush()?;
    let saved = tcgetattr(&stdin).context("reading the terminal's settings")?;
    let mut silent = saved.clone();
    silent.local_modes.remove(LocalModes::ECHO);
    silent.local_modes.insert(LocalModes::ECHONL);
    tcsetattr(&stdin, OptionalActions::Now, &silent).context("turning off echo")?;
    let mut line = String::new();
    let read = stdin.read_line(&mut line);
    // Echo comes back whatever happened to the read.
    let restored = tcsetattr(&stdin, OptionalActions::Now, &saved);
    read.context("reading the password")?;
    restored.context("restoring the terminal's settings")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
