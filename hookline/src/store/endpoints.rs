//! Endpoints, their subscriptions and their sealed secrets.

use crate::clock::Millis;
use crate::error::Result;
use crate::on_db;
use crate::store::BulkQuery;
use crate::store::Db;
use crate::store::health::{HEALTH_COLUMNS, Health};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: String,
    pub merchant_id: String,
    pub mode: String,
    pub url: String,
    pub description: String,
    pub payload_version: String,
    pub allowlist: String,
    pub enabled: bool,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SecretRow {
    pub id: String,
    pub sealed: Vec<u8>,
    pub created_ms: i64,
    pub expires_ms: Option<i64>,
}

const COLUMNS: &str = "id, merchant_id, mode, url, description, payload_version, allowlist, enabled, created_ms, updated_ms";

/// `columns` (a list like [`COLUMNS`]) of the table aliased `alias`, for
/// queries that join endpoints to a table with columns of the same names.
fn qualified(alias: &str, columns: &str) -> String {
    columns
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn insert(
    db: &Db,
    row: &EndpointRow,
    event_types: &[&str],
    secret: &SecretRow,
) -> Result<()> {
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO endpoints ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&row.id)
        .bind(&row.merchant_id)
        .bind(&row.mode)
        .bind(&row.url)
        .bind(&row.description)
        .bind(&row.payload_version)
        .bind(&row.allowlist)
        .bind(row.enabled)
        .bind(row.created_ms)
        .bind(row.updated_ms)
        .execute(&mut *tx)
        .await?;
        for t in event_types {
            sqlx::query(
                "INSERT INTO endpoint_event_types (endpoint_id, event_type) VALUES ($1, $2)",
            )
            .bind(&row.id)
            .bind(*t)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO endpoint_secrets (id, endpoint_id, sealed, created_ms, expires_ms) VALUES ($1, $2, $3, $4, NULL)",
        )
        .bind(&secret.id)
        .bind(&row.id)
        .bind(&secret.sealed)
        .bind(secret.created_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    });
    Ok(())
}

/// The endpoint if it exists, is not deleted and belongs to `merchant_id`.
pub async fn get(
    db: &Db,
    merchant_id: &str,
    id: &str,
) -> Result<Option<(EndpointRow, Vec<String>)>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM endpoints WHERE id = $1 AND merchant_id = $2 AND NOT deleted"
    );
    let found = on_db!(db, |pool| {
        let row = sqlx::query_as::<_, EndpointRow>(&sql)
            .bind(id)
            .bind(merchant_id)
            .fetch_optional(pool)
            .await?;
        match row {
            Some(row) => {
                let types = sqlx::query_scalar::<_, String>(
                    "SELECT event_type FROM endpoint_event_types WHERE endpoint_id = $1 ORDER BY event_type",
                )
                .bind(id)
                .fetch_all(pool)
                .await?;
                Some((row, types))
            }
            None => None,
        }
    });
    Ok(found)
}

pub async fn list(
    db: &Db,
    merchant_id: &str,
    mode: &str,
) -> Result<Vec<(EndpointRow, Vec<String>)>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM endpoints WHERE merchant_id = $1 AND mode = $2 AND NOT deleted ORDER BY created_ms, id"
    );
    let (rows, types): (Vec<EndpointRow>, Vec<(String, String)>) = on_db!(db, |pool| {
        let rows = sqlx::query_as::<_, EndpointRow>(&sql)
            .bind(merchant_id)
            .bind(mode)
            .fetch_all(pool)
            .await?;
        let types = sqlx::query_as::<_, (String, String)>(
            "SELECT t.endpoint_id, t.event_type FROM endpoint_event_types t \
             JOIN endpoints e ON e.id = t.endpoint_id \
             WHERE e.merchant_id = $1 AND e.mode = $2 ORDER BY t.event_type",
        )
        .bind(merchant_id)
        .bind(mode)
        .fetch_all(pool)
        .await?;
        (rows, types)
    });
    Ok(rows
        .into_iter()
        .map(|row| {
            let mine = types
                .iter()
                .filter(|(id, _)| *id == row.id)
                .map(|(_, t)| t.clone())
                .collect();
            (row, mine)
        })
        .collect())
}

