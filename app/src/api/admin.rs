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
