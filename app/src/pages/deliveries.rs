//! The delivery log: every delivery in the current mode, filtered by values
//! kept in the URL (so a refresh or a shared link shows the same rows), and
//! the recover form for an endpoint's failed deliveries.

use crate::UserResource;
use crate::api::logs::{LogView, Recover, RecoverPreview, delivery_log};
use crate::components::form::{
    Answer, FieldMessage, FormError, aria_invalid, field_error, filter_field,
};
use crate::components::gate::{ErrorPanel, Loading, encode_component, gate};
use hookline::Role;
use hookline::events::EventType;
use hookline::logs::{DeliveryState, LogQuery, LogRow, RecoverPlan};
use hookline::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Where the log's links lead: the merchant's own pages, or the onboarding
/// team's read-only view of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLinks {
    /// The log itself; filters are added as a query string.
    pub list: String,
    /// An event's page is this followed by its id.
    pub event_prefix: String,
    /// The recover page, where the viewer may recover.
    pub recover: Option<String>,
}

impl LogLinks {
    pub fn merchant() -> Self {
        LogLinks {
            list: "/deliveries".to_owned(),
            event_prefix: "/events/".to_owned(),
            recover: Some("/deliveries/recover".to_owned()),
        }
    }
}

/// The log's filters read from the URL's query.
pub fn query_from(p: &leptos_router::params::ParamsMap) -> LogQuery {
    let get = |k: &str| p.get(k).unwrap_or_default();
    LogQuery {
        endpoint: get("endpoint"),
        event_type: get("event_type"),
        status: get("status"),
        from: get("from"),
        to: get("to"),
        search: get("search"),
        cursor: get("cursor"),
        limit: get("limit"),
    }
}

