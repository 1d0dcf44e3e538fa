//! Waking idle dispatchers when new work is committed. In one process a
//! `Notify` does it; across PostgreSQL nodes the ingest transaction sends
//! `NOTIFY hookline_work` and every node listens. Polling stays as the
//! fallback, so a lost notification only costs one poll interval.

use crate::store::Db;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The PostgreSQL channel new deliveries are announced on.
pub const CHANNEL: &str = "hookline_work";

#[derive(Clone, Debug, Default)]
pub struct Wakeup {
    notify: Arc<Notify>,
}

impl Wakeup {
    /// Wakes this process's dispatcher.
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    /// Waits until woken or until `timeout` passes.
    pub async fn wait(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.notify.notified()).await;
    }

    /// On PostgreSQL, relays other nodes' notifications to this process until
    /// the process ends, reconnecting when the database goes away.
    pub fn listen(&self, db: &Db) {
        let Db::Postgres(pool) = db else {
            return;
        };
        let (pool, this) = (pool.clone(), self.clone());
        tokio::spawn(async move {
            loop {
                match sqlx::postgres::PgListener::connect_with(&pool).await {
                    Ok(mut listener) => {
                        if let Err(e) = listener.listen(CHANNEL).await {
                            tracing::warn!(error = %e, "LISTEN failed; polling meanwhile");
                        } else {
                            loop {
                                match listener.recv().await {
                                    Ok(_) => this.wake(),
                                    Err(e) => {
                                        tracing::warn!(error = %e, "notification listener lost; polling meanwhile");
                                        break;
                                    }
                                }
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for new work; polling meanwhile")
                    }
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        });
    }
}
