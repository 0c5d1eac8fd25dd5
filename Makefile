# Two commands do all set-up on a fresh machine (see README.md):
#   make demo   bring the local platform up and ship a new model revision through a gated canary
#   make test   install everything, run the quality gates and every test tier
SHELL := /bin/bash
.DEFAULT_GOAL := help

BOOTSTRAP := .tools/bootstrap
UV := $(BOOTSTRAP)/bin/uv
VENV := .venv
LLMOPS := $(VENV)/bin/llmops
PYTEST_ARGS ?=
DEMO_ARGS ?=

# Debian packages the tests use as real parts: Prometheus (rollout analysis), Redis (API-key
# limits shared by gateway replicas), Chromium (the load-test report is rendered and checked
# in a headless browser), and the real node's
# runtime (containerd, runc, the CNI plugins, iptables, conntrack) with the daemonless image
# tools (mmdebstrap for the Debian base, buildah and umoci to assemble images).
SYSTEM_PACKAGES := prometheus chromium containerd runc containernetworking-plugins iptables \
  conntrack iproute2 kmod mmdebstrap buildah umoci skopeo uidmap redis-server
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help lock install system-packages engine control-plane traces images demo test check unit integration cluster node bench docs clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(BOOTSTRAP)
	$(BOOTSTRAP)/bin/pip install --quiet --disable-pip-version-check uv==0.13.9

# One workspace, one lock: uv.lock pins every Python dependency of every member (services/,
# operators/, loadtests/ and the CLI at the root) with hashes; `make lock` re-resolves it.
LOCK := uv.lock
MEMBERS := services/pyproject.toml operators/pyproject.toml loadtests/pyproject.toml
PYTHON ?= python3

# The venv: every member installed editable, with the dev group. --locked: a pyproject.toml
# changed without `make lock` fails here, naming the fix, instead of resolving anew.
$(VENV)/.installed: $(UV) pyproject.toml $(MEMBERS) $(LOCK)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --quiet --locked --all-packages \
	  --python "$$(command -v $(PYTHON))"
	touch $@

# Each image installs its component's part of uv.lock (exported with hashes, no dev group,
# no workspace member: their wheels are built from the tree); BUILD_LOCK pins the build
# backend that builds those wheels.
GATEWAY_LOCK := infra/locks/gateway.txt
OPERATOR_LOCK := infra/locks/operator.txt
BUILD_LOCK := infra/locks/build.txt
EXPORT := $(UV) export --quiet --frozen --no-dev --no-emit-workspace

lock: $(UV) ## re-resolve every Python dependency (uv.lock) and export each image's part
	$(UV) lock --quiet
	$(EXPORT) --package llmops-gateway -o $(GATEWAY_LOCK)
	$(EXPORT) --package llmops-operator -o $(OPERATOR_LOCK)
	$(UV) pip compile infra/locks/build.in --generate-hashes --python-version 3.11 \
	  --quiet --custom-compile-command "make lock" -o $(BUILD_LOCK)

install: $(VENV)/.installed ## the project's venv (.venv) and the pinned helm and kubectl (.tools/bin)
	$(LLMOPS) tools install

system-packages: ## the Debian packages above, if missing
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

engine: install ## the vLLM-on-CPU engine venv and its models (cached in ~/.cache/llmops)
	$(LLMOPS) engine build

control-plane: install ## build the Kubernetes control plane from the pinned Go modules (once, cached)
	$(LLMOPS) cluster build

# The integration tier's trace test reads a real trace back from Jaeger through the collector.
traces: install ## build the OpenTelemetry Collector and Jaeger from the pinned Go modules in infra/otel (once, cached)
	$(LLMOPS) traces build

images: install system-packages control-plane ## build our images (gateway, operator, engine, Milvus, test, pause, CoreDNS, collector, Jaeger; cached)
	$(LLMOPS) images build

# `llmops demo` does it all on real pods: cluster up with the real node, `llmops local install`
# (images loaded, the umbrella chart with the local overlay), then revision 2 of a model through
# a gated canary; DEMO_ARGS=--fail-gate shows the gate rolling back. `llmops demo down` stops it.
demo: install system-packages engine control-plane images ## the stack on real pods, then revision 2 of a model shipped through a gated canary
	$(LLMOPS) demo $(DEMO_ARGS)

check: install ## ruff (lint + format), mypy --strict, import-linter
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: install system-packages engine control-plane traces images check ## everything: quality gates, then unit, integration, cluster and node tiers
	$(VENV)/bin/pytest --durations=30 $(PYTEST_ARGS)

unit: install ## only the unit tier (seconds)
	$(VENV)/bin/pytest -m unit $(PYTEST_ARGS)

integration: install system-packages engine traces ## only the integration tier (real local processes)
	$(VENV)/bin/pytest -m integration $(PYTEST_ARGS)

cluster: install system-packages engine control-plane ## only the cluster tier (real control plane; the load-test gate uses the engine)
	$(VENV)/bin/pytest -m cluster $(PYTEST_ARGS)

node: install system-packages engine control-plane images ## only the node tier (real containers on the real node)
	$(VENV)/bin/pytest -m node $(PYTEST_ARGS)

bench: install ## benchmarks (figures, not tests): gateway overhead, load generator vs plain Locust
	$(LLMOPS) bench gateway
	$(LLMOPS) bench loadgen

# The docs site (mkdocs.yml): hand-written pages from docs/, reference pages generated from the
# sources at build time (chart values, the CRD, the CLI, metrics, alerts); --strict fails on a
# broken link or a missing anchor. Open site/index.html, or serve it: `python -m http.server -d site`.
docs: install ## build the docs site into site/ (mkdocs build --strict)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

clean: ## stop the local cluster and the engine, remove the venvs (caches stay)
	-$(LLMOPS) cluster down
	-$(LLMOPS) engine down
	rm -rf $(VENV) $(BOOTSTRAP)
