//! Server functions, grouped by who may call them. Each checks the session
//! (and the role) before touching anything.

pub mod admin;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod balance;
pub mod dashboard;
pub mod endpoints;
pub mod inbox;
pub mod logs;
