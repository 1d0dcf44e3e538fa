//! The audit log: who did what, when, from where, and why. Every admin action
//! and the security-relevant actions of merchants are recorded; entries are
//! never changed or removed (the database refuses it).

use serde::{Deserialize, Serialize};

/// What was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    SignIn,
    SignInFailed,
    SecretRevealed,
    SecretRotated,
    EndpointCreated,
    EndpointChanged,
    EndpointEnabled,
    EndpointDisabled,
    EndpointDeleted,
    EventResent,
    EventsRecovered,
    BalanceRequested,
    BalanceApproved,
    BalanceDenied,
    ReadinessOverridden,
    NoticePublished,
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiKeyRefused,
    /// A password-confirmed action (revealing a secret, a key that may
    /// read secrets) refused for a wrong password; the detail says which.
    PasswordRefused,
}

impl Action {
    pub const ALL: [Action; 20] = [
        Action::SignIn,
        Action::SignInFailed,
        Action::SecretRevealed,
        Action::SecretRotated,
        Action::EndpointCreated,
        Action::EndpointChanged,
        Action::EndpointEnabled,
        Action::EndpointDisabled,
        Action::EndpointDeleted,
        Action::EventResent,
        Action::EventsRecovered,
        Action::BalanceRequested,
        Action::BalanceApproved,
        Action::BalanceDenied,
        Action::ReadinessOverridden,
        Action::NoticePublished,
        Action::ApiKeyCreated,
        Action::ApiKeyRevoked,
        Action::ApiKeyRefused,
        Action::PasswordRefused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::SignIn => "sign_in",
            Action::SignInFailed => "sign_in_failed",
            Action::SecretRevealed => "secret_revealed",
            Action::SecretRotated => "secret_rotated",
            Action::EndpointCreated => "endpoint_created",
            Action::EndpointChanged => "endpoint_changed",
            Action::EndpointEnabled => "endpoint_enabled",
            Action::EndpointDisabled => "endpoint_disabled",
            Action::EndpointDeleted => "endpoint_deleted",
            Action::EventResent => "event_resent",
            Action::EventsRecovered => "events_recovered",
            Action::BalanceRequested => "balance_requested",
            Action::BalanceApproved => "balance_approved",
            Action::BalanceDenied => "balance_denied",
            Action::ReadinessOverridden => "readiness_overridden",
            Action::NoticePublished => "notice_published",
            Action::ApiKeyCreated => "api_key_created",
            Action::ApiKeyRevoked => "api_key_revoked",
            Action::ApiKeyRefused => "api_key_refused",
            Action::PasswordRefused => "password_refused",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Action::SignIn => "Signed in",
            Action::SignInFailed => "Failed sign-in",
            Action::SecretRevealed => "Secret revealed",
            Action::SecretRotated => "Secret rotated",
            Action::EndpointCreated => "Endpoint added",
            Action::EndpointChanged => "Endpoint changed",
            Action::EndpointEnabled => "Endpoint enabled",
            Action::EndpointDisabled => "Endpoint disabled",
            Action::EndpointDeleted => "Endpoint deleted",
            Action::EventResent => "Event resent",
            Action::EventsRecovered => "Failed events recovered",
            Action::BalanceRequested => "Balance warnings requested",
            Action::BalanceApproved => "Balance warnings approved",
            Action::BalanceDenied => "Balance warnings denied",
            Action::ReadinessOverridden => "Readiness requirement overridden",
            Action::NoticePublished => "Notice published",
            Action::ApiKeyCreated => "API key created",
            Action::ApiKeyRevoked => "API key revoked",
            Action::ApiKeyRefused => "API key refused (address not allowed)",
            Action::PasswordRefused => "Refused: wrong password",
        }
    }

    pub fn parse(raw: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == raw)
    }
}

/// One entry as the portal shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    pub at_ms: i64,
    pub actor_role: String,
    pub actor_email: String,
    pub address: String,
    pub merchant_id: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: String,
    pub reason: String,
}

/// Filters for the audit pages; empty means any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    pub merchant: String,
    /// The actor's email, exactly.
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    /// `datetime-local` values, UTC.
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

#[cfg(feature = "runtime")]
pub use ops::*;

#[cfg(feature = "runtime")]
mod ops {
    use super::{Action, AuditEntry, AuditQuery};
    use crate::clock::Clock;
    use crate::error::Result;
    use crate::ids;
    use crate::on_db;
    use crate::store::Db;
    use crate::time::parse_input;
    use crate::validation::FieldErrors;

