//! The dispatcher: claims due deliveries, signs and sends them, records every
//! attempt and schedules the next one.

pub mod client;
pub mod worker;

pub use client::{ClientCache, DeliveryPolicy, DestinationError};
pub use worker::{Dispatcher, ErrorClass, TestDelivery};
