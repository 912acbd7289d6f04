package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/internal/mmfake"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
	"github.com/mattermost/mattermost-app-pagerduty/settings"
)

// Test credentials registered with the PagerDuty fake.
const (
	testJWTSecret    = "component-test-jwt-secret-0123456789"
	testClientID     = "mm-app-client"
	testClientSecret = "mm-app-client-secret"
	testAPIKey       = "u+TESTACCOUNTAPIKEY0001"
)

// env is one app wired to a fake Apps plugin/Mattermost and a spec-checking PagerDuty fake, all
// on loopback: calls travel the same HTTP paths, JWTs and context expansion as in production.
type env struct {
	t     *testing.T
	ctx   context.Context
	pd    *pdfake.Fake
	seed  pdfake.Seeded
	mm    *mmfake.Server
	app   *App
	srv   *httptest.Server
	clock *testClock

	admin, user *model.User
	team        *model.Team
	channel     *model.Channel
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func readManifest(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../manifest.json")
	if err != nil {
		t.Fatalf("reading manifest.json: %v", err)
	}
	return b
}

// newEnv installs the app. The PagerDuty fake and the app share one clock.
func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	clock := &testClock{now: time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)}
	pd := pdfake.New(t)
	pd.SetClock(clock.Now)
	seed := pd.Seed()
	pd.RegisterOAuthClient(testClientID, testClientSecret)
	pd.AddAPIKey(testAPIKey)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	root := "http://" + ln.Addr().String()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a, err := New(Options{
		RootURL: root, JWTSecret: testJWTSecret, Manifest: readManifest(t), Static: os.DirFS(".."),
		Logger: logger, Now: clock.Now,
		PDSleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)

	mm := mmfake.New(t, mmfake.Options{AppRootURL: root, JWTSecret: testJWTSecret})
	e := &env{t: t, ctx: ctx, pd: pd, seed: seed, mm: mm, app: a, srv: srv, clock: clock}
	e.admin = mm.Admin()
	e.user = mm.AddUser("rita", mmfake.Email("rita@example.com"), mmfake.Timezone("Europe/Berlin"))
	e.team = mm.AddTeam("ops")
	mm.AddTeamMember(e.team.Id, e.admin.Id, true)
	mm.AddTeamMember(e.team.Id, e.user.Id, false)
	e.channel = mm.AddChannel(e.team.Id, "incidents", model.ChannelTypeOpen, e.admin.Id, e.user.Id)
	if _, err := mm.InstallApp(ctx, nil); err != nil {
		t.Fatalf("installing the app: %v", err)
	}
	return e
}

// call invokes a call path as the plugin would for u, from the env's channel.
func (e *env) call(u *model.User, c *apps.Call, values map[string]any) *apps.CallResponse {
	e.t.Helper()
	resp, err := e.mm.Call(e.ctx, mmfake.CallOpts{
		Path: c.Path, Expand: c.Expand, State: c.State, Values: values, ActingUser: u,
		ChannelID: e.channel.Id, TeamID: e.team.Id, Location: apps.LocationCommand, UserAgent: "webapp",
	})
	if err != nil {
		e.t.Fatalf("call %s: %v", c.Path, err)
	}
	return resp
}

// configureValues are valid configure-form values pointing at the fake.
func (e *env) configureValues() map[string]any {
	return map[string]any{
		settings.FieldRegion:         map[string]any{"label": "Custom hosts", "value": "custom"},
		settings.FieldAPIHost:        e.pd.URL(),
		settings.FieldIdentityHost:   e.pd.URL(),
		settings.FieldEventsHost:     e.pd.URL(),
		settings.FieldClientID:       testClientID,
		settings.FieldClientSecret:   testClientSecret,
		settings.FieldCredentialKind: map[string]any{"label": "REST API key", "value": "api_key"},
		settings.FieldAPIKey:         testAPIKey,
	}
}

func (e *env) configure() {
	e.t.Helper()
	resp := e.call(e.admin, call(pathConfigureSubmit, expandUser), e.configureValues())
	if resp.Type != apps.CallResponseTypeOK {
		e.t.Fatalf("configure: %s %v", resp.Text, resp.Data)
	}
}

// connect runs the real OAuth path: the plugin asks the app for the connect URL, the "browser"
// follows it to the fake's authorize endpoint as pdUserID, and the plugin completes with the
// query PagerDuty redirected to.
func (e *env) connect(u *model.User, pdUserID string) {
	e.t.Helper()
	authURL, err := e.mm.OAuth2Connect(e.ctx, u)
	if err != nil {
		e.t.Fatalf("connect URL: %v", err)
	}
	e.pd.SetAuthorizingUser(pdUserID)
	q := e.authorize(authURL)
	if err := e.mm.OAuth2Complete(e.ctx, u, q); err != nil {
		e.t.Fatalf("completing OAuth: %v", err)
	}
}

// authorize GETs PagerDuty's authorize URL like a browser and returns the redirect's query.
func (e *env) authorize(authURL string) url.Values {
	e.t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(authURL)
	if err != nil {
		e.t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		e.t.Fatalf("authorize answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}

// mmUserOAuth decodes the token the app stored for u in the framework's OAuth2 user store.
func (e *env) storedToken(u *model.User) string { return string(e.mm.OAuth2User(u.Id)) }

func respText(r *apps.CallResponse) string {
	if r == nil {
		return "<nil>"
	}
	return string(r.Type) + ": " + r.Text
}

func mustContain(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
}

func mustNotContain(t *testing.T, got string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(got, b) {
			t.Errorf("unexpected %q in:\n%s", b, got)
		}
	}
}