    /// The most entries one page lists.
    pub const LISTED: i64 = 200;

    /// Who acted, and from where.
    #[derive(Clone, Debug)]
    pub struct Actor {
        /// `merchant`, `admin` or `visitor` (a failed sign-in).
        pub role: &'static str,
        pub user_id: Option<String>,
        pub email: String,
        pub address: String,
    }

    pub struct NewEntry<'a> {
        pub actor: &'a Actor,
        pub merchant_id: Option<&'a str>,
        pub action: Action,
        pub target: Option<&'a str>,
        pub detail: String,
        pub reason: &'a str,
    }

    fn clip(s: &str, max: usize) -> String {
        s.chars().take(max).collect()
    }

    /// Appends an entry.
    pub async fn record(db: &Db, clock: &dyn Clock, e: NewEntry<'_>) -> Result<()> {
        on_db!(db, |pool| {
            sqlx::query(
                "INSERT INTO audit_log (id, at_ms, actor_role, actor_id, actor_email, address, merchant_id, action, target, detail, reason) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(ids::audit_id())
            .bind(clock.now_ms())
            .bind(e.actor.role)
            .bind(&e.actor.user_id)
            .bind(clip(&e.actor.email, 254))
            .bind(clip(&e.actor.address, 64))
            .bind(e.merchant_id)
            .bind(e.action.as_str())
            .bind(e.target)
            .bind(clip(&e.detail, 2000))
            .bind(clip(e.reason.trim(), 1000))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    #[derive(sqlx::FromRow)]
    struct Row {
        id: String,
        at_ms: i64,
        actor_role: String,
        actor_email: String,
        address: String,
        merchant_id: Option<String>,
        action: String,
        target: Option<String>,
        detail: String,
        reason: String,
    }

    /// Entries matching `q`, newest first. `only_merchant` pins the merchant
    /// (a merchant sees its own entries whatever it asks for).
    pub async fn list(
        db: &Db,
        q: &AuditQuery,
        only_merchant: Option<&str>,
    ) -> Result<Vec<AuditEntry>> {
        let mut errors = FieldErrors::new();
        let action = match q.action.trim() {
            "" => None,
            raw => match Action::parse(raw) {
                Some(a) => Some(a.as_str()),
                None => {
                    errors.add("action", format!("`{raw}` is not an audited action."));
                    None
                }
            },
        };
        let time = |errors: &mut FieldErrors, field: &str, raw: &str| match raw.trim() {
            "" => None,
            raw => {
                let parsed = parse_input(raw);
                if parsed.is_none() {
                    errors.add(
                        field,
                        "Enter a date and time such as 2026-11-28T14:05 (UTC).",
                    );
                }
                parsed
            }
        };
        let from = time(&mut errors, "from", &q.from);
        let to = time(&mut errors, "to", &q.to);
        for (field, value) in [("merchant", &q.merchant), ("actor", &q.actor)] {
            if crate::validation::has_control_character(value, false) {
                errors.add(field, crate::validation::CONTROL_CHARACTER);
            }
        }
        errors.into_result(())?;
        let merchant = only_merchant.or(Some(q.merchant.trim()).filter(|m| !m.is_empty()));
        let actor = Some(q.actor.trim()).filter(|a| !a.is_empty());
        let rows: Vec<Row> = on_db!(db, |pool| {
            sqlx::query_as::<_, Row>(
                "SELECT id, at_ms, actor_role, actor_email, address, merchant_id, action, target, detail, reason \
                 FROM audit_log \
                 WHERE ($1 IS NULL OR merchant_id = $1) AND ($2 IS NULL OR actor_email = $2) \
                   AND ($3 IS NULL OR action = $3) AND ($4 IS NULL OR at_ms >= $4) AND ($5 IS NULL OR at_ms < $5) \
                 ORDER BY at_ms DESC, id DESC LIMIT $6",
            )
            .bind(merchant)
            .bind(actor)
            .bind(action)
            .bind(from)
            .bind(to)
            .bind(LISTED)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at_ms: r.at_ms,
                actor_role: r.actor_role,
                actor_email: r.actor_email,
                address: r.address,
                merchant_id: r.merchant_id,
                action: r.action,
                target: r.target,
                detail: r.detail,
                reason: r.reason,
            })
            .collect())
    }
}
