//! argon2id password hashing, run on the blocking pool so a burst of sign-ins
//! never stalls the async executor that also drives deliveries.

use crate::error::{Error, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;

/// Hashes and checks running at once. Each holds 19 MiB and a core for tens
/// of milliseconds; more at once only queue for the same two cores, and a
/// burst of sign-ups or sign-ins would otherwise take gigabytes (the blocking
/// pool grows to 512 threads). The rest wait their turn without either.
static RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

fn hasher() -> Argon2<'static> {
    // OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Runs `work` on the blocking pool once one of the [`RUNNING`] turns is free.
async fn in_turn<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let turn = RUNNING
        .acquire()
        .await
        .map_err(|e| Error::Internal(format!("password hashing closed: {e}")))?;
    tokio::task::spawn_blocking(move || {
        // Held by the work itself: if the request is dropped meanwhile, the
        // hash runs on, and still counts against the limit.
        let _turn = turn;
        work()
    })
    .await
    .map_err(|e| Error::Internal(format!("password hashing task failed: {e}")))?
}

pub async fn hash(password: String) -> Result<String> {
    in_turn(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
    })
    .await
}

/// Checks `password` against a stored PHC string. `None` as the stored hash
/// still spends the time of a real check, so an unknown email cannot be told
/// apart from a wrong password by timing.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool> {
    in_turn(move || {
        let (phc, real) = match stored {
            Some(phc) => (phc, true),
            None => (dummy_hash().to_owned(), false),
        };
        let parsed = PasswordHash::new(&phc)
            .map_err(|e| Error::Internal(format!("stored password hash is unreadable: {e}")))?;
        let matches = hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(matches && real)
    })
    .await
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        hasher()
            .hash_password(b"hookline-timing-equaliser", &salt)
            .expect("hashing a constant succeeds")
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_argon2id() {
        let phc = hash("correct horse battery".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(
            verify("correct horse battery".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("wrong horse battery".into(), Some(phc))
                .await
                .unwrap()
        );
        assert!(!verify("anything".into(), None).await.unwrap());
    }
}
