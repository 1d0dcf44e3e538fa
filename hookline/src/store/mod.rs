//! Storage: one SQL dialect written once, run on SQLite or PostgreSQL.
//!
//! Queries use `$N` placeholders, which both sqlx drivers accept, and the
//! [`on_db!`] macro expands one query body into one match arm per backend.
//! Timestamps are `BIGINT` milliseconds since the epoch on both backends.

pub mod accounts;
pub mod deliveries;
pub mod endpoints;
pub mod events;
pub mod health;
pub mod inbox;
pub mod logs;
pub mod throttle;

use crate::error::{Error, Result};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

/// A connection pool on one of the two supported backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same body against whichever pool `db` holds.
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

impl Db {
    /// Takes this process's turn to write to a SQLite database (PostgreSQL
    /// needs none). SQLite lets one writer in at a time, and writers that
    /// collide wait in its busy handler, which sleeps in growing steps (up to
    /// 100 ms) and leaves the lock idle while they sleep: under load the
    /// ingest writer, the claimer and the recorder spent most of their time
    /// there. Queued here, the lock passes from one to the next at once.
    /// Hold the turn for one transaction only, never across another call
    /// that takes it.
    pub async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match self {
            Db::Sqlite(pool) => Some(sqlite_turn(pool).lock_owned().await),
            Db::Postgres(_) => None,
        }
    }
}

/// One queue per SQLite file, shared by every pool on it in this process.
fn sqlite_turn(pool: &SqlitePool) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex, OnceLock};
    type Turns = Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>;
    static TURNS: OnceLock<Turns> = OnceLock::new();
    let file = pool.connect_options().get_filename().to_path_buf();
    let mut turns = TURNS
        .get_or_init(Turns::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    turns.entry(file).or_default().clone()
}

