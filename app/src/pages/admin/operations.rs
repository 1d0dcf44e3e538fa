//! The operations overview: is Hookline keeping up, and who is failing.

use crate::UserResource;
use crate::api::admin::admin_operations;
use crate::components::gate::{ErrorPanel, Loading, gate};
use hookline::operations::{Minute, Operations};
use hookline::time::format_utc;
use hookline::{Mode, Role};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AdminOperationsPage() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    let query = use_query_map();
    let mode = move || match query.read().get("mode").as_deref() {
        Some("sandbox") => Mode::Sandbox,
        _ => Mode::Live,
    };
    let ops = Resource::new(mode, admin_operations);
    view! {
        <Title text="Operations"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                let here = format!("/admin/operations?mode={}", mode().as_str());
                match gate(user.await, Role::Admin, &here) {
                    Ok(_) => match ops.await {
                        Ok(ops) => view! { <OperationsView ops/> }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    },
                    Err(instead) => instead,
                }
            })}
        </Suspense>
    }
}

/// How long ago `ms` was, in words.
fn age(now: i64, ms: i64) -> String {
    let secs = (now - ms).max(0) / 1000;
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 => format!("{} h {} min", secs / 3600, (secs % 3600) / 60),
        _ => format!("{} d {} h", secs / 86_400, (secs % 86_400) / 3600),
    }
}

