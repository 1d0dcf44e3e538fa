#!/usr/bin/env bash
# Starts the portal for the browser tests: a fresh SQLite database, an admin
# created through the CLI (the only way admins are made), and the server
# built by `cargo leptos build`.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${E2E_PORT:-3107}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT

export HOOKLINE_DATABASE_URL="sqlite://$dir/hookline.db"
export HOOKLINE_LISTEN="127.0.0.1:$port"
export HOOKLINE_SECRET_KEY="$(head -c 32 /dev/urandom | base64)"
# The tests publish events through the ingest API with this token.
export HOOKLINE_INGEST_TOKEN="${E2E_INGEST_TOKEN:?set by playwright.config.ts}"
# Test receivers listen on loopback over plain HTTP.
export HOOKLINE_DEV_ALLOW_HTTP=true
export HOOKLINE_DEV_ALLOW_PRIVATE=true
# Every test signs up its own merchant, all from this one address.
export HOOKLINE_SIGN_UPS_PER_ADDRESS=1000
export LEPTOS_SITE_ROOT="target/site"

bin=target/debug/server
printf '%s\n' "e2e admin password" | "$bin" admin create --email admin@e2e.test --password-stdin
"$bin" serve
