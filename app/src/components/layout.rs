//! The frame around every page: top bar with navigation, mode switch and
//! account menu. The forms here are plain HTML posts to server functions, so
//! they work before (and without) the WebAssembly bundle.

use crate::UserResource;
use crate::api::auth::SessionUser;
use hookline::{Mode, Role};
use leptos::prelude::*;

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <div class="topbar-inner">
                <a class="brand" href="/">
                    <span class="brand-mark" aria-hidden="true">"↪"</span>
                    "Hookline"
                </a>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match user.await {
                            Ok(Some(user)) => view! { <UserNav user/> }.into_any(),
                            _ => view! { <VisitorNav/> }.into_any(),
                        }
                    })}
                </Suspense>
            </div>
        </header>
        <main id="main" class="container" tabindex="-1">
            {children()}
        </main>
        <footer class="footer">
            <p>"Hookline · signed webhooks for your payments"</p>
        </footer>
    }
}

#[component]
fn VisitorNav() -> impl IntoView {
    view! {
        <nav class="nav" aria-label="Account">
            <a href="/login">"Log in"</a>
            <a class="button button-small" href="/signup">"Sign up"</a>
        </nav>
    }
}

#[component]
fn UserNav(user: SessionUser) -> impl IntoView {
    let links = match user.role {
        Role::Merchant => view! {
            <a href="/">"Home"</a>
            <a href="/endpoints">"Endpoints"</a>
            <a href="/deliveries">"Deliveries"</a>
            <a href="/inbox">"Inbox"</a>
            <a href="/api-keys">"API keys"</a>
        }
        .into_any(),
        Role::Admin => view! {
            <a href="/admin/operations">"Operations"</a>
            <a href="/admin">"Merchants"</a>
            <a href="/admin/notices">"Notices"</a>
            <a href="/admin/balance-requests">"Balance requests"</a>
            <a href="/admin/audit">"Audit log"</a>
        }
        .into_any(),
    };
    let mode_switch =
        (user.role == Role::Merchant).then(|| view! { <ModeSwitch current=user.mode/> });
    view! {
        <nav class="nav" aria-label="Main">
            {links}
            {mode_switch}
            <span class="nav-user" title="Signed in as">
                {user.email.clone()}
                {(user.role == Role::Admin).then(|| view! { <span class="badge">"admin"</span> })}
            </span>
            <form method="post" action="/api/logout" class="inline-form">
                <button type="submit" class="button button-small button-quiet">"Log out"</button>
            </form>
        </nav>
    }
}

/// Sandbox and live are separate worlds; every merchant page shows the one selected.
#[component]
fn ModeSwitch(current: Mode) -> impl IntoView {
    view! {
        <form method="post" action="/api/set_mode" class="mode-switch" aria-label="Mode">
            {Mode::ALL
                .into_iter()
                .map(|mode| {
                    let pressed = mode == current;
                    view! {
                        <button
                            type="submit"
                            name="mode"
                            value=mode.as_str()
                            class=format!("mode-option mode-{}", mode.as_str())
                            aria-pressed=if pressed { "true" } else { "false" }
                        >
                            {mode.label()}
                        </button>
                    }
                })
                .collect_view()}
        </form>
    }
}
