# syntax=docker/dockerfile:1
# The two images of our own that the charts run, from one build:
#
#   docker build --target operator -t llmops/llmops-operator:<version> .   # charts/llmops-operator
#   docker build --target gateway  -t llmops/rag-gateway:<version> .       # charts/rag-gateway
#
# <version> is the chart's appVersion (the charts pull `<repository>:<appVersion>` unless
# `image.tag` is set). Without --target, the last stage (operator) is built.
#
# Reproducible: every third-party package is installed from a lock file with hashes, wheels
# only, --no-deps, so pip resolves nothing. Each image has its own: infra/locks/gateway.txt and
# infra/locks/operator.txt are the workspace lock (uv.lock) exported for one component
# (`make lock`), so an image holds its component's dependencies and nothing else. Our own
# packages are built as wheels by the hash-pinned build backend (infra/locks/build.txt) with
# --no-build-isolation, from the workspace members (services/, operators/, loadtests/ and
# contracts/, the wire formats both images share).
#
# The operator image holds the operator and the load-test package (its gates run
# `python -m llmops_loadtest run`, and its in-cluster Jobs run `llmops-loadtest`); the gateway
# image holds the gateway alone. Neither holds the `llmops` CLI or the local-cluster tooling.
# They run as 10001:10001 (the charts' podSecurity) with a read-only root filesystem: the
# only writable path is /tmp, an emptyDir in the charts, so HOME points there too.

# Production builds should pin the digest too (python:3.11-slim-bookworm@sha256:...): a tag
# moves with every Debian and CPython patch release. Override it with --build-arg PYTHON_IMAGE.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# -- our wheels, built by the pinned backend (these stages and their tools stay behind) -----
FROM base AS build-backend
WORKDIR /src
COPY infra/locks/build.txt infra/locks/build.txt
RUN python -m venv /opt/build \
 && /opt/build/bin/python -m pip install --require-hashes --no-deps --only-binary :all: \
      -r infra/locks/build.txt

FROM build-backend AS gateway-wheel
COPY contracts contracts
COPY services services
RUN /opt/build/bin/python -m pip wheel --no-deps --no-build-isolation --wheel-dir /wheels \
      ./services ./contracts

FROM build-backend AS operator-wheel
COPY contracts contracts
COPY operators operators
COPY loadtests loadtests
RUN /opt/build/bin/python -m pip wheel --no-deps --no-build-isolation --wheel-dir /wheels \
      ./operators ./loadtests ./contracts

# -- each image's venv: its locked dependencies first (cached while only our code changes) --
# --without-pip: no pip or setuptools inside the venv; the base image's pip installs into it.
# `pip check` fails the build if a component's lock misses one of its requirements.
FROM base AS gateway-venv
WORKDIR /src
COPY infra/locks/gateway.txt infra/locks/gateway.txt
RUN python -m venv --without-pip /opt/venv \
 && python -m pip --python /opt/venv/bin/python install --require-hashes --no-deps \
      --only-binary :all: -r infra/locks/gateway.txt
COPY --from=gateway-wheel /wheels /wheels
RUN python -m pip --python /opt/venv/bin/python install --no-deps \
      /wheels/llmops_gateway-*.whl /wheels/llmops_contracts-*.whl \
 && python -m pip --python /opt/venv/bin/python check

FROM base AS operator-venv
WORKDIR /src
COPY infra/locks/operator.txt infra/locks/operator.txt
RUN python -m venv --without-pip /opt/venv \
 && python -m pip --python /opt/venv/bin/python install --require-hashes --no-deps \
      --only-binary :all: -r infra/locks/operator.txt
COPY --from=operator-wheel /wheels /wheels
RUN python -m pip --python /opt/venv/bin/python install --no-deps \
      /wheels/llmops_operator-*.whl /wheels/llmops_loadtest-*.whl /wheels/llmops_contracts-*.whl \
 && python -m pip --python /opt/venv/bin/python check

# -- what both images share: the user and the venv's place (read-only, owned by root) -------
FROM base AS runtime
RUN groupadd --gid 10001 llmops \
 && useradd --uid 10001 --gid 10001 --no-create-home --no-log-init --home-dir /tmp \
      --shell /usr/sbin/nologin llmops
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HOME=/tmp
WORKDIR /tmp
USER 10001:10001

# -- llmops/rag-gateway: the chart sets no command, so CMD is what runs ----------------------
FROM runtime AS gateway
LABEL org.opencontainers.image.title="llmops/rag-gateway"
COPY --from=gateway-venv /opt/venv /opt/venv
# The gateway's own default is 127.0.0.1 (safe on a laptop); in a pod the kubelet's probes
# and the Service reach it on the pod IP.
ENV LLMOPS_GATEWAY_HOST=0.0.0.0
# The chart's service.port (LLMOPS_GATEWAY_PORT in its ConfigMap).
EXPOSE 8080
CMD ["python", "-m", "llmops_gateway"]

# -- llmops/llmops-operator: the chart's Deployment runs the same command -------------------
FROM runtime AS operator
LABEL org.opencontainers.image.title="llmops/llmops-operator"
COPY --from=operator-venv /opt/venv /opt/venv
# healthPort (kopf's /healthz) and metrics.port of the chart.
EXPOSE 8080 9090
CMD ["python", "-m", "llmops_operator"]
