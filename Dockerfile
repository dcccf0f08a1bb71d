# syntax=docker/dockerfile:1
#
# movies-graph: the GraphQL API over TMDB's "The Movies Dataset", as a container image.
#
#   docker build -t movies-graph .
#   docker run --rm -p 8000:8000 movies-graph          # http://127.0.0.1:8000/graphql
#
# The warehouse is built when the image is built, never when a container starts: from the full
# Kaggle files in data/raw/ when they are in the build context (movies_metadata.csv or
# movies_dataset.csv, credits.csv, keywords.csv; .csv.gz works too), else from the embedded
# real sample (data/sample/). data/raw/ is git-ignored, so a fresh clone bakes the sample.
#
# The container runs the production profile (no GraphiQL, no introspection) and serves the
# baked build. To serve another build, made once by a one-off `movies etl` job, mount it
# read-only and name it:
#
#   docker run --rm -p 8000:8000 -v "$PWD/builds/current:/var/lib/movies/build:ro" \
#     movies-graph movies serve --profile production --host 0.0.0.0 --data /var/lib/movies/build
#
# deploy/README.md has the compose and Kubernetes versions of both, and what was run where.
# Every `uv run` step below is a command written in README.md (tests/test_deploy.py checks it).
#
# BASE is the Python 3.11 image both stages start from. Machines that cannot pull from a
# registry pass a local stand-in (`--build-arg BASE=localhost/python:3.11-bookworm`, made by
# bench/container.py); it must provide `python` and `pip` on PATH, as python:3.11-slim does.
ARG BASE=python:3.11-slim

############################ build: resolve the venv and build the warehouse ###################
FROM ${BASE} AS build

# uv comes from PyPI through pip, like the README's quick start; pinned for reproducible
# images (override with --build-arg UV_VERSION=...). UV_FROZEN makes every uv command use
# uv.lock exactly as committed, never re-resolving it inside the image.
ARG UV_VERSION=0.13.9
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_FROZEN=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy

RUN pip install --no-cache-dir "uv==${UV_VERSION}"

WORKDIR /app

# Dependencies first, from pyproject.toml + uv.lock only (bind-mounted, not copied: one layer
# fewer), so source edits keep this layer cached. The uv cache survives between builds.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=pyproject.toml,target=/app/pyproject.toml \
    --mount=type=bind,source=uv.lock,target=/app/uv.lock \
    uv sync --frozen --no-dev --no-install-project

# Then the project itself (installed editable into /app/.venv, so /app stays the source root
# and data/paths.py finds data/ next to the code), and the warehouse: data/build ->
# data/.build-versions/<version> (a relative symlink, kept as one by the COPY below), from
# data/raw/ when the full files are there, else data/sample/. .dockerignore keeps local builds
# out of the context, so this always starts clean.
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev \
    && uv run --no-dev movies etl

############################ runtime: venv + app + build, no uv, non-root ######################
FROM ${BASE} AS runtime

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib

# /var/lib/movies is where a build made outside the image is mounted (read-only for servers;
# a one-off ETL job writes it). Owned by the app user, so a new named volume mounted there
# (Docker copies the directory's owner into it) is writable by that job.
RUN groupadd --system --gid 10001 movies \
    && useradd --system --uid 10001 --gid movies --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin movies \
    && mkdir -p /var/lib/movies \
    && chown 10001:10001 /var/lib/movies

WORKDIR /app
# Code, venv and baked build stay root-owned and read-only for the app user: production never
# builds at start. Raw files baked in (data/raw/) come along as the build's provenance: the
# server checks the build against the inputs it was made from.
COPY --from=build /app /app

USER 10001:10001
EXPOSE 8000

# /healthz says the process is alive; python's urllib because slim images have no curl.
# The port follows MOVIES_PORT (the server's own setting) when it is set.
HEALTHCHECK --interval=15s --timeout=5s --start-period=2m --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('MOVIES_PORT', '8000'), timeout=4)"]

CMD ["movies", "serve", "--profile", "production", "--host", "0.0.0.0"]
