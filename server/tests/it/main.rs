//! Integration tests: the real server on port 0, over HTTP, against a fresh
//! SQLite file and a fresh PostgreSQL database per test.

mod accounts;
mod admin;
mod api;
mod cluster;
mod delivery;
mod harness;
mod ingest;
mod pages;
mod portal;
mod roles;
