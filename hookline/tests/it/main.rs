//! Storage and domain tests, each run against a fresh SQLite file and a fresh
//! PostgreSQL database.

mod accounts;
mod api_keys;
mod audit;
mod balance;
mod dashboard;
mod deliveries;
mod dispatch;
mod endpoints;
mod feed;
mod health;
mod inbox;
mod ingest;
mod logs;
mod notices;
mod operations;
mod receivers;
mod schemas;
