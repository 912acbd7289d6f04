package app

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/internal/mmfake"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
	"github.com/mattermost/mattermost-app-pagerduty/settings"
)

func signed(t *testing.T, secret, actingUserID string, exp time.Time) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwtClaims{
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(exp)}, ActingUserID: actingUserID,
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestCallsRequireAValidJWT(t *testing.T) {
	e := newEnv(t)
	admin := e.admin
	body := func(actingID string) []byte {
		b, _ := json.Marshal(apps.CallRequest{Call: apps.Call{Path: pathConfigureSubmit}, Context: apps.Context{
			ExpandedContext: apps.ExpandedContext{ActingUser: &model.User{Id: actingID, Roles: "system_admin system_user"}, MattermostSiteURL: e.mm.URL()}}})
		return b
	}
	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwtClaims{RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Minute))}, ActingUserID: admin.Id})
	noneTok, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	tests := []struct {
		name   string
		header string
		acting string
	}{
		{"no header", "", admin.Id},
		{"not bearer", "Basic abc", admin.Id},
		{"wrong secret", "Bearer " + signed(t, "another-secret-0123456789", admin.Id, time.Now().Add(time.Minute)), admin.Id},
		{"expired", "Bearer " + signed(t, testJWTSecret, admin.Id, time.Now().Add(-5*time.Minute)), admin.Id},
		{"alg none", "Bearer " + noneTok, admin.Id},
		{"acting user differs from token", "Bearer " + signed(t, testJWTSecret, e.user.Id, time.Now().Add(time.Minute)), admin.Id},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.mm.KVOps())
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+pathConfigureSubmit, bytes.NewReader(body(tt.acting)))
			if tt.header != "" {
				req.Header.Set(apps.OutgoingAuthHeader, tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401", resp.StatusCode)
			}
			if after := len(e.mm.KVOps()); after != before {
				t.Fatalf("a refused call touched KV (%d ops)", after-before)
			}
		})
	}
}

// commandNames lists the /pagerduty subcommands a user's bindings offer.
func commandNames(t *testing.T, bb []apps.Binding) (names []string, description string) {
	t.Helper()
	for _, top := range bb {
		if top.Location != apps.LocationCommand {
			continue
		}
		for _, root := range top.Bindings {
			if root.Label != "pagerduty" {
				continue
			}
			description = root.Description
			for _, sub := range root.Bindings {
				names = append(names, sub.Label)
			}
		}
	}
	sort.Strings(names)
	return names, description
}

