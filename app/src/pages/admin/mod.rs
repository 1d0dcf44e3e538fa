//! The onboarding team's area.

pub mod logs;
pub mod notices;
pub mod operations;

use crate::UserResource;
use crate::api::admin::{Directory, admin_merchants};
use crate::components::form::on_success;
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
                    <td data-label="Business"><a href=format!("/admin/merchants/{}", m.id)>{m.business_name}</a></td>
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
                        let (table, error) = match entries.await {
                            Ok(entries) => (view! { <AuditTable entries admin=true/> }.into_any(), None),
                            Err(error) => (view! { <ErrorPanel error=error.clone()/> }.into_any(), Some(error)),
                        };
                        view! {
                            <section class="page-head">
                                <p class="eyebrow">"Onboarding team"</p>
                                <h1>"Audit log"</h1>
                                <p class="muted">"Every admin action and merchants' security-relevant actions, newest first (200 per view). Append-only."</p>
                            </section>
                            <section class="panel"><AuditFilters query=q action_path="/admin/audit" admin=true error=error/></section>
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
    on_success(decide, move || decided.update(|n| *n += 1));
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
    use crate::components::form::{FormError, field_error};
    use hookline::balance::format_money;
    let value = Signal::derive(move || decide.value().get());
    // The request last submitted: a refused reason shows beside its form
    // only, not beside every pending request's.
    let submitted = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(input) = decide.input().get() {
            submitted.set(Some(input.id));
        }
    });
    let items = pending
        .into_iter()
        .map(|p| {
            let reason_id = format!("reason-{}", p.request.id);
            let mine = p.request.id.clone();
            let reason_error = move || {
                let submitted_here = submitted.with(|s| s.as_deref() == Some(mine.as_str()));
                submitted_here.then(|| field_error(value, "reason").get()).flatten()
            };
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
                            <p class="field-message"><span class="field-error">{reason_error}</span></p>
                        </div>
                        <div class="actions">
                            <button type="submit" name="decision" value="approve" class="button" disabled=move || decide.pending().get()>"Approve"</button>
                            <button type="submit" name="decision" value="deny" class="button button-quiet" disabled=move || decide.pending().get()>"Deny"</button>
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
            <FormError value=value shown=&["reason"]/>
            {if empty {
                view! { <p class="muted" data-testid="no-pending">"No request is waiting."</p> }.into_any()
            } else {
                view! { <div>{items}</div> }.into_any()
            }}
        </section>
    }
}

#[component]
pub fn AdminMerchantPage() -> impl IntoView {
    use crate::api::admin::{AdminEnableEndpoint, AdminResendEvent, admin_merchant};
    use leptos_router::hooks::use_params_map;
    let user = expect_context::<UserResource>().0;
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let mode = move || match query.read().get("mode").as_deref() {
        Some("sandbox") => hookline::Mode::Sandbox,
        _ => hookline::Mode::Live,
    };
    let resend = ServerAction::<AdminResendEvent>::new();
    let enable = ServerAction::<AdminEnableEndpoint>::new();
    // Reload after an action succeeded; a refused one keeps the typed reason.
    let done = RwSignal::new(0);
    on_success(resend, move || done.update(|n| *n += 1));
    on_success(enable, move || done.update(|n| *n += 1));
    let detail = Resource::new(
        move || (id(), mode(), done.get()),
        |(id, mode, _)| admin_merchant(id, mode),
    );
    view! {
        <Title text="Merchant"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                let here = format!("/admin/merchants/{}", id());
                match gate(user.await, Role::Admin, &here) {
                    Ok(_) => match detail.await {
                        Ok(detail) => view! { <MerchantDetailView detail resend enable/> }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    },
                    Err(instead) => instead,
                }
            })}
        </Suspense>
    }
}

