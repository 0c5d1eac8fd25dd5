# syntax=docker/dockerfile:1
# The two images of our own that the charts run, from one build:
#
#   docker build --target operator -t llmops/llmops-operator:<version> .   # charts/llmops-operator
#   docker build --target gateway  -t llmops/rag-gateway:<version> .       # charts/rag-gateway
#
# <version> is the chart's appVersion (the charts pull `<repository>:<appVersion>` unless
# `image.tag` is set). Without --target, the last stage (operator) is built.
#
# Reproducible: every third-party package is installed from a lock file with hashes
# (infra/locks/runtime.txt, written by `make lock`: the pins of infra/locks/project.txt without
# the dev tools), wheels only, --no-deps, so pip resolves nothing. Our own package is built as
# a wheel by the hash-pinned build backend (infra/locks/build.txt) with --no-build-isolation.
# tests/integration/test_image_rehearsal.py rehearses these steps without Docker.
#
# Both images hold the whole package in one venv (/opt/venv): the operator runs load-test
# gates as `python -m llmops loadtest run` (Locust, matplotlib) and their Jobs run `llmops`.
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

# -- our wheel, built by the pinned backend (this stage and its tools stay behind) ----------
FROM base AS wheel
WORKDIR /src
COPY infra/locks/build.txt infra/locks/build.txt
RUN python -m venv /opt/build \
 && /opt/build/bin/python -m pip install --require-hashes --no-deps --only-binary :all: \
      -r infra/locks/build.txt
COPY pyproject.toml README.md ./
COPY infra/llmops infra/llmops
COPY services/llmops_gateway services/llmops_gateway
COPY operators/llmops_operator operators/llmops_operator
COPY loadtests/llmops_loadtest loadtests/llmops_loadtest
RUN /opt/build/bin/python -m pip wheel --no-deps --no-build-isolation --wheel-dir /wheels .

# -- the runtime venv: locked dependencies first (cached while only our code changes) -------
FROM base AS venv
WORKDIR /src
COPY infra/locks/runtime.txt infra/locks/runtime.txt
# --without-pip: no pip or setuptools inside the venv; the base image's pip installs into it.
RUN python -m venv --without-pip /opt/venv \
 && python -m pip --python /opt/venv/bin/python install --require-hashes --no-deps \
      --only-binary :all: -r infra/locks/runtime.txt
COPY --from=wheel /wheels /wheels
# `pip check` fails the build if the lock misses a requirement (it has no dev extras).
RUN python -m pip --python /opt/venv/bin/python install --no-deps /wheels/*.whl \
 && python -m pip --python /opt/venv/bin/python check

# -- what both images share: the venv (read-only, owned by root) and the user ---------------
FROM base AS runtime
RUN groupadd --gid 10001 llmops \
 && useradd --uid 10001 --gid 10001 --no-create-home --no-log-init --home-dir /tmp \
      --shell /usr/sbin/nologin llmops
COPY --from=venv /opt/venv /opt/venv
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HOME=/tmp
WORKDIR /tmp
USER 10001:10001

# -- llmops/rag-gateway: the chart sets no command, so CMD is what runs ----------------------
FROM runtime AS gateway
LABEL org.opencontainers.image.title="llmops/rag-gateway"
# The gateway's own default is 127.0.0.1 (safe on a laptop); in a pod the kubelet's probes
# and the Service reach it on the pod IP.
ENV LLMOPS_GATEWAY_HOST=0.0.0.0
# The chart's service.port (LLMOPS_GATEWAY_PORT in its ConfigMap).
EXPOSE 8080
CMD ["python", "-m", "llmops_gateway"]

# -- llmops/llmops-operator: the chart's Deployment runs the same command -------------------
FROM runtime AS operator
LABEL org.opencontainers.image.title="llmops/llmops-operator"
# healthPort (kopf's /healthz) and metrics.port of the chart.
EXPOSE 8080 9090
CMD ["python", "-m", "llmops_operator"]
