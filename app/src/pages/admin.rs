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
