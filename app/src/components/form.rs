//! Form building blocks: labelled fields with their error beside them, and
//! the helpers that read a server action's answer for one field.

use crate::components::gate::SignInAgain;
use crate::error::AppError;
use leptos::prelude::*;

/// The last answer of a server action, as forms read it.
pub type Answer<T> = Signal<Option<Result<T, AppError>>>;

/// Calls `then` each time `action` succeeds; a refused answer leaves the
/// page, and what was typed, as it is. One effect per action: an effect
/// reading several would run again on an earlier success when another is
/// refused, and reload (clear) the refused form.
pub fn on_success<S>(action: ServerAction<S>, then: impl Fn() + 'static)
where
    S: leptos::server_fn::ServerFn + Send + Sync + Clone + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    Effect::new(move |_| {
        if action.value().with(|v| matches!(v, Some(Ok(_)))) {
            then();
        }
    });
}

/// The message the last submission got for one field, if any.
pub fn field_error<T>(value: Answer<T>, name: &'static str) -> Signal<Option<String>>
where
    T: Clone + Send + Sync + 'static,
{
    Signal::derive(move || {
        value.with(|v| match v {
            Some(Err(e)) => e.field(name),
            _ => None,
        })
    })
}

/// The message for what no field of the form shows: errors that belong to
/// no field, and field errors for fields not among `shown`.
pub fn form_error<T>(value: &Option<Result<T, AppError>>, shown: &[&str]) -> Option<String> {
    match value {
        Some(Err(AppError::Validation { fields })) => {
            let other: Vec<String> = fields
                .iter()
                .filter(|f| !shown.contains(&f.field.as_str()))
                .map(|f| f.message.clone())
                .collect();
            (!other.is_empty()).then(|| other.join(" "))
        }
        Some(Err(err)) => Some(err.to_string()),
        Some(Ok(_)) | None => None,
    }
}

/// The line under a form for what its fields don't show (see
/// [`form_error`]). A submission refused because the session ended also
/// gets a way back through sign-in, so what was typed can be sent again.
#[component]
pub fn FormError<T>(
    #[prop(into)] value: Answer<T>,
    /// The fields that show their own errors.
    #[prop(default = &[])]
    shown: &'static [&'static str],
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    let signed_out = move || value.with(|v| matches!(v, Some(Err(AppError::Unauthenticated))));
    view! {
        <p class="form-error" role="alert">
            {move || value.with(|v| form_error(v, shown))}
            {move || signed_out().then(|| view! { " " <SignInAgain/> })}
        </p>
    }
}

/// The error (or hint) line under a field, announced through `aria-describedby`.
#[component]
pub fn FieldMessage(
    id: String,
    #[prop(optional)] hint: &'static str,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <p class="field-message" id=id>
            {move || match error.get() {
                Some(message) => view! { <span class="field-error">{message}</span> }.into_any(),
                None => view! { <span class="hint">{hint}</span> }.into_any(),
            }}
        </p>
    }
}

/// The `aria-invalid` value of the control for `name`, as `error` says.
pub fn aria_invalid(error: Option<&AppError>, name: &str) -> &'static str {
    if error.and_then(|e| e.field(name)).is_some() {
        "true"
    } else {
        "false"
    }
}

/// One filter: its label, its control (which points `aria-describedby` at
/// `{id}-message`) and the server's message for it.
pub fn filter_field(
    id: &'static str,
    label: &'static str,
    error: Option<String>,
    control: impl IntoView,
) -> impl IntoView {
    let message_id = format!("{id}-message");
    let bad = error.is_some();
    view! {
        <div class="field" class:has-error=bad>
            <label for=id>{label}</label>
            {control}
            <FieldMessage id=message_id error=Signal::stored(error)/>
        </div>
    }
}

/// A labelled input.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(optional, into)] value: String,
    #[prop(default = true)] required: bool,
    /// Distinguishes two forms with the same field on one page.
    #[prop(optional)]
    form: &'static str,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let id = if form.is_empty() {
        format!("field-{name}")
    } else {
        format!("field-{form}-{name}")
    };
    let message_id = format!("{id}-message");
    view! {
        <div class="field" class:has-error=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                type=kind
                name=name
                value=value
                autocomplete=autocomplete
                required=required
                aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                aria-describedby=message_id.clone()
            />
            <FieldMessage id=message_id hint error/>
        </div>
    }
}

/// A labelled multi-line input.
#[component]
pub fn TextArea(
    label: &'static str,
    name: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(optional, into)] value: String,
    #[prop(default = 3)] rows: u32,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let message_id = format!("{id}-message");
    view! {
        <div class="field" class:has-error=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <textarea
                id=id
                name=name
                rows=rows
                aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                aria-describedby=message_id.clone()
            >
                {value}
            </textarea>
            <FieldMessage id=message_id hint error/>
        </div>
    }
}
