//! The merchant's endpoints: the list, adding one, and one endpoint's page
//! (settings, status, secrets, test events).

use crate::UserResource;
use crate::api::balance::list_balance_requests;
use crate::api::endpoints::{
    CreateEndpoint, DeleteEndpoint, EndpointList, EndpointPage, RevealSecret, RotateSecret,
    RunReadinessCheck, SendTestEvent, SetEndpointEnabled, TestResult, UpdateEndpoint, get_endpoint,
    list_endpoints,
};
use crate::components::endpoint_form::EndpointFields;
use crate::components::form::{Answer, Field, FormError, field_error, on_success};
use crate::components::gate::{ErrorPanel, Loading, gate};
use hookline::Role;
use hookline::endpoint::{EndpointStatus, EndpointSummary, GracePeriod, HealthBadge};
use hookline::events::EventType;
use hookline::readiness::ReadinessReport;
use hookline::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

const ENDPOINT_FIELDS: [&str; 5] = [
    "url",
    "description",
    "event_types",
    "payload_version",
    "allowlist",
];

pub fn status_badge(status: EndpointStatus) -> impl IntoView {
    let class = match status {
        EndpointStatus::Enabled => "badge badge-ok",
        EndpointStatus::Disabled => "badge",
        EndpointStatus::AutoDisabled => "badge badge-bad",
    };
    view! { <span class=class data-testid="endpoint-status">{status.label()}</span> }
}

pub fn health_badge(health: HealthBadge) -> impl IntoView {
    let class = match health {
        HealthBadge::Healthy => "badge badge-ok",
        HealthBadge::Failing => "badge badge-warn",
        HealthBadge::Paused => "badge badge-bad",
        HealthBadge::Off => "badge",
    };
    view! { <span class=class data-testid="endpoint-health">{health.label()}</span> }
}

fn success_rate(s: &EndpointSummary) -> String {
    match s.success_rate_24h() {
        Some(rate) => format!("{rate:.1} % of {}", s.attempts_24h),
        None => "No attempts".to_owned(),
    }
}

