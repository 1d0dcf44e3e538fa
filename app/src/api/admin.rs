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
    if let Some(problem) = reason_problem(&reason, "Give the reason; the merchant sees it.") {
        errors.add("reason", problem);
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

/// One merchant as the onboarding team sees it: never its secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantDetail {
    pub merchant: MerchantRow,
    pub mode: hookline::Mode,
    pub endpoints: Vec<hookline::endpoint::EndpointSummary>,
    /// Per endpoint id: whether its latest readiness check passed, if it had one.
    pub readiness: Vec<(String, Option<bool>)>,
    /// The merchant's latest deliveries in `mode`.
    pub log: hookline::logs::LogPage,
}

/// The refusal of an action whose reason was left out.
#[cfg(feature = "ssr")]
const AUDIT_REASON_MISSING: &str = "Give the reason; it goes in the merchant's audit log.";

/// What is wrong with an admin's reason, if anything. It is checked before
/// the action: the audit entry written after it must not fail.
#[cfg(feature = "ssr")]
fn reason_problem(reason: &str, missing: &str) -> Option<String> {
    if reason.is_empty() {
        Some(missing.to_owned())
    } else if reason.chars().count() > 1000 {
        Some("Use at most 1000 characters.".to_owned())
    } else if hookline::validation::has_control_character(reason, true) {
        Some(hookline::validation::CONTROL_CHARACTER.to_owned())
    } else {
        None
    }
}

#[cfg(feature = "ssr")]
fn required_reason(reason: &str) -> Result<String, AppError> {
    let reason = reason.trim();
    match reason_problem(reason, AUDIT_REASON_MISSING) {
        Some(problem) => Err(AppError::validation(hookline::FieldErrors::single(
            "reason", problem,
        ))),
        None => Ok(reason.to_owned()),
    }
}

