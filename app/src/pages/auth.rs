//! Sign-in and sign-up.

use crate::UserResource;
use crate::api::auth::{Login, Signup, home_for};
use crate::components::form::{Field, FormError, field_error};
use crate::components::gate::Loading;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

/// Sends an already signed-in visitor home instead of showing the form.
fn signed_in_redirect() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    move || {
        Suspend::new(async move {
            match user.await {
                Ok(Some(user)) => Some(view! { <Redirect path=home_for(user.role)/> }),
                _ => None,
            }
        })
    }
}

/// After a successful sign-in or sign-up, load the next page in full so the
/// new session is used everywhere.
fn follow_on_success(value: Signal<Option<Result<String, AppError>>>) {
    Effect::new(move |_| {
        if let Some(Ok(path)) = value.get() {
            let _ = window().location().set_href(&path);
        }
    });
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let value = Signal::derive(move || login.value().get());
    follow_on_success(value);
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let field = move |name: &'static str| field_error(value, name);
    view! {
        <Title text="Log in"/>
        <Suspense fallback=|| view! { <Loading/> }>{signed_in_redirect()}</Suspense>
        <section class="panel narrow">
            <h1>"Log in to Hookline"</h1>
            <ActionForm action=login attr:class="form" attr:novalidate=true>
                <Field label="Email" name="email" kind="email" autocomplete="username" error=field("email")/>
                <Field label="Password" name="password" kind="password" autocomplete="current-password" error=field("password")/>
                <input type="hidden" name="next" prop:value=next/>
                <FormError value=value shown=&["email", "password"]/>
                <button type="submit" class="button" disabled=move || login.pending().get()>
                    {move || if login.pending().get() { "Logging in…" } else { "Log in" }}
                </button>
            </ActionForm>
            <p class="muted">"New to Hookline? " <a href="/signup">"Create an account"</a></p>
        </section>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let signup = ServerAction::<Signup>::new();
    let value = Signal::derive(move || signup.value().get());
    follow_on_success(value);
    let field = move |name: &'static str| field_error(value, name);
    view! {
        <Title text="Sign up"/>
        <Suspense fallback=|| view! { <Loading/> }>{signed_in_redirect()}</Suspense>
        <section class="panel narrow">
            <h1>"Create your Hookline account"</h1>
            <p class="muted">"You start in sandbox mode: nothing reaches live endpoints until you switch."</p>
            <ActionForm action=signup attr:class="form" attr:novalidate=true>
                <Field label="Business name" name="business_name" autocomplete="organization" error=field("business_name")/>
                <Field label="Work email" name="email" kind="email" autocomplete="email" error=field("email")/>
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="new-password"
                    hint="At least 12 characters."
                    error=field("password")
                />
                <FormError value=value shown=&["business_name", "email", "password"]/>
                <button type="submit" class="button" disabled=move || signup.pending().get()>
                    {move || if signup.pending().get() { "Creating account…" } else { "Create account" }}
                </button>
            </ActionForm>
            <p class="muted">"Already have an account? " <a href="/login">"Log in"</a></p>
        </section>
    }
}
