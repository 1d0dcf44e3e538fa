//! The sandbox inbox page: the hosted test URL and what arrived at it.

use crate::UserResource;
use crate::api::inbox::get_inbox;
use crate::components::gate::{ErrorPanel, Loading, encode_component, gate};
use crate::pages::endpoints::HeaderTable;
use hookline::Role;
use hookline::inbox::{InboxMessage, InboxView};
use hookline::time::format_utc;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn InboxPage() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    // Only a sandbox merchant has an inbox to read: in live mode the page
    // explains why there is none instead of asking for it.
    let inbox = Resource::new(
        || (),
        move |_| async move {
            let sandbox = matches!(user.await, Ok(Some(u)) if u.mode == hookline::Mode::Sandbox);
            if sandbox {
                Some(get_inbox().await)
            } else {
                None
            }
        },
    );
    view! {
        <Title text="Sandbox inbox"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match gate(user.await, Role::Merchant, "/inbox") {
                    Ok(_) => match inbox.await {
                        Some(Ok(inbox)) => view! { <InboxBody inbox/> }.into_any(),
                        Some(Err(error)) => view! { <ErrorPanel error/> }.into_any(),
                        // The inbox receives sandbox endpoints only.
                        None => view! {
                            <section class="page-head"><h1>"Sandbox inbox"</h1></section>
                            <section class="panel" data-testid="inbox-live">
                                <p>"The sandbox inbox receives sandbox deliveries only, so live payloads never land where a sandbox key can read them. Switch to sandbox in the top bar to use it."</p>
                            </section>
                        }.into_any(),
                    },
                    Err(instead) => instead,
                }
            })}
        </Suspense>
    }
}

#[component]
fn InboxBody(inbox: InboxView) -> impl IntoView {
    let add = format!("/endpoints/new?url={}", encode_component(&inbox.url));
    let count = inbox.messages.len();
    let messages = inbox
        .messages
        .into_iter()
        .map(|m| view! { <MessageView message=m/> })
        .collect_view();
    view! {
        <section class="page-head page-head-row">
            <div>
                <p class="eyebrow">"Sandbox"</p>
                <h1>"Sandbox inbox"</h1>
            </div>
            <a class="button button-quiet" href="/inbox">"Refresh"</a>
        </section>
        <section class="panel">
            <p>"A test URL hosted by Hookline that receives deliveries the way a careful server would: it checks each signature with your endpoint's secrets, refuses stale timestamps, and accepts a repeated webhook-id without processing it twice. Point a sandbox endpoint at it to see real payloads before you write any code."</p>
            <p><strong>"Your inbox URL: "</strong><code data-testid="inbox-url" class="wrap">{inbox.url}</code></p>
            <p><a class="button" href=add>"Add an endpoint that delivers here"</a></p>
        </section>
        <section class="panel">
            <h2>"Received"</h2>
            {if count == 0 {
                view! { <p class="muted" data-testid="inbox-empty">"Nothing yet. Send a test event to an endpoint that points here."</p> }.into_any()
            } else {
                view! { <div class="messages">{messages}</div> }.into_any()
            }}
        </section>
    }
}

#[component]
fn MessageView(message: InboxMessage) -> impl IntoView {
    let badge = if message.signature_valid {
        view! { <span class="badge badge-ok">"Signature valid"</span> }.into_any()
    } else {
        view! { <span class="badge badge-bad">"Refused"</span> }.into_any()
    };
    view! {
        <article class="delivery" data-testid="inbox-message">
            <h3>
                <code>{message.event_type.unwrap_or_else(|| "(not an event)".into())}</code>
                " " {badge}
            </h3>
            <p class="muted small">
                {format_utc(message.received_ms)}
                " · webhook-id " <code>{message.webhook_id.unwrap_or_else(|| "none".into())}</code>
                " · answered " {message.status}
            </p>
            <p data-testid="inbox-verdict">{message.verdict}</p>
            <details>
                <summary>"Headers"</summary>
                <HeaderTable headers=message.headers/>
            </details>
            <pre class="code" data-testid="inbox-body">{message.body}</pre>
        </article>
    }
}
