//! The admin account and API tokens, kept in the Secret `trellis-server`
//! of the controller's namespace: the cluster stays the database.
//!
//! The Secret holds two keys: `admin.passwordHash`, the admin password as
//! an argon2id PHC string, and `tokens.json`, the API tokens' metadata with
//! the SHA-256 of each token. A token is 256 random bits, so a fast hash is
//! enough for it; a password is chosen by a person, so it gets argon2.
//!
//! Writes read the Secret and patch it with its `resourceVersion`, retrying
//! when another writer got there first, so concurrent writers never lose
//! each other's changes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use trellis_kube::Cluster;
use trellis_model::ResourceKey;

use crate::SECRET_NAME;
use crate::error::{Result, ServerError};
use crate::policy::Grant;

/// The key of the admin password hash in the Secret.
pub const ADMIN_HASH_KEY: &str = "admin.passwordHash";
/// The key of the tokens' metadata in the Secret.
pub const TOKENS_KEY: &str = "tokens.json";
/// The local account's name.
pub const ADMIN_USER: &str = "admin";
/// What every API token starts with.
pub const TOKEN_PREFIX: &str = "trl_";
/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

/// What the accounts Secret holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accounts {
    /// The admin password's argon2 PHC string; `None` until one is set.
    pub admin_hash: Option<String>,
    /// The API tokens.
    pub tokens: Vec<TokenRecord>,
}

/// A stored API token: its metadata and the SHA-256 of the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRecord {
    /// The token's id (also part of the token).
    pub id: String,
    /// A name chosen by its creator.
    pub name: String,
    /// What it may do.
    pub grant: Grant,
    /// Created at (Unix seconds).
    pub created_at: i64,
    /// Expires at (Unix seconds); never when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Hex SHA-256 of the whole token.
    pub hash: String,
}

/// A token as shown to people: everything but the hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    /// The token's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its role: `read`, `sync`, `admin` or `proj:<project>:<role>`.
    pub role: String,
    /// The project it is limited to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Created at (Unix seconds).
    pub created_at: i64,
    /// Expires at (Unix seconds), if ever.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl TokenRecord {
    /// The record without its hash.
    pub fn info(&self) -> TokenInfo {
        let (role, project) = match &self.grant {
            Grant::Builtin { role, project } => (
                serde_json::to_value(role)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                project.clone(),
            ),
            Grant::ProjectRole { project, role } => {
                (format!("proj:{project}:{role}"), Some(project.clone()))
            }
        };
        TokenInfo {
            id: self.id.clone(),
            name: self.name.clone(),
            role,
            project,
            created_at: self.created_at,
            expires_at: self.expires_at,
        }
    }

    /// Whether the token has expired at `now` (Unix seconds).
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// A request for a new token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewToken {
    /// A name for people.
    pub name: String,
    /// `read`, `sync`, `admin` or `proj:<project>:<role>`.
    pub role: String,
    /// Limits a built-in role to one project.
    #[serde(default)]
    pub project: Option<String>,
    /// Seconds until it expires; never when unset.
    #[serde(default)]
    pub expires_in: Option<u64>,
}

impl Accounts {
    /// Reads the accounts from the Secret object.
    pub fn from_secret(secret: &Value) -> std::result::Result<Self, String> {
        let field = |key: &str| -> std::result::Result<Option<String>, String> {
            let Some(encoded) = secret
                .get("data")
                .and_then(|d| d.get(key))
                .and_then(Value::as_str)
            else {
                return Ok(None);
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| format!("data.{key}: not base64: {e}"))?;
            String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| format!("data.{key}: not UTF-8"))
        };
        let admin_hash = field(ADMIN_HASH_KEY)?.filter(|h| !h.trim().is_empty());
        let tokens = match field(TOKENS_KEY)? {
            Some(text) if !text.trim().is_empty() => {
                serde_json::from_str(&text).map_err(|e| format!("data.{TOKENS_KEY}: {e}"))?
            }
            _ => Vec::new(),
        };
        Ok(Self { admin_hash, tokens })
    }

    /// The Secret's `data` for these accounts.
    fn to_data(&self) -> Result<Value> {
        let encode = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let tokens = serde_json::to_string(&self.tokens)
            .map_err(|e| ServerError::Invalid(format!("tokens: {e}")))?;
        let mut data = serde_json::Map::new();
        if let Some(hash) = &self.admin_hash {
            data.insert(ADMIN_HASH_KEY.into(), Value::String(encode(hash)));
        }
        data.insert(TOKENS_KEY.into(), Value::String(encode(&tokens)));
        Ok(Value::Object(data))
    }

    /// The stored token a presented token is, if it is one and has not
    /// expired.
    pub fn token(&self, presented: &str, now: i64) -> Option<&TokenRecord> {
        let rest = presented.strip_prefix(TOKEN_PREFIX)?;
        let (id, _) = rest.split_once('_')?;
        let record = self.tokens.iter().find(|t| t.id == id)?;
        let hash = token_hash(presented);
        (constant_time_eq(hash.as_bytes(), record.hash.as_bytes()) && !record.expired(now))
            .then_some(record)
    }
}

