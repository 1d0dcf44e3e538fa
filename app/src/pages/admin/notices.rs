//! Format-change and maintenance notices: publish one, and see who has
//! acknowledged it.

use crate::UserResource;
use crate::api::admin::{AdminPublishNotice, admin_notice, admin_notices};
use crate::components::form::{FieldMessage, FormError, field_error, on_success};
use crate::components::gate::{ErrorPanel, Loading, gate};
use hookline::Role;
use hookline::notices::{Notice, NoticeSummary, Recipient};
use hookline::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// `2026-12-01` for a UTC midnight.
fn day(ms: i64) -> String {
    format_utc(ms).chars().take(10).collect()
}

#[component]
pub fn AdminNoticesPage() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    let publish = ServerAction::<AdminPublishNotice>::new();
    // Reload after a notice was published; a refused one keeps the form.
    let published = RwSignal::new(0);
    on_success(publish, move || published.update(|n| *n += 1));
    let notices = Resource::new(move || published.get(), |_| admin_notices());
    view! {
        <Title text="Notices"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match gate(user.await, Role::Admin, "/admin/notices") {
                    Ok(_) => match notices.await {
                        Ok(notices) => view! {
                            <section class="page-head">
                                <p class="eyebrow">"Onboarding team"</p>
                                <h1>"Notices"</h1>
                                <p class="muted">"Format changes and maintenance. Merchants see a notice on their dashboard until they acknowledge it."</p>
                            </section>
                            <PublishForm publish/>
                            <NoticeList notices/>
                        }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    },
                    Err(instead) => instead,
                }
            })}
        </Suspense>
    }
}

#[component]
fn PublishForm(publish: ServerAction<AdminPublishNotice>) -> impl IntoView {
    let value = Signal::derive(move || publish.value().get());
    let bad = move |name: &'static str| move || field_error(value, name).get().is_some();
    let versions = hookline::events::versions::VERSIONS
        .iter()
        .map(|v| view! { <option value=*v>{*v}</option> })
        .collect_view();
    view! {
        <section class="panel">
            <h2>"Publish a notice"</h2>
            <ActionForm action=publish attr:class="form" attr:novalidate=true>
                <div class="field" class:has-error=bad("title")>
                    <label for="notice-title">"Title"</label>
                    <input id="notice-title" name="input[title]" maxlength="120" aria-describedby="notice-title-message"/>
                    <FieldMessage id="notice-title-message".into() error=field_error(value, "title")/>
                </div>
                <div class="field" class:has-error=bad("body")>
                    <label for="notice-body">"What changes, and what merchants should do"</label>
                    <textarea id="notice-body" name="input[body]" rows="5" aria-describedby="notice-body-message"></textarea>
                    <FieldMessage id="notice-body-message".into() error=field_error(value, "body")/>
                </div>
                <div class="field" class:has-error=bad("effective_date")>
                    <label for="notice-date">"Effective date (UTC)"</label>
                    <input id="notice-date" type="date" name="input[effective_date]" aria-describedby="notice-date-message"/>
                    <FieldMessage id="notice-date-message".into() error=field_error(value, "effective_date")/>
                </div>
                <fieldset class="field" class:has-error=bad("audience")>
                    <legend>"Who it is for"</legend>
                    <label class="check"><input type="radio" name="input[audience]" value="all" checked=true/>" Every merchant"</label>
                    <label class="check"><input type="radio" name="input[audience]" value="chosen"/>" Chosen merchants"</label>
                    <FieldMessage id="notice-audience-message".into() error=field_error(value, "audience")/>
                </fieldset>
                <div class="field" class:has-error=bad("merchants")>
                    <label for="notice-merchants">"Merchant ids (for chosen merchants)"</label>
                    <textarea id="notice-merchants" name="input[merchants]" rows="2" placeholder="mer_…, mer_…" aria-describedby="notice-merchants-message"></textarea>
                    <FieldMessage id="notice-merchants-message".into() error=field_error(value, "merchants")/>
                </div>
                <div class="field" class:has-error=bad("retiring_version")>
                    <label for="notice-version">"Payload version being retired (optional)"</label>
                    <select id="notice-version" name="input[retiring_version]" aria-describedby="notice-version-message">
                        <option value="">"None"</option>
                        {versions}
                    </select>
                    <FieldMessage id="notice-version-message".into() hint="Merchants see which of their endpoints still use it." error=field_error(value, "retiring_version")/>
                </div>
                <FormError value=value shown=&["title", "body", "effective_date", "audience", "merchants", "retiring_version"]/>
                <button type="submit" class="button" disabled=move || publish.pending().get()>"Publish"</button>
            </ActionForm>
            {move || value.get().and_then(Result::ok).map(|n| view! {
                <p class="form-ok" role="status" data-testid="notice-published">{format!("Published \u{201c}{}\u{201d}.", n.title)}</p>
            })}
        </section>
    }
}

