package settings

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
)

func TestApply(t *testing.T) {
	valid := Input{Region: "us", ClientID: "client-123", ClientSecret: "secret_abc", CredentialKind: CredAPIKey, APIKey: "y_NbAkKc66ryYTWUXYEu"}
	stored := AppConfig{Region: RegionUS, Hosts: preset(RegionUS), ClientID: "client-123", ClientSecret: "old_secret", CredentialKind: CredAPIKey, APIKey: "old_api_key_1234567"}
	tests := []struct {
		name      string
		old       AppConfig
		in        func(Input) Input
		wantField map[string]string // field -> substring of the message
		check     func(t *testing.T, c AppConfig)
	}{
		{name: "valid us", in: func(i Input) Input { return i }, check: func(t *testing.T, c AppConfig) {
			if c.Hosts.API != "https://api.pagerduty.com" || c.Scopes != DefaultScopes || !c.Configured() {
				t.Errorf("config = %+v", c)
			}
		}},
		{name: "eu preset", in: func(i Input) Input { i.Region = "EU"; return i }, check: func(t *testing.T, c AppConfig) {
			if c.Hosts.Identity != "https://identity.eu.pagerduty.com" || c.AccountRegion() != RegionEU {
				t.Errorf("hosts = %+v", c.Hosts)
			}
		}},
		{name: "custom loopback http allowed", in: func(i Input) Input {
			i.Region, i.APIHost, i.IdentityHost, i.EventsHost = "custom", "http://127.0.0.1:9000/", "http://localhost:9000", "https://events.example.com"
			return i
		}, check: func(t *testing.T, c AppConfig) {
			if c.Hosts.API != "http://127.0.0.1:9000" {
				t.Errorf("api host = %q", c.Hosts.API)
			}
		}},
		{name: "custom http off loopback refused", in: func(i Input) Input {
			i.Region, i.APIHost, i.IdentityHost, i.EventsHost = "custom", "http://pd.example.com", "https://x.example.com", "ftp://y"
			return i
		}, wantField: map[string]string{FieldAPIHost: "https", FieldEventsHost: "must use https"}},
		{name: "custom host with path refused", in: func(i Input) Input {
			i.Region, i.APIHost, i.IdentityHost, i.EventsHost = "custom", "https://a.example.com/v2", "https://b.example.com", ""
			return i
		}, wantField: map[string]string{FieldAPIHost: "only scheme and host", FieldEventsHost: "required"}},
		{name: "unknown region", in: func(i Input) Input { i.Region = "mars"; return i }, wantField: map[string]string{FieldRegion: `"us", "eu" or "custom"`}},
		{name: "missing client id", in: func(i Input) Input { i.ClientID = " "; return i }, wantField: map[string]string{FieldClientID: "required"}},
		{name: "client id with spaces", in: func(i Input) Input { i.ClientID = "a b"; return i }, wantField: map[string]string{FieldClientID: "letters, digits"}},
		{name: "missing secret first time", in: func(i Input) Input { i.ClientSecret = ""; return i }, wantField: map[string]string{FieldClientSecret: "required"}},
		{name: "empty secret keeps stored", old: stored, in: func(i Input) Input { i.ClientSecret = ""; i.APIKey = ""; return i }, check: func(t *testing.T, c AppConfig) {
			if c.ClientSecret != "old_secret" || c.APIKey != "old_api_key_1234567" {
				t.Errorf("stored secrets not kept: %+v", c.Public())
			}
		}},
		{name: "new client id needs a new secret", old: stored, in: func(i Input) Input { i.ClientID = "other"; i.ClientSecret = ""; return i }, wantField: map[string]string{FieldClientSecret: "required"}},
		{name: "bad scope", in: func(i Input) Input { i.Scopes = "incidents.write DROP TABLE"; return i }, wantField: map[string]string{FieldScopes: `"DROP" is not a PagerDuty scope`}},
		{name: "classic scope", in: func(i Input) Input { i.Scopes = "write"; return i }, check: func(t *testing.T, c AppConfig) {
			if c.Scopes != "write" {
				t.Errorf("scopes = %q", c.Scopes)
			}
		}},
		{name: "unknown credential", in: func(i Input) Input { i.CredentialKind = "password"; return i }, wantField: map[string]string{FieldCredentialKind: "api_key"}},
		{name: "short api key", in: func(i Input) Input { i.APIKey = "abc"; return i }, wantField: map[string]string{FieldAPIKey: "REST API key"}},
		{name: "missing api key", in: func(i Input) Input { i.APIKey = ""; return i }, wantField: map[string]string{FieldAPIKey: "required"}},
		{name: "client credentials need subdomain", in: func(i Input) Input { i.CredentialKind = CredClientCredentials; i.Subdomain = "Acme Corp"; return i }, wantField: map[string]string{FieldSubdomain: "subdomain"}},
		{name: "client credentials ok", in: func(i Input) Input { i.CredentialKind = CredClientCredentials; i.Subdomain = "ACME"; return i }, check: func(t *testing.T, c AppConfig) {
			if c.Subdomain != "acme" || c.APIKey != "" || !c.Configured() {
				t.Errorf("config = %+v", c.Public())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Apply(tt.old, tt.in(valid))
			if len(tt.wantField) > 0 {
				var fe FieldErrors
				if !errors.As(err, &fe) {
					t.Fatalf("err = %v, want FieldErrors", err)
				}
				for f, sub := range tt.wantField {
					if !strings.Contains(fe[f], sub) {
						t.Errorf("field %s: message %q does not contain %q (all: %v)", f, fe[f], sub, fe)
					}
				}
				if c != tt.old {
					t.Error("a failed Apply must return the old configuration unchanged")
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestPublicHidesSecrets(t *testing.T) {
	c := AppConfig{ClientID: "id", ClientSecret: "topsecret", APIKey: "apikeyvalue"}
	p := c.Public()
	s := strings.ToLower(strings.Join([]string{p.ClientID, p.Scopes, p.Subdomain}, " "))
	if strings.Contains(s, "topsecret") || strings.Contains(s, "apikeyvalue") || !p.ClientSecretSet || !p.APIKeySet {
		t.Fatalf("public view = %+v", p)
	}
}

func TestStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := Store{KV: kvstore.NewMemory(), Locks: &kvstore.Locks{}}
	if c, err := s.Config(ctx); err != nil || c.Configured() {
		t.Fatalf("empty store: %+v, %v", c, err)
	}
	in := Installation{SiteURL: "http://mm", AppPath: "/plugins/com.mattermost.apps/apps/pagerduty", WebhookSecret: "w s&"}
	if err := s.SaveInstallation(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, found, err := s.Installation(ctx)
	if err != nil || !found || got != in {
		t.Fatalf("installation = %+v, %v, %v", got, found, err)
	}
	if u := got.WebhookURL("tick"); u != "http://mm/plugins/com.mattermost.apps/apps/pagerduty/webhook/tick?secret=w+s%26" {
		t.Fatalf("webhook url = %q", u)
	}
}
