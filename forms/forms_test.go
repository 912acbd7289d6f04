package forms

import (
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/settings"
)

func TestConfigureFormGolden(t *testing.T) {
	submit := apps.NewCall("/configure/submit")
	tests := []struct {
		name string
		p    settings.Public
	}{
		{"configure_new.json", settings.Public{}},
		{"configure_saved.json", settings.Public{Region: settings.RegionCustom, Hosts: settings.Hosts{API: "http://127.0.0.1:9", Identity: "http://127.0.0.1:9", Events: "http://127.0.0.1:9"},
			ClientID: "cid", ClientSecretSet: true, Scopes: "write", CredentialKind: settings.CredClientCredentials, Subdomain: "acme"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Configure(tt.p, "http://mm/plugins/com.mattermost.apps/apps/pagerduty/oauth2/remote/complete", submit)
			goldenJSON(t, tt.name, f)
		})
	}
}

func TestConfigureFormNeverCarriesSecrets(t *testing.T) {
	// Public has no secret values at all; this guards the form against someone adding one.
	f := Configure(settings.Public{ClientSecretSet: true, APIKeySet: true}, "u", apps.NewCall("/x"))
	for _, fld := range f.Fields {
		if (fld.Name == settings.FieldClientSecret || fld.Name == settings.FieldAPIKey) && fld.Value != nil {
			t.Errorf("secret field %s has a value", fld.Name)
		}
	}
}

func TestStatusGolden(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	cfg := settings.AppConfig{Region: "us", Hosts: settings.Hosts{API: "https://api.pagerduty.com", Identity: "https://identity.pagerduty.com", Events: "https://events.pagerduty.com"},
		ClientID: "cid", ClientSecret: "SECRET-VALUE", CredentialKind: settings.CredAPIKey, APIKey: "APIKEY-VALUE", UpdatedAt: now.Add(-2 * time.Hour)}
	tests := []struct {
		name string
		v    StatusView
	}{
		{"status_unconfigured_user.md", StatusView{Now: now}},
		{"status_unconfigured_admin.md", StatusView{Now: now, Sysadmin: true}},
		{"status_not_connected.md", StatusView{Now: now, Config: cfg.Public()}},
		{"status_admin_connected.md", StatusView{Now: now, Config: cfg.Public(), Sysadmin: true, Connected: true, PDName: "Alice @all", PDEmail: "alice@example.com",
			PDUserID: "PU1", PDTimeZone: "Europe/Berlin", PDURL: "https://acme.pagerduty.com/users/PU1", ConnectedAt: now.Add(-time.Hour), RedirectURL: "http://mm/complete"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Status(tt.v)
			golden(t, tt.name, got)
			if strings.Contains(got, "SECRET-VALUE") || strings.Contains(got, "APIKEY-VALUE") {
				t.Fatal("status rendered a secret")
			}
		})
	}
}

func TestHelpEscapesPipesInTableCells(t *testing.T) {
	got := Help([]Command{{Usage: "/pagerduty urgency ID high|low", What: "Change urgency (high|low)"}}, "")
	want := "| `/pagerduty urgency ID high\\|low` | Change urgency (high\\|low) |\n"
	if !strings.HasSuffix(got, want) {
		t.Fatalf("help table row:\n%s\nwant suffix:\n%s", got, want)
	}
}
