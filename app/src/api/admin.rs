//! Server functions for the onboarding team. Every one requires an admin.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantRow {
    pub id: String,
    pub business_name: String,
    pub email: String,
    pub created_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    pub total_merchants: i64,
    pub query: String,
    pub merchants: Vec<MerchantRow>,
}

/// The merchant directory: every merchant whose name, email or id matches `query`.
#[server(prefix = "/api", endpoint = "admin_merchants")]
pub async fn admin_merchants(query: String) -> Result<Directory, AppError> {
    use crate::state::{portal_state, require_admin};
    require_admin().await?;
    let state = portal_state()?;
    let query: String = query.chars().take(200).collect();
    let total_merchants = hookline::accounts::count_merchants(&state.db).await?;
    let merchants = hookline::accounts::search_merchants(&state.db, &query, 100)
        .await?
        .into_iter()
        .map(|m| MerchantRow {
            id: m.id,
            business_name: m.business_name,
            email: m.email,
            created_ms: m.created_ms,
        })
        .collect();
    Ok(Directory {
        total_merchants,
        query,
        merchants,
    })
}

/// A balance-warning request waiting for a decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingBalance {
    pub merchant_id: String,
    pub business_name: String,
    pub request: hookline::balance::BalanceRequest,
}

/// Every audit entry matching the filters, newest first.
#[server(prefix = "/api", endpoint = "admin_audit")]
pub async fn admin_audit(
    query: hookline::audit::AuditQuery,
) -> Result<Vec<hookline::audit::AuditEntry>, AppError> {
    use crate::state::{portal_state, require_admin};
    require_admin().await?;
    let state = portal_state()?;
    Ok(hookline::audit::list(&state.db, &query, None).await?)
}

/// Balance-warning requests waiting for the onboarding team.
#[server(prefix = "/api", endpoint = "admin_balance_requests")]
pub async fn admin_balance_requests() -> Result<Vec<PendingBalance>, AppError> {
    use crate::state::{portal_state, require_admin};
    require_admin().await?;
    let state = portal_state()?;
    Ok(hookline::balance::pending(&state.db)
        .await?
        .into_iter()
        .map(|(merchant_id, business_name, request)| PendingBalance {
            merchant_id,
            business_name,
            request,
        })
        .collect())
}

/// Approves or denies a balance-warning request. The reason is required and
/// goes to the merchant and the audit log.
#[server(prefix = "/api", endpoint = "admin_decide_balance")]
pub async fn admin_decide_balance(
    id: String,
    decision: String,
    #[server(default)] reason: String,
) -> Result<(), AppError> {
    use crate::state::{Audited, audit, portal_state, require_admin};
    use hookline::audit::Action;
    let admin = require_admin().await?;
    let state = portal_state()?;
    let mut errors = hookline::FieldErrors::new();
    let approve = match decision.as_str() {
        "approve" => Some(true),
        "deny" => Some(false),
        _ => {
            errors.add("decision", "Choose approve or deny.");
            None
        }
    };
    let reason = reason.trim().to_owned();
    if reason.is_empty() {
        errors.add("reason", "Give the reason; the merchant sees it.");
    } else if reason.chars().count() > 1000 {
        errors.add("reason", "Use at most 1000 characters.");
    }
    let Some(approve) = approve.filter(|_| errors.is_empty()) else {
        return Err(AppError::validation(errors));
    };
    let merchant_id =
        hookline::balance::decide(&state.db, &*state.clock, &id, approve, &reason).await?;
    audit(
        &state,
        &admin,
        Audited {
            merchant_id: Some(&merchant_id),
            action: if approve {
                Action::BalanceApproved
            } else {
                Action::BalanceDenied
            },
            target: Some(&id),
            detail: String::new(),
            reason: &reason,
        },
    )
    .await?;
    tracing::info!(request_id = %id, approve, admin = %admin.user_id, "balance request decided");
    Ok(())
}
