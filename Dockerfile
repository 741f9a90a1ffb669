# careload: one static-ish binary on Debian slim. Published base images only.
#   docker build -t careload .
# Build stage: the pinned toolchain from rust-toolchain.toml (1.95).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p careload \
 && cp target/release/careload /usr/local/bin/careload

# Run stage: the binary, the weights and config examples, curl for health
# checks and the HAPI loader. Runs as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/careload --create-home careload
COPY --from=build /usr/local/bin/careload /usr/local/bin/careload
COPY weights /usr/share/careload/weights
COPY config /usr/share/careload/config
COPY deploy/load-hapi.sh /usr/local/bin/careload-load-hapi
USER careload
WORKDIR /var/lib/careload
EXPOSE 8080
ENTRYPOINT ["careload"]
CMD ["serve"]
