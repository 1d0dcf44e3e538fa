//! The merchant's audit log: sign-ins, secrets, endpoint changes and the
//! onboarding team's actions on the account.

use crate::UserResource;
use crate::api::audit::my_audit;
use crate::components::audit_table::{AuditFilters, AuditTable, query_from, query_string};
use crate::components::gate::{ErrorPanel, Loading, gate};
use hookline::Role;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AuditPage() -> impl IntoView {
    let user = expect_context::<UserResource>().0;
    let params = use_query_map();
    let query = move || params.with(query_from);
    let entries = Resource::new(query, my_audit);
    view! {
        <Title text="Audit log"/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                let q = query();
                let here = format!("/audit{}", query_string(&q));
                match gate(user.await, Role::Merchant, &here) {
                    Ok(_) => {
                        let (table, error) = match entries.await {
                            Ok(entries) => (view! { <AuditTable entries admin=false/> }.into_any(), None),
                            Err(error) => (view! { <ErrorPanel error=error.clone()/> }.into_any(), Some(error)),
                        };
                        view! {
                            <section class="page-head">
                                <p class="eyebrow">"Security"</p>
                                <h1>"Audit log"</h1>
                                <p class="muted">"Sign-ins, secret reveals and rotations, endpoint changes, and anything the onboarding team did on your account, with the address it came from. Entries are never changed or removed."</p>
                            </section>
                            <section class="panel"><AuditFilters query=q action_path="/audit" admin=false error=error/></section>
                            <section class="panel">{table}</section>
                        }.into_any()
                    }
                    Err(instead) => instead,
                }
            })}
        </Suspense>
    }
}
