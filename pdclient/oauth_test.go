package pdclient

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

func oauthCtx(sl *sleeps) context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, NewHTTPClient(Config{Sleep: sl.sleep}))
}

func form(t *testing.T, s seen) url.Values {
	t.Helper()
	v, err := url.ParseQuery(string(s.Body))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAuthCodeURLAndExchangeWithPKCE(t *testing.T) {
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 200, map[string]any{"access_token": "AT1", "refresh_token": "RT1", "token_type": "bearer", "expires_in": 86400, "id_token": "jwt"})
	})
	cfg := OAuthConfig(rec.hosts(), "cid", "csecret", "https://mm.example.com/oauth2/complete", []string{"incidents.write", "users.read"})
	authURL, verifier := AuthCodeURL(cfg, "st8")
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	if u.Path != "/oauth/authorize" || q.Get("client_id") != "cid" || q.Get("response_type") != "code" || q.Get("state") != "st8" ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") != challenge || q.Get("scope") != "incidents.write users.read" ||
		q.Get("redirect_uri") != "https://mm.example.com/oauth2/complete" {
		t.Fatalf("auth URL %s", authURL)
	}
	if q.Has("client_secret") {
		t.Fatal("client secret in the browser URL")
	}

	sl := &sleeps{}
	tok, err := Exchange(oauthCtx(sl), cfg, "CODE", verifier)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "AT1" || tok.RefreshToken != "RT1" || tok.Extra("id_token") != "jwt" || tok.Expiry.IsZero() {
		t.Errorf("token %+v", tok)
	}
	reqs := rec.requests()
	if len(reqs) != 1 || reqs[0].Path != "/oauth/token" || reqs[0].Method != "POST" {
		t.Fatalf("requests %+v", reqs)
	}
	f := form(t, reqs[0])
	if f.Get("grant_type") != "authorization_code" || f.Get("code") != "CODE" || f.Get("code_verifier") != verifier ||
		f.Get("client_id") != "cid" || f.Get("client_secret") != "csecret" || f.Get("redirect_uri") != "https://mm.example.com/oauth2/complete" {
		t.Errorf("token form %v", f)
	}
	if reqs[0].Header.Get("Authorization") != "" {
		t.Error("client secret sent as basic auth; PagerDuty wants it in the form")
	}
}

func TestRefresh(t *testing.T) {
	t.Run("rotation", func(t *testing.T) {
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 { // rate limited once: the token call goes through the retrier
				w.Header().Set("ratelimit-reset", "1")
				writeJSON(w, 429, map[string]any{"error": "rate_limited"})
				return
			}
			writeJSON(w, 200, map[string]any{"access_token": "AT2", "refresh_token": "RT2", "token_type": "bearer", "expires_in": 86400})
		})
		cfg := OAuthConfig(rec.hosts(), "cid", "csecret", "https://r", nil)
		sl := &sleeps{}
		tok, err := Refresh(oauthCtx(sl), cfg, "RT1")
		if err != nil {
			t.Fatal(err)
		}
		if tok.AccessToken != "AT2" || tok.RefreshToken != "RT2" {
			t.Errorf("token %+v, want the rotated refresh token RT2", tok)
		}
		reqs := rec.requests()
		if len(reqs) != 2 || len(sl.waits()) != 1 {
			t.Fatalf("%d requests, waits %v", len(reqs), sl.waits())
		}
		f := form(t, reqs[1])
		if f.Get("grant_type") != "refresh_token" || f.Get("refresh_token") != "RT1" || f.Get("client_secret") != "csecret" || f.Get("client_id") != "cid" {
			t.Errorf("refresh form %v", f)
		}
	})
	t.Run("invalid_grant is ErrGrantRevoked", func(t *testing.T) {
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
			writeJSON(w, 400, map[string]any{"error": "invalid_grant", "error_description": "The refresh token is invalid."})
		})
		cfg := OAuthConfig(rec.hosts(), "cid", "csecret", "https://r", nil)
		_, err := Refresh(oauthCtx(&sleeps{}), cfg, "RT-SECRET-1")
		if !errors.Is(err, ErrGrantRevoked) {
			t.Fatalf("err = %v, want ErrGrantRevoked", err)
		}
		var oe *OAuthError
		if !errors.As(err, &oe) || oe.Code != "invalid_grant" || oe.StatusCode != 400 {
			t.Errorf("err %v", err)
		}
		if strings.Contains(err.Error(), "RT-SECRET-1") || strings.Contains(err.Error(), "csecret") {
			t.Errorf("error leaks a secret: %v", err)
		}
		if len(rec.requests()) != 1 {
			t.Errorf("a 400 was retried")
		}
	})
	t.Run("other errors are not ErrGrantRevoked", func(t *testing.T) {
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
			writeJSON(w, 401, map[string]any{"error": "invalid_client"})
		})
		cfg := OAuthConfig(rec.hosts(), "cid", "bad", "https://r", nil)
		_, err := Refresh(oauthCtx(&sleeps{}), cfg, "RT1")
		var oe *OAuthError
		if errors.Is(err, ErrGrantRevoked) || !errors.As(err, &oe) || oe.Code != "invalid_client" {
			t.Errorf("err %v", err)
		}
	})
}

func TestClientCredentialsToken(t *testing.T) {
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 200, map[string]any{"access_token": "APP", "token_type": "bearer", "expires_in": 86400, "scope": "as_account-eu.acme incidents.read"})
	})
	tok, err := ClientCredentialsToken(oauthCtx(&sleeps{}), rec.hosts(), "cid", "csecret", "EU", "acme", "incidents.read")
	if err != nil || tok.AccessToken != "APP" || tok.Expiry.IsZero() {
		t.Fatalf("tok %+v err %v", tok, err)
	}
	f := form(t, rec.requests()[0])
	if f.Get("grant_type") != "client_credentials" || f.Get("scope") != "as_account-eu.acme incidents.read" ||
		f.Get("client_id") != "cid" || f.Get("client_secret") != "csecret" || rec.requests()[0].Path != "/oauth/token" {
		t.Errorf("form %v", f)
	}
	for _, bad := range [][2]string{{"apac", "acme"}, {"us", ""}, {"us", "acme.pagerduty.com"}} {
		if _, err := ClientCredentialsToken(oauthCtx(&sleeps{}), rec.hosts(), "cid", "cs", bad[0], bad[1]); err == nil {
			t.Errorf("region %q subdomain %q accepted", bad[0], bad[1])
		}
	}
	if n := len(rec.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}