/// Secrets of an endpoint still able to sign at `now`, the current one first.
pub async fn live_secrets(db: &Db, endpoint_id: &str, now: Millis) -> Result<Vec<SecretRow>> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, SecretRow>(
            "SELECT id, sealed, created_ms, expires_ms FROM endpoint_secrets \
             WHERE endpoint_id = $1 AND (expires_ms IS NULL OR expires_ms > $2) \
             ORDER BY (expires_ms IS NULL) DESC, created_ms DESC",
        )
        .bind(endpoint_id)
        .bind(now)
        .fetch_all(pool)
        .await?
    }))
}

/// Makes `new` the current secret; the old current one keeps signing until `old_expires_ms`.
pub async fn rotate(
    db: &Db,
    endpoint_id: &str,
    new: &SecretRow,
    old_expires_ms: Millis,
) -> Result<()> {
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query("UPDATE endpoint_secrets SET expires_ms = $1 WHERE endpoint_id = $2 AND expires_ms IS NULL")
            .bind(old_expires_ms)
            .bind(endpoint_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO endpoint_secrets (id, endpoint_id, sealed, created_ms, expires_ms) VALUES ($1, $2, $3, $4, NULL)",
        )
        .bind(&new.id)
        .bind(endpoint_id)
        .bind(&new.sealed)
        .bind(new.created_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    });
    Ok(())
}

/// An endpoint with its health, as the dispatcher sees it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LiveEndpoint {
    #[sqlx(flatten)]
    pub row: EndpointRow,
    #[sqlx(flatten)]
    pub health: Health,
}

/// An endpoint with the secrets still signing its deliveries, current first
/// (what the dispatcher needs to send to it).
pub type WithSecrets = (LiveEndpoint, Vec<SecretRow>);

/// An endpoint that has not been deleted, whoever owns it (the dispatcher's view).
pub async fn get_live(db: &Db, id: &str) -> Result<Option<LiveEndpoint>> {
    let sql =
        format!("SELECT {COLUMNS}, {HEALTH_COLUMNS} FROM endpoints WHERE id = $1 AND NOT deleted");
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, LiveEndpoint>(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await?
    }))
}

/// Secrets (aliased `s`) current first: the one without an end, then the
/// newest.
const SECRET_ORDER: &str = "(s.expires_ms IS NULL) DESC, s.created_ms DESC";

/// Whether secret `s` still signs at `now` (a bind parameter).
fn still_signing(now: &str) -> String {
    format!("(s.expires_ms IS NULL OR s.expires_ms > {now})")
}

/// PostgreSQL: the endpoints whose ids `ids` (a subquery) selects, as
/// [`get_live_many_with_secrets`] reads them, one row each with its secrets
/// in arrays, for a statement that reads them along with its own work (see
/// [`live_with_secrets_from_row`]).
pub(crate) fn live_with_secrets_sql(ids: &str, now: &str) -> String {
    let array = |column: &str, name: &str| {
        format!("array_agg(s.{column} ORDER BY {SECRET_ORDER}) AS {name}")
    };
    format!(
        "SELECT {}, {}, s.* FROM endpoints e CROSS JOIN LATERAL \
           (SELECT {}, {}, {}, {} FROM endpoint_secrets s WHERE s.endpoint_id = e.id AND {}) s \
         WHERE e.id IN {ids} AND NOT e.deleted",
        qualified("e", COLUMNS),
        qualified("e", HEALTH_COLUMNS),
        array("id", "secret_ids"),
        array("sealed", "secret_sealed"),
        array("created_ms", "secret_created"),
        array("expires_ms", "secret_expires"),
        still_signing(now),
    )
}

