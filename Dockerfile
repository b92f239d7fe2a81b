# syntax=docker/dockerfile:1
#
# inlet's image for people with Docker (or any BuildKit builder): `make docker-build`,
# or `docker buildx build --platform linux/amd64,linux/arm64 -t IMAGE .`.
#
# This file is not built where inlet is developed and tested: there is no Docker daemon
# there. `make image` builds the same image in Go instead (hack/image): the static binaries
# /inlet (the entrypoint: the operator and the CLI) and /inlet-ingress (what the ingress
# pods run), both owned by 65532:65532 and mode 0755, run as 65532:65532, with a CA bundle
# at /etc/ssl/certs/ca-certificates.crt (for NATS over TLS). Keep the two in step.

# The builder runs on the build machine's platform and cross-compiles for the target.
FROM --platform=$BUILDPLATFORM golang:1.26 AS builder
ARG TARGETOS=linux
ARG TARGETARCH
WORKDIR /src
# Dependencies first, so a source change reuses the module download layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w" -o /out/inlet ./cmd/inlet && \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w" -o /out/inlet-ingress ./cmd/inlet-ingress

# distroless static: CA certificates, tzdata, /etc/passwd with nonroot (65532), no shell.
FROM gcr.io/distroless/static:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="inlet" \
      org.opencontainers.image.source="https://inlet.dev/inlet" \
      org.opencontainers.image.version="$VERSION"
COPY --from=builder --chown=65532:65532 --chmod=0755 /out/inlet /inlet
COPY --from=builder --chown=65532:65532 --chmod=0755 /out/inlet-ingress /inlet-ingress
USER 65532:65532
WORKDIR /
ENTRYPOINT ["/inlet"]