#[component]
fn EgressIps(ips: Vec<String>) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="egress-title">
            <h2 id="egress-title">"Firewall"</h2>
            {if ips.is_empty() {
                view! { <p class="muted">"Deliveries come from this installation's own address; your operator has not listed fixed egress IPs."</p> }.into_any()
            } else {
                view! {
                    <p>"Hookline sends every delivery from these addresses. Allow them in your firewall:"</p>
                    <ul class="ip-list" data-testid="egress-ips">
                        {ips.into_iter().map(|ip| view! { <li><code>{ip}</code></li> }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

#[component]
pub fn EndpointsPage() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    let list = Resource::new(|| (), |_| list_endpoints());
    view! {
        <Title text="Endpoints"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match gate(user.await, Role::Merchant, "/endpoints") {
                    Ok(_) => match list.await {
                        Ok(list) => view! { <EndpointTable list/> }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    },
                    Err(instead) => instead,
                }
            })}
        </Suspense>
    }
}

#[component]
fn EndpointTable(list: EndpointList) -> impl IntoView {
    let mode = list.mode;
    let rows = list
        .endpoints
        .into_iter()
        .map(|s| {
            let href = format!("/endpoints/{}", s.endpoint.id);
            let rate = success_rate(&s);
            let types = s
                .endpoint
                .event_types
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            view! {
                <tr>
                    <td data-label="URL">
                        <a href=href class="url">{s.endpoint.url.clone()}</a>
                        {(!s.endpoint.description.is_empty()).then(|| view! { <div class="muted small">{s.endpoint.description.clone()}</div> })}
                    </td>
                    <td data-label="Status">{status_badge(s.status)}</td>
                    <td data-label="Health">{health_badge(s.health)}</td>
                    <td data-label="Last 24 h">{rate}</td>
                    <td data-label="Events" class="small">{types}</td>
                </tr>
            }
        })
        .collect_view();
    let empty = format!(
        "No endpoints in {} mode yet. Add one to start receiving events.",
        mode.label().to_lowercase()
    );
    let has_rows = !rows.is_empty();
    view! {
        <section class="page-head page-head-row">
            <div>
                <p class="eyebrow">{format!("{} mode", mode.label())}</p>
                <h1>"Endpoints"</h1>
            </div>
            <a class="button" href="/endpoints/new">"Add an endpoint"</a>
        </section>
        <section class="panel">
            {if has_rows {
                view! {
                    <table class="table" data-testid="endpoint-table">
                        <caption class="visually-hidden">"Your endpoints"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"URL"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col">"Health"</th>
                                <th scope="col">"Last 24 h"</th>
                                <th scope="col">"Events"</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any()
            } else {
                view! { <p class="muted">{empty}</p> }.into_any()
            }}
        </section>
        <EgressIps ips=list.egress_ips/>
    }
}

#[component]
pub fn NewEndpointPage() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    let create = ServerAction::<CreateEndpoint>::new();
    let value: Answer<String> = Signal::derive(move || create.value().get());
    let query = use_query_map();
    let balance = Resource::new(|| (), |_| list_balance_requests());
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = value.get() {
            navigate(&format!("/endpoints/{id}"), Default::default());
        }
    });
    view! {
        <Title text="Add an endpoint"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                let opt_in_approved = matches!(balance.await, Ok(b) if b.approved);
                match gate(user.await, Role::Merchant, "/endpoints/new") {
                    Ok(user) => view! {
                        <section class="page-head">
                            <p class="eyebrow">{format!("{} mode", user.mode.label())}</p>
                            <h1>"Add an endpoint"</h1>
                        </section>
                        <section class="panel">
                            <ActionForm action=create attr:class="form" attr:novalidate=true>
                                <EndpointFields
                                    initial=None
                                    suggested_url=query.read_untracked().get("url").unwrap_or_default()
                                    opt_in_approved
                                    value
                                />
                                <FormError value=value shown=&ENDPOINT_FIELDS/>
                                <button type="submit" class="button" disabled=move || create.pending().get()>
                                    {move || if create.pending().get() { "Adding…" } else { "Add endpoint" }}
                                </button>
                            </ActionForm>
                        </section>
                    }.into_any(),
                    Err(instead) => instead,
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn EndpointDetailPage() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let page = Resource::new(id, get_endpoint);
    // Each change reloads the page's data once it succeeded.
    let update = ServerAction::<UpdateEndpoint>::new();
    let switch = ServerAction::<SetEndpointEnabled>::new();
    let rotate = ServerAction::<RotateSecret>::new();
    let check = ServerAction::<RunReadinessCheck>::new();
    on_success(update, move || page.refetch());
    on_success(switch, move || page.refetch());
    on_success(rotate, move || page.refetch());
    on_success(check, move || page.refetch());
    view! {
        <Title text="Endpoint"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                let here = format!("/endpoints/{}", id());
                match gate(user.await, Role::Merchant, &here) {
                    Ok(_) => match page.await {
                        Ok(page) => view! { <EndpointDetail page update switch rotate check/> }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    },
                    Err(instead) => instead,
                }
            })}
        </Suspense>
    }
}

