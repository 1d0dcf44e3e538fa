pub mod admin;
pub mod auth;
pub mod deliveries;
pub mod endpoints;
pub mod event;
pub mod home;
pub mod inbox;
pub mod not_found;
