//! Hookline's domain crate.
//!
//! The vocabulary (modes, roles, account input and its validation) is always
//! compiled, including to WebAssembly, so the portal validates forms with the
//! same rules as the server. Storage, password hashing and clocks sit behind
//! the `runtime` feature and never reach the wasm bundle.

pub mod account;
pub mod api_keys;
pub mod audit;
pub mod balance;
pub mod client_ip;
pub mod dashboard;
pub mod destination;
pub mod endpoint;
pub mod events;
pub mod feed;
pub mod inbox;
pub mod logs;
pub mod mode;
pub mod notices;
pub mod operations;
pub mod readiness;
pub mod retry;
pub mod time;
pub mod validation;

pub use account::{Role, SignupInput};
pub use mode::Mode;
pub use validation::{FieldError, FieldErrors};

#[cfg(feature = "runtime")]
pub mod accounts;
#[cfg(feature = "runtime")]
pub mod clock;
#[cfg(feature = "runtime")]
pub mod crypto;
#[cfg(feature = "runtime")]
pub mod dispatch;
#[cfg(feature = "runtime")]
pub mod endpoints;
#[cfg(feature = "runtime")]
pub mod error;
#[cfg(feature = "runtime")]
pub mod ids;
#[cfg(feature = "runtime")]
pub mod ingest;
#[cfg(feature = "runtime")]
pub mod metrics;
#[cfg(feature = "runtime")]
pub mod password;
#[cfg(feature = "runtime")]
pub mod retention;
#[cfg(feature = "runtime")]
pub mod service;
#[cfg(feature = "runtime")]
pub mod sessions;
#[cfg(feature = "runtime")]
pub mod signing;
#[cfg(feature = "runtime")]
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "runtime")]
pub use error::Error;