#[component]
fn EndpointDetail(
    page: EndpointPage,
    update: ServerAction<UpdateEndpoint>,
    switch: ServerAction<SetEndpointEnabled>,
    rotate: ServerAction<RotateSecret>,
    check: ServerAction<RunReadinessCheck>,
) -> impl IntoView {
    let s = page.summary;
    let ep = s.endpoint.clone();
    let id = ep.id.clone();
    let update_value: Answer<String> = Signal::derive(move || update.value().get());
    let last_success = s
        .last_success_ms
        .map(format_utc)
        .unwrap_or_else(|| "never".to_owned());
    view! {
        <section class="page-head">
            <p class="eyebrow">{format!("{} endpoint", ep.mode.label())}</p>
            <h1 class="url" data-testid="endpoint-url">{ep.url.clone()}</h1>
            <p class="badges">{status_badge(s.status)} " " {health_badge(s.health)}</p>
            {s.disabled_note.clone().map(|note| view! { <p class="notice" role="status">{note}</p> })}
        </section>
        <section class="panel">
            <h2>"Overview"</h2>
            <dl class="facts">
                <dt>"Endpoint id"</dt><dd><code>{ep.id.clone()}</code></dd>
                <dt>"Last 24 hours"</dt><dd>{success_rate(&s)}</dd>
                <dt>"Last success"</dt><dd>{last_success}</dd>
                <dt>"Failures in a row"</dt><dd>{s.consecutive_failures}</dd>
                <dt>"Held deliveries"</dt><dd data-testid="held-count">{s.held}</dd>
                <dt>"Created"</dt><dd>{format_utc(ep.created_ms)}</dd>
            </dl>
            <p><a href=format!("/deliveries?endpoint={}", ep.id)>"See this endpoint's deliveries"</a></p>
            <SwitchForm id=ep.id.clone() status=s.status held=s.held switch/>
        </section>
        <TestEventPanel id=ep.id.clone() subscribed=ep.event_types.clone()/>
        <ReadinessPanel id=ep.id.clone() live=ep.mode == hookline::Mode::Live report=page.readiness check/>
        <SecretsPanel id=ep.id.clone() secrets=page.secrets rotate/>
        <section class="panel">
            <h2>"Settings"</h2>
            <ActionForm action=update attr:class="form" attr:novalidate=true>
                <input type="hidden" name="id" value=ep.id.clone()/>
                <EndpointFields initial=Some(ep.clone()) opt_in_approved=page.opt_in_approved value=update_value/>
                <FormError value=update_value shown=&ENDPOINT_FIELDS/>
                <p class="form-ok" role="status">{move || update_value.with(|v| matches!(v, Some(Ok(_))).then_some("Saved."))}</p>
                <button type="submit" class="button" disabled=move || update.pending().get()>"Save changes"</button>
            </ActionForm>
        </section>
        <EgressIps ips=page.egress_ips/>
        <DeletePanel id/>
    }
}

#[component]
fn SwitchForm(
    id: String,
    status: EndpointStatus,
    held: i64,
    switch: ServerAction<SetEndpointEnabled>,
) -> impl IntoView {
    let enabled = status == EndpointStatus::Enabled;
    view! {
        <ActionForm action=switch attr:class="form form-inline">
            <input type="hidden" name="id" value=id/>
            <input type="hidden" name="enabled" value=if enabled { "false" } else { "true" }/>
            {(!enabled && held > 0).then(|| view! {
                <fieldset class="field">
                    <legend>{format!("{held} event(s) were held while the endpoint was off")}</legend>
                    <label class="check"><input type="radio" name="held" value="deliver" checked=true/>" Deliver them now"</label>
                    <label class="check"><input type="radio" name="held" value="discard"/>" Discard them"</label>
                </fieldset>
            })}
            <button type="submit" class=if enabled { "button button-quiet" } else { "button" } disabled=move || switch.pending().get()>
                {if enabled { "Disable endpoint" } else { "Enable endpoint" }}
            </button>
            <FormError value=switch.value()/>
        </ActionForm>
    }
}

#[component]
fn TestEventPanel(id: String, subscribed: Vec<EventType>) -> impl IntoView {
    let send = ServerAction::<SendTestEvent>::new();
    let value: Answer<TestResult> = Signal::derive(move || send.value().get());
    let options = EventType::ALL
        .into_iter()
        .filter(|t| !t.requires_approval() || subscribed.contains(t))
        .map(|t| view! { <option value=t.as_str() selected=subscribed.first() == Some(&t)>{t.as_str()}</option> })
        .collect_view();
    view! {
        <section class="panel" aria-labelledby="test-title">
            <h2 id="test-title">"Send a test event"</h2>
            <p class="muted">"Sends one signed sample event now. It is marked as a test in your logs and never retried."</p>
            <ActionForm action=send attr:class="form form-inline">
                <input type="hidden" name="id" value=id/>
                <div class="field">
                    <label for="field-test-event-type">"Event type"</label>
                    <select id="field-test-event-type" name="event_type">{options}</select>
                </div>
                <button type="submit" class="button" disabled=move || send.pending().get()>
                    {move || if send.pending().get() { "Sending…" } else { "Send test event" }}
                </button>
            </ActionForm>
            <FormError value=value/>
            {move || value.get().and_then(Result::ok).map(|result| view! { <TestResultView result/> })}
        </section>
    }
}

