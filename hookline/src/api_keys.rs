//! API keys for the merchant REST API: one mode each, an optional source-IP
//! allowlist, shown once and stored only as a SHA-256 (a key is 256 random
//! bits, so a fast hash is enough; no password stretching needed).

use crate::mode::Mode;
use crate::validation::{CONTROL_CHARACTER, FieldErrors, has_control_character};
use serde::{Deserialize, Serialize};

pub const MAX_NAME: usize = 80;

/// What the create form sends; the mode is the portal's current one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyInput {
    #[serde(default)]
    pub name: String,
    /// CIDRs separated by spaces, commas or new lines; empty means any address.
    #[serde(default)]
    pub allowlist: String,
    /// May the key read endpoints' signing secrets?
    #[serde(default)]
    pub read_secrets: bool,
}

/// A valid key request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidKeyInput {
    pub name: String,
    pub allowlist: Vec<crate::endpoint::Cidr>,
    pub read_secrets: bool,
}

impl ApiKeyInput {
    pub fn validate(&self) -> Result<ValidKeyInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            errors.add(
                "name",
                "Name the key after what uses it, such as \"CI deploys\".",
            );
        } else if name.chars().count() > MAX_NAME {
            errors.add("name", format!("Use at most {MAX_NAME} characters."));
        } else if has_control_character(&name, false) {
            errors.add("name", CONTROL_CHARACTER);
        }
        let allowlist =
            crate::endpoint::parse_allowlist(std::iter::once(self.allowlist.as_str()), &mut errors);
        errors.into_result(ValidKeyInput {
            name,
            allowlist,
            read_secrets: self.read_secrets,
        })
    }
}

/// A key as the portal and the API list it: never the key itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub mode: Mode,
    pub name: String,
    /// The start of the key, enough to tell keys apart.
    pub prefix: String,
    pub allowlist: Vec<String>,
    /// May read endpoints' signing secrets.
    pub read_secrets: bool,
    pub created_ms: i64,
    pub last_used_ms: Option<i64>,
    pub revoked_ms: Option<i64>,
}

/// A key just created: `secret` is the whole key, shown this once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedKey {
    pub key: ApiKey,
    pub secret: String,
}

// By hand, so that a debug print of a new key never holds the key itself.
impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey")
            .field("key", &self.key)
            .field("secret", &"***")
            .finish()
    }
}

/// Who an accepted key speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub key_id: String,
    pub merchant_id: String,
    pub mode: Mode,
    /// The key's name and prefix, for logs and the audit trail.
    pub label: String,
    pub read_secrets: bool,
}

/// Why a presented key was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No key, or one Hookline never issued.
    Unknown,
    Revoked,
    /// A valid key used from outside its allowlist.
    Address {
        key_id: String,
        merchant_id: String,
    },
}

/// The text every key starts with, by mode.
pub fn key_prefix(mode: Mode) -> &'static str {
    match mode {
        Mode::Live => "hk_live_",
        Mode::Sandbox => "hk_test_",
    }
}

#[cfg(feature = "runtime")]
pub use ops::*;

#[cfg(feature = "runtime")]
mod ops {
    use super::{ApiKey, ApiKeyInput, Caller, CreatedKey, Refusal, key_prefix};
    use crate::clock::{Clock, Millis};
    use crate::error::{Error, Result};
    use crate::ids;
    use crate::mode::Mode;
    use crate::on_db;
    use crate::store::Db;
    use sha2::{Digest, Sha256};
    use std::net::IpAddr;
    use subtle::ConstantTimeEq;

    /// Random characters after the mode prefix.
    const RANDOM_LEN: usize = 40;
    /// Characters of the key shown to tell keys apart.
    const SHOWN: usize = 12;
    /// `last_used_ms` is written at most this often per key.
    const LAST_USED_EVERY_MS: i64 = 60_000;

