package app

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
	"github.com/mattermost/mattermost-app-pagerduty/settings"
)

// A second OAuth client registered with the PagerDuty fake, for reconfigurations.
const (
	appCredClientID2     = "mm-app-client-2"
	appCredClientSecret2 = "mm-app-client-2-secret"
)

// appCredValues are configure-form values choosing the client-credentials app token (for the
// fake's account, subdomain "fake", region us) instead of a REST API key.
func appCredValues(e *env, clientID, clientSecret string) map[string]any {
	v := e.configureValues()
	delete(v, settings.FieldAPIKey)
	v[settings.FieldCredentialKind] = map[string]any{"label": "OAuth app token", "value": settings.CredClientCredentials}
	v[settings.FieldSubdomain] = "fake"
	v[settings.FieldClientID] = clientID
	v[settings.FieldClientSecret] = clientSecret
	return v
}

// appCredTokenRequests are the POST /oauth/token requests with grant client_credentials, with the
// client each authenticated as.
func appCredTokenRequests(pd *pdfake.Fake) []pdfake.Request {
	var out []pdfake.Request
	for _, r := range pd.Requests() {
		if r.Method != http.MethodPost || r.Path != "/oauth/token" {
			continue
		}
		if q, err := url.ParseQuery(string(r.Body)); err == nil && q.Get("grant_type") == "client_credentials" {
			out = append(out, r)
		}
	}
	return out
}

// appCredOnCallAuths are who each GET /oncalls authenticated as, oldest first.
func appCredOnCallAuths(pd *pdfake.Fake) []pdfake.Request {
	var out []pdfake.Request
	for _, r := range pd.Requests() {
		if r.Method == http.MethodGet && r.Path == "/oncalls" {
			out = append(out, r)
		}
	}
	return out
}

// appCredCached is the app token cached in the bot's KV (t/app), read from Mattermost's KV.
type appCredCached struct {
	AccessToken string    `json:"access_token"`
	Expiry      time.Time `json:"expiry"`
	ClientID    string    `json:"client_id"`
	Subdomain   string    `json:"subdomain"`
}

func appCredCachedToken(t *testing.T, e *env) (appCredCached, bool) {
	t.Helper()
	raw, ok := e.mm.KVGet(e.bot.Id, "t", "app")
	if !ok {
		return appCredCached{}, false
	}
	var c appCredCached
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("cached app token %s: %v", raw, err)
	}
	return c, true
}

// appCredTick runs one monitor tick through the plugin's webhook route and checks it succeeded
// and read /oncalls with the app token of clientID (exactly one new /oncalls request).
func appCredTick(t *testing.T, oc *ocEnv, clientID string) {
	t.Helper()
	before := len(appCredOnCallAuths(oc.pd))
	resp := oc.tick()
	if resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("tick: %s", respText(resp))
	}
	reads := appCredOnCallAuths(oc.pd)[before:]
	if len(reads) == 0 {
		t.Fatal("the tick did not read /oncalls")
	}
	for _, r := range reads {
		if r.Status != http.StatusOK || r.Auth.Kind != pdfake.AuthAppToken || r.Auth.Subject != clientID {
			t.Fatalf("GET /oncalls answered %d as %+v, want 200 with the app token of %s", r.Status, r.Auth, clientID)
		}
	}
}

