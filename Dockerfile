# Multi-stage build: a static jobgate binary on a minimal, non-root image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/jobgate ./cmd/jobgate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/jobgate /usr/local/bin/jobgate
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/jobgate"]
CMD ["serve", "--listen", "0.0.0.0:8080"]