#[component]
fn TestResultView(result: TestResult) -> impl IntoView {
    let outcome = match (result.success, result.status) {
        (true, Some(status)) => format!("Delivered: HTTP {status}"),
        (false, Some(status)) => format!("Not accepted: HTTP {status}"),
        (_, None) => format!(
            "Failed: {}",
            result.error_class.clone().unwrap_or_else(|| "error".into())
        ),
    };
    view! {
        <div class="result" data-testid="test-result" class:result-ok=result.success class:result-bad=!result.success>
            <p class="result-head">
                <strong data-testid="test-outcome">{outcome}</strong>
                " in " {result.latency_ms} " ms · "
                <a href=format!("/events/{}", result.event_id)>"open in the log"</a>
            </p>
            {result.error_message.clone().map(|m| view! { <p class="muted">{m}</p> })}
            <h3>"Headers sent"</h3>
            <HeaderTable headers=result.request_headers/>
            <h3>"Body sent"</h3>
            <pre class="code">{result.request_body}</pre>
            {(!result.response_headers.is_empty()).then(|| view! {
                <h3>"Response headers"</h3>
                <HeaderTable headers=result.response_headers/>
            })}
            <h3>"Response body"</h3>
            <pre class="code" data-testid="test-response-body">{result.response_body.unwrap_or_default()}</pre>
        </div>
    }
}

#[component]
fn ReadinessPanel(
    id: String,
    live: bool,
    report: Option<ReadinessReport>,
    check: ServerAction<RunReadinessCheck>,
) -> impl IntoView {
    let intro = if live {
        "A live endpoint can be enabled once its URL has passed this check on a sandbox endpoint."
    } else {
        "Four requests that show your server is ready for live traffic. Once this URL passes here, a live endpoint with the same URL can be enabled."
    };
    let results = report.map(|r| {
        let verdict = if r.passed {
            view! { <p class="form-ok" data-testid="readiness-verdict">{format!("Passed on {}", format_utc(r.checked_ms))}</p> }.into_any()
        } else {
            view! { <p class="form-error" data-testid="readiness-verdict">{format!("Not ready (checked {})", format_utc(r.checked_ms))}</p> }.into_any()
        };
        let rows = r
            .results
            .into_iter()
            .map(|res| {
                view! {
                    <li class="scenario" class:attempt-ok=res.passed class:attempt-bad=!res.passed data-testid="scenario">
                        <strong>{if res.passed { "Pass" } else { "Fail" }} " · " {res.scenario.title()}</strong>
                        <div class="muted small">{res.scenario.expectation()}</div>
                        <div class="small">{res.detail}</div>
                    </li>
                }
            })
            .collect_view();
        view! { {verdict} <ul class="scenarios">{rows}</ul> }
    });
    view! {
        <section class="panel" aria-labelledby="readiness-title">
            <h2 id="readiness-title">"Readiness check"</h2>
            <p class="muted">{intro}</p>
            <ActionForm action=check attr:class="form form-inline">
                <input type="hidden" name="id" value=id/>
                <button type="submit" class="button button-quiet" disabled=move || check.pending().get()>
                    {move || if check.pending().get() { "Checking…" } else { "Run readiness check" }}
                </button>
            </ActionForm>
            <FormError value=check.value()/>
            {results}
        </section>
    }
}

