//! Encryption of stored signing secrets with the operator's key
//! (ChaCha20-Poly1305). The row's id is bound in as associated data, so a
//! ciphertext copied onto another row does not decrypt.

use crate::error::{Error, Result};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use std::fmt;

const NONCE_LEN: usize = 12;

/// A fresh random token of `len` alphanumeric characters from the OS generator.
pub fn random_token(len: usize) -> String {
    use rand::Rng;
    use rand::distributions::Alphanumeric;
    rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
}

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> SecretBox {
        SecretBox {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
        }
    }

    /// `nonce || ciphertext`.
    pub fn seal(&self, plaintext: &[u8], bound_to: &str) -> Result<Vec<u8>> {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: bound_to.as_bytes(),
                },
            )
            .map_err(|_| Error::Internal("encrypting a secret failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8], bound_to: &str) -> Result<Vec<u8>> {
        if sealed.len() <= NONCE_LEN {
            return Err(Error::Internal("stored secret is truncated".into()));
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: bound_to.as_bytes(),
                },
            )
            .map_err(|_| {
                Error::Internal(
                    "a stored secret does not decrypt: wrong HOOKLINE_SECRET_KEY or tampered row"
                        .into(),
                )
            })
    }
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_binds_to_the_row() {
        let sbox = SecretBox::new(&[7u8; 32]);
        let sealed = sbox.seal(b"whsec_abc", "sec_1").unwrap();
        assert!(
            !sealed.windows(9).any(|w| w == b"whsec_abc"),
            "stored encrypted"
        );
        assert_eq!(sbox.open(&sealed, "sec_1").unwrap(), b"whsec_abc");
        assert!(sbox.open(&sealed, "sec_2").is_err());
        assert!(SecretBox::new(&[8u8; 32]).open(&sealed, "sec_1").is_err());
        assert!(sbox.open(&sealed[..5], "sec_1").is_err());
    }
}