    fn hash(key: &str) -> String {
        let digest = Sha256::digest(key.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    type Row = (
        String,
        String,
        String,
        String,
        String,
        bool,
        i64,
        Option<i64>,
        Option<i64>,
    );

    const COLUMNS: &str =
        "id, mode, name, prefix, allowlist, read_secrets, created_ms, last_used_ms, revoked_ms";

    fn view(r: Row) -> Result<ApiKey> {
        let (id, mode, name, prefix, allowlist, read_secrets, created_ms, last_used_ms, revoked_ms) =
            r;
        Ok(ApiKey {
            id,
            mode: mode.parse().map_err(Error::Internal)?,
            name,
            prefix,
            allowlist: allowlist.split_whitespace().map(str::to_owned).collect(),
            read_secrets,
            created_ms,
            last_used_ms,
            revoked_ms,
        })
    }

    /// Issues a key for the merchant in `mode`. The answer holds the only
    /// copy of the key Hookline ever has.
    pub async fn create(
        db: &Db,
        clock: &dyn Clock,
        merchant_id: &str,
        mode: Mode,
        input: &ApiKeyInput,
    ) -> Result<CreatedKey> {
        let valid = input.validate()?;
        let secret = format!(
            "{}{}",
            key_prefix(mode),
            crate::crypto::random_token(RANDOM_LEN)
        );
        let key = ApiKey {
            id: ids::api_key_id(),
            mode,
            name: valid.name,
            prefix: secret.chars().take(SHOWN).collect(),
            allowlist: valid.allowlist.iter().map(ToString::to_string).collect(),
            read_secrets: valid.read_secrets,
            created_ms: clock.now_ms(),
            last_used_ms: None,
            revoked_ms: None,
        };
        on_db!(db, |pool| {
            sqlx::query(
                "INSERT INTO api_keys (id, merchant_id, mode, name, prefix, key_hash, allowlist, read_secrets, created_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&key.id)
            .bind(merchant_id)
            .bind(mode.as_str())
            .bind(&key.name)
            .bind(&key.prefix)
            .bind(hash(&secret))
            .bind(key.allowlist.join(" "))
            .bind(key.read_secrets)
            .bind(key.created_ms)
            .execute(pool)
            .await?;
        });
        Ok(CreatedKey { key, secret })
    }

    /// The merchant's keys in both modes, newest first, revoked ones included.
    pub async fn list(db: &Db, merchant_id: &str) -> Result<Vec<ApiKey>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM api_keys WHERE merchant_id = $1 ORDER BY created_ms DESC, id DESC"
        );
        let rows: Vec<Row> = on_db!(db, |pool| {
            sqlx::query_as::<_, Row>(&sql)
                .bind(merchant_id)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(view).collect()
    }

    /// Revokes one of the merchant's keys; it is refused from then on.
    /// Answers the key, and whether this call revoked it (false when it
    /// already was, so nothing is recorded twice).
    pub async fn revoke(
        db: &Db,
        clock: &dyn Clock,
        merchant_id: &str,
        key_id: &str,
    ) -> Result<(ApiKey, bool)> {
        let changed = on_db!(db, |pool| {
            sqlx::query(
                "UPDATE api_keys SET revoked_ms = $1 WHERE id = $2 AND merchant_id = $3 AND revoked_ms IS NULL",
            )
            .bind(clock.now_ms())
            .bind(key_id)
            .bind(merchant_id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        let key = list(db, merchant_id)
            .await?
            .into_iter()
            .find(|k| k.id == key_id)
            .ok_or(Error::NotFound)?;
        if changed == 0 && key.revoked_ms.is_none() {
            return Err(Error::NotFound);
        }
        Ok((key, changed == 1))
    }

    /// Checks a presented key and the address it came from.
    pub async fn authenticate(
        db: &Db,
        clock: &dyn Clock,
        presented: &str,
        source: IpAddr,
    ) -> Result<std::result::Result<Caller, Refusal>> {
        if !(presented.starts_with(key_prefix(Mode::Live))
            || presented.starts_with(key_prefix(Mode::Sandbox)))
        {
            return Ok(Err(Refusal::Unknown));
        }
        let wanted = hash(presented);
        type Found = (
            String,
            String,
            String,
            String,
            String,
            Option<i64>,
            Option<i64>,
            String,
            String,
            bool,
        );
        let found: Option<Found> = on_db!(db, |pool| {
            sqlx::query_as::<_, Found>(
                "SELECT id, merchant_id, mode, key_hash, allowlist, last_used_ms, revoked_ms, name, prefix, read_secrets \
                 FROM api_keys WHERE key_hash = $1",
            )
            .bind(&wanted)
            .fetch_optional(pool)
            .await?
        });
        let Some((
            key_id,
            merchant_id,
            mode,
            stored,
            allowlist,
            last_used,
            revoked,
            name,
            prefix,
            read_secrets,
        )) = found
        else {
            return Ok(Err(Refusal::Unknown));
        };
        // The lookup matched already; compare again in constant time so a
        // collation or index quirk can never accept a different key.
        if !bool::from(stored.as_bytes().ct_eq(wanted.as_bytes())) {
            return Ok(Err(Refusal::Unknown));
        }
        if revoked.is_some() {
            return Ok(Err(Refusal::Revoked));
        }
        let networks: Vec<crate::endpoint::Cidr> = allowlist
            .split_whitespace()
            .filter_map(|c| crate::endpoint::Cidr::parse(c).ok())
            .collect();
        if !networks.is_empty() && !networks.iter().any(|n| n.contains(source)) {
            return Ok(Err(Refusal::Address {
                key_id,
                merchant_id,
            }));
        }
        let now = clock.now_ms();
        if last_used.is_none_or(|t| now - t >= LAST_USED_EVERY_MS) {
            on_db!(db, |pool| {
                sqlx::query("UPDATE api_keys SET last_used_ms = $1 WHERE id = $2")
                    .bind(now)
                    .bind(&key_id)
                    .execute(pool)
                    .await?;
            });
        }
        Ok(Ok(Caller {
            key_id,
            merchant_id,
            mode: mode.parse().map_err(Error::Internal)?,
            label: format!("API key \"{name}\" ({prefix}…)"),
            read_secrets,
        }))
    }

    /// Counts a request against the key's limit for the window holding
    /// `now`. Answers the milliseconds until the window ends if the limit
    /// is exceeded. Shared by every node through the database.
    pub async fn rate_limited(
        db: &Db,
        key_id: &str,
        now: i64,
        window_ms: i64,
        limit: i64,
    ) -> Result<Option<i64>> {
        let window = now.div_euclid(window_ms) * window_ms;
        let count = on_db!(db, |pool| {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO api_rate (key_id, window_ms, count) VALUES ($1, $2, 1) \
                 ON CONFLICT (key_id, window_ms) DO UPDATE SET count = api_rate.count + 1 RETURNING count",
            )
            .bind(key_id)
            .bind(window)
            .fetch_one(pool)
            .await?
        });
        Ok((count > limit).then_some(window + window_ms - now))
    }

    /// What an `Idempotency-Key` found.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Idempotency {
        /// First use: the caller runs the request, then [`finish`]es or [`abandon`]s it.
        Fresh,
        /// The same request was answered before: replay `(status, body)`.
        Replay(u16, String),
        /// The same key is being used by a request still running.
        InProgress,
        /// The key was used for a different request.
        Mismatch,
    }

    /// How long a claim may stay unanswered before a retry takes it over:
    /// far longer than any API request runs, so only a claim whose node
    /// died mid-request is taken.
    pub const STALE_CLAIM_MS: Millis = 10 * 60_000;

    /// Claims an idempotency key for a request, atomically: of two
    /// concurrent requests with the same key, one runs and the other waits
    /// for its answer (here: is told it is in progress). A claim left
    /// unanswered for [`STALE_CLAIM_MS`] is taken over, so a key is not
    /// blocked for a day by a node that stopped.
    pub async fn begin_idempotent(
        db: &Db,
        clock: &dyn Clock,
        key_id: &str,
        idem_key: &str,
        request_hash: &str,
    ) -> Result<Idempotency> {
        let now = clock.now_ms();
        let inserted = on_db!(db, |pool| {
            sqlx::query(
                "INSERT INTO api_idempotency (key_id, idem_key, request_hash, status, body, created_ms) \
                 VALUES ($1, $2, $3, 0, '', $4) ON CONFLICT (key_id, idem_key) DO NOTHING",
            )
            .bind(key_id)
            .bind(idem_key)
            .bind(request_hash)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if inserted == 1 {
            return Ok(Idempotency::Fresh);
        }
        let (hash, status, body): (String, i64, String) = on_db!(db, |pool| {
            sqlx::query_as::<_, (String, i64, String)>(
                "SELECT request_hash, status, body FROM api_idempotency WHERE key_id = $1 AND idem_key = $2",
            )
            .bind(key_id)
            .bind(idem_key)
            .fetch_one(pool)
            .await?
        });
        Ok(if hash != request_hash {
            Idempotency::Mismatch
        } else if status == 0 {
            let taken = on_db!(db, |pool| {
                sqlx::query(
                    "UPDATE api_idempotency SET created_ms = $1 \
                     WHERE key_id = $2 AND idem_key = $3 AND status = 0 AND created_ms <= $4",
                )
                .bind(now)
                .bind(key_id)
                .bind(idem_key)
                .bind(now - STALE_CLAIM_MS)
                .execute(pool)
                .await?
                .rows_affected()
            });
            if taken == 1 {
                Idempotency::Fresh
            } else {
                Idempotency::InProgress
            }
        } else {
            Idempotency::Replay(u16::try_from(status).unwrap_or(500), body)
        })
    }

    /// Stores the answer to replay for later requests with the same key.
    pub async fn finish_idempotent(
        db: &Db,
        key_id: &str,
        idem_key: &str,
        status: u16,
        body: &str,
    ) -> Result<()> {
        on_db!(db, |pool| {
            sqlx::query(
                "UPDATE api_idempotency SET status = $1, body = $2 WHERE key_id = $3 AND idem_key = $4",
            )
            .bind(i64::from(status))
            .bind(body)
            .bind(key_id)
            .bind(idem_key)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Forgets a claim whose request failed on Hookline's side, so a retry runs it.
    pub async fn abandon_idempotent(db: &Db, key_id: &str, idem_key: &str) -> Result<()> {
        on_db!(db, |pool| {
            sqlx::query(
                "DELETE FROM api_idempotency WHERE key_id = $1 AND idem_key = $2 AND status = 0",
            )
            .bind(key_id)
            .bind(idem_key)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ApiKeyInput;

    #[test]
    fn names_and_allowlists_are_checked() {
        let ok = ApiKeyInput {
            name: " CI deploys ".into(),
            allowlist: "203.0.113.0/24, 198.51.100.7".into(),
            read_secrets: false,
        }
        .validate()
        .unwrap();
        assert_eq!(ok.name, "CI deploys");
        assert_eq!(ok.allowlist.len(), 2);
        let bad = ApiKeyInput {
            name: String::new(),
            allowlist: "10.0.0.1/8 nowhere".into(),
            read_secrets: false,
        }
        .validate()
        .unwrap_err();
        assert!(bad.get("name").is_some() && bad.get("allowlist").is_some());
    }

    #[test]
    fn a_huge_allowlist_is_refused_whole_with_one_message() {
        let many: Vec<String> = (0..100_000u32)
            .map(|i| std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string())
            .collect();
        let bad = ApiKeyInput {
            name: "CI".into(),
            allowlist: many.join(" "),
            read_secrets: false,
        }
        .validate()
        .unwrap_err();
        assert_eq!(bad.0.len(), 1);
        assert_eq!(
            bad.get("allowlist"),
            Some("Use at most 50 networks (this list has 100000).")
        );
        // Forty bad entries: the first few are named, the answer stays small.
        let bad = ApiKeyInput {
            name: "CI".into(),
            allowlist: vec!["nowhere"; 40].join(","),
            read_secrets: false,
        }
        .validate()
        .unwrap_err();
        assert_eq!(bad.0.len(), crate::validation::MAX_PER_FIELD);
    }
}
