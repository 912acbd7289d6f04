package pdfake

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"
)

type authCode struct {
	clientID    string
	userID      string
	redirectURI string
	challenge   string
	scope       string
	expires     time.Time
	used        bool
}

type accessToken struct {
	clientID string
	userID   string // "" for app (client_credentials) tokens
	scope    string
	expires  time.Time
}

type refreshToken struct {
	clientID string
	userID   string
	scope    string
	expires  time.Time
	used     bool
}

// RegisterOAuthClient adds a Scoped OAuth client the identity endpoints accept.
func (f *Fake) RegisterOAuthClient(id, secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.oauthClients[id] = secret
}

// SetAuthorizingUser chooses who "logs in and approves" at /oauth/authorize ("" = nobody, 400).
func (f *Fake) SetAuthorizingUser(userID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authUser = userID
	f.authDenied = false
}

// DenyAuthorization makes /oauth/authorize redirect with error=access_denied, as when the user
// clicks "Deny".
func (f *Fake) DenyAuthorization() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authDenied = true
}

// RevokeUserGrants revokes every token of a user (as an admin revoking the app would): refresh
// fails with invalid_grant and API calls with their access tokens get 401.
func (f *Fake) RevokeUserGrants(userID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, t := range f.accessTokens {
		if t.userID == userID {
			delete(f.accessTokens, k)
		}
	}
	for k, t := range f.refreshTok {
		if t.userID == userID {
			delete(f.refreshTok, k)
		}
	}
}

// ExpireAccessTokens makes every access token issued so far expired; refresh tokens still work.
func (f *Fake) ExpireAccessTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock()
	for _, t := range f.accessTokens {
		t.expires = now
	}
}

// IssueUserToken mints an access token for a user without the browser dance, for tests that are
// not about OAuth.
func (f *Fake) IssueUserToken(userID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	tok := "pdus+_0XBPWQQ_" + newUUID()
	f.accessTokens[tok] = &accessToken{userID: userID, scope: "write", expires: f.clock().Add(f.cfg.userTTL)}
	return tok
}

// serveIdentity handles /oauth/authorize and /oauth/token.
func (f *Fake) serveIdentity(w http.ResponseWriter, r *http.Request) AuthInfo {
	switch {
	case r.URL.Path == "/oauth/authorize" && r.Method == http.MethodGet:
		return f.authorize(w, r)
	case r.URL.Path == "/oauth/token" && r.Method == http.MethodPost:
		return f.token(w, r)
	}
	http.Error(w, "not found", http.StatusNotFound)
	return AuthInfo{Kind: AuthNone}
}

func authorizePage(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, "<!doctype html><html><body><h1>PagerDuty authorization error</h1><p>%s</p></body></html>\n", html.EscapeString(msg))
}