func TestBindingsFollowStateWithoutCallingPagerDuty(t *testing.T) {
	e := newEnv(t)
	// Each state lists what a user must see and what they must not; other capabilities add
	// commands of their own, so the lists are not exhaustive.
	check := func(name string, u *model.User, want, notWant []string, descWant string) {
		t.Helper()
		e.pd.ResetRequests()
		bb, err := e.mm.Bindings(e.ctx, u, e.channel.Id, e.team.Id)
		if err != nil {
			t.Fatalf("%s: bindings: %v", name, err)
		}
		got, desc := commandNames(t, bb)
		for _, w := range want {
			if !contains(got, w) {
				t.Errorf("%s: commands %v lack %q", name, got, w)
			}
		}
		for _, n := range notWant {
			if contains(got, n) {
				t.Errorf("%s: commands %v must not offer %q", name, got, n)
			}
		}
		if descWant != "" && !strings.Contains(desc, descWant) {
			t.Errorf("%s: description %q, want it to say %q", name, desc, descWant)
		}
		if n := len(e.pd.Requests()); n != 0 {
			t.Errorf("%s: bindings made %d PagerDuty requests", name, n)
		}
	}
	pdCommands := []string{"oncall", "incidents", "trigger", "disconnect"}
	check("unconfigured admin", e.admin, []string{"configure", "help", "status"}, append([]string{"connect"}, pdCommands...), "")
	check("unconfigured user", e.user, []string{"help", "status"}, append([]string{"connect", "configure"}, pdCommands...), "a system admin must run /pagerduty configure")
	e.configure()
	check("configured user", e.user, []string{"connect", "help", "status"}, append([]string{"configure"}, pdCommands...), "")
	check("configured admin", e.admin, []string{"configure", "connect", "help", "status"}, pdCommands, "")
	e.connect(e.user, e.seed.Responder)
	check("connected user", e.user, append([]string{"help", "status"}, pdCommands...), []string{"connect", "configure"}, "")

	// The channel header opens the menu and the post menu has an entry.
	bb, _ := e.mm.Bindings(e.ctx, e.user, e.channel.Id, e.team.Id)
	var header, post int
	for _, b := range bb {
		switch b.Location {
		case apps.LocationChannelHeader:
			header = len(b.Bindings)
		case apps.LocationPostMenu:
			post = len(b.Bindings)
		}
	}
	if header == 0 || post == 0 {
		t.Fatalf("channel header bindings %d, post menu bindings %d; want both", header, post)
	}
	menu := e.call(e.user, call(pathMenu, expandUser), nil)
	if menu.Type != apps.CallResponseTypeForm || len(menu.Form.Fields) != 1 {
		t.Fatalf("menu = %s", respText(menu))
	}
	var values []string
	for _, o := range menu.Form.Fields[0].SelectStaticOptions {
		values = append(values, o.Value)
	}
	for _, w := range []string{"oncall", "incidents", "trigger", "status"} {
		if !contains(values, w) {
			t.Errorf("menu options for a connected user %v lack %q", values, w)
		}
	}
	if contains(values, "configure") || contains(values, "connect") {
		t.Errorf("menu options for a connected plain user %v offer configure or connect", values)
	}
	// A choice the user may not take is refused, whatever the modal sent.
	resp := e.call(e.user, call(pathMenuSubmit, expandUser), map[string]any{"action": map[string]any{"label": "x", "value": "configure"}})
	if resp.Type != apps.CallResponseTypeError {
		t.Fatalf("menu submit of a hidden action: %s", respText(resp))
	}
}

