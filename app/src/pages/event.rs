//! One event: its payload, and every delivery attempt on a timeline.

use crate::UserResource;
use crate::api::logs::{ResendEvent, get_event};
use crate::components::form::FormError;
use crate::components::gate::{ErrorPanel, Loading, gate};
use crate::pages::deliveries::state_badge;
use crate::pages::endpoints::HeaderTable;
use hookline::Role;
use hookline::logs::{AttemptView, DeliveryDetail, EventDetail};
use hookline::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn EventPage() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let resend = ServerAction::<ResendEvent>::new();
    let detail = Resource::new(
        move || (id(), resend.version().get()),
        |(id, _)| get_event(id),
    );
    view! {
        <Title text="Event"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                let here = format!("/events/{}", id());
                match gate(user.await, Role::Merchant, &here) {
                    Ok(_) => match detail.await {
                        Ok(event) => {
                            let (id, is_test) = (event.id.clone(), event.is_test);
                            view! {
                                <EventView event>
                                    {(!is_test).then(|| view! { <ResendPanel id resend/> })}
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
fn ResendPanel(id: String, resend: ServerAction<ResendEvent>) -> impl IntoView {
    view! {
        <section class="panel">
            <ActionForm action=resend attr:class="form form-inline">
                <input type="hidden" name="id" value=id/>
                <button type="submit" class="button" disabled=move || resend.pending().get()>"Resend event"</button>
                <span class="muted">"Sends it again to every enabled endpoint it went to, with the same webhook-id."</span>
            </ActionForm>
            <FormError value=resend.value()/>
            {move || resend.value().get().and_then(Result::ok).map(|n| view! {
                <p class="form-ok" role="status" data-testid="resend-done">{format!("Queued {n} delivery(ies).")}</p>
            })}
        </section>
    }
}

/// An event's facts, then whatever actions the viewer may take (the
/// children), then its payload and every delivery's timeline.
#[component]
pub fn EventView(event: EventDetail, children: Children) -> impl IntoView {
    let deliveries = event
        .deliveries
        .into_iter()
        .map(|d| view! { <DeliveryTimeline delivery=d/> })
        .collect_view();
    view! {
        <section class="page-head">
            <p class="eyebrow">
                {format!("{} event", event.mode.label())}
                {event.is_test.then(|| view! { " " <span class="badge">"test"</span> })}
            </p>
            <h1><code data-testid="event-id">{event.id.clone()}</code></h1>
            <dl class="facts">
                <dt>"Type"</dt><dd><code>{event.event_type.as_str()}</code></dd>
                <dt>"Transaction"</dt><dd><code>{event.resource_id.clone()}</code></dd>
                <dt>"Created"</dt><dd>{format_utc(event.created_ms)}</dd>
            </dl>
        </section>
        {children()}
        <section class="panel">
            <h2>"Payload"</h2>
            <pre class="code" data-testid="payload">{event.payload}</pre>
        </section>
        <section class="panel">
            <h2>"Deliveries"</h2>
            {deliveries}
        </section>
    }
}

#[component]
fn DeliveryTimeline(delivery: DeliveryDetail) -> impl IntoView {
    let next = delivery
        .next_attempt_ms
        .map(|ms| view! { <p class="muted">{format!("Next attempt {}", format_utc(ms))}</p> });
    let attempts = delivery
        .attempts
        .into_iter()
        .map(|a| view! { <AttemptItem attempt=a/> })
        .collect_view();
    view! {
        <article class="delivery" data-testid="delivery">
            <h3>
                <span class="url">{delivery.endpoint_url}</span>
                " " {state_badge(delivery.state)}
                {delivery.endpoint_deleted.then(|| view! { " " <span class="badge">"endpoint deleted"</span> })}
            </h3>
            {next}
            <ol class="timeline">{attempts}</ol>
        </article>
    }
}

#[component]
fn AttemptItem(attempt: AttemptView) -> impl IntoView {
    let ok = attempt.error_class.is_none();
    let outcome = match (attempt.response_status, attempt.error_class.as_deref()) {
        (Some(status), _) => format!("HTTP {status}"),
        (None, Some(class)) => class.to_owned(),
        (None, None) => "sent".to_owned(),
    };
    view! {
        <li class="attempt" class:attempt-ok=ok class:attempt-bad=!ok data-testid="attempt">
            <p class="attempt-head">
                <strong>{format!("Attempt {}", attempt.attempt_no)}</strong>
                " · " {format_utc(attempt.started_ms)}
                " · " <span data-testid="attempt-outcome">{outcome}</span>
                " · " {attempt.latency_ms} " ms"
                {attempt.payload_version.clone().map(|v| view! { " · payload " <code data-testid="attempt-version">{v}</code> })}
                {attempt.error_class.clone().map(|c| view! { " · " <span class="badge badge-bad">{c}</span> })}
            </p>
            {attempt.error_message.map(|m| view! { <p class="muted">{m}</p> })}
            <details>
                <summary>"Request headers"</summary>
                <HeaderTable headers=attempt.request_headers/>
            </details>
            {(!attempt.response_headers.is_empty()).then(|| view! {
                <details>
                    <summary>"Response headers"</summary>
                    <HeaderTable headers=attempt.response_headers/>
                </details>
            })}
            {attempt.response_body.map(|body| view! {
                <details>
                    <summary>"Response body"</summary>
                    <pre class="code">{body}</pre>
                </details>
            })}
        </li>
    }
}