#[component]
fn OperationsView(ops: Operations) -> impl IntoView {
    let other = match ops.mode {
        Mode::Live => ("/admin/operations?mode=sandbox", "Show sandbox"),
        Mode::Sandbox => ("/admin/operations?mode=live", "Show live"),
    };
    let rate = ops
        .failure_rate()
        .map_or_else(|| "—".to_owned(), |r| format!("{r:.1} %"));
    let (delivered, attempted) = (ops.delivered_per_minute(), ops.attempts_per_minute());
    let q = ops.queue;
    let now = ops.now_ms;
    let oldest = match ops.oldest_due.clone() {
        Some(o) => view! {
            <p data-testid="oldest-due">
                "Due for " <strong>{age(now, o.due_ms)}</strong> ": "
                <a href=format!("/admin/merchants/{}/events/{}", o.merchant_id, o.event_id)><code>{o.event_id.clone()}</code></a>
                " to " <span class="url">{o.endpoint_url}</span> " (" {o.business_name} ")"
            </p>
        }
        .into_any(),
        None => view! { <p class="muted" data-testid="oldest-due">"Nothing is waiting past its due time."</p> }.into_any(),
    };
    let failing = ops
        .failing
        .into_iter()
        .map(|f| {
            view! {
                <tr data-testid="failing-endpoint">
                    <td data-label="Merchant"><a href=format!("/admin/merchants/{}?mode={}", f.merchant_id, ops.mode.as_str())>{f.business_name}</a></td>
                    <td data-label="Endpoint" class="url small">{f.url}</td>
                    <td data-label="Failed (1 h)">{format!("{} of {}", f.failures, f.attempts)}</td>
                    <td data-label="In a row">{f.consecutive_failures}</td>
                </tr>
            }
        })
        .collect_view();
    let disabled = ops
        .disabled
        .into_iter()
        .map(|d| {
            let why = if d.reason == "gone" {
                "answered 410 Gone"
            } else {
                "failed for too long"
            };
            view! {
                <tr data-testid="disabled-endpoint">
                    <td data-label="Merchant"><a href=format!("/admin/merchants/{}?mode={}", d.merchant_id, ops.mode.as_str())>{d.business_name}</a></td>
                    <td data-label="Endpoint" class="url small">{d.url}</td>
                    <td data-label="Why">{why}</td>
                    <td data-label="Since">{d.since_ms.map(format_utc)}</td>
                    <td data-label="Held">{d.held}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="page-head page-head-row">
            <div>
                <p class="eyebrow">{format!("Onboarding team · {} mode", ops.mode.label())}</p>
                <h1>"Operations"</h1>
                <p class="muted">{format!("Every merchant, read at {}.", format_utc(now))}</p>
            </div>
            <div class="actions">
                <a class="button button-quiet" href=format!("/admin/operations?mode={}", ops.mode.as_str())>"Refresh"</a>
                <a class="button button-quiet" href=other.0>{other.1}</a>
            </div>
        </section>
        <div class="stat-grid">
            <section class="panel stat" data-testid="ops-traffic">
                <h2>"Traffic"</h2>
                <dl class="stats">
                    <div><dt>"Delivered / min"</dt><dd>{format!("{delivered:.1}")}</dd></div>
                    <div><dt>"Attempts / min"</dt><dd>{format!("{attempted:.1}")}</dd></div>
                    <div><dt>"Failure rate (1 h)"</dt><dd data-testid="failure-rate">{rate}</dd></div>
                </dl>
                <MinuteChart minutes=ops.minutes/>
            </section>
            <section class="panel stat" data-testid="ops-queue">
                <h2>"Queue"</h2>
                <dl class="stats">
                    <div><dt>"Due now"</dt><dd data-testid="queue-due">{q.due}</dd></div>
                    <div><dt>"Retry later"</dt><dd>{q.scheduled}</dd></div>
                    <div><dt>"In flight"</dt><dd>{q.in_flight}</dd></div>
                    <div><dt>"Held"</dt><dd data-testid="queue-held">{q.held}</dd></div>
                    <div><dt>"Succeeded"</dt><dd>{q.succeeded}</dd></div>
                    <div><dt>"Failed"</dt><dd data-testid="queue-failed">{q.failed}</dd></div>
                </dl>
                {oldest}
            </section>
        </div>
        <section class="panel">
            <h2>"Endpoints failing most, last hour"</h2>
            {if failing.is_empty() {
                view! { <p class="muted">"No failed attempt in the last hour."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead><tr><th scope="col">"Merchant"</th><th scope="col">"Endpoint"</th><th scope="col">"Failed (1 h)"</th><th scope="col">"In a row"</th></tr></thead>
                        <tbody>{failing}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
        <section class="panel">
            <h2>"Disabled by Hookline"</h2>
            {if disabled.is_empty() {
                view! { <p class="muted">"No endpoint is auto-disabled."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead><tr><th scope="col">"Merchant"</th><th scope="col">"Endpoint"</th><th scope="col">"Why"</th><th scope="col">"Since"</th><th scope="col">"Held events"</th></tr></thead>
                        <tbody>{disabled}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

/// Attempts per minute over the last hour, drawn on the server as SVG.
#[component]
fn MinuteChart(minutes: Vec<Minute>) -> impl IntoView {
    const WIDTH: f64 = 360.0;
    const HEIGHT: f64 = 60.0;
    let max = minutes
        .iter()
        .map(|m| m.ok + m.failed)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = WIDTH / minutes.len().max(1) as f64;
    let total: i64 = minutes.iter().map(|m| m.ok + m.failed).sum();
    let label = format!(
        "Attempts per minute over the last hour: {total} in all, at most {} in one minute.",
        max as i64
    );
    let columns = minutes
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let x = i as f64 * slot;
            let ok = m.ok as f64 / max * HEIGHT;
            let failed = m.failed as f64 / max * HEIGHT;
            view! {
                <g>
                    <rect class="chart-delivered" x=format!("{x:.1}") y=format!("{:.1}", HEIGHT - ok) width=format!("{:.1}", slot * 0.8) height=format!("{ok:.1}")/>
                    <rect class="chart-rejected" x=format!("{x:.1}") y=format!("{:.1}", HEIGHT - ok - failed) width=format!("{:.1}", slot * 0.8) height=format!("{failed:.1}")/>
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart chart-small">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=label>{columns}</svg>
            <figcaption class="chart-legend">
                <span class="key key-delivered">"Delivered"</span>
                <span class="key key-rejected">"Failed"</span>
                <span class="muted small">"Per minute, last hour."</span>
            </figcaption>
        </figure>
    }
}
