//go:build tools

// Package tools pins modules the project depends on before (or beyond) the code that imports them,
// so `go mod tidy` keeps them.
package tools

import (
	_ "github.com/PagerDuty/go-pagerduty"
	_ "github.com/getkin/kin-openapi/openapi3filter"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/gorilla/mux"
	_ "github.com/mattermost/mattermost-plugin-apps/apps"
	_ "github.com/mattermost/mattermost-plugin-apps/apps/appclient"
	_ "golang.org/x/oauth2"
)
