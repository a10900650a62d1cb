# Switchboard's entry points. `make run` and `make test` do all set-up on a fresh Debian 12
# machine with rustup/cargo, node/npm and apt (see scripts/install-deps.sh).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
export PATH := $(HOME)/.cargo/bin:$(PATH)

# CI builds a fresh clone once: cargo's incremental caches (about 3 GB of target/ for this
# workspace) would only speed up a second build, and CI's disk ran out with them.
ifdef CI
export CARGO_INCREMENTAL := 0
endif

DESKTOP_BIN := target/debug/switchboard-desktop

.PHONY: help deps ui desktop run test lint-rust supply-chain types rust-tests ui-tests e2e bundle package-test fuzz fuzz-smoke

help:
	@echo "make run     build everything and open Switchboard (demo data in an empty database)"
	@echo "make test    every check CI runs: format, clippy, supply chain, generated types, Rust, UI, window"
	@echo "make bundle  the desktop (with the CLI) and server .debs and their SBOMs in target/release/bundle/deb/"
	@echo "make package-test  install both .debs in a clean Debian 12 chroot and sync (root)"
	@echo "make fuzz    long libFuzzer run of every parser (FUZZ_SECONDS per target, default 600)"

## Set-up: system packages, ui/node_modules, tauri-driver.
deps:
	scripts/install-deps.sh

## The UI, then the desktop binary with the UI embedded (no dev server needed).
ui: deps
	npm --prefix ui run build

desktop: ui
	cargo build --features custom-protocol --bin switchboard-desktop

run: desktop
	scripts/seed-demo.sh
	$(DESKTOP_BIN)

test: deps
	scripts/check-disk.sh
	$(MAKE) --no-print-directory lint-rust
	$(MAKE) --no-print-directory supply-chain
	$(MAKE) --no-print-directory types
	scripts/with-test-postgres.sh $(MAKE) --no-print-directory rust-tests
	$(MAKE) --no-print-directory ui-tests
	$(MAKE) --no-print-directory e2e
	@echo "==> make test: all checks passed"

lint-rust:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

## cargo-deny (advisories from the committed RustSec snapshot, licences, bans, sources) and npm
## audit of the UI's production dependencies; docs/SUPPLY_CHAIN.md.
supply-chain: deps
	node --test scripts/npm-audit.test.mjs
	scripts/check-supply-chain.sh

types:
	scripts/check-generated-types.sh

# The workspace tests run inside a private mail system (scripts/with-test-mail.sh: Postfix and
# Dovecot on loopback) for the mail tests. The authorization matrix runs on its own with
# --nocapture so its case count shows in the log.
rust-tests:
	cargo build --workspace --bins
	scripts/with-test-mail.sh cargo test --workspace -- --skip authorization_matrix_from_the_protocol
	cargo test -p switchboard-server --test integration authz_matrix:: -- --nocapture

ui-tests: deps
	npm --prefix ui run lint
	npm --prefix ui run check
	npm --prefix ui run test

## The real window under Xvfb through tauri-driver (tests/e2e/), beside the private mail system
## (scripts/with-test-mail.sh) the email and cadence window test sends and reads through.
e2e: desktop
	cargo build --example e2e_seed
	cargo build -p switchboard-server -p switchboard-cli --bins
	scripts/with-test-mail.sh node --test --test-reporter=spec tests/e2e/*.test.mjs

## A .deb through the Tauri CLI (release build; runs the UI build itself). The CLI is told where
## the app and the UI live, since tauri.conf.json sits at the root rather than in src-tauri/;
## its before-commands run in ui/. The desktop .deb also installs the release CLI and the manual
## pages the first script makes (tauri.conf.json bundle.linux.deb.files); the server's .deb is
## staged from packaging/server. Cargo runs through cargo-auditable (the binaries carry their
## dependency list), and the Rust and npm SBOMs (CycloneDX) are written beside the .debs.
BUNDLE_DIR := target/release/bundle/deb
bundle:
	scripts/install-deps.sh --bundle
	CARGO=$(CURDIR)/scripts/auditable-cargo scripts/build-desktop-deb-inputs.sh
	TAURI_APP_PATH=$(CURDIR) TAURI_FRONTEND_PATH=$(CURDIR)/ui ui/node_modules/.bin/tauri build \
	  --bundles deb --runner $(CURDIR)/scripts/auditable-cargo
	CARGO=$(CURDIR)/scripts/auditable-cargo scripts/build-server-deb.sh
	scripts/write-sbom.sh $(BUNDLE_DIR)

## The packages `make bundle` built, installed into a clean Debian 12 chroot as an office would:
## server set up and served as its unit does, two replicas synced by the real CLI, desktop
## package's libraries, version and manual page, lintian (root; docs/PACKAGING.md).
package-test:
	scripts/package-test.sh

## The fuzz smoke run alone (`rust-tests` runs it too, as part of the workspace's tests): the
## committed corpus and regressions, random structure-aware inputs (FUZZ_SMOKE_SECONDS per
## target) and random bodies to the real server over HTTPS (FUZZ_HTTPS_BODIES).
fuzz-smoke:
	cargo build -p switchboard-server --bins
	cargo test -p switchboard-fuzz

## The long run: libFuzzer through cargo-fuzz on the nightly toolchain (installed by
## `scripts/install-deps.sh --fuzz`), FUZZ_SECONDS per target, starting from fuzz/corpus plus
## generated inputs. A crash is written to fuzz/artifacts/TARGET/: commit it under
## fuzz/regressions/TARGET/ with the fix, and the smoke run replays it from then on.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= csv jsonl core_intake push registration compact_push packed_push
fuzz:
	scripts/install-deps.sh --fuzz
	cargo run -q -p switchboard-fuzz --example seed_corpus -- fuzz/corpus
	for target in $(FUZZ_TARGETS); do \
	  echo "==> fuzz $$target for $(FUZZ_SECONDS) s"; \
	  mkdir -p fuzz/regressions/$$target; \
	  cargo +nightly fuzz run $$target fuzz/corpus/$$target fuzz/regressions/$$target -- \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=262144 -rss_limit_mb=4096 -timeout=30; \
	done
