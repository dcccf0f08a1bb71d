# syntax=docker/dockerfile:1
#
# movies-graph: the GraphQL API over TMDB's "The Movies Dataset", as a container image.
#
#   docker build -t movies-graph .
#   docker run --rm -p 8000:8000 movies-graph          # http://127.0.0.1:8000/graphql
#
# The image carries a warehouse built at image build time from the embedded real sample
# (data/sample/), so it serves real movies with nothing mounted.
#
# Full catalogue: mount the Kaggle files (movies_metadata.csv or movies_dataset.csv,
# credits.csv, keywords.csv; .csv.gz works too) read-only at /app/data/raw:
#
#   docker run --rm -p 8000:8000 -v "$PWD/data/raw:/app/data/raw:ro" movies-graph
#
# `movies serve` sees raw files newer than the build and runs the ETL before it serves. The new
# build is written inside the container under /app/data (owned by the app user for this
# reason) and is lost with the container; /healthz and /readyz answer only once it is loaded,
# hence the long HEALTHCHECK start period. Do not share one writable /app/data between
# replicas: each container builds and swaps its own data/build symlink.
#
# Every `uv run` step below is a command written in README.md (tests/test_deploy.py checks
# this); deploy/README.md says what was and was not run on the CI machine, which has no
# container runtime.

############################ build: resolve the venv and build the warehouse ###################
FROM python:3.11-slim AS build

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

# Dependencies first (only pyproject.toml + uv.lock), so source edits keep this layer cached.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project

# Then the project itself (installed editable into /app/.venv, so /app stays the source root
# and data/paths.py finds data/ next to the code).
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev

# Build the warehouse from the embedded sample: data/build -> data/.build-versions/<version>
# (a relative symlink, kept as a symlink by the COPY below). .dockerignore keeps data/raw,
# data/build and data/.build-versions out of the context, so this always starts clean.
RUN uv run --no-dev movies etl

############################ runtime: venv + app, no uv, non-root ##############################
FROM python:3.11-slim AS runtime

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib

RUN groupadd --system --gid 10001 movies \
    && useradd --system --uid 10001 --gid movies --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin movies

WORKDIR /app
COPY --from=build /app /app

# The code stays root-owned and read-only for the app user; only data/ (where a rebuild from
# mounted raw files creates a new version and swaps the data/build symlink) is writable.
RUN chown 10001:10001 /app/data \
    && chown -R 10001:10001 /app/data/.build-versions

USER 10001:10001
EXPOSE 8000

# /healthz says the process is alive; python's urllib because slim images have no curl.
# The port follows MOVIES_PORT (the server's own setting) when it is set.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10m --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('MOVIES_PORT', '8000'), timeout=4)"]

CMD ["movies", "serve", "--host", "0.0.0.0"]
