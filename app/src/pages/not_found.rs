use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::state::set_page_status(404);
    view! {
        <Title text="Not found"/>
        <section class="panel narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. It may have moved, or the link may be mistyped."</p>
            <p><a href="/">"Go to your home page"</a></p>
        </section>
    }
}

#[component]
pub fn Forbidden() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::state::set_page_status(403);
    view! {
        <Title text="No access"/>
        <section class="panel narrow">
            <h1>"You don't have access to this page"</h1>
            <p>"This area is for Hookline's onboarding team. If you need help with your integration, contact support."</p>
            <p><a href="/">"Back to your home page"</a></p>
        </section>
    }
}
