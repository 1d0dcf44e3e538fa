//! Form building blocks: a labelled field with its error beside it.

use leptos::prelude::*;

/// A labelled input. The error, when present, sits under the field and is
/// announced to screen readers through `aria-describedby`.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let message_id = format!("{id}-message");
    view! {
        <div class="field" class:has-error=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                type=kind
                name=name
                autocomplete=autocomplete
                required=true
                aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                aria-describedby=message_id.clone()
            />
            <p class="field-message" id=message_id>
                {move || match error.get() {
                    Some(message) => view! { <span class="field-error">{message}</span> }.into_any(),
                    None => view! { <span class="hint">{hint}</span> }.into_any(),
                }}
            </p>
        </div>
    }
}