func TestConfigure(t *testing.T) {
	e := newEnv(t)
	submit := call(pathConfigureSubmit, expandUser)

	t.Run("plain user is refused", func(t *testing.T) {
		for _, p := range []string{pathConfigure, pathConfigureSubmit} {
			resp := e.call(e.user, call(p, expandUser), e.configureValues())
			if resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, "Only system admins") {
				t.Fatalf("%s as user: %s", p, respText(resp))
			}
		}
	})

	t.Run("form shows the redirect URL and no secret", func(t *testing.T) {
		resp := e.call(e.admin, call(pathConfigure, expandUser), nil)
		if resp.Type != apps.CallResponseTypeForm {
			t.Fatalf("configure = %s", respText(resp))
		}
		mustContain(t, resp.Form.Header, e.mm.URL()+"/plugins/com.mattermost.apps/apps/pagerduty/oauth2/remote/complete")
	})

	bad := []struct {
		name   string
		change map[string]any
		field  string
		want   string
	}{
		{"unknown region", map[string]any{settings.FieldRegion: "moon"}, settings.FieldRegion, `"us", "eu" or "custom"`},
		{"custom host not a URL", map[string]any{settings.FieldAPIHost: "api.pagerduty"}, settings.FieldAPIHost, "absolute URL"},
		{"plain http off loopback", map[string]any{settings.FieldIdentityHost: "http://identity.example.com"}, settings.FieldIdentityHost, "https"},
		{"missing client id", map[string]any{settings.FieldClientID: ""}, settings.FieldClientID, "required"},
		{"bad scope", map[string]any{settings.FieldScopes: "incidents.write; rm"}, settings.FieldScopes, "not a PagerDuty scope"},
		{"unknown credential", map[string]any{settings.FieldCredentialKind: "password"}, settings.FieldCredentialKind, "api_key"},
		{"short api key", map[string]any{settings.FieldAPIKey: "short"}, settings.FieldAPIKey, "REST API key"},
		{"subdomain for client credentials", map[string]any{settings.FieldCredentialKind: "client_credentials", settings.FieldSubdomain: "Not A Subdomain"}, settings.FieldSubdomain, "subdomain"},
		// Values valid in form but refused by PagerDuty: the field PagerDuty refused is named.
		{"wrong client secret", map[string]any{settings.FieldClientSecret: "wrong-secret-value"}, settings.FieldClientSecret, "invalid_client"},
		{"api key PagerDuty does not know", map[string]any{settings.FieldAPIKey: "u+UNKNOWNKEY000000000"}, settings.FieldAPIKey, "401"},
		{"wrong subdomain", map[string]any{settings.FieldCredentialKind: "client_credentials", settings.FieldSubdomain: "other-account"}, settings.FieldSubdomain, "other-account"},
		{"unreachable host", map[string]any{settings.FieldAPIHost: "http://127.0.0.1:1", settings.FieldIdentityHost: "http://127.0.0.1:1"}, settings.FieldIdentityHost, "could not reach"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			v := e.configureValues()
			for k, val := range tt.change {
				v[k] = val
			}
			resp := e.call(e.admin, submit, v)
			if resp.Type != apps.CallResponseTypeError {
				t.Fatalf("want an error, got %s", respText(resp))
			}
			errs, _ := resp.Data.(map[string]any)["errors"].(map[string]any)
			msg, _ := errs[tt.field].(string)
			if !strings.Contains(msg, tt.want) {
				t.Fatalf("field %s error %q, want it to contain %q (all: %v)", tt.field, msg, tt.want, errs)
			}
			if e.mm.OAuth2App().ClientID != "" {
				t.Fatal("a refused configuration was stored in the framework")
			}
			b, _ := json.Marshal(resp)
			mustNotContain(t, string(b), testClientSecret, testAPIKey)
		})
	}

	t.Run("valid configuration is saved", func(t *testing.T) {
		resp := e.call(e.admin, submit, e.configureValues())
		if resp.Type != apps.CallResponseTypeOK || !resp.RefreshBindings {
			t.Fatalf("configure = %s", respText(resp))
		}
		mustNotContain(t, resp.Text, testClientSecret, testAPIKey)
		if got := e.mm.OAuth2App(); got.ClientID != testClientID || got.ClientSecret != testClientSecret {
			t.Fatalf("framework OAuth2 app = %+v", got.ClientID)
		}
		form := e.call(e.admin, call(pathConfigure, expandUser), nil)
		b, _ := json.Marshal(form)
		mustNotContain(t, string(b), testClientSecret, testAPIKey)
		mustContain(t, string(b), "A client secret is saved", "A REST API key is saved")
	})

	t.Run("resubmitting without secrets keeps them", func(t *testing.T) {
		v := e.configureValues()
		delete(v, settings.FieldClientSecret)
		delete(v, settings.FieldAPIKey)
		if resp := e.call(e.admin, submit, v); resp.Type != apps.CallResponseTypeOK {
			t.Fatalf("configure = %s", respText(resp))
		}
		if e.mm.OAuth2App().ClientSecret != testClientSecret {
			t.Fatal("the stored secret was lost")
		}
	})

	t.Run("status shows state without secrets", func(t *testing.T) {
		for _, u := range []*model.User{e.admin, e.user} {
			resp := e.call(u, call(pathStatus, expandUser), nil)
			mustContain(t, resp.Text, "configured for region **custom**")
			mustNotContain(t, resp.Text, testClientSecret, testAPIKey)
		}
	})
}