/// The endpoint and secrets a row holds in the columns of
/// [`live_with_secrets_sql`]; `None` where they are null (the row is about
/// something else).
pub(crate) fn live_with_secrets_from_row(
    row: &sqlx::postgres::PgRow,
) -> std::result::Result<Option<WithSecrets>, sqlx::Error> {
    use sqlx::{FromRow, Row};
    if row.try_get::<Option<String>, _>("id")?.is_none() {
        return Ok(None);
    }
    let endpoint = LiveEndpoint::from_row(row)?;
    // No secret still signing: every array is null.
    let ids: Vec<String> = row
        .try_get::<Option<_>, _>("secret_ids")?
        .unwrap_or_default();
    let sealed: Vec<Vec<u8>> = row
        .try_get::<Option<_>, _>("secret_sealed")?
        .unwrap_or_default();
    let created: Vec<i64> = row
        .try_get::<Option<_>, _>("secret_created")?
        .unwrap_or_default();
    let expires: Vec<Option<i64>> = row
        .try_get::<Option<_>, _>("secret_expires")?
        .unwrap_or_default();
    let secrets = ids
        .into_iter()
        .zip(sealed)
        .zip(created.into_iter().zip(expires))
        .map(|((id, sealed), (created_ms, expires_ms))| SecretRow {
            id,
            sealed,
            created_ms,
            expires_ms,
        })
        .collect();
    Ok(Some((endpoint, secrets)))
}

/// Several endpoints that have not been deleted, with their health and the
/// secrets still signing at `now`, each endpoint's current one first (the
/// dispatcher's view of one batch). One query rather than one per table:
/// every batch of deliveries, however small, runs it before it starts.
/// Missing ids are left out.
pub async fn get_live_many_with_secrets(
    db: &Db,
    ids: &[&str],
    now: Millis,
) -> Result<Vec<WithSecrets>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.backend();
    let sql = crate::store::bulk_sql(
        backend,
        format!(
            "SELECT {}, {}, s.id AS secret_id, s.sealed AS secret_sealed, \
               s.created_ms AS secret_created_ms, s.expires_ms AS secret_expires_ms \
             FROM endpoints e LEFT JOIN endpoint_secrets s \
               ON s.endpoint_id = e.id AND {} \
             WHERE {} AND NOT e.deleted \
             ORDER BY e.id, {SECRET_ORDER}",
            qualified("e", COLUMNS),
            qualified("e", HEALTH_COLUMNS),
            still_signing("$1"),
            crate::store::any_of(backend, "e.id", 2, ids.len())
        ),
    );
    /// One endpoint and one of its secrets (none if it has none).
    #[derive(sqlx::FromRow)]
    struct Joined {
        #[sqlx(flatten)]
        endpoint: LiveEndpoint,
        secret_id: Option<String>,
        secret_sealed: Option<Vec<u8>>,
        secret_created_ms: Option<i64>,
        secret_expires_ms: Option<i64>,
    }
    let rows: Vec<Joined> = on_db!(db, |pool| {
        sqlx::query_as(&sql)
            .bind(now)
            .bind_list(ids.to_vec())
            .fetch_all(pool)
            .await?
    });
    let mut endpoints: Vec<WithSecrets> = Vec::new();
    for row in rows {
        let secret = match (row.secret_id, row.secret_sealed, row.secret_created_ms) {
            (Some(id), Some(sealed), Some(created_ms)) => Some(SecretRow {
                id,
                sealed,
                created_ms,
                expires_ms: row.secret_expires_ms,
            }),
            _ => None,
        };
        match endpoints.last_mut() {
            Some((endpoint, secrets)) if endpoint.row.id == row.endpoint.row.id => {
                secrets.extend(secret)
            }
            _ => endpoints.push((row.endpoint, secret.into_iter().collect())),
        }
    }
    Ok(endpoints)
}

