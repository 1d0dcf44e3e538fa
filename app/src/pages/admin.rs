//! The onboarding team's area.

use crate::UserResource;
use crate::api::admin::{Directory, admin_merchants};
use crate::components::gate::{ErrorPanel, Loading, encode_component, gate};
use hookline::Role;
use hookline::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AdminHome() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let directory = Resource::new(q, admin_merchants);
    view! {
        <Title text="Merchants"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                let here = match q() {
                    q if q.is_empty() => "/admin".to_owned(),
                    q => format!("/admin?q={}", encode_component(&q)),
                };
                match gate(user.await, Role::Admin, &here) {
                    Ok(_) => match directory.await {
                        Ok(directory) => view! { <DirectoryView directory/> }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    },
                    Err(instead) => instead,
                }
            })}
        </Suspense>
    }
}

#[component]
fn DirectoryView(directory: Directory) -> impl IntoView {
    let count = directory.merchants.len();
    let rows = directory
        .merchants
        .into_iter()
        .map(|m| {
            view! {
                <tr>
                    <td data-label="Business">{m.business_name}</td>
                    <td data-label="Email">{m.email}</td>
                    <td data-label="Merchant id"><code>{m.id}</code></td>
                    <td data-label="Joined">{format_utc(m.created_ms)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="page-head">
            <p class="eyebrow">"Onboarding team"</p>
            <h1>"Merchants"</h1>
            <p class="muted">{format!("{} merchant(s) on Hookline.", directory.total_merchants)}</p>
        </section>
        <section class="panel">
            <form method="get" action="/admin" class="search" role="search">
                <label for="merchant-search">"Search by business name, email or merchant id"</label>
                <div class="search-row">
                    <input id="merchant-search" type="search" name="q" value=directory.query.clone()/>
                    <button type="submit" class="button">"Search"</button>
                </div>
            </form>
            {if count == 0 {
                view! { <p class="muted">"No merchant matches."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <caption class="visually-hidden">"Merchants"</caption>
                        <thead>
                            <tr><th scope="col">"Business"</th><th scope="col">"Email"</th><th scope="col">"Merchant id"</th><th scope="col">"Joined"</th></tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

#[component]
pub fn AdminAuditPage() -> impl IntoView {
    use crate::api::admin::admin_audit;
    use crate::components::audit_table::{AuditFilters, AuditTable, query_from, query_string};
    let user = expect_context::<UserResource>().0;
    let params = use_query_map();
    let query = move || params.with(query_from);
    let entries = Resource::new(query, admin_audit);
    view! {
        <Title text="Audit log"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                let q = query();
                let here = format!("/admin/audit{}", query_string(&q));
                match gate(user.await, Role::Admin, &here) {
                    Ok(_) => {
                        let table = match entries.await {
                            Ok(entries) => view! { <AuditTable entries admin=true/> }.into_any(),
                            Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        };
                        view! {
                            <section class="page-head">
                                <p class="eyebrow">"Onboarding team"</p>
                                <h1>"Audit log"</h1>
                                <p class="muted">"Every admin action and merchants' security-relevant actions, newest first (200 per view). Append-only."</p>
                            </section>
                            <section class="panel"><AuditFilters query=q action_path="/admin/audit" admin=true/></section>
                            <section class="panel">{table}</section>
                        }.into_any()
                    }
                    Err(instead) => instead,
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn AdminBalancePage() -> impl IntoView {
    use crate::api::admin::{AdminDecideBalance, admin_balance_requests};
    let user = expect_context::<UserResource>().0;
    let decide = ServerAction::<AdminDecideBalance>::new();
    // Reload after a decision was taken; a refused one keeps the typed reason.
    let decided = RwSignal::new(0);
    Effect::new(move |_| {
        if decide.value().with(|v| matches!(v, Some(Ok(())))) {
            decided.update(|n| *n += 1);
        }
    });
    let pending = Resource::new(move || decided.get(), |_| admin_balance_requests());
    view! {
        <Title text="Balance requests"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match gate(user.await, Role::Admin, "/admin/balance-requests") {
                    Ok(_) => match pending.await {
                        Ok(pending) => view! { <PendingBalances pending decide/> }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    },
                    Err(instead) => instead,
                }
            })}
        </Suspense>
    }
}

#[component]
fn PendingBalances(
    pending: Vec<crate::api::admin::PendingBalance>,
    decide: ServerAction<crate::api::admin::AdminDecideBalance>,
) -> impl IntoView {
    use crate::components::form::{field_error, form_error};
    use hookline::balance::format_money;
    let value = Signal::derive(move || decide.value().get());
    let items = pending
        .into_iter()
        .map(|p| {
            let reason_id = format!("reason-{}", p.request.id);
            view! {
                <article class="delivery" data-testid="pending-balance">
                    <h3>{p.business_name} " " <span class="badge">{p.request.mode.label()}</span></h3>
                    <p>
                        "Warn below " <strong>{format_money(&p.request.threshold)}</strong>
                        " · requested " {format_utc(p.request.requested_ms)}
                        " · merchant " <code>{p.merchant_id}</code>
                    </p>
                    <ActionForm action=decide attr:class="form" attr:novalidate=true>
                        <input type="hidden" name="id" value=p.request.id.clone()/>
                        <div class="field">
                            <label for=reason_id.clone()>"Reason (the merchant sees it)"</label>
                            <input id=reason_id name="reason"/>
                            <p class="field-message"><span class="field-error">{move || field_error(value, "reason").get()}</span></p>
                        </div>
                        <div class="actions">
                            <button type="submit" name="decision" value="approve" class="button">"Approve"</button>
                            <button type="submit" name="decision" value="deny" class="button button-quiet">"Deny"</button>
                        </div>
                    </ActionForm>
                </article>
            }
        })
        .collect_view();
    let empty = items.is_empty();
    view! {
        <section class="page-head">
            <p class="eyebrow">"Onboarding team"</p>
            <h1>"Balance threshold requests"</h1>
        </section>
        <section class="panel">
            <p class="form-error" role="alert">{move || value.with(|v| form_error(v, &["reason"]))}</p>
            {if empty {
                view! { <p class="muted" data-testid="no-pending">"No request is waiting."</p> }.into_any()
            } else {
                view! { <div>{items}</div> }.into_any()
            }}
        </section>
    }
}