func TestConnectRefreshAndRevoke(t *testing.T) {
	e := newEnv(t)
	e.configure()

	// Nobody may reuse a connect link, or complete another user's.
	authURL, err := e.mm.OAuth2Connect(e.ctx, e.user)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, authURL, e.pd.URL()+"/oauth/authorize", "code_challenge_method=S256", "code_challenge=")
	e.pd.SetAuthorizingUser(e.seed.Responder)
	q := e.authorize(authURL)
	if err := e.mm.OAuth2Complete(e.ctx, e.user, q); err != nil {
		t.Fatalf("complete: %v", err)
	}
	stored := e.storedToken(e.user)
	mustContain(t, stored, e.seed.Responder, "rita@example.com", "America/Los_Angeles")
	if err := e.mm.OAuth2Complete(e.ctx, e.user, q); err == nil {
		t.Fatal("replaying the same code and state must fail")
	}

	status := e.call(e.user, call(pathStatus, expandUser), nil)
	mustContain(t, status.Text, "connected as [Rita Responder]", e.seed.Responder)
	mustNotContain(t, status.Text, "access_token", "refresh_token")
	dms := e.mm.DMs(e.user.Id)
	if len(dms) == 0 || !strings.Contains(dms[len(dms)-1].Message, "connected to PagerDuty as") {
		t.Fatalf("no connect DM: %v", dms)
	}

	// An expired access token is refreshed once, and the rotated refresh token is stored.
	e.pd.ExpireAccessTokens()
	e.clock.Advance(2 * time.Hour)
	before := e.storedToken(e.user)
	resp := e.call(e.user, call(pathOnCall, expandUser), nil)
	if resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("oncall after expiry: %s", respText(resp))
	}
	after := e.storedToken(e.user)
	if after == before {
		t.Fatal("the refreshed token was not stored")
	}
	if n := e.pd.CountRequests(http.MethodPost, "/oauth/token"); n == 0 {
		t.Fatal("no refresh request reached PagerDuty")
	}

	// A revoked grant becomes a reconnect prompt, and the dead token is forgotten.
	e.pd.RevokeUserGrants(e.seed.Responder)
	e.pd.ExpireAccessTokens()
	e.clock.Advance(2 * time.Hour)
	resp = e.call(e.user, call(pathOnCall, expandUser), nil)
	if resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, "/pagerduty connect again") {
		t.Fatalf("oncall after revoke: %s", respText(resp))
	}
	bb, _ := e.mm.Bindings(e.ctx, e.user, e.channel.Id, e.team.Id)
	if names, _ := commandNames(t, bb); !contains(names, "connect") {
		t.Fatalf("after revoke bindings = %v, want connect", names)
	}

	// Reconnect, then disconnect removes the token.
	e.connect(e.user, e.seed.Responder)
	resp = e.call(e.user, call(pathDisconnect, expandUser), nil)
	if resp.Type != apps.CallResponseTypeOK || !strings.Contains(resp.Text, "Disconnected") {
		t.Fatalf("disconnect: %s", respText(resp))
	}
	mustNotContain(t, e.storedToken(e.user), "access_token\":\"")
}

