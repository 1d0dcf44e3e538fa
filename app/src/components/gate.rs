//! Page access: who may see a page, and what everyone else gets instead.

use crate::api::auth::{SessionUser, home_for};
use crate::error::AppError;
use crate::pages::not_found::Forbidden;
use hookline::Role;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

/// Lets `user` through if it has `role`. Otherwise gives the view to show
/// instead: a redirect to sign in (remembering `here`), a 403 page for the
/// wrong role, or the error.
pub fn gate(
    user: Result<Option<SessionUser>, AppError>,
    role: Role,
    here: &str,
) -> Result<SessionUser, AnyView> {
    match user {
        Ok(Some(user)) if user.role == role => Ok(user),
        Ok(Some(user)) if role == Role::Merchant => {
            // An admin opening a merchant page is sent to their own home.
            Err(view! { <Redirect path=home_for(user.role)/> }.into_any())
        }
        Ok(Some(_)) => Err(view! { <Forbidden/> }.into_any()),
        Ok(None) => {
            let path = format!("/login?next={}", encode_component(here));
            Err(view! { <Redirect path=path/> }.into_any())
        }
        Err(error) => Err(view! { <ErrorPanel error/> }.into_any()),
    }
}

#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::state::set_page_status(error.status());
    // A refused request (a page link or filter in the URL) says what was wrong.
    let details = match &error {
        AppError::Validation { fields } => Some(
            fields
                .iter()
                .map(|f| view! { <li data-testid="error-field" data-field=f.field.clone()>{f.message.clone()}</li> })
                .collect_view(),
        ),
        _ => None,
    };
    let sign_in =
        matches!(error, AppError::Unauthenticated).then(|| view! { <p><SignInAgain/></p> });
    view! {
        <div class="panel panel-error" role="alert">
            <h1>"Something went wrong"</h1>
            <p>{error.to_string()}</p>
            {details.map(|items| view! { <ul class="error-list">{items}</ul> })}
            {sign_in}
        </div>
    }
}

/// A way back to the page in view through sign-in, for a session that ended
/// while the page was open (expired, or signed out in another tab).
#[component]
pub fn SignInAgain() -> impl IntoView {
    let location = use_location();
    let mut here = location.pathname.get_untracked();
    let search = location.search.get_untracked();
    if !search.is_empty() {
        here = format!("{here}?{search}");
    }
    let href = format!("/login?next={}", encode_component(&here));
    // A full page load, so the portal forgets the user it had.
    view! { <a class="button" href=href rel="external" data-testid="sign-in-again">"Sign in again"</a> }
}

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="muted" aria-live="polite">"Loading…"</p> }
}

/// Percent-encodes a URL query value.
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_query_values() {
        assert_eq!(
            super::encode_component("/admin?q=a b&c"),
            "/admin%3Fq%3Da%20b%26c"
        );
    }
}
