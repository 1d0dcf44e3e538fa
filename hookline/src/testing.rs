//! Test harnesses shared by every crate's integration tests.
//!
//! [`TestDatabase`] gives each test a database of its own: a fresh SQLite file
//! in a temporary folder, or a fresh PostgreSQL database created for the test
//! and dropped afterwards, so tests run in parallel without seeing each other.
//! [`backend_tests!`] turns one async test body into a test per backend.

pub mod receiver;

use crate::store::{Backend, Db};

/// Where the PostgreSQL tests connect to create their databases.
pub fn postgres_admin_url() -> String {
    std::env::var("HOOKLINE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub db: Db,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Folder(#[allow(dead_code)] tempfile::TempDir),
    PgDatabase { admin_url: String, name: String },
}

impl TestDatabase {
    pub async fn new(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => Self::sqlite().await,
            Backend::Postgres => Self::postgres().await,
        }
    }

    pub async fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("create a temporary folder");
        let url = format!("sqlite://{}", dir.path().join("hookline.db").display());
        let db = Db::connect(&url)
            .await
            .expect("open and migrate a SQLite file");
        TestDatabase {
            db,
            url,
            cleanup: Cleanup::Folder(dir),
        }
    }

    /// Fails loudly when PostgreSQL is unreachable: the suite never skips it.
    pub async fn postgres() -> TestDatabase {
        use sqlx::Connection;
        let admin_url = postgres_admin_url();
        let name = format!("hookline_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is required by the test suite and is not reachable at {}: {e}. \
                 Start it (see README) or set HOOKLINE_TEST_POSTGRES_URL.",
                    crate::store::redact_url(&admin_url)
                )
            });
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        let _ = admin.close().await;
        let url = replace_database(&admin_url, &name);
        let db = Db::connect(&url)
            .await
            .expect("connect to and migrate the test database");
        TestDatabase {
            db,
            url,
            cleanup: Cleanup::PgDatabase { admin_url, name },
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::PgDatabase { admin_url, name } = &self.cleanup {
            // Drop runs outside any async context we can rely on, so the
            // database is dropped from a short-lived runtime on its own thread.
            let (admin_url, name) = (admin_url.clone(), name.clone());
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    use sqlx::Connection;
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut conn)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].rfind('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Declares one async test that runs once per backend:
///
/// ```ignore
/// backend_tests! {
///     async fn signs_up(backend) {
///         let t = TestDatabase::new(backend).await;
///         // ...
///     }
/// }
/// ```
///
/// expands to the tests `signs_up::sqlite` and `signs_up::postgres`.
#[macro_export]
macro_rules! backend_tests {
    ($(async fn $name:ident($backend:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn body($backend: $crate::store::Backend) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    body($crate::store::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    body($crate::store::Backend::Postgres).await
                }
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn swaps_only_the_database_name() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            replace_database("postgres://u:p@h/db?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(replace_database("postgres://h", "t3"), "postgres://h/t3");
    }
}
