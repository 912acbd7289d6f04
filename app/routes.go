package app

import (
	"io/fs"
	"net/http"

	"github.com/gorilla/mux"
	"github.com/mattermost/mattermost-plugin-apps/apps"
)

// Call paths: every path the Apps plugin can call, in one place. Bindings, forms and the manifest
// refer to these constants only.
const (
	pathBindings        = "/bindings"
	pathInstall         = "/install"
	pathOAuth2Connect   = "/oauth2/connect"
	pathOAuth2Complete  = "/oauth2/complete"
	pathWebhook         = "/webhook"
	pathHelp            = "/help"
	pathStatus          = "/status"
	pathConnect         = "/connect"
	pathDisconnect      = "/disconnect"
	pathConfigure       = "/configure"
	pathConfigureSubmit = "/configure/submit"
	pathOnCall          = "/oncall"
	pathMenu            = "/menu"
	pathMenuSubmit      = "/menu/submit"
)

// Expand sets, named for what the handler needs. The plugin strips everything not asked for.
var (
	// Bindings must stay cheap: roles, the OAuth2 app (configured?) and user (connected?) come
	// with the call, so the bindings path makes no request at all.
	expandBindings = &apps.Expand{ActingUser: apps.ExpandSummary, OAuth2App: apps.ExpandAll, OAuth2User: apps.ExpandAll}
	// A user acting on PagerDuty: their token (from the OAuth2 store), their Mattermost token (to
	// store a refreshed token) and their profile (time zone, roles).
	expandUser = &apps.Expand{ActingUser: apps.ExpandSummary, ActingUserAccessToken: apps.ExpandAll, OAuth2App: apps.ExpandAll, OAuth2User: apps.ExpandAll}
	// Install captures the webhook secret, which the plugin reveals only at level all to a sysadmin.
	expandInstall = &apps.Expand{App: apps.ExpandAll, ActingUser: apps.ExpandSummary}
)

func call(path string, e *apps.Expand) *apps.Call { return &apps.Call{Path: path, Expand: e} }

// callHandlers maps every call path to its handler.
func (a *App) callHandlers() map[string]handler {
	return map[string]handler{
		pathBindings:        a.bindings,
		pathInstall:         a.onInstall,
		pathOAuth2Connect:   a.oauth2ConnectURL,
		pathOAuth2Complete:  a.oauth2Complete,
		pathHelp:            a.help,
		pathStatus:          a.status,
		pathConnect:         a.connect,
		pathDisconnect:      a.disconnect,
		pathConfigure:       a.configureForm,
		pathConfigureSubmit: a.configureSubmit,
		pathOnCall:          a.onCall,
		pathMenu:            a.menu,
		pathMenuSubmit:      a.menuSubmit,
	}
}

// webhookHandlers maps {name} in /webhook/{name} (Mattermost's remote webhook route) to handlers.
func (a *App) webhookHandlers() map[string]handler {
	return map[string]handler{}
}

// Handler is the whole HTTP surface of the app.
func (a *App) Handler() http.Handler {
	r := mux.NewRouter()
	// Unauthenticated: what the plugin and operators fetch before any JWT exists.
	r.HandleFunc("/manifest.json", a.serveManifest).Methods(http.MethodGet)
	r.HandleFunc("/healthz", a.serveHealth).Methods(http.MethodGet)
	if a.opts.Static != nil {
		sub, err := fs.Sub(a.opts.Static, "static")
		if err == nil {
			r.PathPrefix("/static/").Handler(http.StripPrefix("/static/", http.FileServer(http.FS(sub)))).Methods(http.MethodGet)
		}
	}
	// Calls from the Apps plugin: JWT-checked, one POST route per call path.
	for path, h := range a.callHandlers() {
		r.Handle(path, a.serveCall(path, h)).Methods(http.MethodPost)
	}
	for name, h := range a.webhookHandlers() {
		p := pathWebhook + "/" + name
		r.Handle(p, a.serveCall(p, h)).Methods(http.MethodPost)
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not found", http.StatusNotFound)
	})
	return r
}

func (a *App) serveManifest(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(a.manifest)
}

func (a *App) serveHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok\n"))
}
