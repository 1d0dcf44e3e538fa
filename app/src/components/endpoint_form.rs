//! The fields of the endpoint form, shared by "add" and "edit". The page
//! wraps them in the form for its own server function.

use crate::components::form::{Answer, Field, FieldMessage, TextArea, field_error};
use hookline::endpoint::EndpointView;
use hookline::events::{EventType, versions};
use leptos::prelude::*;

#[component]
pub fn EndpointFields(
    /// The endpoint being edited; `None` when adding one.
    initial: Option<EndpointView>,
    /// A URL to start with when adding one (from the inbox page).
    #[prop(optional)]
    suggested_url: String,
    /// Whether the merchant's request for opt-in event types was approved.
    opt_in_approved: bool,
    value: Answer<String>,
) -> impl IntoView {
    let field = move |name: &'static str| field_error(value, name);
    let (url, description, allowlist, version, subscribed) = match &initial {
        Some(ep) => (
            ep.url.clone(),
            ep.description.clone(),
            ep.allowlist.join("\n"),
            ep.payload_version.clone(),
            ep.event_types.clone(),
        ),
        None => (
            suggested_url,
            String::new(),
            String::new(),
            versions::latest().to_owned(),
            Vec::new(),
        ),
    };
    let types_error = field("event_types");
    let checkboxes = EventType::ALL
        .into_iter()
        .map(|t| {
            let id = format!("type-{}", t.as_str().replace('.', "-"));
            // Opt-in types need an approved request first.
            let locked = t.requires_approval() && !opt_in_approved && !subscribed.contains(&t);
            view! {
                <li class="check">
                    <input
                        type="checkbox"
                        id=id.clone()
                        name="event_types[]"
                        value=t.as_str()
                        checked=subscribed.contains(&t)
                        disabled=locked
                    />
                    <label for=id>
                        <code>{t.as_str()}</code>
                        <span class="muted">
                            {t.description()}
                            {locked.then(|| view! { " " <a href="/balance-warning">"Request it"</a> "; it can be chosen once approved." })}
                        </span>
                    </label>
                </li>
            }
        })
        .collect_view();
    let version_options = versions::VERSIONS
        .iter()
        .rev()
        .map(|v| {
            let label = if *v == versions::latest() {
                format!("{v} (latest)")
            } else {
                (*v).to_owned()
            };
            view! { <option value=*v selected=*v == version>{label}</option> }
        })
        .collect_view();
    view! {
        <Field
            label="Endpoint URL"
            name="url"
            kind="url"
            value=url
            hint="The HTTPS address Hookline posts events to."
            error=field("url")
        />
        <Field
            label="Description"
            name="description"
            value=description
            required=false
            hint="Optional: what this endpoint is for."
            error=field("description")
        />
        <fieldset class="field" class:has-error=move || types_error.get().is_some()>
            <legend>"Events to send"</legend>
            <ul class="checks" aria-describedby="field-event_types-message">{checkboxes}</ul>
            <FieldMessage id="field-event_types-message".to_owned() error=types_error/>
        </fieldset>
        <div class="field" class:has-error=move || field("payload_version").get().is_some()>
            <label for="field-payload_version">"Payload version"</label>
            <select id="field-payload_version" name="payload_version" aria-describedby="field-payload_version-message">
                {version_options}
            </select>
            <FieldMessage
                id="field-payload_version-message".to_owned()
                hint="Events are sent in this format; upgrade when your code is ready."
                error=field("payload_version")
            />
        </div>
        <TextArea
            label="Destination allowlist"
            name="allowlist"
            value=allowlist
            hint="Optional: networks (CIDR) the URL may resolve to, one per line, such as 203.0.113.0/24. Empty allows any public address."
            error=field("allowlist")
        />
    }
}
