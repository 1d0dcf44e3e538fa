//! The audit log as a table with its filters (kept in the URL), shared by
//! the merchant's page and the onboarding team's.

use crate::components::form::{aria_invalid, filter_field};
use crate::components::gate::encode_component;
use crate::error::AppError;
use hookline::audit::{Action, AuditEntry, AuditQuery};
use hookline::time::format_utc;
use leptos::prelude::*;

/// The filters as a URL query string.
pub fn query_string(q: &AuditQuery) -> String {
    let pairs = [
        ("merchant", &q.merchant),
        ("actor", &q.actor),
        ("action", &q.action),
        ("from", &q.from),
        ("to", &q.to),
    ];
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode_component(v)))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

fn label(action: &str) -> String {
    Action::parse(action).map_or_else(|| action.to_owned(), |a| a.label().to_owned())
}

#[component]
pub fn AuditFilters(
    query: AuditQuery,
    /// The page the form submits to.
    action_path: &'static str,
    /// Admins filter by merchant and actor too.
    admin: bool,
    /// What the server said about these filters, shown beside each field.
    error: Option<AppError>,
) -> impl IntoView {
    let field = |name: &str| error.as_ref().and_then(|e| e.field(name));
    let invalid = |name: &str| aria_invalid(error.as_ref(), name);
    let options = Action::ALL
        .into_iter()
        .map(|a| view! { <option value=a.as_str() selected=a.as_str() == query.action>{a.label()}</option> })
        .collect_view();
    let admin_fields = admin.then(|| {
        view! {
            {filter_field("audit-merchant", "Merchant id", field("merchant"), view! {
                <input id="audit-merchant" name="merchant" value=query.merchant.clone()
                    aria-invalid=invalid("merchant") aria-describedby="audit-merchant-message"/>
            })}
            {filter_field("audit-actor", "Actor email", field("actor"), view! {
                <input id="audit-actor" name="actor" value=query.actor.clone()
                    aria-invalid=invalid("actor") aria-describedby="audit-actor-message"/>
            })}
        }
    });
    view! {
        <form method="get" action=action_path class="filters" role="search" aria-label="Filter the audit log">
            {admin_fields}
            {filter_field("audit-action", "Action", field("action"), view! {
                <select id="audit-action" name="action" aria-invalid=invalid("action") aria-describedby="audit-action-message">
                    <option value="">"All actions"</option>
                    {options}
                </select>
            })}
            {filter_field("audit-from", "From (UTC)", field("from"), view! {
                <input id="audit-from" type="datetime-local" name="from" value=query.from.clone()
                    aria-invalid=invalid("from") aria-describedby="audit-from-message"/>
            })}
            {filter_field("audit-to", "To (UTC)", field("to"), view! {
                <input id="audit-to" type="datetime-local" name="to" value=query.to.clone()
                    aria-invalid=invalid("to") aria-describedby="audit-to-message"/>
            })}
            <div class="filter-actions">
                <button type="submit" class="button">"Apply filters"</button>
                <a class="button button-quiet" href=action_path>"Clear"</a>
            </div>
        </form>
    }
}

#[component]
pub fn AuditTable(entries: Vec<AuditEntry>, admin: bool) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p class="muted" data-testid="audit-empty">"No entries match."</p> }
            .into_any();
    }
    let rows = entries
        .into_iter()
        .map(|e| {
            view! {
                <tr data-testid="audit-row">
                    <td data-label="When">{format_utc(e.at_ms)}</td>
                    <td data-label="Action">{label(&e.action)}</td>
                    <td data-label="Who">
                        {e.actor_email}
                        " " <span class="badge">{e.actor_role}</span>
                        <div class="muted small">{e.address}</div>
                    </td>
                    {admin.then(|| view! { <td data-label="Merchant"><code>{e.merchant_id.unwrap_or_default()}</code></td> })}
                    <td data-label="Details" class="small">
                        {e.target.map(|t| view! { <code>{t}</code> " " })}
                        {e.detail}
                        {(!e.reason.is_empty()).then(|| view! { <div><strong>"Reason: "</strong>{e.reason.clone()}</div> })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="table" data-testid="audit-table">
            <caption class="visually-hidden">"Audit log, newest first"</caption>
            <thead>
                <tr>
                    <th scope="col">"When"</th>
                    <th scope="col">"Action"</th>
                    <th scope="col">"Who"</th>
                    {admin.then(|| view! { <th scope="col">"Merchant"</th> })}
                    <th scope="col">"Details"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// Reads the audit filters from the page's URL query.
pub fn query_from(params: &leptos_router::params::ParamsMap) -> AuditQuery {
    let get = |k: &str| params.get(k).unwrap_or_default();
    AuditQuery {
        merchant: get("merchant"),
        actor: get("actor"),
        action: get("action"),
        from: get("from"),
        to: get("to"),
    }
}
