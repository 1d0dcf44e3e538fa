//! A merchant's delivery log and events as the onboarding team sees them:
//! the merchant's own views, read-only, with assisted resend and recover
//! that each ask for a reason.

use crate::UserResource;
use crate::api::admin::{
    AdminRecover, AdminRecoverPreview, AdminResendEvent, admin_delivery_log, admin_event,
};
use crate::components::form::{Answer, FieldMessage, FormError, field_error, on_success};
use crate::components::gate::{ErrorPanel, Loading, gate};
use crate::pages::deliveries::{Filters, LogLinks, LogTable, query_from, query_string};
use crate::pages::event::EventView;
use hookline::logs::RecoverPlan;
use hookline::{Mode, Role};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

fn mode_param(raw: Option<String>) -> Mode {
    match raw.as_deref() {
        Some("sandbox") => Mode::Sandbox,
        _ => Mode::Live,
    }
}

fn links(merchant_id: &str, mode: Mode) -> LogLinks {
    LogLinks {
        list: format!(
            "/admin/merchants/{merchant_id}/{}/deliveries",
            mode.as_str()
        ),
        event_prefix: format!("/admin/merchants/{merchant_id}/events/"),
        recover: Some(format!(
            "/admin/merchants/{merchant_id}/{}/recover",
            mode.as_str()
        )),
    }
}

#[component]
pub fn AdminDeliveriesPage() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    let params = use_params_map();
    let search = use_query_map();
    let merchant = move || params.read().get("id").unwrap_or_default();
    let mode = move || mode_param(params.read().get("mode"));
    let query = move || search.with(query_from);
    let log = Resource::new(
        move || (merchant(), mode(), query()),
        |(m, mode, q)| admin_delivery_log(m, mode, q),
    );
    view! {
        <Title text="Merchant deliveries"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                let (m, mode, q) = (merchant(), mode(), query());
                let links = links(&m, mode);
                let here = format!("{}{}", links.list, query_string(&q));
                match gate(user.await, Role::Admin, &here) {
                    Ok(_) => match log.await {
                        Ok(log) => view! {
                            <p><a href=format!("/admin/merchants/{m}?mode={}", mode.as_str())>"← Back to the merchant"</a></p>
                            <LogTable log query=q mode=mode.label() links/>
                        }.into_any(),
                        Err(error) => view! {
                            <Filters query=q endpoints=Vec::new() error=Some(error.clone()) action=links.list/>
                            <ErrorPanel error/>
                        }.into_any(),
                    },
                    Err(instead) => instead,
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn AdminEventPage() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    let params = use_params_map();
    let merchant = move || params.read().get("id").unwrap_or_default();
    let event_id = move || params.read().get("event").unwrap_or_default();
    let resend = ServerAction::<AdminResendEvent>::new();
    // Reload after a resend went out; a refused one keeps the typed reason.
    let sent = RwSignal::new(0);
    on_success(resend, move || sent.update(|n| *n += 1));
    let detail = Resource::new(
        move || (merchant(), event_id(), sent.get()),
        |(m, e, _)| admin_event(m, e),
    );
    view! {
        <Title text="Event"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                let (m, e) = (merchant(), event_id());
                let here = format!("/admin/merchants/{m}/events/{e}");
                match gate(user.await, Role::Admin, &here) {
                    Ok(_) => match detail.await {
                        Ok(event) => {
                            let back = format!("/admin/merchants/{m}/{}/deliveries", event.mode.as_str());
                            let is_test = event.is_test;
                            view! {
                                <p><a href=back>"← The merchant's deliveries"</a></p>
                                <EventView event>
                                    {(!is_test).then(|| view! { <AssistedResend merchant_id=m event_id=e resend/> })}
                                </EventView>
                            }.into_any()
                        }
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    },
                    Err(instead) => instead,
                }
            })}
        </Suspense>
    }
}

#[component]
fn AssistedResend(
    merchant_id: String,
    event_id: String,
    resend: ServerAction<AdminResendEvent>,
) -> impl IntoView {
    let value = Signal::derive(move || resend.value().get());
    view! {
        <section class="panel">
            <h2>"Resend on the merchant's behalf"</h2>
            <ActionForm action=resend attr:class="form form-inline" attr:novalidate=true>
                <input type="hidden" name="merchant_id" value=merchant_id/>
                <input type="hidden" name="event_id" value=event_id/>
                <div class="field" class:has-error=move || field_error(value, "reason").get().is_some()>
                    <label for="resend-reason">"Reason (goes in the merchant's audit log)"</label>
                    <input id="resend-reason" name="reason" aria-describedby="resend-reason-message"/>
                    <FieldMessage id="resend-reason-message".into() error=field_error(value, "reason")/>
                </div>
                <button type="submit" class="button" disabled=move || resend.pending().get()>"Resend event"</button>
            </ActionForm>
            <FormError value=value shown=&["reason"]/>
            {move || value.get().and_then(Result::ok).map(|n| view! {
                <p class="form-ok" role="status" data-testid="admin-resend-done">{format!("Queued {n} delivery(ies).")}</p>
            })}
        </section>
    }
}