func TestConnectErrors(t *testing.T) {
	e := newEnv(t)
	t.Run("not configured", func(t *testing.T) {
		resp := e.call(e.user, call(pathConnect, expandUser), nil)
		mustContain(t, resp.Text, "not configured")
	})
	e.configure()
	t.Run("anonymous completion is refused before any exchange", func(t *testing.T) {
		for _, p := range []string{pathOAuth2Connect, pathOAuth2Complete} {
			b, _ := json.Marshal(apps.CallRequest{Call: apps.Call{Path: p}, Values: map[string]any{"code": "c", "state": "s."},
				Context: apps.Context{ExpandedContext: apps.ExpandedContext{MattermostSiteURL: e.mm.URL(), BotAccessToken: e.mm.Token(e.mm.Bot().Id)}}})
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+p, bytes.NewReader(b))
			req.Header.Set(apps.OutgoingAuthHeader, "Bearer "+signed(t, testJWTSecret, "", time.Now().Add(time.Minute)))
			e.pd.ResetRequests()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var cresp apps.CallResponse
			_ = json.NewDecoder(resp.Body).Decode(&cresp)
			resp.Body.Close()
			if cresp.Type != apps.CallResponseTypeError || !strings.Contains(cresp.Text, "Sign in to Mattermost first") {
				t.Fatalf("%s anonymous: %s", p, respText(&cresp))
			}
			if n := len(e.pd.Requests()); n != 0 {
				t.Fatalf("%s anonymous reached PagerDuty (%d requests)", p, n)
			}
		}
	})
	tests := []struct {
		name  string
		query func(state string) url.Values
		want  string
	}{
		{"provider error", func(s string) url.Values {
			return url.Values{"state": {s}, "error": {"access_denied"}, "error_description": {"User said **no** @channel"}}
		}, "did not authorize"},
		{"no code", func(s string) url.Values { return url.Values{"state": {s}} }, "no authorization code"},
		{"code PagerDuty never issued", func(s string) url.Values { return url.Values{"state": {s}, "code": {"forged"}} }, "did not accept the authorization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			authURL, err := e.mm.OAuth2Connect(e.ctx, e.user)
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(authURL)
			err = e.mm.OAuth2Complete(e.ctx, e.user, tt.query(u.Query().Get("state")))
			if err == nil {
				t.Fatal("completion succeeded, want an error")
			}
			mustContain(t, err.Error(), tt.want)
			mustNotContain(t, err.Error(), "@channel", "**no**")
			if strings.Contains(e.storedToken(e.user), "access_token") {
				t.Fatal("a failed connect stored a token")
			}
		})
	}
}