/// Replaces what a merchant can edit: URL, description, payload version,
/// allowlist and subscriptions. Answers false if the endpoint is not theirs.
pub async fn update(db: &Db, row: &EndpointRow, event_types: &[&str]) -> Result<bool> {
    Ok(on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE endpoints SET url = $1, description = $2, payload_version = $3, allowlist = $4, updated_ms = $5 \
             WHERE id = $6 AND merchant_id = $7 AND NOT deleted",
        )
        .bind(&row.url)
        .bind(&row.description)
        .bind(&row.payload_version)
        .bind(&row.allowlist)
        .bind(row.updated_ms)
        .bind(&row.id)
        .bind(&row.merchant_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 1 {
            sqlx::query("DELETE FROM endpoint_event_types WHERE endpoint_id = $1")
                .bind(&row.id)
                .execute(&mut *tx)
                .await?;
            for t in event_types {
                sqlx::query(
                    "INSERT INTO endpoint_event_types (endpoint_id, event_type) VALUES ($1, $2)",
                )
                .bind(&row.id)
                .bind(*t)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        changed == 1
    }))
}

/// Deletes an endpoint: it gets no new events and its undelivered ones are
/// marked failed. Its deliveries and attempts stay in the logs. Answers false
/// if the endpoint is not the merchant's.
pub async fn delete(db: &Db, merchant_id: &str, id: &str, now: Millis) -> Result<bool> {
    Ok(on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE endpoints SET deleted = TRUE, enabled = FALSE, updated_ms = $1 \
             WHERE id = $2 AND merchant_id = $3 AND NOT deleted",
        )
        .bind(now)
        .bind(id)
        .bind(merchant_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 1 {
            sqlx::query(
                "UPDATE deliveries SET status = 'failed', held = FALSE, lease_until_ms = NULL, lease_owner = NULL \
                 WHERE endpoint_id = $1 AND status = 'pending'",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        changed == 1
    }))
}

/// Every secret of an endpoint still signing at `now`, current first (values sealed).
pub async fn secrets_info(
    db: &Db,
    endpoint_id: &str,
    now: Millis,
) -> Result<Vec<(String, i64, Option<i64>)>> {
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, (String, i64, Option<i64>)>(
            "SELECT id, created_ms, expires_ms FROM endpoint_secrets \
             WHERE endpoint_id = $1 AND (expires_ms IS NULL OR expires_ms > $2) \
             ORDER BY (expires_ms IS NULL) DESC, created_ms DESC",
        )
        .bind(endpoint_id)
        .bind(now)
        .fetch_all(pool)
        .await?
    }))
}

/// Health and recent numbers of every endpoint of a merchant in one mode.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EndpointStats {
    pub id: String,
    #[sqlx(flatten)]
    pub health: Health,
    pub attempts: i64,
    pub succeeded: i64,
    pub held: i64,
}

/// Per endpoint: its health, attempts since `since_ms` and how many
/// succeeded, and its held deliveries.
pub async fn stats(
    db: &Db,
    merchant_id: &str,
    mode: &str,
    since_ms: Millis,
) -> Result<Vec<EndpointStats>> {
    let sql = format!(
        "SELECT e.id, {health}, \
           (SELECT COUNT(*) FROM attempts a WHERE a.endpoint_id = e.id AND a.started_ms >= $3) AS attempts, \
           (SELECT COUNT(*) FROM attempts a WHERE a.endpoint_id = e.id AND a.started_ms >= $3 AND a.error_class IS NULL) AS succeeded, \
           (SELECT COUNT(*) FROM deliveries d WHERE d.endpoint_id = e.id AND d.held) AS held \
         FROM endpoints e WHERE e.merchant_id = $1 AND e.mode = $2 AND NOT e.deleted",
        health = qualified("e", HEALTH_COLUMNS)
    );
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, EndpointStats>(&sql)
            .bind(merchant_id)
            .bind(mode)
            .bind(since_ms)
            .fetch_all(pool)
            .await?
    }))
}