#[component]
pub fn AdminRecoverPage() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    let params = use_params_map();
    let merchant = move || params.read().get("id").unwrap_or_default();
    let mode = move || mode_param(params.read().get("mode"));
    let log = Resource::new(
        move || (merchant(), mode()),
        |(m, mode)| admin_delivery_log(m, mode, hookline::logs::LogQuery::default()),
    );
    let preview = ServerAction::<AdminRecoverPreview>::new();
    let recover = ServerAction::<AdminRecover>::new();
    let planned: Answer<RecoverPlan> = Signal::derive(move || preview.value().get());
    let done: Answer<RecoverPlan> = Signal::derive(move || recover.value().get());
    view! {
        <Title text="Recover failed events"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                let (m, mode) = (merchant(), mode());
                let here = format!("/admin/merchants/{m}/{}/recover", mode.as_str());
                match gate(user.await, Role::Admin, &here) {
                    Ok(_) => match log.await {
                        Ok(log) => {
                            let options = log.endpoints.into_iter().map(|e| view! { <option value=e.id>{e.url}</option> }).collect_view();
                            let bad = move |name: &'static str| move || field_error(planned, name).get().is_some();
                            let for_confirm = m.clone();
                            view! {
                                <p><a href=format!("/admin/merchants/{m}?mode={}", mode.as_str())>"← Back to the merchant"</a></p>
                                <section class="page-head">
                                    <p class="eyebrow">{format!("Onboarding team · {} mode", mode.label())}</p>
                                    <h1>"Recover failed events"</h1>
                                    <p class="muted">{format!(
                                        "Send an endpoint every event that failed in a time range, oldest first, at most {} a second.",
                                        hookline::logs::RECOVER_PER_SECOND
                                    )}</p>
                                </section>
                                <section class="panel">
                                    <ActionForm action=preview attr:class="form" attr:novalidate=true>
                                        <input type="hidden" name="merchant_id" value=m.clone()/>
                                        <input type="hidden" name="mode" value=mode.as_str()/>
                                        <div class="field" class:has-error=bad("endpoint")>
                                            <label for="recover-endpoint">"Endpoint"</label>
                                            <select id="recover-endpoint" name="input[endpoint]">
                                                <option value="">"Choose an endpoint"</option>
                                                {options}
                                            </select>
                                            <FieldMessage id="recover-endpoint-message".into() error=field_error(planned, "endpoint")/>
                                        </div>
                                        <div class="field" class:has-error=bad("from")>
                                            <label for="recover-from">"From (UTC)"</label>
                                            <input id="recover-from" type="datetime-local" name="input[from]"/>
                                            <FieldMessage id="recover-from-message".into() error=field_error(planned, "from")/>
                                        </div>
                                        <div class="field" class:has-error=bad("to")>
                                            <label for="recover-to">"To (UTC)"</label>
                                            <input id="recover-to" type="datetime-local" name="input[to]"/>
                                            <FieldMessage id="recover-to-message".into() error=field_error(planned, "to")/>
                                        </div>
                                        <FormError value=planned shown=&["endpoint", "from", "to"]/>
                                        <button type="submit" class="button button-quiet">"Count failed events"</button>
                                    </ActionForm>
                                </section>
                                {move || planned.get().and_then(Result::ok).map(|plan| view! { <AssistedRecover merchant_id=for_confirm.clone() mode plan recover done/> })}
                            }.into_any()
                        }
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    },
                    Err(instead) => instead,
                }
            })}
        </Suspense>
    }
}

#[component]
fn AssistedRecover(
    merchant_id: String,
    mode: Mode,
    plan: RecoverPlan,
    recover: ServerAction<AdminRecover>,
    done: Answer<RecoverPlan>,
) -> impl IntoView {
    use hookline::time::format_input_exact;
    let summary = format!(
        "{} failed event(s) to {} in that range; this recover sends {} over about {} s.",
        plan.failed, plan.endpoint_url, plan.to_send, plan.seconds
    );
    view! {
        <section class="panel" aria-live="polite">
            <p data-testid="recover-summary">{summary}</p>
            {(plan.failed > 0).then(|| view! {
                <ActionForm action=recover attr:class="form" attr:novalidate=true>
                    <input type="hidden" name="merchant_id" value=merchant_id/>
                    <input type="hidden" name="mode" value=mode.as_str()/>
                    <input type="hidden" name="input[endpoint]" value=plan.endpoint_id.clone()/>
                    <input type="hidden" name="input[from]" value=format_input_exact(plan.from_ms)/>
                    <input type="hidden" name="input[to]" value=format_input_exact(plan.to_ms)/>
                    <div class="field" class:has-error=move || field_error(done, "reason").get().is_some()>
                        <label for="recover-reason">"Reason (goes in the merchant's audit log)"</label>
                        <input id="recover-reason" name="reason" aria-describedby="recover-reason-message"/>
                        <FieldMessage id="recover-reason-message".into() error=field_error(done, "reason")/>
                    </div>
                    <button type="submit" class="button" disabled=move || recover.pending().get()>
                        {format!("Resend {} event(s)", plan.to_send)}
                    </button>
                </ActionForm>
            })}
            <FormError value=done shown=&["reason"]/>
            {move || done.get().and_then(Result::ok).map(|d| view! {
                <p class="form-ok" role="status" data-testid="recover-done">{format!("Queued {} event(s) for delivery.", d.to_send)}</p>
            })}
        </section>
    }
}