/// The SHA-256 of a token, hex.
fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// `n` random bytes from the operating system.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Compares without stopping at the first difference.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Now, in Unix seconds.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Hashes a password with argon2id and a random salt, as a PHC string.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServerError::Hash(e.to_string()))
}

/// Whether `password` matches a PHC hash; an unreadable hash matches
/// nothing.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

fn secret_key(namespace: &str) -> ResourceKey {
    ResourceKey {
        group: String::new(),
        kind: "Secret".into(),
        namespace: namespace.to_string(),
        name: SECRET_NAME.into(),
    }
}

fn bad_secret(namespace: &str, message: String) -> ServerError {
    ServerError::Secret {
        namespace: namespace.to_string(),
        name: SECRET_NAME.into(),
        message,
    }
}

/// Reads the accounts; empty when the Secret does not exist yet.
pub async fn read(cluster: &Cluster, namespace: &str) -> Result<Accounts> {
    match cluster.get(&secret_key(namespace)).await? {
        Some(secret) => Accounts::from_secret(&secret).map_err(|m| bad_secret(namespace, m)),
        None => Ok(Accounts::default()),
    }
}

/// The outcome of [`modify`]: what the change returned, the accounts as
/// written, and the Secret's resourceVersion after the write (`None` when
/// nothing was written).
pub(crate) type Modified<T> = (T, Accounts, Option<String>);

/// Reads, changes and writes the accounts, again from the start when
/// another writer changed them in between. `change` returns `None` when
/// there is nothing to write.
pub(crate) async fn modify<T>(
    cluster: &Cluster,
    namespace: &str,
    mut change: impl FnMut(&mut Accounts) -> Result<Option<T>>,
) -> Result<Modified<T>>
where
    T: Default,
{
    for _ in 0..8 {
        let current = cluster.get(&secret_key(namespace)).await?;
        let mut accounts = match &current {
            Some(secret) => Accounts::from_secret(secret).map_err(|m| bad_secret(namespace, m))?,
            None => Accounts::default(),
        };
        let Some(out) = change(&mut accounts)? else {
            return Ok((T::default(), accounts, None));
        };
        let data = accounts.to_data()?;
        let written = match current {
            Some(secret) => {
                let version = secret
                    .pointer("/metadata/resourceVersion")
                    .cloned()
                    .unwrap_or(Value::Null);
                let patch = json!({"metadata": {"resourceVersion": version}, "data": data});
                match cluster
                    .merge_patch(&secret_key(namespace), &patch, false)
                    .await
                {
                    Ok(found) => found.map(|o| version_of(&o)),
                    Err(e) if e.is_conflict() => None,
                    Err(e) => return Err(e.into()),
                }
            }
            None => create_secret(cluster, namespace, data).await?,
        };
        if let Some(version) = written {
            return Ok((out, accounts, Some(version)));
        }
    }
    Err(ServerError::Contended(format!("{namespace}/{SECRET_NAME}")))
}

/// The resourceVersion of an object.
pub(crate) fn version_of(object: &Value) -> String {
    object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Creates the Secret; its resourceVersion, or `None` when another writer
/// created it first.
async fn create_secret(cluster: &Cluster, namespace: &str, data: Value) -> Result<Option<String>> {
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::{Api, ApiResource, DynamicObject, PostParams};
    let resource = ApiResource::erase::<Secret>(&());
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client().clone(), namespace, &resource);
    let secret = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": SECRET_NAME,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "trellis"},
        },
        "type": "Opaque",
        "data": data,
    });
    let object: DynamicObject = serde_json::from_value(secret)
        .map_err(|e| bad_secret(namespace, format!("cannot build: {e}")))?;
    let params = PostParams {
        field_manager: Some("trellis-server".into()),
        ..PostParams::default()
    };
    match api.create(&params, &object).await {
        Ok(created) => Ok(Some(created.metadata.resource_version.unwrap_or_default())),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(None),
        Err(kube::Error::Api(status)) => Err(ServerError::Kube(trellis_kube::Error::Api {
            verb: "create",
            what: format!("Secret {namespace}/{SECRET_NAME}"),
            code: status.code,
            reason: status.reason.clone(),
            message: status.message.clone(),
        })),
        Err(other) => Err(ServerError::Kube(trellis_kube::Error::Transport {
            verb: "create",
            what: format!("Secret {namespace}/{SECRET_NAME}"),
            source: Box::new(other),
        })),
    }
}

/// A password people can type: 24 characters from 144 random bits.
fn generate_password() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<18>())
}

/// Makes sure the admin account has a password. When it has none yet, one
/// is generated, stored (hashed) and returned — the only time it is ever
/// shown; `None` when a password was already set.
pub async fn ensure_admin(cluster: &Cluster, namespace: &str) -> Result<Option<String>> {
    let password = generate_password();
    let hash = hash_blocking(password.clone()).await?;
    let (generated, _, _) = modify(cluster, namespace, |accounts| {
        if accounts.admin_hash.is_some() {
            return Ok(None);
        }
        accounts.admin_hash = Some(hash.clone());
        Ok(Some(true))
    })
    .await?;
    Ok(generated.then_some(password))
}

