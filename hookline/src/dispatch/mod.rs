//! The dispatcher: claims due deliveries, signs and sends them, records every
//! attempt and schedules the next one.

pub mod client;
mod readiness;
pub mod wake;
pub mod worker;

pub use client::{ClientCache, DeliveryPolicy, DestinationError};
pub use wake::Wakeup;
pub use worker::{BreakerPolicy, Dispatcher, ErrorClass, Gates, Reservation, TestDelivery};