func TestAppCredClientCredentialsTokenIsCachedAndRenewed(t *testing.T) {
	e := newEnv(t)
	oc := &ocEnv{env: e}
	if resp := e.call(e.admin, call(pathConfigureSubmit, expandUser), appCredValues(e, testClientID, testClientSecret)); resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("configure with client credentials: %s %v", respText(resp), resp.Data)
	}
	// Configuring proves the client and account with one client-credentials token, which is not
	// kept: the first tick asks for its own.
	if n := len(appCredTokenRequests(e.pd)); n != 1 {
		t.Fatalf("configure made %d client-credentials requests, want 1", n)
	}
	if _, ok := appCredCachedToken(t, e); ok {
		t.Fatal("configure left an app token in the cache")
	}
	e.pd.ResetRequests()

	// First tick: one token request, then /oncalls with that bearer token (not an API key).
	appCredTick(t, oc, testClientID)
	toks := appCredTokenRequests(e.pd)
	if len(toks) != 1 {
		t.Fatalf("%d client-credentials requests on the first tick, want 1", len(toks))
	}
	if toks[0].Status != http.StatusOK || toks[0].Auth.Kind != pdfake.AuthClient || toks[0].Auth.Subject != testClientID {
		t.Fatalf("token request answered %d as %+v", toks[0].Status, toks[0].Auth)
	}
	if scope, _ := url.ParseQuery(string(toks[0].Body)); scope.Get("scope") != "as_account-us.fake" {
		t.Fatalf("token request scope %q, want as_account-us.fake", scope.Get("scope"))
	}
	first, ok := appCredCachedToken(t, e)
	if !ok || first.AccessToken == "" || first.ClientID != testClientID || first.Subdomain != "fake" {
		t.Fatalf("cached app token = %+v (found %v)", first, ok)
	}
	// Observed with the env's clock (ahead of the wall clock): the cached expiry is about 24 h
	// after the app's own clock, the lifetime PagerDuty granted.
	if d := first.Expiry.Sub(e.clock.Now()); d < 23*time.Hour || d > 24*time.Hour+time.Minute {
		t.Fatalf("cached token expires %s after the app's clock, want about 24h (expiry %s, clock %s)", d, first.Expiry, e.clock.Now())
	}

	// Second tick, an hour later: the cached token is reused.
	e.clock.Advance(time.Hour)
	appCredTick(t, oc, testClientID)
	if n := len(appCredTokenRequests(e.pd)); n != 1 {
		t.Fatalf("%d client-credentials requests after the second tick, want still 1 (cached token reused)", n)
	}

	// 25 h later the token has run out (24 h, no refresh): the next tick asks again, once.
	e.clock.Advance(25 * time.Hour)
	appCredTick(t, oc, testClientID)
	if n := len(appCredTokenRequests(e.pd)); n != 2 {
		t.Fatalf("%d client-credentials requests after the token expired, want 2", n)
	}
	renewed, _ := appCredCachedToken(t, e)
	if renewed.AccessToken == "" || renewed.AccessToken == first.AccessToken {
		t.Fatal("the expired app token is still cached")
	}
	appCredTick(t, oc, testClientID)
	if n := len(appCredTokenRequests(e.pd)); n != 2 {
		t.Fatalf("%d client-credentials requests after a tick with the renewed token, want 2", n)
	}

	// Any reconfiguration drops the cached token (configure's Forget), even for the same client
	// and account: the next tick asks again.
	if resp := e.call(e.admin, call(pathConfigureSubmit, expandUser), appCredValues(e, testClientID, testClientSecret)); resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("reconfigure: %s %v", respText(resp), resp.Data)
	}
	if _, ok := appCredCachedToken(t, e); ok {
		t.Fatal("reconfiguring kept the cached app token")
	}
	e.pd.ResetRequests()
	appCredTick(t, oc, testClientID)
	if n := len(appCredTokenRequests(e.pd)); n != 1 {
		t.Fatalf("%d client-credentials requests on the tick after reconfiguring, want 1", n)
	}
	renewed, _ = appCredCachedToken(t, e)

	// Reconfigured with another OAuth client: the cached token of the old client is not used.
	e.pd.RegisterOAuthClient(appCredClientID2, appCredClientSecret2)
	if resp := e.call(e.admin, call(pathConfigureSubmit, expandUser), appCredValues(e, appCredClientID2, appCredClientSecret2)); resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("reconfigure: %s %v", respText(resp), resp.Data)
	}
	e.pd.ResetRequests()
	appCredTick(t, oc, appCredClientID2)
	toks = appCredTokenRequests(e.pd)
	if len(toks) != 1 || toks[0].Auth.Subject != appCredClientID2 {
		t.Fatalf("after reconfiguring: client-credentials requests %+v, want one as %s", toks, appCredClientID2)
	}
	if c, _ := appCredCachedToken(t, e); c.ClientID != appCredClientID2 || c.AccessToken == renewed.AccessToken {
		t.Fatalf("cached token after reconfiguring = client %q", c.ClientID)
	}
}

// A cached token is tied to the client and subdomain that produced it, even when the
// configuration changed without the configure form's Forget (another app version, a hand edit of
// the KV): the tick does not present client 1's token for client 2's configuration.
func TestAppCredCachedTokenIsBoundToClientAndSubdomain(t *testing.T) {
	e := newEnv(t)
	oc := &ocEnv{env: e}
	e.pd.RegisterOAuthClient(appCredClientID2, appCredClientSecret2)
	if resp := e.call(e.admin, call(pathConfigureSubmit, expandUser), appCredValues(e, testClientID, testClientSecret)); resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("configure: %s %v", respText(resp), resp.Data)
	}
	appCredTick(t, oc, testClientID)
	cached, ok := appCredCachedToken(t, e)
	if !ok {
		t.Fatal("no cached app token after a tick")
	}

	store := settings.Store{KV: e.botClient().KV(), Locks: &kvstore.Locks{}}
	change := func(t *testing.T, f func(c *settings.AppConfig)) {
		t.Helper()
		cfg, err := store.Config(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		f(&cfg)
		if err := store.SaveConfig(e.ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("another client", func(t *testing.T) {
		change(t, func(c *settings.AppConfig) { c.ClientID, c.ClientSecret = appCredClientID2, appCredClientSecret2 })
		if c, _ := appCredCachedToken(t, e); c.AccessToken != cached.AccessToken {
			t.Fatal("the cached token changed before the tick: the test proves nothing")
		}
		e.pd.ResetRequests()
		appCredTick(t, oc, appCredClientID2)
		toks := appCredTokenRequests(e.pd)
		if len(toks) != 1 || toks[0].Auth.Subject != appCredClientID2 {
			t.Fatalf("client-credentials requests %+v, want one as %s", toks, appCredClientID2)
		}
		cached, _ = appCredCachedToken(t, e)
	})

	t.Run("another subdomain", func(t *testing.T) {
		// The fake serves one account ("fake"): a token for another subdomain is refused, so the
		// tick fails — but it must ask, not reuse the token cached for "fake".
		change(t, func(c *settings.AppConfig) { c.Subdomain = "other-account" })
		e.pd.ResetRequests()
		resp := oc.tick()
		if resp.Type != apps.CallResponseTypeError {
			t.Fatalf("tick for an account PagerDuty refuses: %s", respText(resp))
		}
		toks := appCredTokenRequests(e.pd)
		if len(toks) != 1 || toks[0].Status != http.StatusBadRequest {
			t.Fatalf("client-credentials requests %+v, want one (refused)", toks)
		}
		if scope, _ := url.ParseQuery(string(toks[0].Body)); scope.Get("scope") != "as_account-us.other-account" {
			t.Fatalf("token request scope %q", scope.Get("scope"))
		}
		if n := e.pd.CountRequests(http.MethodGet, "/oncalls"); n != 0 {
			t.Fatalf("%d /oncalls reads with the other account's cached token, want 0", n)
		}
	})
}