/// `$from, $from+1, …` for `n` values, the inside of an `IN (…)` list
/// (both backends accept it; callers keep `n` to a batch, well under either
/// backend's limit on bound values).
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, …, $c), ($c+1, …), …`: the `VALUES` of a multi-row insert of
/// `rows` rows of `columns` values each.
pub(crate) fn value_rows(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", placeholders(r * columns + 1, columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `sql` ready for `backend` when it binds many values. SQLite looks up each
/// named parameter (`$N`) by a linear scan, which costs quadratic time in a
/// statement with hundreds of them; anonymous `?` parameters bind in order
/// at no cost. So on SQLite `$1, $2, …` become `?` when they appear in the
/// text in exactly that order (otherwise `sql` is kept as it is).
pub(crate) fn bulk_sql(backend: Backend, sql: String) -> String {
    if backend != Backend::Sqlite {
        return sql;
    }
    let mut out = String::with_capacity(sql.len());
    let mut expected = 1usize;
    let mut rest = sql.as_str();
    while let Some(at) = rest.find('$') {
        let digits = rest[at + 1..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        if rest[at + 1..at + 1 + digits].parse::<usize>().ok() != Some(expected) {
            return sql;
        }
        out.push_str(&rest[..at]);
        out.push('?');
        expected += 1;
        rest = &rest[at + 1 + digits..];
    }
    out.push_str(rest);
    out
}

/// `column IN (…)` for `n` values from parameter `$from` on. On PostgreSQL
/// the list is one array parameter (`column = ANY($from)`): the statement's
/// text is then the same whatever the count, so each connection prepares
/// it once. With one placeholder per value every count is a statement of
/// its own, and a busy node used more counts than a connection keeps
/// prepared, so PostgreSQL parsed and planned most of its statements anew.
/// Bind the values with [`BulkQuery::bind_list`].
pub(crate) fn any_of(backend: Backend, column: &str, from: usize, n: usize) -> String {
    match backend {
        Backend::Postgres => format!("{column} = ANY(${from})"),
        Backend::Sqlite => format!("{column} IN ({})", placeholders(from, n)),
    }
}

/// `column NOT IN (…)`, as [`any_of`] writes it.
pub(crate) fn none_of(backend: Backend, column: &str, from: usize, n: usize) -> String {
    match backend {
        Backend::Postgres => format!("{column} <> ALL(${from})"),
        Backend::Sqlite => format!("{column} NOT IN ({})", placeholders(from, n)),
    }
}

/// The source of a multi-row insert of `rows` rows of `columns` values
/// (parameters from `$1`): `VALUES (…), (…)` on SQLite, and on PostgreSQL
/// `SELECT * FROM UNNEST($1, …)`, one array per column, so that (as with
/// [`any_of`]) one statement serves every row count. Bind the rows with
/// [`BulkQuery::bind_table`].
pub(crate) fn insert_rows(backend: Backend, rows: usize, columns: usize) -> String {
    match backend {
        Backend::Postgres => format!("SELECT * FROM UNNEST({})", placeholders(1, columns)),
        Backend::Sqlite => format!("VALUES {}", value_rows(rows, columns)),
    }
}

/// A value a bulk statement can bind one by one on SQLite and in an array
/// on PostgreSQL.
pub(crate) trait ListItem<'q>:
    'q
    + Send
    + sqlx::Encode<'q, sqlx::Sqlite>
    + sqlx::Type<sqlx::Sqlite>
    + sqlx::Encode<'q, sqlx::Postgres>
    + sqlx::Type<sqlx::Postgres>
    + sqlx::postgres::PgHasArrayType
{
}

impl<'q, T> ListItem<'q> for T where
    T: 'q
        + Send
        + sqlx::Encode<'q, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
        + sqlx::Encode<'q, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + sqlx::postgres::PgHasArrayType
{
}

/// One column of the rows a multi-row insert binds.
pub(crate) enum Column<'q> {
    Text(Vec<&'q str>),
    MaybeText(Vec<Option<&'q str>>),
    Int(Vec<i64>),
    MaybeInt(Vec<Option<i64>>),
    Bool(Vec<bool>),
}

impl Column<'_> {
    fn len(&self) -> usize {
        match self {
            Column::Text(v) => v.len(),
            Column::MaybeText(v) => v.len(),
            Column::Int(v) => v.len(),
            Column::MaybeInt(v) => v.len(),
            Column::Bool(v) => v.len(),
        }
    }
}

/// Binding the lists and tables of [`any_of`] and [`insert_rows`] as the
/// backend's statement expects them.
pub(crate) trait BulkQuery<'q>: Sized {
    /// Each value on SQLite, one array on PostgreSQL.
    fn bind_list<T: ListItem<'q>>(self, values: Vec<T>) -> Self;
    /// Row by row on SQLite, one array per column on PostgreSQL.
    fn bind_table(self, columns: Vec<Column<'q>>) -> Self;
}

macro_rules! bulk_query {
    ($($query:ident $(<$($generic:ident),*>)?),*) => {$(
        impl<'q, $($($generic),*)?> BulkQuery<'q>
            for sqlx::query::$query<'q, sqlx::Sqlite, $($($generic,)*)? sqlx::sqlite::SqliteArguments<'q>>
        {
            fn bind_list<T: ListItem<'q>>(self, values: Vec<T>) -> Self {
                values.into_iter().fold(self, |q, v| q.bind(v))
            }

            fn bind_table(mut self, columns: Vec<Column<'q>>) -> Self {
                let rows = columns.first().map_or(0, Column::len);
                for r in 0..rows {
                    for column in &columns {
                        self = match column {
                            Column::Text(v) => self.bind(v[r]),
                            Column::MaybeText(v) => self.bind(v[r]),
                            Column::Int(v) => self.bind(v[r]),
                            Column::MaybeInt(v) => self.bind(v[r]),
                            Column::Bool(v) => self.bind(v[r]),
                        };
                    }
                }
                self
            }
        }

        impl<'q, $($($generic),*)?> BulkQuery<'q>
            for sqlx::query::$query<'q, sqlx::Postgres, $($($generic,)*)? sqlx::postgres::PgArguments>
        {
            fn bind_list<T: ListItem<'q>>(self, values: Vec<T>) -> Self {
                self.bind(values)
            }

            fn bind_table(self, columns: Vec<Column<'q>>) -> Self {
                columns.into_iter().fold(self, |q, column| match column {
                    Column::Text(v) => q.bind(v),
                    Column::MaybeText(v) => q.bind(v),
                    Column::Int(v) => q.bind(v),
                    Column::MaybeInt(v) => q.bind(v),
                    Column::Bool(v) => q.bind(v),
                })
            }
        }
    )*};
}

bulk_query!(Query, QueryAs<O>, QueryScalar<O>);

/// Which database a URL points at, decided before connecting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl Db {
    /// Connects to `url` (`sqlite://path` or `postgres://…`), creating a SQLite
    /// file and its folder if needed, and applies the embedded migrations.
    pub async fn connect(url: &str) -> Result<Db> {
        let db = match Backend::of_url(url) {
            Some(Backend::Sqlite) => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // FULL: an acknowledged write survives a power cut.
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    // Sorts and window functions of a statement (the fan-out
                    // numbers its rows) would otherwise create, write and
                    // delete a temporary file on disk each time.
                    .pragma("temp_store", "memory")
                    // SQLite's LOWER and LIKE fold ASCII letters only; the
                    // merchant search matches names with a case-insensitive
                    // REGEXP instead, which folds every letter.
                    .with_regexp()
                    .busy_timeout(Duration::from_secs(10));
                if let Some(parent) = options.get_filename().parent()
                    && !parent.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        Error::Internal(format!(
                            "cannot create database folder {}: {e}",
                            parent.display()
                        ))
                    })?;
                }
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    // An open database file does not go away: no ping before each use.
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                Db::Sqlite(pool)
            }
            Some(Backend::Postgres) => {
                // Each statement is planned once per connection, not at every
                // execution: that saves the planning work, and a plan chosen
                // from the statistics of a quiet moment (a backlog of none)
                // cannot turn a claim into a sort of a later burst's every
                // pending delivery. Hookline's working set lives in
                // PostgreSQL's cache, where a random read costs about what a
                // sequential one does; with the default (4) the planner scans
                // a whole young table rather than look up a batch's ids.
                let options = PgConnectOptions::from_str(url)?.options([
                    ("plan_cache_mode", "force_generic_plan"),
                    ("random_page_cost", "1.1"),
                ]);
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    // No round trip before each use: a connection is already
                    // tested as it goes back to the pool, and one that died
                    // while idle (the database restarted) fails its one query
                    // as "unavailable" (ingest answers 503, workers back off)
                    // and is replaced.
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                Db::Postgres(pool)
            }
            None => {
                return Err(Error::Internal(format!(
                    "unsupported database URL scheme (expected sqlite:// or postgres://): {}",
                    redact_url(url)
                )));
            }
        };
        db.migrate().await?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the migrations embedded from `migrations/<backend>/`.
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Db::Sqlite(pool) => sqlx::migrate!("../migrations/sqlite").run(pool).await?,
            Db::Postgres(pool) => sqlx::migrate!("../migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        on_db!(self, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    pub async fn close(&self) {
        on_db!(self, |pool| pool.close().await)
    }
}

