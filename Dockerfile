# syntax=docker/dockerfile:1
# The Trellis image: `trellis controller` by default, every other command
# available (`docker run IMAGE install`, `render`, ...).
#
#   docker build -t ghcr.io/trellis-dev/trellis:0.1.0 .
#
# The build stage compiles the one binary; the runtime stage is Debian slim
# with git (repositories are fetched with it) and CA certificates, running as
# an unprivileged user whose id the install manifests name (10001).

FROM rust:1.95-slim-bookworm AS builder
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p trellis --bin trellis \
    && cp target/release/trellis /usr/local/bin/trellis

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 trellis \
    && useradd --uid 10001 --gid 10001 --home-dir /home/trellis --create-home --shell /usr/sbin/nologin trellis \
    && mkdir -p /var/cache/trellis \
    && chown 10001:10001 /var/cache/trellis
COPY --from=builder /usr/local/bin/trellis /usr/local/bin/trellis
ENV TRELLIS_CACHE_DIR=/var/cache/trellis
USER 10001:10001
WORKDIR /home/trellis
# /metrics, /healthz and /api/webhook of the controller.
EXPOSE 8081
ENTRYPOINT ["trellis"]
# In a container the HTTP endpoints must listen beyond loopback.
CMD ["controller", "--listen", "0.0.0.0:8081"]
