package pdfake

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

const redirectURI = "https://mm.example.com/plugins/com.mattermost.apps/apps/pagerduty/oauth2/remote/complete"

func oauthFake(t *testing.T) (*Fake, Seeded, *fixedClock, *oauth2.Config) {
	f, s, clk, _ := newSeeded(t)
	f.RegisterOAuthClient("client-1", "secret-1")
	f.SetAuthorizingUser(s.Responder)
	cfg := &oauth2.Config{
		ClientID: "client-1", ClientSecret: "secret-1", RedirectURL: redirectURI,
		Scopes:   []string{"incidents.write", "users.read"},
		Endpoint: oauth2.Endpoint{AuthURL: f.URL() + "/oauth/authorize", TokenURL: f.URL() + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
	}
	return f, s, clk, cfg
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize performs leg 1 and returns the redirect's query.
func authorize(t *testing.T, authURL string) (int, url.Values, string) {
	t.Helper()
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusFound {
		return resp.StatusCode, nil, string(body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirectURI {
		t.Fatalf("redirected to %s", got)
	}
	return resp.StatusCode, loc.Query(), ""
}

func postToken(t *testing.T, f *Fake, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(f.URL()+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func meAs(t *testing.T, f *Fake, token string) reply {
	t.Helper()
	return (&apiClient{t: t, base: f.URL(), auth: "Bearer " + token}).do(http.MethodGet, "/users/me", nil)
}

func TestOAuthAuthorizationCodeWithPKCE(t *testing.T) {
	f, s, clk, cfg := oauthFake(t)
	verifier := oauth2.GenerateVerifier()
	status, q, page := authorize(t, cfg.AuthCodeURL("st-123", oauth2.S256ChallengeOption(verifier)))
	if status != http.StatusFound || q.Get("state") != "st-123" || q.Get("code") == "" {
		t.Fatalf("authorize: %d %v %s", status, q, page)
	}
	code := q.Get("code")
	ctx := context.Background()

	// Wrong verifier, then right one; the code is single use.
	if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption("not-the-verifier")); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("wrong verifier: err = %v", err)
	}
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.RefreshToken == "" || tok.Expiry.IsZero() {
		t.Fatalf("token lacks refresh/expiry: %+v", tok)
	}
	if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("code reuse: err = %v", err)
	}
	if me := meAs(t, f, tok.AccessToken).mustStatus(t, http.StatusOK); str(me.body, "user", "id") != s.Responder {
		t.Fatalf("/users/me = %s", me.raw)
	}

	// Refresh rotates: the new refresh token works, the old one is refused.
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {"client-1"}, "client_secret": {"secret-1"}, "refresh_token": {tok.RefreshToken}}
	st, r1 := postToken(t, f, form)
	if st != http.StatusOK || r1["refresh_token"] == "" || r1["refresh_token"] == tok.RefreshToken {
		t.Fatalf("refresh: %d %v", st, r1)
	}
	if st, r := postToken(t, f, form); st != http.StatusBadRequest || r["error"] != "invalid_grant" {
		t.Fatalf("old refresh token reused: %d %v", st, r)
	}
	meAs(t, f, r1["access_token"].(string)).mustStatus(t, http.StatusOK)

	// Expiry on the fake's clock; ExpireAccessTokens; refresh still works after both.
	clk.advance(24*time.Hour + time.Second)
	meAs(t, f, r1["access_token"].(string)).mustStatus(t, http.StatusUnauthorized)
	form.Set("refresh_token", r1["refresh_token"].(string))
	st, r2 := postToken(t, f, form)
	if st != http.StatusOK {
		t.Fatalf("refresh after expiry: %d %v", st, r2)
	}
	f.ExpireAccessTokens()
	meAs(t, f, r2["access_token"].(string)).mustStatus(t, http.StatusUnauthorized)

	// Revocation: refresh fails with invalid_grant.
	form.Set("refresh_token", r2["refresh_token"].(string))
	f.RevokeUserGrants(s.Responder)
	if st, r := postToken(t, f, form); st != http.StatusBadRequest || r["error"] != "invalid_grant" {
		t.Fatalf("refresh after revoke: %d %v", st, r)
	}

	// The log names the client, never a token.
	for _, req := range f.Requests() {
		for _, secret := range []string{tok.AccessToken, tok.RefreshToken} {
			if strings.Contains(req.Auth.Subject, secret) || strings.Contains(string(req.Body), url.QueryEscape(secret)) || strings.Contains(string(req.Body), "secret-1") {
				t.Fatalf("request log leaks a credential: %+v %s", req.Auth, req.Body)
			}
		}
	}
	if n := f.CountRequests(http.MethodPost, "/oauth/token"); n != 7 {
		t.Errorf("CountRequests(POST /oauth/token) = %d, want 7", n)
	}
}

func TestOAuthErrors(t *testing.T) {
	f, s, clk, cfg := oauthFake(t)
	verifier := oauth2.GenerateVerifier()
	good := cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier))

	t.Run("authorize refuses", func(t *testing.T) {
		for name, u := range map[string]string{
			"unknown client": strings.Replace(good, "client_id=client-1", "client_id=other", 1),
			"no PKCE":        cfg.AuthCodeURL("st"),
			"plain PKCE":     strings.Replace(good, "code_challenge_method=S256", "code_challenge_method=plain", 1),
		} {
			st, _, page := authorize(t, u)
			if st != http.StatusBadRequest || !strings.Contains(page, "<p>") {
				t.Errorf("%s: %d %q", name, st, page)
			}
		}
	})
	t.Run("denied", func(t *testing.T) {
		f.DenyAuthorization()
		defer f.SetAuthorizingUser(s.Responder)
		_, q, _ := authorize(t, good)
		if q.Get("error") != "access_denied" || q.Get("code") != "" {
			t.Errorf("denied redirect query = %v", q)
		}
	})
	exchange := func(mod func(url.Values)) (int, map[string]any) {
		_, q, _ := authorize(t, good)
		form := url.Values{"grant_type": {"authorization_code"}, "client_id": {"client-1"}, "client_secret": {"secret-1"},
			"redirect_uri": {redirectURI}, "code": {q.Get("code")}, "code_verifier": {verifier}}
		mod(form)
		return postToken(t, f, form)
	}
	for _, tt := range []struct {
		name   string
		mod    func(url.Values)
		status int
		err    string
	}{
		{"all good", func(url.Values) {}, 200, ""},
		{"wrong secret", func(v url.Values) { v.Set("client_secret", "nope") }, 401, "invalid_client"},
		{"missing secret", func(v url.Values) { v.Del("client_secret") }, 401, "invalid_client"},
		{"other redirect_uri", func(v url.Values) { v.Set("redirect_uri", "https://evil.example.com/cb") }, 400, "invalid_grant"},
		{"missing verifier", func(v url.Values) { v.Del("code_verifier") }, 400, "invalid_grant"},
		{"expired code", func(url.Values) { clk.advance(31 * time.Second) }, 400, "invalid_grant"},
		{"unknown grant", func(v url.Values) { v.Set("grant_type", "password") }, 400, "unsupported_grant_type"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, r := exchange(tt.mod)
			if st != tt.status || (tt.err != "" && r["error"] != tt.err) {
				t.Errorf("got %d %v, want %d %s", st, r, tt.status, tt.err)
			}
		})
	}
}