/// A database URL with any password replaced, safe for logs and errors:
/// the one in the user info and any `password` query option. The user info
/// ends at the last `@`, as a password may hold `@`, `/`, `?` or `#` of its
/// own; an `@` in the query then hides more than the password, never less.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.rsplit_once('@') {
        Some((userinfo, after)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{}", redact_query(after)),
            None => format!("{scheme}://{}", redact_query(rest)),
        },
        None => format!("{scheme}://{}", redact_query(rest)),
    }
}

/// `rest` with the value of any query option named like a password replaced.
fn redact_query(rest: &str) -> String {
    let Some((before, query)) = rest.split_once('?') else {
        return rest.to_owned();
    };
    let options: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.to_ascii_lowercase().contains("password") => {
                format!("{key}=***")
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{before}?{}", options.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/hookline"),
            "postgres://app:***@db:5432/hookline"
        );
        assert_eq!(redact_url("postgres://app@db/h"), "postgres://app@db/h");
        assert_eq!(redact_url("sqlite://data/h.db"), "sqlite://data/h.db");
        assert_eq!(
            redact_url("postgres://app:p@ss@db:5432/h"),
            "postgres://app:***@db:5432/h"
        );
        assert_eq!(
            redact_url("postgres://db/h?user=app&password=s3cret&sslmode=require"),
            "postgres://db/h?user=app&password=***&sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://app@db/h?sslmode=require#a@b"),
            "postgres://app@db/h?sslmode=require#a@b"
        );
        assert_eq!(
            redact_url("sqlite://h.db?mode=rwc"),
            "sqlite://h.db?mode=rwc"
        );
        assert_eq!(
            redact_url("postgres://app:s3/cr?3#t@db:5432/h"),
            "postgres://app:***@db:5432/h"
        );
        assert_eq!(
            redact_url("postgres://db/h?password=s3cret&note=a@b"),
            "postgres://db/h?password=***&note=a@b"
        );
    }

    #[test]
    fn numbers_placeholders() {
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
        assert_eq!(placeholders(1, 0), "");
        assert_eq!(value_rows(2, 2), "($1, $2), ($3, $4)");
    }

    #[test]
    fn bulk_statements_bind_in_order_on_sqlite() {
        let sql = || "UPDATE t SET a = $1 WHERE b = $2 AND id IN ($3, $4)".to_owned();
        assert_eq!(
            bulk_sql(Backend::Sqlite, sql()),
            "UPDATE t SET a = ? WHERE b = ? AND id IN (?, ?)"
        );
        assert_eq!(bulk_sql(Backend::Postgres, sql()), sql());
        let out_of_order = "SELECT $2, $1".to_owned();
        assert_eq!(
            bulk_sql(Backend::Sqlite, out_of_order.clone()),
            out_of_order
        );
    }

    #[test]
    fn recognises_backends() {
        assert_eq!(Backend::of_url("sqlite://x.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("sqlite:x.db"), Some(Backend::Sqlite));
        assert_eq!(
            Backend::of_url("postgresql://h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::of_url("mysql://h/db"), None);
    }
}
