//! The Hookline portal: pages, components and the server functions behind them.
//!
//! Built twice: with `ssr` for the server (server functions run against
//! `hookline`) and with `hydrate` for the browser (server functions become
//! HTTP calls). No SQL lives here; every rule is in `hookline`.

pub mod api;
pub mod components;
pub mod error;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod state;

use crate::api::auth::{SessionUser, current_user};
use crate::components::layout::Layout;
use crate::error::AppError;
use crate::pages::{
    admin::{
        AdminAuditPage, AdminBalancePage, AdminHome, AdminMerchantPage,
        logs::{AdminDeliveriesPage, AdminEventPage, AdminRecoverPage},
        notices::{AdminNoticePage, AdminNoticesPage},
        operations::AdminOperationsPage,
    },
    api_keys::ApiKeysPage,
    audit::AuditPage,
    auth::{LoginPage, SignupPage},
    balance::BalancePage,
    deliveries::{DeliveriesPage, RecoverPage},
    endpoints::{EndpointDetailPage, EndpointsPage, NewEndpointPage},
    event::EventPage,
    home::HomePage,
    inbox::InboxPage,
    not_found::NotFound,
};
use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

pub use error::AppError as Error;

/// The signed-in user (or nobody), loaded once per page and shared through context.
#[derive(Clone, Copy)]
pub struct UserResource(pub Resource<Result<Option<SessionUser>, AppError>>);

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let user = Resource::new(|| (), |_| current_user());
    provide_context(UserResource(user));

    // Lets end-to-end tests (and people debugging) see when the page is interactive.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/hookline.css"/>
        <Title formatter=|page: String| if page.is_empty() { "Hookline".to_owned() } else { format!("{page} · Hookline") }/>
        <Router>
            <Layout>
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/signup") view=SignupPage ssr=SsrMode::Async/>
                    <Route path=path!("/endpoints") view=EndpointsPage ssr=SsrMode::Async/>
                    <Route path=path!("/endpoints/new") view=NewEndpointPage ssr=SsrMode::Async/>
                    <Route path=path!("/endpoints/:id") view=EndpointDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("/deliveries") view=DeliveriesPage ssr=SsrMode::Async/>
                    <Route path=path!("/deliveries/recover") view=RecoverPage ssr=SsrMode::Async/>
                    <Route path=path!("/events/:id") view=EventPage ssr=SsrMode::Async/>
                    <Route path=path!("/inbox") view=InboxPage ssr=SsrMode::Async/>
                    <Route path=path!("/balance-warning") view=BalancePage ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view=AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/api-keys") view=ApiKeysPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view=AdminHome ssr=SsrMode::Async/>
                    <Route path=path!("/admin/audit") view=AdminAuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/merchants/:id") view=AdminMerchantPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/balance-requests") view=AdminBalancePage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/operations") view=AdminOperationsPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/notices") view=AdminNoticesPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/notices/:id") view=AdminNoticePage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/merchants/:id/events/:event") view=AdminEventPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/merchants/:id/:mode/deliveries") view=AdminDeliveriesPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/merchants/:id/:mode/recover") view=AdminRecoverPage ssr=SsrMode::Async/>
                </Routes>
            </Layout>
        </Router>
    }
}
