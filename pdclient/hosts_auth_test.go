package pdclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestHostsValidate(t *testing.T) {
	cases := []struct {
		name   string
		h      Hosts
		field  string // "" when valid
		reason string
	}{
		{"US", US(), "", ""},
		{"EU", EU(), "", ""},
		{"loopback http with path", Hosts{"http://127.0.0.1:8080/pd/", "http://127.0.0.1:1", "http://127.0.0.1:2"}, "", ""},
		{"empty API", Hosts{"", US().Identity, US().Events}, "API", "is empty"},
		{"no scheme", Hosts{US().API, "identity.pagerduty.com", US().Events}, "Identity", "has scheme"},
		{"ftp", Hosts{US().API, US().Identity, "ftp://events.pagerduty.com"}, "Events", `has scheme "ftp"`},
		{"query", Hosts{"https://api.pagerduty.com?token=x", US().Identity, US().Events}, "API", "has a query"},
		{"fragment", Hosts{"https://api.pagerduty.com#x", US().Identity, US().Events}, "API", "has a fragment"},
		{"credentials", Hosts{"https://u:p@api.pagerduty.com", US().Identity, US().Events}, "API", "credentials"},
		{"no host", Hosts{"https:///x", US().Identity, US().Events}, "API", "no host"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.h.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid hosts refused: %v", err)
				}
				return
			}
			var he *HostError
			if !errors.As(err, &he) || he.Field != tc.field || !strings.Contains(he.Reason, tc.reason) {
				t.Fatalf("err %v, want field %s reason containing %q", err, tc.field, tc.reason)
			}
			if strings.Contains(err.Error(), "token=x") || strings.Contains(err.Error(), "u:p") {
				t.Errorf("error repeats the URL: %v", err)
			}
		})
	}
	if EU().API != "https://api.eu.pagerduty.com" || EU().Identity != "https://identity.eu.pagerduty.com" || EU().Events != "https://events.eu.pagerduty.com" {
		t.Errorf("EU preset %+v", EU())
	}
}

func TestAuthHeaders(t *testing.T) {
	cases := []struct {
		kind AuthKind
		want string
	}{
		{AuthAPIKey, "Token token=" + testToken},
		// The OAuth case also proves the custom API endpoint is kept, which
		// go-pagerduty's NewOAuthClient would drop.
		{AuthOAuth, "Bearer " + testToken},
	}
	for _, tc := range cases {
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
			writeJSON(w, 200, map[string]any{"user": map[string]any{"id": "PME", "email": "me@x"}})
		})
		c, _ := testClient(t, rec, func(cfg *Config) { cfg.Auth.Kind = tc.kind; cfg.UserAgent = "mattermost-app-pagerduty/test" })
		u, err := c.CurrentUser(context.Background())
		if err != nil || u.ID != "PME" {
			t.Fatalf("user %+v err %v", u, err)
		}
		r := rec.requests()[0]
		if r.Path != "/users/me" || r.Header.Get("Authorization") != tc.want ||
			r.Header.Get("Accept") != "application/vnd.pagerduty+json;version=2" || r.Header.Get("User-Agent") != "mattermost-app-pagerduty/test" {
			t.Errorf("kind %d sent %s with headers %v", tc.kind, r.Path, r.Header)
		}
	}
}

func TestDefaultHostsAreUS(t *testing.T) {
	c := New(Config{Auth: Auth{Kind: AuthAPIKey, Token: "t"}})
	if c.hosts != US() || c.err != nil {
		t.Errorf("hosts %+v err %v", c.hosts, c.err)
	}
}

func TestAuthNeverPrintsToken(t *testing.T) {
	cfg := Config{Auth: Auth{Kind: AuthOAuth, Token: testToken}}
	for _, s := range []string{fmt.Sprint(cfg.Auth), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", New(cfg))} {
		if strings.Contains(s, testToken) {
			t.Errorf("printed token: %s", s)
		}
	}
}