/// The filters as they appear in the URL.
pub fn query_string(q: &LogQuery) -> String {
    let pairs = [
        ("endpoint", &q.endpoint),
        ("event_type", &q.event_type),
        ("status", &q.status),
        ("from", &q.from),
        ("to", &q.to),
        ("search", &q.search),
        ("cursor", &q.cursor),
        ("limit", &q.limit),
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

pub fn state_badge(state: DeliveryState) -> impl IntoView {
    let class = match state {
        DeliveryState::Succeeded => "badge badge-ok",
        DeliveryState::Pending => "badge badge-warn",
        DeliveryState::Held => "badge",
        DeliveryState::Failed => "badge badge-bad",
    };
    view! { <span class=class>{state.label()}</span> }
}

#[component]
pub fn DeliveriesPage() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    let params = use_query_map();
    let query = move || params.with(query_from);
    let log = Resource::new(query, delivery_log);
    view! {
        <Title text="Deliveries"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                let q = query();
                let here = format!("/deliveries{}", query_string(&q));
                match gate(user.await, Role::Merchant, &here) {
                    Ok(user) => match log.await {
                        Ok(log) => view! { <LogTable log query=q mode=user.mode.label() links=LogLinks::merchant()/> }.into_any(),
                        Err(error) => view! {
                            <Filters query=q endpoints=Vec::new() error=Some(error.clone()) action="/deliveries".to_owned()/>
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
pub fn Filters(
    query: LogQuery,
    endpoints: Vec<crate::api::logs::EndpointChoice>,
    error: Option<crate::error::AppError>,
    /// The page the filters apply to.
    action: String,
) -> impl IntoView {
    let clear = action.clone();
    let field = |name: &str| error.as_ref().and_then(|e| e.field(name));
    let endpoint_options = endpoints
        .into_iter()
        .map(|e| {
            let selected = e.id == query.endpoint;
            view! { <option value=e.id selected=selected>{e.url}</option> }
        })
        .collect_view();
    let type_options = EventType::ALL
        .into_iter()
        .map(|t| view! { <option value=t.as_str() selected=t.as_str() == query.event_type>{t.as_str()}</option> })
        .collect_view();
    let status_options = DeliveryState::ALL
        .into_iter()
        .map(|s| view! { <option value=s.as_str() selected=s.as_str() == query.status>{s.label()}</option> })
        .collect_view();
    let invalid = |name: &str| aria_invalid(error.as_ref(), name);
    view! {
        <form method="get" action=action class="filters" role="search" aria-label="Filter deliveries">
            {filter_field("filter-search", "Event or transaction id", field("search"), view! {
                <input id="filter-search" type="search" name="search" value=query.search.clone() placeholder="evt_… or txn_…"
                    aria-invalid=invalid("search") aria-describedby="filter-search-message"/>
            })}
            {filter_field("filter-endpoint", "Endpoint", field("endpoint"), view! {
                <select id="filter-endpoint" name="endpoint" aria-invalid=invalid("endpoint") aria-describedby="filter-endpoint-message">
                    <option value="">"All endpoints"</option>
                    {endpoint_options}
                </select>
            })}
            {filter_field("filter-type", "Event type", field("event_type"), view! {
                <select id="filter-type" name="event_type" aria-invalid=invalid("event_type") aria-describedby="filter-type-message">
                    <option value="">"All types"</option>
                    {type_options}
                </select>
            })}
            {filter_field("filter-status", "Status", field("status"), view! {
                <select id="filter-status" name="status" aria-invalid=invalid("status") aria-describedby="filter-status-message">
                    <option value="">"Any status"</option>
                    {status_options}
                </select>
            })}
            {filter_field("filter-from", "From (UTC)", field("from"), view! {
                <input id="filter-from" type="datetime-local" name="from" value=query.from.clone()
                    aria-invalid=invalid("from") aria-describedby="filter-from-message"/>
            })}
            {filter_field("filter-to", "To (UTC)", field("to"), view! {
                <input id="filter-to" type="datetime-local" name="to" value=query.to.clone()
                    aria-invalid=invalid("to") aria-describedby="filter-to-message"/>
            })}
            <div class="filter-actions">
                <button type="submit" class="button">"Apply filters"</button>
                <a class="button button-quiet" href=clear>"Clear"</a>
            </div>
        </form>
    }
}

#[component]
pub fn LogTable(
    log: LogView,
    query: LogQuery,
    mode: &'static str,
    links: LogLinks,
) -> impl IntoView {
    let list = links.list.clone();
    let next = log.page.next_cursor.clone().map(|cursor| {
        let q = LogQuery {
            cursor,
            ..query.clone()
        };
        format!("{list}{}", query_string(&q))
    });
    let first = (!query.cursor.is_empty()).then(|| {
        let q = LogQuery {
            cursor: String::new(),
            ..query.clone()
        };
        format!("{list}{}", query_string(&q))
    });
    let refresh = format!("{list}{}", query_string(&query));
    let count = log.page.rows.len();
    let rows = log
        .page
        .rows
        .into_iter()
        .map(|row| {
            let href = format!("{}{}", links.event_prefix, row.event_id);
            view! { <LogRowView row href/> }
        })
        .collect_view();
    view! {
        <section class="page-head page-head-row">
            <div>
                <p class="eyebrow">{format!("{mode} mode")}</p>
                <h1>"Deliveries"</h1>
            </div>
            <div class="actions">
                <a class="button button-quiet" href=refresh data-testid="refresh">"Refresh"</a>
                {links.recover.map(|href| view! { <a class="button button-quiet" href=href>"Recover failed events"</a> })}
            </div>
        </section>
        <section class="panel">
            <Filters query endpoints=log.endpoints error=None action=list/>
        </section>
        <section class="panel">
            {if count == 0 {
                view! { <p class="muted" data-testid="log-empty">"No deliveries match."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="log-table">
                        <caption class="visually-hidden">"Deliveries, newest first"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Event"</th>
                                <th scope="col">"Endpoint"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col">"Attempts"</th>
                                <th scope="col">"Created"</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any()
            }}
            <nav class="pager" aria-label="Pages">
                {first.map(|href| view! { <a href=href>"← Newest"</a> })}
                {next.map(|href| view! { <a href=href data-testid="older">"Older →"</a> })}
            </nav>
        </section>
    }
}

#[component]
fn LogRowView(row: LogRow, href: String) -> impl IntoView {
    let last = match (row.last_status, row.last_error.as_deref()) {
        (Some(status), _) => format!("HTTP {status}"),
        (None, Some(error)) => error.to_owned(),
        (None, None) => String::new(),
    };
    let next = row
        .next_attempt_ms
        .map(|ms| format!("next {}", format_utc(ms)));
    view! {
        <tr data-testid="log-row">
            <td data-label="Event">
                <a href=href><code>{row.event_id.clone()}</code></a>
                <div class="small">
                    <code>{row.event_type.as_str()}</code>
                    {row.is_test.then(|| view! { " " <span class="badge">"test"</span> })}
                </div>
                <div class="muted small">{row.resource_id}</div>
            </td>
            <td data-label="Endpoint" class="url small">{row.endpoint_url}</td>
            <td data-label="Status">{state_badge(row.state)}<div class="muted small">{last}</div></td>
            <td data-label="Attempts">{row.attempts}<div class="muted small">{next}</div></td>
            <td data-label="Created">{format_utc(row.created_ms)}</td>
        </tr>
    }
}

#[component]
pub fn RecoverPage() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    let log = Resource::new(|| (), |_| delivery_log(LogQuery::default()));
    let preview = ServerAction::<RecoverPreview>::new();
    let recover = ServerAction::<Recover>::new();
    let planned: Answer<RecoverPlan> = Signal::derive(move || preview.value().get());
    let done: Answer<RecoverPlan> = Signal::derive(move || recover.value().get());
    view! {
        <Title text="Recover failed events"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match gate(user.await, Role::Merchant, "/deliveries/recover") {
                    Ok(user) => match log.await {
                        Ok(log) => {
                            let options = log.endpoints.into_iter().map(|e| view! { <option value=e.id>{e.url}</option> }).collect_view();
                            view! {
                                <section class="page-head">
                                    <p class="eyebrow">{format!("{} mode", user.mode.label())}</p>
                                    <h1>"Recover failed events"</h1>
                                    <p class="muted">{format!(
                                        "After an outage, send an endpoint every event that failed in a time range. They go out oldest first, at most {} a second.",
                                        hookline::logs::RECOVER_PER_SECOND
                                    )}</p>
                                </section>
                                <section class="panel">
                                    <ActionForm action=preview attr:class="form" attr:novalidate=true>
                                        <div class="field" class:has-error=move || field_error(planned, "endpoint").get().is_some()>
                                            <label for="recover-endpoint">"Endpoint"</label>
                                            <select id="recover-endpoint" name="input[endpoint]">
                                                <option value="">"Choose an endpoint"</option>
                                                {options}
                                            </select>
                                            <FieldMessage id="recover-endpoint-message".into() error=field_error(planned, "endpoint")/>
                                        </div>
                                        <div class="field" class:has-error=move || field_error(planned, "from").get().is_some()>
                                            <label for="recover-from">"From (UTC)"</label>
                                            <input id="recover-from" type="datetime-local" name="input[from]"/>
                                            <FieldMessage id="recover-from-message".into() error=field_error(planned, "from")/>
                                        </div>
                                        <div class="field" class:has-error=move || field_error(planned, "to").get().is_some()>
                                            <label for="recover-to">"To (UTC)"</label>
                                            <input id="recover-to" type="datetime-local" name="input[to]"/>
                                            <FieldMessage id="recover-to-message".into() error=field_error(planned, "to")/>
                                        </div>
                                        <FormError value=planned shown=&["endpoint", "from", "to"]/>
                                        <button type="submit" class="button button-quiet">"Count failed events"</button>
                                    </ActionForm>
                                </section>
                                {move || planned.get().and_then(Result::ok).map(|plan| view! { <RecoverConfirm plan recover done/> })}
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
fn RecoverConfirm(
    plan: RecoverPlan,
    recover: ServerAction<Recover>,
    done: Answer<RecoverPlan>,
) -> impl IntoView {
    use hookline::time::format_input_exact;
    let summary = if plan.failed == 0 {
        format!("No failed events to {} in that range.", plan.endpoint_url)
    } else if plan.failed > plan.to_send {
        format!(
            "{} failed events to {} in that range; this recover sends the oldest {} over about {} s. Run it again for the rest.",
            plan.failed, plan.endpoint_url, plan.to_send, plan.seconds
        )
    } else {
        format!(
            "{} failed event(s) to {} in that range, sent over about {} s.",
            plan.failed, plan.endpoint_url, plan.seconds
        )
    };
    view! {
        <section class="panel" aria-live="polite">
            <p data-testid="recover-summary">{summary}</p>
            {(plan.failed > 0).then(|| view! {
                <ActionForm action=recover attr:class="form form-inline">
                    <input type="hidden" name="input[endpoint]" value=plan.endpoint_id.clone()/>
                    <input type="hidden" name="input[from]" value=format_input_exact(plan.from_ms)/>
                    <input type="hidden" name="input[to]" value=format_input_exact(plan.to_ms)/>
                    <button type="submit" class="button" disabled=move || recover.pending().get()>
                        {format!("Resend {} event(s)", plan.to_send)}
                    </button>
                </ActionForm>
            })}
            <FormError value=done/>
            {move || done.get().and_then(Result::ok).map(|d| view! {
                <p class="form-ok" role="status" data-testid="recover-done">{format!("Queued {} event(s) for delivery.", d.to_send)}</p>
            })}
        </section>
    }
}
