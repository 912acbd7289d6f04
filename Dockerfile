# Multi-stage: a static binary (~22 MB, most of it the Mattermost model package) in a distroless,
# non-root image (about 24 MB in all).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/pagerduty-app .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/pagerduty-app /pagerduty-app
# Listen on all interfaces inside the container; set PD_APP_ROOT_URL to how Mattermost reaches it
# and PD_APP_JWT_SECRET to the secret typed at install. /state holds the scheduler's small state.
ENV PD_APP_LISTEN=:4000 PD_APP_STATE_DIR=/state
VOLUME ["/state"]
USER nonroot:nonroot
EXPOSE 4000
ENTRYPOINT ["/pagerduty-app"]