/// Sets the admin password (at least [`MIN_PASSWORD_LEN`] characters).
/// Sessions opened with the previous password end.
pub async fn set_admin_password(cluster: &Cluster, namespace: &str, password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(ServerError::Invalid(format!(
            "the password must have at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    let hash = hash_blocking(password.to_string()).await?;
    modify(cluster, namespace, |accounts| {
        accounts.admin_hash = Some(hash.clone());
        Ok(Some(()))
    })
    .await?;
    Ok(())
}

async fn hash_blocking(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ServerError::Task(e.to_string()))?
}

/// Creates an API token; returns its metadata and the token itself, which
/// is not stored and cannot be shown again.
pub async fn create_token(
    cluster: &Cluster,
    namespace: &str,
    request: &NewToken,
) -> Result<(TokenInfo, String)> {
    let (record, token) = new_token(request)?;
    modify(cluster, namespace, |accounts| {
        accounts.tokens.push(record.clone());
        Ok(Some(()))
    })
    .await?;
    Ok((record.info(), token))
}

/// The record and the token for a request, validated.
pub(crate) fn new_token(request: &NewToken) -> Result<(TokenRecord, String)> {
    let name = request.name.trim();
    if name.is_empty() || name.len() > 63 || name.chars().any(char::is_control) {
        return Err(ServerError::Invalid(
            "a token needs a name of 1 to 63 printable characters".into(),
        ));
    }
    let grant = Grant::parse(request.role.trim(), request.project.as_deref())
        .map_err(ServerError::Invalid)?;
    let id = hex(&random_bytes::<8>());
    let token = format!("{TOKEN_PREFIX}{id}_{}", hex(&random_bytes::<32>()));
    let now = unix_now();
    let expires_at = match request.expires_in {
        Some(0) => {
            return Err(ServerError::Invalid(
                "expiresIn must be a positive number of seconds".into(),
            ));
        }
        Some(seconds) => Some(
            now.saturating_add(Duration::from_secs(seconds).as_secs().min(i64::MAX as u64) as i64),
        ),
        None => None,
    };
    let record = TokenRecord {
        id,
        name: name.to_string(),
        grant,
        created_at: now,
        expires_at,
        hash: token_hash(&token),
    };
    Ok((record, token))
}

/// Deletes a token by id; whether it existed.
pub async fn delete_token(cluster: &Cluster, namespace: &str, id: &str) -> Result<bool> {
    let (deleted, _, _) = modify(cluster, namespace, |accounts| {
        let before = accounts.tokens.len();
        accounts.tokens.retain(|t| t.id != id);
        Ok((accounts.tokens.len() != before).then_some(true))
    })
    .await?;
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "wrong horse"));
        assert!(!verify_password("not a hash", "correct horse"));
    }

    #[test]
    fn tokens_round_trip_through_the_secret() {
        let (record, token) = new_token(&NewToken {
            name: "ci".into(),
            role: "sync".into(),
            project: Some("shop".into()),
            expires_in: None,
        })
        .unwrap();
        assert!(!record.hash.contains(&token[10..]));
        let accounts = Accounts {
            admin_hash: Some("$argon2id$x".into()),
            tokens: vec![record.clone()],
        };
        let secret = json!({"data": accounts.to_data().unwrap()});
        let read = Accounts::from_secret(&secret).unwrap();
        assert_eq!(read, accounts);
        assert_eq!(read.token(&token, unix_now()), Some(&record));
        let mut forged = token.clone();
        forged.pop();
        forged.push('x');
        assert_eq!(read.token(&forged, unix_now()), None);
        assert_eq!(read.token("trl_nothing", unix_now()), None);
        assert_eq!(record.info().role, "sync");
        assert_eq!(record.info().project.as_deref(), Some("shop"));
    }

    #[test]
    fn expired_tokens_are_refused() {
        let (mut record, token) = new_token(&NewToken {
            name: "short".into(),
            role: "read".into(),
            project: None,
            expires_in: Some(60),
        })
        .unwrap();
        let accounts = Accounts {
            admin_hash: None,
            tokens: vec![record.clone()],
        };
        assert!(accounts.token(&token, unix_now()).is_some());
        assert!(accounts.token(&token, unix_now() + 61).is_none());
        record.expires_at = None;
        assert!(!record.expired(i64::MAX));
    }

    #[test]
    fn bad_token_requests_are_refused() {
        for (name, role) in [("", "read"), ("x", "owner"), ("x", "proj:a")] {
            let request = NewToken {
                name: name.into(),
                role: role.into(),
                ..NewToken::default()
            };
            assert!(new_token(&request).is_err(), "{name} {role}");
        }
    }

    #[test]
    fn unreadable_secrets_are_errors() {
        assert!(Accounts::from_secret(&json!({"data": {TOKENS_KEY: "!!"}})).is_err());
        let bad = base64::engine::general_purpose::STANDARD.encode("[1]");
        assert!(Accounts::from_secret(&json!({"data": {TOKENS_KEY: bad}})).is_err());
        assert_eq!(
            Accounts::from_secret(&json!({})).unwrap(),
            Accounts::default()
        );
    }
}
