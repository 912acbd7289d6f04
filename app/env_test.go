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
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/internal/mmfake"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
	"github.com/mattermost/mattermost-app-pagerduty/mmclient"
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
	t     testing.TB
	ctx   context.Context
	opts  envOptions
	pd    *pdfake.Fake
	seed  pdfake.Seeded
	mm    *mmfake.Server
	app   *App
	srv   *httptest.Server
	clock *testClock // nil with opts.wallClock

	root     string       // the app's URL, on its own loopback listener
	stateDir string       // the app's state directory ("" without opts.stateDir)
	logger   *slog.Logger // the app's log
	hc       *http.Client // the app's outbound HTTP client (nil: the app's default)
	handler  atomic.Value // http.Handler of the current app process

	admin, user *model.User
	team        *model.Team
	channel     *model.Channel
	bot         *model.User // the app's bot, created at install
}

// envOptions are what the envs differ in; the zero value is the spine's env: the app installed,
// not configured.
type envOptions struct {
	// configure submits the configure form (custom hosts on the fake, the REST API key as the
	// app-level credential) once the app is installed.
	configure bool
	// responder configures the app, connects Rita as PagerDuty's Rita Responder, adds the bot to
	// the channel (it posts the cards there) and checks that the plugin keeps every binding.
	responder bool
	// stateDir gives the app a state directory, kept across restart.
	stateDir bool
	// direct makes the app's public URL its own listener (the direct webhook ingress); without
	// it PagerDuty's deliveries take the Mattermost route.
	direct bool
	// wallClock runs the app and the PagerDuty fake on real time, with real waits between
	// PagerDuty retries and no deadline on the env's context (benchmarks). Without it they share
	// a testClock, retries do not wait, and the context ends after two minutes.
	wallClock bool
	// logger is the app's log; nil: discarded, or debug to stderr with -v.
	logger *slog.Logger
	// httpClient makes the app's outbound HTTP client, given the PagerDuty fake; nil: the app's
	// default.
	httpClient func(pd *pdfake.Fake) *http.Client
	// serve wraps the handler on the app's listener (a benchmark meters it); nil: as is.
	serve func(http.Handler) http.Handler
	// timer receives the app's Arm calls (nil: no timer, as most tests drive ticks by hand).
	timer Timer
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
func newEnv(t testing.TB) *env { return newEnvWith(t, envOptions{}) }

// newEnvWith installs the app with the options: one PagerDuty fake, one fake Mattermost with
// Rita (a plain user), the admin, the ops team and its incidents channel, and the app on its own
// loopback listener, restartable in place (see restart).
func newEnvWith(t testing.TB, o envOptions) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), opts: o, logger: o.logger}
	if !o.wallClock {
		ctx, cancel := context.WithTimeout(e.ctx, 2*time.Minute)
		t.Cleanup(cancel)
		e.ctx = ctx
		e.clock = &testClock{now: time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)}
	}
	e.pd = pdfake.New(t)
	if e.clock != nil {
		e.pd.SetClock(e.clock.Now)
	}
	e.seed = e.pd.Seed()
	e.pd.RegisterOAuthClient(testClientID, testClientSecret)
	e.pd.AddAPIKey(testAPIKey)
	if o.httpClient != nil {
		e.hc = o.httpClient(e.pd)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.root = "http://" + ln.Addr().String()
	if o.stateDir {
		e.stateDir = t.TempDir()
	}
	if e.logger == nil {
		e.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		if testing.Verbose() {
			e.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	}
	e.app = e.newApp()
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.handler.Load().(http.Handler).ServeHTTP(w, r)
	})
	if o.serve != nil {
		h = o.serve(h)
	}
	e.srv = httptest.NewUnstartedServer(h)
	e.srv.Listener.Close()
	e.srv.Listener = ln
	e.srv.Start()
	t.Cleanup(e.srv.Close)

	mm := mmfake.New(t, mmfake.Options{AppRootURL: e.root, JWTSecret: testJWTSecret})
	e.mm = mm
	e.admin = mm.Admin()
	e.user = mm.AddUser("rita", mmfake.Email("rita@example.com"), mmfake.Timezone("Europe/Berlin"))
	e.team = mm.AddTeam("ops")
	mm.AddTeamMember(e.team.Id, e.admin.Id, true)
	mm.AddTeamMember(e.team.Id, e.user.Id, false)
	e.channel = mm.AddChannel(e.team.Id, "incidents", model.ChannelTypeOpen, e.admin.Id, e.user.Id)
	if _, err := mm.InstallApp(e.ctx, nil); err != nil {
		t.Fatalf("installing the app: %v", err)
	}
	e.bot = mm.Bot()
	if o.configure || o.responder {
		e.configure()
	}
	if o.responder {
		e.connect(e.user, e.seed.Responder)
		mm.AddChannelMember(e.channel.Id, e.bot.Id, false)
		if p := mm.Problems(); len(p) > 0 {
			t.Fatalf("the plugin would drop parts of the bindings: %v", p)
		}
	}
	return e
}

