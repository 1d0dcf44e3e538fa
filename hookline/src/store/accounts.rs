//! Merchants and users.

use crate::account::Role;
use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::on_db;
use crate::store::{Backend, Db};

/// A signed-in person: a merchant's user or an admin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    pub merchant_id: Option<String>,
    pub business_name: Option<String>,
    pub created_ms: Millis,
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: String,
    email: String,
    role: String,
    merchant_id: Option<String>,
    business_name: Option<String>,
    created_ms: i64,
}

impl TryFrom<AccountRow> for Account {
    type Error = Error;

    fn try_from(row: AccountRow) -> Result<Account> {
        Ok(Account {
            role: row.role.parse().map_err(Error::Internal)?,
            user_id: row.id,
            email: row.email,
            merchant_id: row.merchant_id,
            business_name: row.business_name,
            created_ms: row.created_ms,
        })
    }
}

const ACCOUNT_COLUMNS: &str = "u.id, u.email, u.role, u.merchant_id, m.business_name, u.created_ms \
     FROM users u LEFT JOIN merchants m ON m.id = u.merchant_id";

/// What the sign-in check needs: the account and its stored hash.
pub struct Credentials {
    pub account: Account,
    pub password_hash: String,
}

pub struct NewUser<'a> {
    pub user_id: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub now: Millis,
}

/// Outcome of an insert that may hit the unique email.
pub enum Inserted {
    Created,
    EmailTaken,
}

pub async fn insert_merchant_with_user(
    db: &Db,
    merchant_id: &str,
    business_name: &str,
    user: NewUser<'_>,
) -> Result<Inserted> {
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query("INSERT INTO merchants (id, business_name, created_ms) VALUES ($1, $2, $3)")
            .bind(merchant_id)
            .bind(business_name)
            .bind(user.now)
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO users (id, email, password_hash, role, merchant_id, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (email) DO NOTHING",
        )
        .bind(user.user_id)
        .bind(user.email)
        .bind(user.password_hash)
        .bind(user.role.as_str())
        .bind(merchant_id)
        .bind(user.now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            // Dropping the transaction rolls the merchant back too.
            return Ok(Inserted::EmailTaken);
        }
        tx.commit().await?;
        Ok(Inserted::Created)
    })
}

pub async fn insert_admin(db: &Db, user: NewUser<'_>) -> Result<Inserted> {
    let inserted = on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, role, merchant_id, created_ms) \
             VALUES ($1, $2, $3, 'admin', NULL, $4) ON CONFLICT (email) DO NOTHING",
        )
        .bind(user.user_id)
        .bind(user.email)
        .bind(user.password_hash)
        .bind(user.now)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(if inserted == 0 {
        Inserted::EmailTaken
    } else {
        Inserted::Created
    })
}

pub async fn find_credentials(db: &Db, email: &str) -> Result<Option<Credentials>> {
    let sql = format!("SELECT u.password_hash, {ACCOUNT_COLUMNS} WHERE u.email = $1");
    let row = on_db!(db, |pool| {
        sqlx::query_as::<_, CredentialRow>(&sql)
            .bind(email)
            .fetch_optional(pool)
            .await?
    });
    row.map(|row| {
        Ok(Credentials {
            account: row.account.try_into()?,
            password_hash: row.password_hash,
        })
    })
    .transpose()
}

#[derive(sqlx::FromRow)]
struct CredentialRow {
    #[sqlx(flatten)]
    account: AccountRow,
    password_hash: String,
}

pub async fn find_by_id(db: &Db, user_id: &str) -> Result<Option<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} WHERE u.id = $1");
    let row = on_db!(db, |pool| {
        sqlx::query_as::<_, AccountRow>(&sql)
            .bind(user_id)
            .fetch_optional(pool)
            .await?
    });
    row.map(Account::try_from).transpose()
}

/// A merchant as the admin directory lists it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MerchantSummary {
    pub id: String,
    pub business_name: String,
    pub email: String,
    pub created_ms: i64,
}

/// Merchants whose name, email or id contains `query` (all when empty),
/// newest first. Case is ignored in names on both backends: PostgreSQL's
/// LOWER folds every letter, SQLite's only ASCII ones, so SQLite matches
/// names with a case-insensitive regular expression of the literal query.
pub async fn search_merchants(db: &Db, query: &str, limit: i64) -> Result<Vec<MerchantSummary>> {
    let query = query.trim();
    let pattern = format!("%{}%", escape_like(&query.to_lowercase()));
    let (name_matches, name_regex) = match db.backend() {
        Backend::Postgres => ("LOWER(m.business_name) LIKE $1 ESCAPE '\\'", None),
        Backend::Sqlite => (
            "m.business_name REGEXP $3",
            Some(format!("(?i){}", regex::escape(query))),
        ),
    };
    let sql = format!(
        "SELECT m.id, m.business_name, MIN(u.email) AS email, m.created_ms \
         FROM merchants m JOIN users u ON u.merchant_id = m.id \
         WHERE {name_matches} OR u.email LIKE $1 ESCAPE '\\' OR m.id LIKE $1 ESCAPE '\\' \
         GROUP BY m.id, m.business_name, m.created_ms \
         ORDER BY m.created_ms DESC, m.id DESC LIMIT $2"
    );
    Ok(on_db!(db, |pool| {
        let mut statement = sqlx::query_as::<_, MerchantSummary>(&sql)
            .bind(&pattern)
            .bind(limit);
        if let Some(name_regex) = &name_regex {
            statement = statement.bind(name_regex);
        }
        statement.fetch_all(pool).await?
    }))
}

/// One merchant by its exact id (its first user's email as in the search).
pub async fn merchant_summary(db: &Db, id: &str) -> Result<Option<MerchantSummary>> {
    let sql = "SELECT m.id, m.business_name, MIN(u.email) AS email, m.created_ms \
               FROM merchants m JOIN users u ON u.merchant_id = m.id \
               WHERE m.id = $1 GROUP BY m.id, m.business_name, m.created_ms";
    Ok(on_db!(db, |pool| {
        sqlx::query_as::<_, MerchantSummary>(sql)
            .bind(id)
            .fetch_optional(pool)
            .await?
    }))
}

pub async fn count_merchants(db: &Db) -> Result<i64> {
    Ok(on_db!(db, |pool| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM merchants")
            .fetch_one(pool)
            .await?
    }))
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