func (f *Fake) authorize(w http.ResponseWriter, r *http.Request) AuthInfo {
	q := r.URL.Query()
	clientID := q.Get("client_id")
	info := AuthInfo{Kind: AuthClient, Subject: clientID}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.oauthClients[clientID]; !ok {
		authorizePage(w, fmt.Sprintf("Unknown client_id %q.", clientID))
		return info
	}
	redirect := q.Get("redirect_uri")
	ru, err := url.Parse(redirect)
	if redirect == "" || err != nil || ru.Scheme == "" || ru.Host == "" {
		authorizePage(w, fmt.Sprintf("redirect_uri %q is missing or not an absolute URL.", redirect))
		return info
	}
	switch {
	case q.Get("response_type") != "code":
		authorizePage(w, `response_type must be "code".`)
		return info
	case q.Get("code_challenge") == "":
		authorizePage(w, "PKCE is required for Scoped OAuth apps: code_challenge is missing.")
		return info
	case q.Get("code_challenge_method") != "S256":
		authorizePage(w, `code_challenge_method must be "S256".`)
		return info
	}
	back := ru.Query()
	if f.authDenied {
		back.Set("error", "access_denied")
		back.Set("error_description", "The resource owner or authorization server denied the request.")
	} else {
		if f.users[f.authUser] == nil {
			authorizePage(w, "No user is logged in (pdfake: call SetAuthorizingUser).")
			return info
		}
		code := randToken()
		f.codes[code] = &authCode{
			clientID: clientID, userID: f.authUser, redirectURI: redirect,
			challenge: q.Get("code_challenge"), scope: q.Get("scope"), expires: f.clock().Add(f.cfg.codeTTL),
		}
		back.Set("code", code)
	}
	if s := q.Get("state"); s != "" {
		back.Set("state", s)
	}
	ru.RawQuery = back.Encode()
	http.Redirect(w, r, ru.String(), http.StatusFound)
	return info
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func writeToken(w http.ResponseWriter, v map[string]any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *Fake) token(w http.ResponseWriter, r *http.Request) AuthInfo {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "body must be application/x-www-form-urlencoded")
		return AuthInfo{Kind: AuthNone}
	}
	clientID, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if id, s, ok := r.BasicAuth(); ok {
		clientID, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(s)
	}
	info := AuthInfo{Kind: AuthClient, Subject: clientID}
	f.mu.Lock()
	defer f.mu.Unlock()
	want, ok := f.oauthClients[clientID]
	if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(secret)) != 1 {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong client_secret")
		return info
	}
	now := f.clock()
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		code := f.codes[r.PostForm.Get("code")]
		switch {
		case code == nil || code.used:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "authorization code is invalid or already used")
			return info
		case code.clientID != clientID:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "authorization code was issued to another client")
			return info
		case !now.Before(code.expires):
			oauthError(w, http.StatusBadRequest, "invalid_grant", "authorization code expired")
			return info
		case r.PostForm.Get("redirect_uri") != code.redirectURI:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request")
			return info
		}
		verifier := r.PostForm.Get("code_verifier")
		sum := sha256.Sum256([]byte(verifier))
		if verifier == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != code.challenge {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match code_challenge")
			return info
		}
		code.used = true
		writeToken(w, f.issueUser(clientID, code.userID, code.scope, now))
	case "refresh_token":
		rt := f.refreshTok[r.PostForm.Get("refresh_token")]
		switch {
		case rt == nil || rt.used:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "refresh token is invalid, revoked or already used")
			return info
		case rt.clientID != clientID:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "refresh token was issued to another client")
			return info
		case !now.Before(rt.expires):
			oauthError(w, http.StatusBadRequest, "invalid_grant", "refresh token expired")
			return info
		}
		rt.used = true // PagerDuty rotates refresh tokens: each works once
		writeToken(w, f.issueUser(clientID, rt.userID, rt.scope, now))
	case "client_credentials":
		scope := r.PostForm.Get("scope")
		var account string
		for _, s := range strings.Fields(scope) {
			if strings.HasPrefix(s, "as_account-") {
				account = strings.TrimPrefix(s, "as_account-")
			}
		}
		wantAccount := f.cfg.region + "." + f.cfg.subdomain
		if account != wantAccount {
			oauthError(w, http.StatusBadRequest, "invalid_scope", fmt.Sprintf("scope must include as_account-%s (got %q)", wantAccount, scope))
			return info
		}
		tok := "pdus+_0XBPWQQ_" + newUUID()
		f.accessTokens[tok] = &accessToken{clientID: clientID, scope: scope, expires: now.Add(f.cfg.appTTL)}
		writeToken(w, map[string]any{
			"access_token": tok, "token_type": "bearer", "scope": scope, "expires_in": int(f.cfg.appTTL / time.Second),
		})
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("grant_type %q is not supported", gt))
	}
	return info
}

func (f *Fake) issueUser(clientID, userID, scope string, now time.Time) map[string]any {
	at := "pdus+_0XBPWQQ_" + newUUID()
	rt := "pdus+_1XBPWQQ_" + newUUID()
	f.accessTokens[at] = &accessToken{clientID: clientID, userID: userID, scope: scope, expires: now.Add(f.cfg.userTTL)}
	f.refreshTok[rt] = &refreshToken{clientID: clientID, userID: userID, scope: scope, expires: now.Add(f.cfg.refreshTTL)}
	return map[string]any{
		"access_token":  at,
		"refresh_token": rt,
		"token_type":    "bearer",
		"scope":         scope,
		"expires_in":    int(f.cfg.userTTL / time.Second),
	}
}
