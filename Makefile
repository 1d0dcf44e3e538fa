# Hookline: the two commands.
#   make run   serve the portal and dispatcher on SQLite with demo data
#   make test  run every test (unit, SQLite, PostgreSQL, Chromium)
# Both install what they need first and skip what is already there.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(HOME)/.cargo/bin:$(PATH)

CARGO_LEPTOS_VERSION := 0.3.10
# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ {getline; gsub(/[^0-9.]/, "", $$0); print; exit}' Cargo.lock)
DEFAULT_POSTGRES_URL := postgres://postgres@127.0.0.1:5432/postgres
POSTGRES_URL ?= $(DEFAULT_POSTGRES_URL)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test bench setup setup-test build lint unit e2e postgres clean-data help

help:
	@echo "make run    - serve Hookline with demo data at http://127.0.0.1:3000"
	@echo "make test   - run every test"
	@echo "make lint   - rustfmt and clippy"
	@echo "make bench  - delivery rate, latency and memory (release build)"

## Command one: build and serve with demo data.
run: setup build
	LEPTOS_SITE_ROOT=target/site target/debug/server demo

## Command two: every test.
test: setup setup-test lint unit build e2e
	@echo "All Hookline tests passed."

# --- toolchain -------------------------------------------------------------

setup:
	@if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then \
	  echo "Installing the wasm32-unknown-unknown target"; rustup target add wasm32-unknown-unknown; fi
	@if [ "$$(wasm-bindgen --version 2>/dev/null | awk '{print $$2}')" != "$(WASM_BINDGEN_VERSION)" ]; then \
	  echo "Installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (about 2 minutes)"; \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); fi
	@if ! cargo leptos --version 2>/dev/null | grep -q " $(CARGO_LEPTOS_VERSION)"; then \
	  echo "Installing cargo-leptos $(CARGO_LEPTOS_VERSION) (about 12 minutes, once)"; \
	  cargo install cargo-leptos --version $(CARGO_LEPTOS_VERSION) --locked --features no_downloads; fi

# CHROMIUM_PATH names another Chromium or Chrome (on Ubuntu, say, where
# apt's chromium is a snap); otherwise Debian's is installed if missing.
setup-test: postgres
	@if [ -n "$${CHROMIUM_PATH:-}" ]; then \
	  [ -x "$$CHROMIUM_PATH" ] || { echo "CHROMIUM_PATH=$$CHROMIUM_PATH is not an executable"; exit 1; }; \
	else \
	  if ! command -v chromium >/dev/null; then \
	    echo "Installing Chromium from Debian"; \
	    $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; fi; \
	  command -v chromium >/dev/null || { echo "Chromium is required for the portal tests and could not be installed"; exit 1; }; \
	fi
	@if [ ! -d end2end/node_modules/@playwright/test ] || [ ! -d end2end/node_modules/@apidevtools/swagger-parser ]; then \
	  echo "Installing the end-to-end test packages"; (cd end2end && npm ci --no-audit --no-fund); fi

# PostgreSQL backs half of the integration tests; start the local cluster if
# it is down. A POSTGRES_URL of another server is used as it is.
postgres:
ifeq ($(POSTGRES_URL),$(DEFAULT_POSTGRES_URL))
	@if ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  echo "Starting PostgreSQL"; \
	  $(SUDO) pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | sort -V | tail -1) main start || true; \
	  for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; fi
	@pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is required at 127.0.0.1:5432 and is not running"; exit 1; }
else
	@echo "Using the PostgreSQL server POSTGRES_URL names"
endif

# --- build and test --------------------------------------------------------

build:
	cargo leptos build

lint:
	cargo fmt --all -- --check
	cargo clippy --locked --all-targets -- -D warnings
	cargo clippy --locked -p frontend --target wasm32-unknown-unknown -- -D warnings

unit:
	HOOKLINE_TEST_POSTGRES_URL=$(POSTGRES_URL) cargo test --locked

e2e:
	cd end2end && npx playwright test

## The benchmark: release build, then HTTPS receivers, real server processes,
## SQLite and PostgreSQL, 1 and 3 nodes. HOOKLINE_BENCH_QUICK=1 for a short run.
bench: postgres
	cargo build --locked --release -p server -p hookline-bench
	HOOKLINE_TEST_POSTGRES_URL=$(POSTGRES_URL) target/release/hookline-bench

clean-data:
	rm -rf data