#[server(prefix = "/api", endpoint = "admin_merchant")]
pub async fn admin_merchant(id: String, mode: hookline::Mode) -> Result<MerchantDetail, AppError> {
    use crate::state::{portal_state, require_admin};
    require_admin().await?;
    let state = portal_state()?;
    let m = hookline::accounts::merchant(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let endpoints = hookline::endpoints::overview(&state.db, &*state.clock, &id, mode).await?;
    let mut readiness = Vec::with_capacity(endpoints.len());
    for s in &endpoints {
        let latest = hookline::readiness::latest(&state.db, &s.endpoint.id).await?;
        readiness.push((s.endpoint.id.clone(), latest.map(|r| r.passed)));
    }
    let log = hookline::logs::ops::page(&state.db, &id, mode, &hookline::logs::LogQuery::default())
        .await?;
    Ok(MerchantDetail {
        merchant: MerchantRow {
            id: m.id,
            business_name: m.business_name,
            email: m.email,
            created_ms: m.created_ms,
        },
        mode,
        endpoints,
        readiness,
        log,
    })
}

/// Resends one of the merchant's events on its behalf.
#[server(prefix = "/api", endpoint = "admin_resend_event")]
pub async fn admin_resend_event(
    merchant_id: String,
    event_id: String,
    #[server(default)] reason: String,
) -> Result<u64, AppError> {
    use crate::state::{portal_state, require_admin};
    use hookline::FieldErrors;
    let admin = require_admin().await?;
    let state = portal_state()?;
    // Both fields are checked before anything is done, each message beside its own.
    let mut errors = FieldErrors::new();
    let reason = reason.trim();
    if let Some(problem) = reason_problem(reason, AUDIT_REASON_MISSING) {
        errors.add("reason", problem);
    }
    let event_id = event_id.trim();
    let mode = if event_id.is_empty() {
        errors.add("event_id", "Enter the id of the event to resend (evt_…).");
        None
    } else {
        match hookline::logs::ops::mode_of(&state.db, &merchant_id, event_id).await {
            Ok(mode) => Some(mode),
            Err(hookline::Error::NotFound) => {
                errors.add("event_id", "This merchant has no event with this id.");
                None
            }
            Err(e) => return Err(e.into()),
        }
    };
    let Some(mode) = mode.filter(|_| errors.is_empty()) else {
        return Err(AppError::validation(errors));
    };
    let actor = crate::state::actor(&admin).await;
    let who = hookline::service::Merchant {
        id: &merchant_id,
        mode,
        actor: &actor,
    };
    // The merchant's own page shows the event's refusals as a whole; here
    // they belong to the field that named the event.
    match state.services().resend(&who, event_id, reason).await {
        Err(hookline::Error::Validation(fields)) => Err(AppError::validation(FieldErrors(
            fields
                .0
                .into_iter()
                .map(|mut f| {
                    if f.field == "event" {
                        f.field = "event_id".to_owned();
                    }
                    f
                })
                .collect(),
        ))),
        other => Ok(other?),
    }
}

/// Enables one of the merchant's endpoints (an auto-disabled one, say),
/// delivering what was held. A live endpoint whose URL never passed the
/// readiness check needs `override_readiness`, which is recorded as such.
#[server(prefix = "/api", endpoint = "admin_enable_endpoint")]
pub async fn admin_enable_endpoint(
    merchant_id: String,
    endpoint_id: String,
    #[server(default)] override_readiness: bool,
    #[server(default)] reason: String,
) -> Result<u64, AppError> {
    use crate::state::{Audited, audit, portal_state, require_admin};
    use hookline::audit::Action;
    let admin = require_admin().await?;
    let state = portal_state()?;
    let reason = required_reason(&reason)?;
    let endpoint = hookline::endpoints::get(&state.db, &merchant_id, &endpoint_id).await?;
    let ready = endpoint.mode != hookline::Mode::Live
        || hookline::readiness::passed_in_sandbox(&state.db, &merchant_id, &endpoint.url).await?;
    if !ready && !override_readiness {
        return Err(AppError::validation(hookline::FieldErrors::single(
            "override_readiness",
            "This live endpoint's URL has not passed the readiness check; enabling it is an override.",
        )));
    }
    let released = hookline::endpoints::enable(
        &state.db,
        &*state.clock,
        &merchant_id,
        &endpoint_id,
        hookline::endpoints::HeldDeliveries::Deliver,
    )
    .await?;
    state.dispatcher.wakeup.wake();
    let action = if ready {
        Action::EndpointEnabled
    } else {
        Action::ReadinessOverridden
    };
    audit(
        &state,
        &admin,
        Audited {
            merchant_id: Some(&merchant_id),
            action,
            target: Some(&endpoint_id),
            detail: format!(
                "enabled by the onboarding team; {released} held delivery(ies) released"
            ),
            reason: &reason,
        },
    )
    .await?;
    Ok(released)
}

/// The operations overview across every merchant of one mode.
#[server(prefix = "/api", endpoint = "admin_operations")]
pub async fn admin_operations(
    mode: hookline::Mode,
) -> Result<hookline::operations::Operations, AppError> {
    use crate::state::{portal_state, require_admin};
    require_admin().await?;
    let state = portal_state()?;
    Ok(hookline::operations::load(&state.db, &*state.clock, mode).await?)
}

/// A merchant's delivery log, as the merchant's own page shows it.
#[server(prefix = "/api", endpoint = "admin_delivery_log")]
pub async fn admin_delivery_log(
    merchant_id: String,
    mode: hookline::Mode,
    query: hookline::logs::LogQuery,
) -> Result<crate::api::logs::LogView, AppError> {
    use crate::api::logs::LogView;
    use crate::state::{portal_state, require_admin};
    require_admin().await?;
    let state = portal_state()?;
    if hookline::accounts::merchant(&state.db, &merchant_id)
        .await?
        .is_none()
    {
        return Err(AppError::NotFound);
    }
    let page = hookline::logs::ops::page(&state.db, &merchant_id, mode, &query).await?;
    let endpoints = crate::api::logs::choices(&state, &merchant_id, mode).await?;
    Ok(LogView { page, endpoints })
}

/// One of a merchant's events with every attempt, read-only.
#[server(prefix = "/api", endpoint = "admin_event")]
pub async fn admin_event(
    merchant_id: String,
    event_id: String,
) -> Result<hookline::logs::EventDetail, AppError> {
    use crate::state::{portal_state, require_admin};
    require_admin().await?;
    let state = portal_state()?;
    let mode = hookline::logs::ops::mode_of(&state.db, &merchant_id, &event_id).await?;
    Ok(hookline::logs::ops::event(&state.db, &merchant_id, mode, &event_id).await?)
}

/// How many of an endpoint's failed events a recover would send.
#[server(prefix = "/api", endpoint = "admin_recover_preview")]
pub async fn admin_recover_preview(
    merchant_id: String,
    mode: hookline::Mode,
    input: hookline::logs::RecoverInput,
) -> Result<hookline::logs::RecoverPlan, AppError> {
    use crate::state::{portal_state, require_admin};
    require_admin().await?;
    let state = portal_state()?;
    Ok(hookline::logs::ops::recover_preview(&state.db, &merchant_id, mode, &input).await?)
}

/// Recovers an endpoint's failed events on the merchant's behalf, with a reason.
#[server(prefix = "/api", endpoint = "admin_recover")]
pub async fn admin_recover(
    merchant_id: String,
    mode: hookline::Mode,
    input: hookline::logs::RecoverInput,
    #[server(default)] reason: String,
) -> Result<hookline::logs::RecoverPlan, AppError> {
    use crate::state::{portal_state, require_admin};
    let admin = require_admin().await?;
    let state = portal_state()?;
    let reason = required_reason(&reason)?;
    let actor = crate::state::actor(&admin).await;
    let who = hookline::service::Merchant {
        id: &merchant_id,
        mode,
        actor: &actor,
    };
    let plan = state.services().recover(&who, &input, &reason).await?;
    Ok(plan)
}

/// Every notice with how many merchants acknowledged it.
#[server(prefix = "/api", endpoint = "admin_notices")]
pub async fn admin_notices() -> Result<Vec<hookline::notices::NoticeSummary>, AppError> {
    use crate::state::{portal_state, require_admin};
    require_admin().await?;
    let state = portal_state()?;
    Ok(hookline::notices::list(&state.db).await?)
}

/// One notice and, per merchant it went to, who acknowledged it and when.
#[server(prefix = "/api", endpoint = "admin_notice")]
pub async fn admin_notice(
    id: String,
) -> Result<(hookline::notices::Notice, Vec<hookline::notices::Recipient>), AppError> {
    use crate::state::{portal_state, require_admin};
    require_admin().await?;
    let state = portal_state()?;
    Ok(hookline::notices::report(&state.db, &id).await?)
}

/// Publishes a format-change or maintenance notice.
#[server(prefix = "/api", endpoint = "admin_publish_notice")]
pub async fn admin_publish_notice(
    input: hookline::notices::NoticeInput,
) -> Result<hookline::notices::Notice, AppError> {
    use crate::state::{Audited, audit, portal_state, require_admin};
    let admin = require_admin().await?;
    let state = portal_state()?;
    let notice = hookline::notices::publish(&state.db, &*state.clock, &admin.email, &input).await?;
    audit(
        &state,
        &admin,
        Audited {
            merchant_id: None,
            action: hookline::audit::Action::NoticePublished,
            target: Some(&notice.id),
            detail: format!(
                "\"{}\" to {}, effective {}",
                notice.title,
                if notice.to_all {
                    "every merchant".to_owned()
                } else {
                    "chosen merchants".to_owned()
                },
                hookline::time::format_utc(notice.effective_ms)
            ),
            reason: "",
        },
    )
    .await?;
    tracing::info!(notice_id = %notice.id, admin = %admin.user_id, "notice published");
    Ok(notice)
}
