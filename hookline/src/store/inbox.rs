//! The sandbox inbox's rows: one token per merchant, and the messages it received.

use crate::clock::Millis;
use crate::error::Result;
use crate::on_db;
use crate::store::Db;

/// How many messages with a valid signature an inbox keeps; older ones are
/// dropped as new ones arrive.
pub const KEEP: i64 = 200;
/// How many refused messages (bad signature or timestamp) an inbox keeps,
/// apart from the valid ones: enough to debug one's own signing, while a
/// stranger who knows the URL cannot push real deliveries out of the list.
pub const KEEP_REFUSED: i64 = 20;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MessageRow {
    pub id: String,
    pub received_ms: i64,
    pub webhook_id: Option<String>,
    pub endpoint_id: Option<String>,
    pub headers: String,
    pub body: String,
    pub signature_valid: bool,
    pub status: i64,
    pub verdict: String,
}

/// The merchant's inbox token, made (as `fresh`) the first time it is asked for.
pub async fn token(db: &Db, merchant_id: &str, fresh: &str, now: Millis) -> Result<String> {
    Ok(on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO inboxes (merchant_id, token, created_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (merchant_id) DO NOTHING",
        )
        .bind(merchant_id)
        .bind(fresh)
        .bind(now)
        .execute(pool)
        .await?;
        sqlx::query_scalar::<_, String>("SELECT token FROM inboxes WHERE merchant_id = $1")
            .bind(merchant_id)
            .fetch_one(pool)
            .await?
    }))
}

pub async fn merchant_of(db: &Db, token: &str) -> Result<Option<String>> {
    Ok(on_db!(db, |pool| {
        sqlx::query_scalar::<_, String>("SELECT merchant_id FROM inboxes WHERE token = $1")
            .bind(token)
            .fetch_optional(pool)
            .await?
    }))
}

/// Whether a message with this `webhook-id` was accepted before.
pub async fn seen(db: &Db, merchant_id: &str, webhook_id: &str) -> Result<bool> {
    Ok(on_db!(db, |pool| {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM inbox_messages WHERE merchant_id = $1 AND webhook_id = $2 AND signature_valid",
        )
        .bind(merchant_id)
        .bind(webhook_id)
        .fetch_one(pool)
        .await?
            > 0
    }))
}

/// Stores a message and drops the merchant's oldest of its kind (valid or
/// refused) beyond [`KEEP`] or [`KEEP_REFUSED`].
pub async fn insert(db: &Db, merchant_id: &str, m: &MessageRow) -> Result<()> {
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO inbox_messages (id, merchant_id, received_ms, webhook_id, endpoint_id, headers, body, \
               signature_valid, status, verdict) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&m.id)
        .bind(merchant_id)
        .bind(m.received_ms)
        .bind(&m.webhook_id)
        .bind(&m.endpoint_id)
        .bind(&m.headers)
        .bind(&m.body)
        .bind(m.signature_valid)
        .bind(m.status)
        .bind(&m.verdict)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM inbox_messages WHERE merchant_id = $1 AND signature_valid = $2 AND id NOT IN \
               (SELECT id FROM inbox_messages WHERE merchant_id = $1 AND signature_valid = $2 \
                ORDER BY received_ms DESC, id DESC LIMIT $3)",
        )
        .bind(merchant_id)
        .bind(m.signature_valid)
        .bind(if m.signature_valid { KEEP } else { KEEP_REFUSED })
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    });
    Ok(())
}

pub async fn latest(db: &Db, merchant_id: &str, limit: i64) -> Result<Vec<MessageRow>> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, MessageRow>(
            "SELECT id, received_ms, webhook_id, endpoint_id, headers, body, signature_valid, status, verdict \
             FROM inbox_messages WHERE merchant_id = $1 ORDER BY received_ms DESC, id DESC LIMIT $2",
        )
        .bind(merchant_id)
        .bind(limit)
        .fetch_all(pool)
        .await?
    }))
}

/// The merchant's sandbox endpoints (not deleted) whose URL starts with `prefix`.
pub async fn endpoints_at(db: &Db, merchant_id: &str, prefix: &str) -> Result<Vec<String>> {
    let ids: Vec<(String, String)> = on_db!(db, |pool| {
        sqlx::query_as::<_, (String, String)>(
            "SELECT id, url FROM endpoints WHERE merchant_id = $1 AND mode = 'sandbox' AND NOT deleted \
             ORDER BY created_ms",
        )
        .bind(merchant_id)
        .fetch_all(pool)
        .await?
    });
    Ok(ids
        .into_iter()
        .filter(|(_, url)| url.starts_with(prefix))
        .map(|(id, _)| id)
        .collect())
}
