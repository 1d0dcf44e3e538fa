//! Identifiers: time-ordered UUIDv7 with a readable prefix, so a support
//! engineer can tell a merchant id from a user id at a glance.

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

pub fn merchant_id() -> String {
    new_id("mer")
}

pub fn user_id() -> String {
    new_id("usr")
}

pub fn endpoint_id() -> String {
    new_id("ep")
}

pub fn secret_id() -> String {
    new_id("sec")
}

/// Event ids double as the `webhook-id` header, stable across retries.
pub fn event_id() -> String {
    new_id("evt")
}

pub fn delivery_id() -> String {
    new_id("dlv")
}

pub fn attempt_id() -> String {
    new_id("att")
}

pub fn audit_id() -> String {
    new_id("aud")
}

pub fn balance_request_id() -> String {
    new_id("bal")
}

pub fn readiness_id() -> String {
    new_id("rdy")
}

pub fn inbox_message_id() -> String {
    new_id("msg")
}

pub fn notice_id() -> String {
    new_id("ntc")
}

pub fn api_key_id() -> String {
    new_id("key")
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_carry_prefix_and_are_unique() {
        let a = super::merchant_id();
        let b = super::merchant_id();
        assert!(a.starts_with("mer_"));
        assert_eq!(a.len(), 4 + 32);
        assert_ne!(a, b);
    }
}