func TestOAuthClientCredentials(t *testing.T) {
	f, s, clk, _ := oauthFake(t)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"client-1"}, "client_secret": {"secret-1"},
		"scope": {"as_account-us.fake incidents.read incidents.write"}}
	st, r := postToken(t, f, form)
	if st != http.StatusOK || r["expires_in"] != 86400.0 || r["refresh_token"] != nil || r["token_type"] != "bearer" {
		t.Fatalf("client_credentials: %d %v", st, r)
	}
	app := &apiClient{t: t, base: f.URL(), auth: "Bearer " + r["access_token"].(string)}
	app.do(http.MethodGet, "/incidents", nil).mustStatus(t, http.StatusOK)
	app.do(http.MethodGet, "/users/me", nil).mustStatus(t, http.StatusBadRequest) // an app has no user
	created := app.withFrom("sam@example.com").do(http.MethodPost, "/incidents", map[string]any{"incident": map[string]any{
		"type": "incident", "title": "from the app", "service": map[string]any{"id": s.APIService, "type": "service_reference"},
	}}).mustStatus(t, http.StatusCreated)
	if by := str(created.body, "incident", "last_status_change_by", "id"); by != s.Secondary {
		t.Errorf("app write attributed to %q, want the From user", by)
	}
	if reqs := f.Requests(); reqs[len(reqs)-1].Auth != (AuthInfo{Kind: AuthAppToken, Subject: "client-1"}) {
		t.Errorf("logged auth = %+v", reqs[len(reqs)-1].Auth)
	}
	clk.advance(24 * time.Hour)
	app.do(http.MethodGet, "/incidents", nil).mustStatus(t, http.StatusUnauthorized)

	for name, scope := range map[string]string{
		"other subdomain": "as_account-us.acme incidents.read",
		"other region":    "as_account-eu.fake",
		"no account":      "incidents.read",
	} {
		form.Set("scope", scope)
		if st, r := postToken(t, f, form); st != http.StatusBadRequest || r["error"] != "invalid_scope" {
			t.Errorf("%s: %d %v", name, st, r)
		}
	}
}

// TestOAuthWithXOAuth2TokenSource checks the path the app uses: x/oauth2 refreshing on expiry.
func TestOAuthWithXOAuth2TokenSource(t *testing.T) {
	f, s, clk, cfg := oauthFake(t)
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader // client secret via HTTP Basic, also accepted
	verifier := oauth2.GenerateVerifier()
	_, q, _ := authorize(t, cfg.AuthCodeURL("x", oauth2.S256ChallengeOption(verifier)))
	tok, err := cfg.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	// x/oauth2 compares expiry with the real clock; make the token look expired to it.
	tok.Expiry = time.Now().Add(-time.Minute)
	clk.advance(25 * time.Hour)
	hc := oauth2.NewClient(context.Background(), cfg.TokenSource(context.Background(), tok))
	req, _ := http.NewRequest(http.MethodGet, f.URL()+"/users/me", nil)
	req.Header.Set("Accept", "application/vnd.pagerduty+json;version=2")
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != 200 || str(m, "user", "id") != s.Responder {
		t.Fatalf("after refresh: %d %v", resp.StatusCode, m)
	}
}