// newApp builds an app process with this env's options and makes it the one serving.
func (e *env) newApp() *App {
	e.t.Helper()
	o := Options{
		RootURL: e.root, JWTSecret: testJWTSecret, Manifest: readManifest(e.t), Static: os.DirFS(".."),
		Logger: e.logger, StateDir: e.stateDir, HTTPClient: e.hc, Timer: e.opts.timer,
	}
	if e.clock != nil {
		o.Now = e.clock.Now
		o.PDSleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	}
	if e.opts.direct {
		o.PublicURL = e.root
	}
	a, err := New(o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.handler.Store(a.Handler())
	return a
}

// restart replaces the app process (all memory lost; KV and the state directory kept).
func (e *env) restart() { e.app = e.newApp() }

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

// binding finds /pagerduty <name> in u's bindings, as the webapp's parser does.
func (e *env) binding(u *model.User, name string) (apps.Binding, bool) {
	e.t.Helper()
	bb, err := e.mm.Bindings(e.ctx, u, e.channel.Id, e.team.Id)
	if err != nil {
		e.t.Fatalf("bindings: %v", err)
	}
	for _, top := range bb {
		if top.Location != apps.LocationCommand {
			continue
		}
		for _, root := range top.Bindings {
			for _, b := range root.Bindings {
				if b.Label == name {
					return b, true
				}
			}
		}
	}
	return apps.Binding{}, false
}

// command submits /pagerduty <name> with values already parsed (what the webapp sends: text as
// strings, a typed dynamic select as {label: text, value: text}, a static select as its option).
func (e *env) command(u *model.User, name string, values map[string]any) *apps.CallResponse {
	e.t.Helper()
	b, ok := e.binding(u, name)
	if !ok {
		e.t.Fatalf("no /pagerduty %s for %s", name, u.Username)
	}
	c := b.Submit
	if b.Form != nil {
		c = b.Form.Submit
	}
	return e.callAt(u, where{channelID: e.channel.Id, location: apps.Location("/command/pagerduty/" + name)}, c, values)
}

// where is the user agent context a call is made from.
type where struct {
	channelID, postID string
	location          apps.Location
}

func (e *env) here() where {
	return where{channelID: e.channel.Id, location: apps.LocationCommand}
}

// callAt makes a submit call from a given place (a command, a post, a modal opened from one...).
func (e *env) callAt(u *model.User, w where, c *apps.Call, values map[string]any) *apps.CallResponse {
	e.t.Helper()
	if c == nil {
		e.t.Fatal("nil call")
	}
	resp, err := e.mm.Call(e.ctx, mmfake.CallOpts{
		Path: c.Path, Expand: c.Expand, State: c.State, Values: values, ActingUser: u,
		ChannelID: w.channelID, TeamID: e.team.Id, PostID: w.postID, Location: w.location, UserAgent: "webapp", TrackAsSubmit: true,
	})
	if err != nil {
		e.t.Fatalf("call %s: %v", c.Path, err)
	}
	return resp
}

// submit submits a modal the app answered, from where it was opened.
func (e *env) submit(u *model.User, w where, resp *apps.CallResponse, values map[string]any) *apps.CallResponse {
	e.t.Helper()
	if resp.Type != apps.CallResponseTypeForm || resp.Form == nil || resp.Form.Submit == nil {
		e.t.Fatalf("expected a form, got %s %v", respText(resp), resp.Data)
	}
	return e.callAt(u, w, resp.Form.Submit, values)
}

// botClient is a Mattermost client as the app's bot; asUserClient, as u.
func (e *env) botClient() *mmclient.Client { return e.asUserClient(e.bot) }

func (e *env) asUserClient(u *model.User) *mmclient.Client {
	return mmclient.New(e.mm.URL(), e.mm.Token(u.Id), nil)
}

// option is a select value as the webapp sends it.
func option(label, value string) map[string]any {
	return map[string]any{"label": label, "value": value}
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
