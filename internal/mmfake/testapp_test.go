package mmfake_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/internal/mmfake"
)

// received is one call as the test app saw it.
type received struct {
	Path string
	Raw  []byte
	Auth string
	Req  apps.CallRequest
}

// testApp is a minimal remote app: it records every call and answers per path.
type testApp struct {
	srv      *httptest.Server
	manifest apps.Manifest

	mu       sync.Mutex
	calls    []received
	handlers map[string]func(received) (int, any)
	gotCall  chan received
}

func newTestApp(t *testing.T) *testApp {
	t.Helper()
	a := &testApp{handlers: map[string]func(received) (int, any){}, gotCall: make(chan received, 64)}
	mux := http.NewServeMux()
	mux.HandleFunc("/manifest.json", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(a.manifest)
	})
	mux.HandleFunc("/static/", http.NotFound)
	mux.HandleFunc("/static/icon.png", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("png")) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		rc := received{Path: r.URL.Path, Raw: raw, Auth: r.Header.Get(apps.OutgoingAuthHeader)}
		_ = json.Unmarshal(raw, &rc.Req)
		a.mu.Lock()
		a.calls = append(a.calls, rc)
		h := a.handlers[r.URL.Path]
		a.mu.Unlock()
		select {
		case a.gotCall <- rc:
		default:
		}
		status, body := http.StatusOK, any(apps.NewTextResponse("ok"))
		if h != nil {
			status, body = h(rc)
		} else if r.URL.Path == "/ping" {
			status = http.StatusNotFound
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	})
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	a.manifest = apps.Manifest{
		AppID:       "pdtest",
		Version:     "v1.0.0",
		DisplayName: "PD Test",
		HomepageURL: "https://example.com",
		Icon:        "icon.png",
		RequestedPermissions: apps.Permissions{apps.PermissionActAsBot, apps.PermissionActAsUser,
			apps.PermissionRemoteOAuth2, apps.PermissionRemoteWebhooks},
		RequestedLocations: apps.Locations{apps.LocationCommand, apps.LocationChannelHeader, apps.LocationPostMenu},
		OnInstall:          apps.NewCall("/install").WithExpand(apps.Expand{App: apps.ExpandAll, ActingUser: apps.ExpandSummary}),
		Bindings:           apps.NewCall("/bindings").WithExpand(apps.Expand{ActingUser: apps.ExpandID}),
		Deploy:             apps.Deploy{HTTP: &apps.HTTP{RootURL: a.srv.URL, UseJWT: true}},
	}
	return a
}

func (a *testApp) handle(path string, h func(received) (int, any)) {
	a.mu.Lock()
	a.handlers[path] = h
	a.mu.Unlock()
}

// last returns the last call the app received at path.
func (a *testApp) last(t *testing.T, path string) received {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := len(a.calls) - 1; i >= 0; i-- {
		if a.calls[i].Path == path {
			return a.calls[i]
		}
	}
	t.Fatalf("the app never got %s", path)
	return received{}
}

// setup starts a fake with the test app installed.
func setup(t *testing.T) (*mmfake.Server, *testApp) {
	t.Helper()
	a := newTestApp(t)
	f := mmfake.New(t, mmfake.Options{AppRootURL: a.srv.URL, JWTSecret: "jwt-secret"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := f.InstallApp(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("on_install: %+v", resp)
	}
	return f, a
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// contextKeys returns the JSON keys of the context the app received.
func contextKeys(t *testing.T, raw []byte) map[string]json.RawMessage {
	t.Helper()
	var m struct {
		Context map[string]json.RawMessage `json:"context"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m.Context
}

func keys(m map[string]json.RawMessage) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}
