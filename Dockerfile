# Switchyard's image: the worker, the starter (operator CLI and intake) and a health probe, all
# static binaries, on a distroless base with CA certificates and time zone data.
#
#   docker build -t switchyard .
#   docker run --rm switchyard                                  # the worker
#   docker run --rm switchyard /usr/local/bin/starter serve     # the intake
#
# No BuildKit-only syntax (cache mounts, heredocs): Debian's docker-compose 1.29 builds with the
# classic builder. internal/deploy's tests run the `go build` commands below verbatim and check
# that the binaries are statically linked, so keep each one a single `RUN go build` line.

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# CGO_ENABLED=0 makes every binary static (the embedded Temporal server of `starter dev`, when a
# starter is built with it, uses the pure-Go modernc.org/sqlite), so nothing needs libc.
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -ldflags="-s -w" -o /out/worker ./worker
# -tags=nodev: the image's starter (the intake, `starter serve`, and the operator CLI) leaves out
# the commands that embed the Temporal server and the lab (dev, lab, demo, bench), so neither
# long-running process links them (internal/deploy's TestImageBinariesLinkNoDevServer).
RUN go build -tags=nodev -ldflags="-s -w" -o /out/starter ./starter
RUN go build -ldflags="-s -w" -o /out/healthcheck ./internal/deploy/healthcheck

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/worker /out/starter /out/healthcheck /usr/local/bin/
COPY runbooks/ /etc/switchyard/runbooks/
ENV SWITCHYARD_RUNBOOKS=/etc/switchyard/runbooks
USER nonroot:nonroot
WORKDIR /home/nonroot
EXPOSE 8081
CMD ["/usr/local/bin/worker"]
