//! Standard Webhooks v1 signatures: `webhook-signature: v1,<base64 HMAC-SHA256
//! of "{webhook-id}.{webhook-timestamp}.{body}">`, keyed by the bytes behind a
//! `whsec_<base64>` secret. Several signatures are space separated, which is
//! how a rotated secret keeps working during its grace period.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

pub const SECRET_PREFIX: &str = "whsec_";
/// Receivers should refuse timestamps further than this from their clock.
pub const DEFAULT_TOLERANCE_SECS: i64 = 5 * 60;

/// A signing secret. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Vec<u8>);

impl SigningSecret {
    /// 32 fresh random bytes.
    pub fn generate() -> SigningSecret {
        use rand::RngCore;
        let mut bytes = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        SigningSecret(bytes)
    }

    /// Reads `whsec_<base64>` (the prefix is optional, as in the reference libraries).
    pub fn parse(text: &str) -> Result<SigningSecret, SignatureError> {
        let b64 = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
        let bytes = B64
            .decode(b64)
            .map_err(|_| SignatureError::MalformedSecret)?;
        if bytes.len() < 16 {
            return Err(SignatureError::MalformedSecret);
        }
        Ok(SigningSecret(bytes))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> SigningSecret {
        SigningSecret(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The `whsec_…` text a merchant pastes into their receiver.
    pub fn to_whsec(&self) -> String {
        format!("{SECRET_PREFIX}{}", B64.encode(&self.0))
    }

    /// One `v1,<base64>` signature of this message.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", B64.encode(self.mac(msg_id, timestamp, body)))
    }

    fn mac(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(***)")
    }
}

/// The `webhook-signature` value for a message signed with every secret in
/// `secrets` (the current one first).
pub fn signature_header<'a>(
    secrets: impl IntoIterator<Item = &'a SigningSecret>,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .into_iter()
        .map(|s| s.sign(msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signing secret is not whsec_ followed by base64 of at least 16 bytes")]
    MalformedSecret,
    #[error("the webhook-timestamp header is not a Unix time in seconds")]
    MalformedTimestamp,
    #[error("the webhook-timestamp is too far from the current time")]
    TimestampOutOfTolerance,
    #[error("no v1 signature in webhook-signature matches")]
    NoMatchingSignature,
}

/// Verifies a received webhook the way any Standard Webhooks library does.
/// `now` is the receiver's clock in Unix seconds.
pub fn verify(
    secret: &SigningSecret,
    msg_id: &str,
    timestamp: &str,
    signature_header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::MalformedTimestamp)?;
    // Compared without overflow for any i64 timestamp; a negative
    // tolerance accepts nothing but the current second.
    if now.abs_diff(ts) > u64::try_from(tolerance_secs).unwrap_or(0) {
        return Err(SignatureError::TimestampOutOfTolerance);
    }
    let expected = secret.mac(msg_id, ts, body);
    let mut matched = false;
    for candidate in signature_header.split_ascii_whitespace() {
        let Some(encoded) = candidate.strip_prefix("v1,") else {
            continue;
        };
        if let Ok(given) = B64.decode(encoded) {
            // Constant time, and every candidate is checked.
            matched |= bool::from(given.ct_eq(&expected));
        }
    }
    if matched {
        Ok(())
    } else {
        Err(SignatureError::NoMatchingSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test vector published with the Standard Webhooks specification.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn matches_the_reference_vector() {
        let secret = SigningSecret::parse(SECRET).unwrap();
        assert_eq!(secret.sign(MSG_ID, TIMESTAMP, BODY), SIGNATURE);
        assert_eq!(secret.to_whsec(), SECRET);
        verify(
            &secret,
            MSG_ID,
            "1614265330",
            SIGNATURE,
            BODY,
            TIMESTAMP + 10,
            DEFAULT_TOLERANCE_SECS,
        )
        .unwrap();
    }

    #[test]
    fn refuses_tampering_wrong_secrets_and_stale_times() {
        let secret = SigningSecret::parse(SECRET).unwrap();
        let other = SigningSecret::generate();
        let now = TIMESTAMP;
        let check = |s: &SigningSecret, body: &[u8], ts: &str, now: i64| {
            verify(s, MSG_ID, ts, SIGNATURE, body, now, DEFAULT_TOLERANCE_SECS)
        };
        assert_eq!(
            check(&other, BODY, "1614265330", now),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(
            check(&secret, b"{}", "1614265330", now),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(
            check(&secret, BODY, "1614265331", now),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(
            check(&secret, BODY, "1614265330", now + 301),
            Err(SignatureError::TimestampOutOfTolerance)
        );
        assert_eq!(
            check(&secret, BODY, "soon", now),
            Err(SignatureError::MalformedTimestamp)
        );
        for far in [i64::MIN, i64::MIN + 1, -1, i64::MAX] {
            assert_eq!(
                check(&secret, BODY, &far.to_string(), now),
                Err(SignatureError::TimestampOutOfTolerance),
                "timestamp {far}"
            );
        }
    }

    #[test]
    fn both_signatures_verify_during_rotation() {
        let old = SigningSecret::generate();
        let new = SigningSecret::generate();
        let header = signature_header([&new, &old], MSG_ID, TIMESTAMP, BODY);
        assert_eq!(header.split(' ').count(), 2);
        for s in [&new, &old] {
            verify(
                s,
                MSG_ID,
                &TIMESTAMP.to_string(),
                &header,
                BODY,
                TIMESTAMP,
                300,
            )
            .unwrap();
        }
        let stranger = SigningSecret::generate();
        assert!(
            verify(
                &stranger,
                MSG_ID,
                &TIMESTAMP.to_string(),
                &header,
                BODY,
                TIMESTAMP,
                300
            )
            .is_err()
        );
    }

    #[test]
    fn secrets_never_print() {
        let s = SigningSecret::generate();
        assert!(!format!("{s:?}").contains(&s.to_whsec()[6..]));
        assert!(s.to_whsec().starts_with("whsec_"));
        assert_eq!(SigningSecret::parse(&s.to_whsec()).unwrap(), s);
        assert!(SigningSecret::parse("whsec_!!!").is_err());
        assert!(SigningSecret::parse("whsec_c2hvcnQ=").is_err());
    }
}