#[component]
pub fn HeaderTable(headers: Vec<(String, String)>) -> impl IntoView {
    view! {
        <table class="table table-compact headers">
            <tbody>
                {headers.into_iter().map(|(k, v)| view! { <tr><th scope="row"><code>{k}</code></th><td><code class="wrap">{v}</code></td></tr> }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn SecretsPanel(
    id: String,
    secrets: Vec<hookline::endpoint::SecretInfo>,
    rotate: ServerAction<RotateSecret>,
) -> impl IntoView {
    let reveal = ServerAction::<RevealSecret>::new();
    let revealed: Answer<String> = Signal::derive(move || reveal.value().get());
    let rotate_value: Answer<()> = Signal::derive(move || rotate.value().get());
    let rows = secrets
        .into_iter()
        .map(|s| {
            let state = match s.expires_ms {
                None => "Current: signs every delivery".to_owned(),
                Some(ms) => format!("Also signs until {}", format_utc(ms)),
            };
            view! {
                <tr>
                    <td data-label="Secret"><code>{s.id}</code></td>
                    <td data-label="Created">{format_utc(s.created_ms)}</td>
                    <td data-label="Signs" data-testid="secret-state">{state}</td>
                </tr>
            }
        })
        .collect_view();
    let graces = GracePeriod::ALL
        .into_iter()
        .map(|g| view! { <option value=g.as_str() selected=g == GracePeriod::OneDay>{g.label()}</option> })
        .collect_view();
    view! {
        <section class="panel" aria-labelledby="secrets-title">
            <h2 id="secrets-title">"Signing secrets"</h2>
            <p class="muted">"Every delivery carries a webhook-signature header made with these secrets. During a rotation both the new and the old secret sign, so your server can switch without missing events."</p>
            <table class="table" data-testid="secrets-table">
                <thead><tr><th scope="col">"Secret"</th><th scope="col">"Created"</th><th scope="col">"Signs"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <h3>"Reveal the current secret"</h3>
            {let reveal_id = id.clone();
            move || match revealed.get() {
                Some(Ok(secret)) => view! { <RevealedSecret secret/> }.into_any(),
                _ => {
                    let rid = reveal_id.clone();
                    view! {
                    <ActionForm action=reveal attr:class="form form-inline" attr:novalidate=true>
                        <input type="hidden" name="id" value=rid/>
                        <Field
                            label="Your password"
                            name="password"
                            kind="password"
                            form="reveal"
                            autocomplete="current-password"
                            error=field_error(revealed, "password")
                        />
                        <button type="submit" class="button" disabled=move || reveal.pending().get()>"Reveal secret"</button>
                        <FormError value=revealed shown=&["password"]/>
                    </ActionForm>
                    }.into_any()
                }
            }}
            <h3>"Rotate"</h3>
            <ActionForm action=rotate attr:class="form form-inline">
                <input type="hidden" name="id" value=id.clone()/>
                <div class="field">
                    <label for="field-grace">"Keep the old secret signing for"</label>
                    <select id="field-grace" name="grace">{graces}</select>
                </div>
                <button type="submit" class="button button-quiet" disabled=move || rotate.pending().get()>"Rotate secret"</button>
                <FormError value=rotate_value/>
            </ActionForm>
        </section>
    }
}

#[component]
fn RevealedSecret(secret: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let to_copy = secret.clone();
    let copy = move |_| {
        let clipboard = window().navigator().clipboard();
        let _ = clipboard.write_text(&to_copy);
        copied.set(true);
    };
    view! {
        <div class="secret-reveal">
            <code data-testid="revealed-secret" class="wrap">{secret}</code>
            <button type="button" class="button button-small" on:click=copy>
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
            <p class="muted small">"Keep it in your server's secret store. Anyone with it can forge events to your endpoint."</p>
        </div>
    }
}

#[component]
fn DeletePanel(id: String) -> impl IntoView {
    let delete = ServerAction::<DeleteEndpoint>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/endpoints", Default::default());
        }
    });
    view! {
        <section class="panel panel-danger">
            <h2>"Delete this endpoint"</h2>
            <p class="muted">"It stops receiving events at once; events not yet delivered to it are marked failed. Its delivery logs stay."</p>
            <ActionForm action=delete attr:class="form form-inline">
                <input type="hidden" name="id" value=id/>
                // Deleting cannot be undone: the browser asks for this box first.
                <label class="check"><input type="checkbox" required=true data-testid="confirm-delete"/>" Yes, delete it: it stops receiving events now"</label>
                <button type="submit" class="button button-danger" disabled=move || delete.pending().get()>"Delete endpoint"</button>
                <FormError value=delete.value()/>
            </ActionForm>
        </section>
    }
}
