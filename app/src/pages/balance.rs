//! Requesting the balance threshold warning, and the answers so far.

use crate::UserResource;
use crate::api::balance::{BalanceView, RequestBalanceWarning, list_balance_requests};
use crate::components::form::{Answer, Field, FormError, field_error, on_success};
use crate::components::gate::{ErrorPanel, Loading, gate};
use hookline::Role;
use hookline::balance::{BalanceRequest, RequestStatus, format_money};
use hookline::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn BalancePage() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    let ask = ServerAction::<RequestBalanceWarning>::new();
    // Reload the list only after a request was filed, so a refused one keeps
    // what was typed in the form.
    let filed = RwSignal::new(0);
    on_success(ask, move || filed.update(|n| *n += 1));
    let requests = Resource::new(move || filed.get(), |_| list_balance_requests());
    view! {
        <Title text="Balance warnings"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match gate(user.await, Role::Merchant, "/balance-warning") {
                    Ok(_) => match requests.await {
                        Ok(view) => view! { <BalanceBody view ask/> }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    },
                    Err(instead) => instead,
                }
            })}
        </Suspense>
    }
}

#[component]
fn BalanceBody(view: BalanceView, ask: ServerAction<RequestBalanceWarning>) -> impl IntoView {
    let value: Answer<BalanceRequest> = Signal::derive(move || ask.value().get());
    let pending = view
        .requests
        .iter()
        .any(|r| r.status == RequestStatus::Pending);
    let state = if view.approved {
        "Approved: you can subscribe endpoints to balance.threshold_warning."
    } else if pending {
        "Your request is waiting for the onboarding team."
    } else {
        "Not requested yet."
    };
    let rows = view
        .requests
        .into_iter()
        .map(|r| {
            let class = match r.status {
                RequestStatus::Approved => "badge badge-ok",
                RequestStatus::Pending => "badge badge-warn",
                RequestStatus::Denied => "badge badge-bad",
            };
            view! {
                <tr data-testid="balance-request">
                    <td data-label="Threshold">{format_money(&r.threshold)}</td>
                    <td data-label="Status"><span class=class>{r.status.label()}</span></td>
                    <td data-label="Requested">{format_utc(r.requested_ms)}</td>
                    <td data-label="Answer">{r.note}{r.decided_ms.map(|ms| format!(" ({})", format_utc(ms)))}</td>
                </tr>
            }
        })
        .collect_view();
    let has_rows = !rows.is_empty();
    view! {
        <section class="page-head">
            <p class="eyebrow">{format!("{} mode", view.mode.label())}</p>
            <h1>"Balance threshold warnings"</h1>
            <p class="muted">"The balance.threshold_warning event tells your systems when your available balance falls below an amount you choose. It is sent on request: the onboarding team reviews each one."</p>
            <p data-testid="balance-state"><strong>{state}</strong></p>
        </section>
        <section class="panel">
            <h2>"Request"</h2>
            <ActionForm action=ask attr:class="form form-inline" attr:novalidate=true>
                <Field label="Threshold" name="threshold" hint="Such as 5000 or 5000.50." error=field_error(value, "threshold")/>
                <Field label="Currency" name="currency" value="EUR" hint="ISO 4217 code." error=field_error(value, "currency")/>
                <button type="submit" class="button" disabled=move || ask.pending().get()>"Request warnings"</button>
            </ActionForm>
            <FormError value=value shown=&["threshold", "currency"]/>
        </section>
        <section class="panel">
            <h2>"Your requests"</h2>
            {if has_rows {
                view! {
                    <table class="table">
                        <thead><tr><th scope="col">"Threshold"</th><th scope="col">"Status"</th><th scope="col">"Requested"</th><th scope="col">"Answer"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any()
            } else {
                view! { <p class="muted">"None yet."</p> }.into_any()
            }}
        </section>
    }
}
