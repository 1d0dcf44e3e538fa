//! The merchant's home page.

use crate::UserResource;
use crate::api::auth::SessionUser;
use crate::components::gate::{Loading, gate};
use hookline::{Mode, Role};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    view! {
        <Title text="Home"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match gate(user.await, Role::Merchant, "/") {
                    Ok(user) => view! { <MerchantHome user/> }.into_any(),
                    Err(instead) => instead,
                }
            })}
        </Suspense>
    }
}

#[component]
fn MerchantHome(user: SessionUser) -> impl IntoView {
    let name = user.business_name.clone().unwrap_or_default();
    let mode_text = match user.mode {
        Mode::Sandbox => {
            "You are in sandbox mode. Test events go only to sandbox endpoints; nothing here touches live traffic."
        }
        Mode::Live => "You are in live mode. Real payment events go to your live endpoints.",
    };
    view! {
        <section class="page-head">
            <p class="eyebrow">"Welcome back"</p>
            <h1 data-testid="business-name">{name}</h1>
        </section>
        <section class=format!("panel mode-banner mode-banner-{}", user.mode.as_str()) aria-live="polite">
            <h2>
                <span class=format!("badge badge-{}", user.mode.as_str())>{user.mode.label()}</span>
                " mode"
            </h2>
            <p>{mode_text}</p>
        </section>
        <section class="panel">
            <h2>"Get started"</h2>
            <ol>
                <li><a href="/endpoints/new">"Add an endpoint"</a>" for the events you want."</li>
                <li>"Send it a test event and check its signature with the secret from its page."</li>
                <li>"Watch every delivery in "<a href="/deliveries">"Deliveries"</a>"."</li>
            </ol>
        </section>
        <section class="panel">
            <h2>"Your account"</h2>
            <dl class="facts">
                <dt>"Merchant id"</dt>
                <dd><code>{user.merchant_id.clone().unwrap_or_default()}</code></dd>
                <dt>"Signed in as"</dt>
                <dd>{user.email.clone()}</dd>
            </dl>
        </section>
    }
}