#[component]
fn MerchantDetailView(
    detail: crate::api::admin::MerchantDetail,
    resend: ServerAction<crate::api::admin::AdminResendEvent>,
    enable: ServerAction<crate::api::admin::AdminEnableEndpoint>,
) -> impl IntoView {
    use crate::components::form::{FormError, field_error};
    use crate::pages::deliveries::state_badge;
    use crate::pages::endpoints::{health_badge, status_badge};
    use hookline::endpoint::EndpointStatus;
    let m = detail.merchant;
    let base = format!("/admin/merchants/{}", m.id);
    let other = match detail.mode {
        hookline::Mode::Live => (format!("{base}?mode=sandbox"), "Show sandbox"),
        hookline::Mode::Sandbox => (format!("{base}?mode=live"), "Show live"),
    };
    let resend_value = Signal::derive(move || resend.value().get());
    let enable_value = Signal::derive(move || enable.value().get());
    let merchant_id = m.id.clone();
    let endpoints = detail
        .endpoints
        .into_iter()
        .map(|s| {
            let ready = detail
                .readiness
                .iter()
                .find(|(id, _)| *id == s.endpoint.id)
                .and_then(|(_, passed)| *passed);
            let readiness = match ready {
                Some(true) => "passed",
                Some(false) => "failed",
                None => "not run",
            };
            let off = s.status != EndpointStatus::Enabled;
            let (mid, eid) = (merchant_id.clone(), s.endpoint.id.clone());
            view! {
                <tr data-testid="admin-endpoint">
                    <td data-label="URL" class="url">{s.endpoint.url.clone()}<div class="muted small"><code>{s.endpoint.id.clone()}</code></div></td>
                    <td data-label="Status">{status_badge(s.status)} " " {health_badge(s.health)}</td>
                    <td data-label="Readiness">{readiness}</td>
                    <td data-label="Held">{s.held}</td>
                    <td data-label="Action">
                        {off.then(|| view! {
                            <ActionForm action=enable attr:class="form" attr:novalidate=true>
                                <input type="hidden" name="merchant_id" value=mid/>
                                <input type="hidden" name="endpoint_id" value=eid/>
                                <div class="field">
                                    <label>"Reason" <input name="reason"/></label>
                                </div>
                                <label class="check"><input type="checkbox" name="override_readiness" value="true"/>" Override the readiness requirement"</label>
                                <button type="submit" class="button button-small" disabled=move || enable.pending().get()>"Re-enable"</button>
                            </ActionForm>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let event_prefix = format!("/admin/merchants/{}/events/", m.id);
    let rows = detail
        .log
        .rows
        .into_iter()
        .map(|r| {
            view! {
                <tr data-testid="admin-log-row">
                    <td data-label="Event"><a href=format!("{event_prefix}{}", r.event_id)><code>{r.event_id.clone()}</code></a><div class="small"><code>{r.event_type.as_str()}</code></div></td>
                    <td data-label="Endpoint" class="url small">{r.endpoint_url}</td>
                    <td data-label="Status">{state_badge(r.state)}<div class="muted small">{r.last_status.map(|s| format!("HTTP {s}"))}</div></td>
                    <td data-label="Attempts">{r.attempts}</td>
                    <td data-label="Created">{format_utc(r.created_ms)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="page-head page-head-row">
            <div>
                <p class="eyebrow">{format!("Merchant · {} mode", detail.mode.label())}</p>
                <h1>{m.business_name}</h1>
                <p class="muted">{m.email} " · " <code>{m.id.clone()}</code> " · joined " {format_utc(m.created_ms)}</p>
            </div>
            <div class="actions">
                <a class="button button-quiet" href=other.0>{other.1}</a>
                <a class="button button-quiet" href=format!("/admin/audit?merchant={}", m.id)>"Audit log"</a>
            </div>
        </section>
        <section class="panel">
            <h2>"Endpoints"</h2>
            <FormError value=enable_value/>
            <table class="table"><tbody>{endpoints}</tbody></table>
        </section>
        <section class="panel">
            <h2>"Resend an event"</h2>
            <ActionForm action=resend attr:class="form form-inline" attr:novalidate=true>
                <input type="hidden" name="merchant_id" value=m.id.clone()/>
                <div class="field">
                    <label for="resend-event">"Event id"</label>
                    <input id="resend-event" name="event_id" aria-describedby="resend-event-message"/>
                    <p class="field-message" id="resend-event-message"><span class="field-error">{move || field_error(resend_value, "event_id").get()}</span></p>
                </div>
                <div class="field">
                    <label for="resend-reason">"Reason"</label>
                    <input id="resend-reason" name="reason" aria-describedby="resend-reason-message"/>
                    <p class="field-message" id="resend-reason-message"><span class="field-error">{move || field_error(resend_value, "reason").get()}</span></p>
                </div>
                <button type="submit" class="button" disabled=move || resend.pending().get()>"Resend"</button>
            </ActionForm>
            <FormError value=resend_value shown=&["event_id", "reason"]/>
            {move || resend_value.get().and_then(Result::ok).map(|n| view! { <p class="form-ok" role="status" data-testid="admin-resend-done">{format!("Queued {n} delivery(ies).")}</p> })}
        </section>
        <section class="panel">
            <div class="page-head-row">
                <h2>"Latest deliveries"</h2>
                <div class="actions">
                    <a class="button button-quiet" href=format!("{base}/{}/deliveries", detail.mode.as_str()) data-testid="admin-all-deliveries">"All deliveries, with filters"</a>
                    <a class="button button-quiet" href=format!("{base}/{}/recover", detail.mode.as_str())>"Recover failed events"</a>
                </div>
            </div>
            <table class="table"><tbody>{rows}</tbody></table>
        </section>
    }
}