#[component]
fn NoticeList(notices: Vec<NoticeSummary>) -> impl IntoView {
    let rows = notices
        .into_iter()
        .map(|s| {
            view! {
                <tr data-testid="notice-row">
                    <td data-label="Notice"><a href=format!("/admin/notices/{}", s.notice.id)>{s.notice.title}</a></td>
                    <td data-label="Effective">{day(s.notice.effective_ms)}</td>
                    <td data-label="For">{if s.notice.to_all { "Every merchant" } else { "Chosen merchants" }}</td>
                    <td data-label="Acknowledged" data-testid="notice-acks">{format!("{} of {}", s.acknowledged, s.recipients)}</td>
                    <td data-label="Published">{format_utc(s.notice.published_ms)}<div class="muted small">{s.notice.published_by}</div></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel">
            <h2>"Published"</h2>
            {if rows.is_empty() {
                view! { <p class="muted">"No notice yet."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead><tr><th scope="col">"Notice"</th><th scope="col">"Effective"</th><th scope="col">"For"</th><th scope="col">"Acknowledged"</th><th scope="col">"Published"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

#[component]
pub fn AdminNoticePage() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let report = Resource::new(id, admin_notice);
    view! {
        <Title text="Notice"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                let here = format!("/admin/notices/{}", id());
                match gate(user.await, Role::Admin, &here) {
                    Ok(_) => match report.await {
                        Ok((notice, recipients)) => view! { <NoticeReport notice recipients/> }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    },
                    Err(instead) => instead,
                }
            })}
        </Suspense>
    }
}

#[component]
fn NoticeReport(notice: Notice, recipients: Vec<Recipient>) -> impl IntoView {
    let acked = recipients.iter().filter(|r| r.acked_ms.is_some()).count();
    let total = recipients.len();
    let rows = recipients
        .into_iter()
        .map(|r| {
            let seen = r.acked_ms.is_some();
            view! {
                <tr data-testid="recipient">
                    <td data-label="Merchant"><a href=format!("/admin/merchants/{}", r.merchant_id)>{r.business_name}</a></td>
                    <td data-label="Acknowledged">
                        {if seen {
                            view! { <span class="badge badge-ok">"Acknowledged"</span> }.into_any()
                        } else {
                            view! { <span class="badge badge-warn">"Not yet"</span> }.into_any()
                        }}
                    </td>
                    <td data-label="By">{r.acked_by}</td>
                    <td data-label="When">{r.acked_ms.map(format_utc)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="page-head">
            <p class="eyebrow">{format!("Notice · effective {}", day(notice.effective_ms))}</p>
            <h1>{notice.title}</h1>
            <p class="muted">{format!("Published {} by {}", format_utc(notice.published_ms), notice.published_by)}</p>
        </section>
        <section class="panel">
            <p class="prewrap">{notice.body}</p>
            {notice.retiring_version.map(|v| view! { <p>"Retires payload version " <code>{v}</code> "."</p> })}
        </section>
        <section class="panel">
            <h2 data-testid="ack-count">{format!("{acked} of {total} merchant(s) acknowledged")}</h2>
            <table class="table">
                <thead><tr><th scope="col">"Merchant"</th><th scope="col">"Status"</th><th scope="col">"By"</th><th scope="col">"When"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}
