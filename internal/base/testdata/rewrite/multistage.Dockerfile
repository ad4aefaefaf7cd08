# syntax=docker/dockerfile:1
# The builder.
ARG GO=1.25.1
FROM --platform=$BUILDPLATFORM golang:${GO} AS build
WORKDIR /src
RUN go build -o /app ./cmd/app

# Tests run on the build stage.
FROM build AS test
RUN go test ./...

from   gcr.io/distroless/static-debian12:nonroot   as   runtime
COPY --from=build /app /app
ENTRYPOINT ["/app"]
