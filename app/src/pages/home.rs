//! The merchant's home: the dashboard for the selected mode.

use crate::UserResource;
use crate::api::auth::SessionUser;
use crate::api::dashboard::{AcknowledgeNotice, get_dashboard};
use crate::components::chart::AttemptsChart;
use crate::components::gate::{ErrorPanel, Loading, gate};
use crate::pages::endpoints::{health_badge, status_badge};
use hookline::Role;
use hookline::dashboard::{Dashboard, Window};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    let acknowledge = ServerAction::<AcknowledgeNotice>::new();
    let dashboard = Resource::new(move || acknowledge.version().get(), |_| get_dashboard());
    view! {
        <Title text="Dashboard"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match gate(user.await, Role::Merchant, "/") {
                    Ok(user) => match dashboard.await {
                        Ok(dashboard) => view! { <MerchantHome user dashboard acknowledge/> }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    },
                    Err(instead) => instead,
                }
            })}
        </Suspense>
    }
}

fn ms(value: Option<i64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{v} ms"))
}

#[component]
fn WindowStats(title: &'static str, window: Window, testid: &'static str) -> impl IntoView {
    let rate = window
        .success_rate()
        .map_or_else(|| "—".to_owned(), |r| format!("{r:.1} %"));
    view! {
        <section class="panel stat" data-testid=testid>
            <h2>{title}</h2>
            <dl class="stats">
                <div><dt>"Deliveries"</dt><dd>{window.deliveries}</dd></div>
                <div><dt>"Delivered"</dt><dd>{window.delivered}</dd></div>
                <div><dt>"Attempt success"</dt><dd>{rate}</dd></div>
                <div><dt>"Latency p50"</dt><dd>{ms(window.p50_ms)}</dd></div>
                <div><dt>"Latency p95"</dt><dd>{ms(window.p95_ms)}</dd></div>
            </dl>
        </section>
    }
}

/// Notices from the onboarding team, each until the merchant acknowledges it.
#[component]
fn Announcements(
    announcements: Vec<hookline::notices::MerchantNotice>,
    acknowledge: ServerAction<AcknowledgeNotice>,
) -> impl IntoView {
    use crate::components::form::FormError;
    use hookline::time::format_utc;
    let items = announcements
        .into_iter()
        .map(|a| {
            let n = a.notice;
            let effective: String = format_utc(n.effective_ms).chars().take(10).collect();
            let endpoints = a
                .endpoints_on_version
                .into_iter()
                .map(|url| view! { <li class="url">{url}</li> })
                .collect_view();
            let retiring = n.retiring_version.clone().map(|v| {
                view! {
                    <p>"Payload version " <code>{v}</code> " is being retired."</p>
                    <ul class="small">{endpoints}</ul>
                }
            });
            view! {
                <article class="announcement" data-testid="announcement">
                    <h3>{n.title}</h3>
                    <p class="muted small">{format!("Takes effect {effective}")}</p>
                    <p class="prewrap">{n.body}</p>
                    {retiring}
                    <ActionForm action=acknowledge attr:class="form form-inline">
                        <input type="hidden" name="id" value=n.id/>
                        <button type="submit" class="button button-small" disabled=move || acknowledge.pending().get()>"Acknowledge"</button>
                    </ActionForm>
                </article>
            }
        })
        .collect_view();
    view! {
        <section class="panel" aria-labelledby="announcements-title" data-testid="announcements">
            <h2 id="announcements-title">"From Hookline"</h2>
            <FormError value=acknowledge.value()/>
            {items}
        </section>
    }
}

#[component]
fn MerchantHome(
    user: SessionUser,
    dashboard: Dashboard,
    acknowledge: ServerAction<AcknowledgeNotice>,
) -> impl IntoView {
    let name = user.business_name.clone().unwrap_or_default();
    let mode_text = match user.mode {
        hookline::Mode::Sandbox => {
            "You are in sandbox mode. Test events go only to sandbox endpoints; nothing here touches live traffic."
        }
        hookline::Mode::Live => {
            "You are in live mode. Real payment events go to your live endpoints."
        }
    };
    let notices = dashboard
        .notices
        .into_iter()
        .map(|n| view! { <li class="notice"><a href=n.link>{n.message}</a></li> })
        .collect_view();
    let attention = dashboard
        .attention
        .into_iter()
        .map(|s| {
            view! {
                <li>
                    <a class="url" href=format!("/endpoints/{}", s.endpoint.id)>{s.endpoint.url.clone()}</a>
                    " " {status_badge(s.status)} " " {health_badge(s.health)}
                </li>
            }
        })
        .collect_view();
    let getting_started = (dashboard.endpoint_count == 0).then(|| {
        view! {
            <section class="panel">
                <h2>"Get started"</h2>
                <ol>
                    <li><a href="/endpoints/new">"Add an endpoint"</a>" for the events you want (or point one at your "<a href="/inbox">"sandbox inbox"</a>")."</li>
                    <li>"Send it a test event and check its signature with the secret from its page."</li>
                    <li>"Run the readiness check, then go live."</li>
                </ol>
            </section>
        }
    });
    view! {
        <section class="page-head">
            <p class="eyebrow">"Dashboard"</p>
            <h1 data-testid="business-name">{name}</h1>
        </section>
        <section class=format!("panel mode-banner mode-banner-{}", user.mode.as_str()) aria-live="polite">
            <h2>
                <span class=format!("badge badge-{}", user.mode.as_str())>{user.mode.label()}</span>
                " mode"
            </h2>
            <p>{mode_text}</p>
        </section>
        {getting_started}
        {(!dashboard.announcements.is_empty()).then(|| view! { <Announcements announcements=dashboard.announcements.clone() acknowledge/> })}
        <section class="panel" aria-labelledby="notices-title" data-testid="notices">
            <h2 id="notices-title">"Notices"</h2>
            {if notices.is_empty() {
                view! { <p class="muted">"Nothing needs your attention."</p> }.into_any()
            } else {
                view! { <ul class="notices">{notices}</ul> }.into_any()
            }}
        </section>
        <div class="stat-grid">
            <WindowStats title="Last 24 hours" window=dashboard.day testid="stats-day"/>
            <WindowStats title="Last 7 days" window=dashboard.week testid="stats-week"/>
        </div>
        <section class="panel">
            <h2>"Attempts by outcome, last 24 hours"</h2>
            <AttemptsChart bars=dashboard.chart/>
        </section>
        <section class="panel" data-testid="attention">
            <h2>"Endpoints that need attention"</h2>
            {if attention.is_empty() {
                view! { <p class="muted">"All your endpoints are enabled and healthy."</p> }.into_any()
            } else {
                view! { <ul class="attention">{attention}</ul> }.into_any()
            }}
        </section>
        <section class="panel">
            <h2>"Your account"</h2>
            <dl class="facts">
                <dt>"Merchant id"</dt>
                <dd><code>{user.merchant_id.clone().unwrap_or_default()}</code></dd>
                <dt>"Signed in as"</dt>
                <dd>{user.email.clone()}</dd>
                <dt>"Security"</dt>
                <dd><a href="/audit">"Audit log of sign-ins, secrets and changes"</a></dd>
                <dt>"Balance warnings"</dt>
                <dd><a href="/balance-warning">"Request or check balance threshold warnings"</a></dd>
            </dl>
        </section>
    }
}
