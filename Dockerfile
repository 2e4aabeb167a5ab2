# baton-aws container image: a static-enough Rust binary on a small,
# non-root runtime image.
#
#   docker build -t baton-aws .
#   docker run --rm -e BATON_CLIENT_ID=... -e BATON_CLIENT_SECRET=... baton-aws

FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
RUN cargo build --release --locked -p baton-aws \
 && cp target/release/baton-aws /baton-aws

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /baton-aws /usr/local/bin/baton-aws
# The c1z of each sync is written under the temporary directory before upload.
ENV TMPDIR=/tmp
USER nonroot:nonroot
EXPOSE 8081
ENTRYPOINT ["/usr/local/bin/baton-aws"]
