//! API keys for the REST API: create one for the current mode (shown once),
//! see when each was last used, revoke.

use crate::UserResource;
use crate::api::api_keys::{CreateApiKey, RevokeApiKey, list_api_keys};
use crate::components::form::{Answer, Field, FormError, TextArea, field_error, on_success};
use crate::components::gate::{ErrorPanel, Loading, gate};
use hookline::api_keys::{ApiKey, CreatedKey};
use hookline::time::format_utc;
use hookline::{Mode, Role};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    // Reload after a key was made or revoked; a refused form keeps what was typed.
    let changed = RwSignal::new(0);
    on_success(create, move || changed.update(|n| *n += 1));
    on_success(revoke, move || changed.update(|n| *n += 1));
    let keys = Resource::new(move || changed.get(), |_| list_api_keys());
    view! {
        <Title text="API keys"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match gate(user.await, Role::Merchant, "/api-keys") {
                    Ok(user) => match keys.await {
                        Ok(keys) => view! { <KeysBody mode=user.mode keys create revoke/> }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    },
                    Err(instead) => instead,
                }
            })}
        </Suspense>
    }
}

#[component]
fn KeysBody(
    mode: Mode,
    keys: Vec<ApiKey>,
    create: ServerAction<CreateApiKey>,
    revoke: ServerAction<RevokeApiKey>,
) -> impl IntoView {
    let value: Answer<CreatedKey> = Signal::derive(move || create.value().get());
    let rows = keys
        .into_iter()
        .map(|k| {
            let status = match k.revoked_ms {
                Some(ms) => view! { <span class="badge badge-bad">{format!("Revoked {}", format_utc(ms))}</span> }.into_any(),
                None => view! { <span class="badge badge-ok">"Active"</span> }.into_any(),
            };
            let active = k.revoked_ms.is_none();
            let id = k.id.clone();
            view! {
                <tr data-testid="api-key">
                    <td data-label="Name">{k.name}<div class="muted small"><code>{format!("{}…", k.prefix)}</code></div></td>
                    <td data-label="Mode"><span class=format!("badge badge-{}", k.mode.as_str())>{k.mode.label()}</span></td>
                    <td data-label="Allowed from" class="small">
                        {if k.allowlist.is_empty() { "Any address".to_owned() } else { k.allowlist.join(", ") }}
                        {k.read_secrets.then(|| view! { <div class="muted">"Reads secrets"</div> })}
                    </td>
                    <td data-label="Last used">{k.last_used_ms.map_or_else(|| "Never".to_owned(), format_utc)}</td>
                    <td data-label="Status">{status}</td>
                    <td data-label="Action">
                        // Revoking cannot be undone and stops every script
                        // using the key: one more click to be sure.
                        {active.then(|| view! {
                            <details class="confirm">
                                <summary>"Revoke…"</summary>
                                <ActionForm action=revoke attr:class="inline-form">
                                    <input type="hidden" name="id" value=id/>
                                    <button type="submit" class="button button-small button-danger" disabled=move || revoke.pending().get()>"Revoke now"</button>
                                </ActionForm>
                                <p class="muted small">"Requests with it are refused at once."</p>
                            </details>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let empty = rows.is_empty();
    view! {
        <section class="page-head">
            <p class="eyebrow">{format!("{} mode", mode.label())}</p>
            <h1>"API keys"</h1>
            <p class="muted">
                "Keys for the REST API (" <a href="/v1/openapi.json">"OpenAPI document"</a>
                "). Each works in one mode; this form makes a " {mode.label()} " key. Send it as "
                <code>"Authorization: Bearer …"</code> "."
            </p>
        </section>
        <section class="panel">
            <h2>"Create a key"</h2>
            <ActionForm action=create attr:class="form" attr:novalidate=true>
                <Field label="Name" name="name" hint="What uses it, such as \"CI deploys\"." error=field_error(value, "name")/>
                <TextArea label="Allowed source addresses (optional)" name="allowlist" rows=2
                    hint="CIDRs such as 203.0.113.0/24, one per line. Requests from elsewhere are refused and recorded in the audit log."
                    error=field_error(value, "allowlist")/>
                <label class="check"><input type="checkbox" name="read_secrets" value="true"/>" May read endpoints' signing secrets"</label>
                <Field label="Your password" name="password" kind="password" autocomplete="current-password" required=false
                    hint="Needed only for a key that may read secrets." error=field_error(value, "password")/>
                <FormError value=value shown=&["name", "allowlist", "password"]/>
                <button type="submit" class="button" disabled=move || create.pending().get()>"Create key"</button>
            </ActionForm>
            {move || value.get().and_then(Result::ok).map(|created| view! { <NewKey created/> })}
        </section>
        <section class="panel">
            <h2>"Your keys"</h2>
            <FormError value=revoke.value()/>
            {if empty {
                view! { <p class="muted">"No key yet."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead><tr><th scope="col">"Name"</th><th scope="col">"Mode"</th><th scope="col">"Allowed from"</th><th scope="col">"Last used"</th><th scope="col">"Status"</th><th scope="col">"Action"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

/// The new key, the only time it is shown.
#[component]
fn NewKey(created: CreatedKey) -> impl IntoView {
    let copied = RwSignal::new(false);
    let to_copy = created.secret.clone();
    let copy = move |_| {
        let clipboard = window().navigator().clipboard();
        let _ = clipboard.write_text(&to_copy);
        copied.set(true);
    };
    view! {
        <div class="secret-reveal" role="status">
            <p><strong>{format!("Key \u{201c}{}\u{201d} created.", created.key.name)}</strong>" Copy it now: Hookline keeps only a hash and cannot show it again."</p>
            <code data-testid="new-api-key" class="wrap">{created.secret}</code>
            <button type="button" class="button button-small" on:click=copy>
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
        </div>
    }
}