func TestOnCall(t *testing.T) {
	e := newEnv(t)
	e.configure()
	e.connect(e.user, e.seed.Responder)
	oncall := call(pathOnCall, expandUser)

	resp := e.call(e.user, oncall, nil)
	if resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("oncall: %s", respText(resp))
	}
	// The seeded platform schedule has Rita on call at 09:30 UTC on day 0 of the rotation or
	// someone else; whoever it is, both policies and their levels are listed, Rita's rows marked.
	mustContain(t, resp.Text, "#### On call now", "Level 1:", "Level 2:", "Platform", "Payments")
	for _, who := range e.pd.OnCallNow(e.seed.PlatformEP, 1, e.clock.Now()) {
		u, _ := e.pd.User(who)
		mustContain(t, resp.Text, u.Name)
	}
	if strings.Contains(resp.Text, "Rita Responder") != strings.Contains(resp.Text, "(you)") {
		t.Errorf("the acting user's entries must be marked exactly when present:\n%s", resp.Text)
	}

	t.Run("mine", func(t *testing.T) {
		resp := e.call(e.user, oncall, map[string]any{fieldScope: map[string]any{"label": "mine", "value": "mine"}})
		if resp.Type != apps.CallResponseTypeOK {
			t.Fatalf("oncall mine: %s", respText(resp))
		}
		mustContain(t, resp.Text, "Your on-call shifts now")
		for _, name := range []string{"Sam Second", "Adam Admin", "Olivia Owner"} {
			mustNotContain(t, resp.Text, name)
		}
	})

	t.Run("bad scope", func(t *testing.T) {
		e.pd.ResetRequests()
		resp := e.call(e.user, oncall, map[string]any{fieldScope: "everyone"})
		if resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, "scope: use `mine`") {
			t.Fatalf("bad scope: %s", respText(resp))
		}
		if n := len(e.pd.Requests()); n != 0 {
			t.Fatalf("invalid input reached PagerDuty (%d requests)", n)
		}
	})

	t.Run("429 is retried", func(t *testing.T) {
		for _, headers := range []bool{true, false} {
			e.pd.InjectFault(pdfake.Fault{Method: http.MethodGet, PathPrefix: "/oncalls", Status: http.StatusTooManyRequests, RateLimitHeaders: headers, Times: 2})
			resp := e.call(e.user, oncall, nil)
			if resp.Type != apps.CallResponseTypeOK {
				t.Fatalf("oncall with 429 (headers %v): %s", headers, respText(resp))
			}
		}
	})

	t.Run("persistent 5xx is a plain sentence", func(t *testing.T) {
		e.pd.InjectFault(pdfake.Fault{Method: http.MethodGet, PathPrefix: "/oncalls", Status: http.StatusBadGateway, Times: 10})
		defer e.pd.ClearFaults()
		resp := e.call(e.user, oncall, nil)
		if resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, "Could not complete reading who is on call") {
			t.Fatalf("oncall with 502: %s", respText(resp))
		}
	})

	t.Run("403 is a plain sentence", func(t *testing.T) {
		e.pd.InjectFault(pdfake.Fault{Method: http.MethodGet, PathPrefix: "/oncalls", Status: http.StatusForbidden, Times: 1})
		resp := e.call(e.user, oncall, nil)
		mustContain(t, resp.Text, "Your PagerDuty role does not allow reading who is on call")
	})

	t.Run("every page is read", func(t *testing.T) {
		// 120 extra levels of directly assigned users: more than one page of /oncalls.
		var rules []pdfake.EscalationRule
		for i := 0; i < 120; i++ {
			rules = append(rules, pdfake.EscalationRule{Targets: []pdfake.Target{pdfake.UserTarget(e.seed.Secondary)}})
		}
		e.pd.AddEscalationPolicy(pdfake.EscalationPolicy{Name: "Huge", Rules: rules})
		e.pd.ResetRequests()
		resp := e.call(e.user, oncall, nil)
		mustContain(t, resp.Text, "Level 120:")
		if n := e.pd.CountRequests(http.MethodGet, "/oncalls"); n < 2 {
			t.Fatalf("/oncalls requests = %d, want every page", n)
		}
	})
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestReconnectingAsAnotherPagerDutyUserMovesTheIndex(t *testing.T) {
	e := newEnv(t)
	e.configure()
	bot := e.mm.Bot().Id
	e.connect(e.user, e.seed.Responder)
	if _, ok := e.mm.KVGet(bot, prefixUserByPD, e.seed.Responder); !ok {
		t.Fatal("connect did not index the PagerDuty user")
	}
	// Connecting again without disconnecting, as another PagerDuty user.
	e.connect(e.user, e.seed.Secondary)
	if _, ok := e.mm.KVGet(bot, prefixUserByPD, e.seed.Responder); ok {
		t.Fatal("the previous PagerDuty user still maps to this Mattermost user: DMs about their shifts would follow")
	}
	raw, ok := e.mm.KVGet(bot, prefixUserByPD, e.seed.Secondary)
	if !ok || !strings.Contains(string(raw), e.user.Id) {
		t.Fatalf("the new PagerDuty user is not indexed to this user: %s", raw)
	}
}

func TestConnectCompletionHidesInternalErrors(t *testing.T) {
	e := newEnv(t)
	e.configure()
	authURL, err := e.mm.OAuth2Connect(e.ctx, e.user)
	if err != nil {
		t.Fatal(err)
	}
	e.pd.SetAuthorizingUser(e.seed.Responder)
	q := e.authorize(authURL)
	e.mm.SetKVFault(func(op mmfake.KVOp) *mmfake.Fault {
		if op.Prefix == "v" && op.Op == "get" {
			return &mmfake.Fault{Status: http.StatusInternalServerError, Body: `{"message":"pq: connection refused at 10.0.0.7"}`}
		}
		return nil
	})
	defer e.mm.SetKVFault(nil)
	err = e.mm.OAuth2Complete(e.ctx, e.user, q)
	if err == nil {
		t.Fatal("completion succeeded while KV failed")
	}
	mustContain(t, err.Error(), "Could not finish connecting to PagerDuty")
	mustNotContain(t, err.Error(), "10.0.0.7", "pq:")
}
