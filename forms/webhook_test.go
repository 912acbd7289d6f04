package forms

import (
	"strings"
	"testing"
	"time"
)

func TestWebhookStatusGolden(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	since := now.Add(-3 * time.Hour)
	stats := WebhookStats{Accepted: 12, Duplicates: 2, Rejected: 1, LastType: "incident.acknowledged", LastID: "E1", LastAt: now.Add(-5 * time.Minute), Since: since}
	direct := WebhookView{SetUp: true, Route: WebhookRouteDirect, URL: "https://pd-app.example.com/ingress/pagerduty", Scope: "account",
		SubscriptionID: "PSUB123", CreatedAt: now.Add(-48 * time.Hour), PDState: WebhookPDActive, Stats: stats, Now: now}
	viaMM := direct
	viaMM.Route, viaMM.URL = WebhookRouteMattermost, "https://mm.example.com/plugins/com.mattermost.apps/apps/pagerduty/webhook/pagerduty"
	viaMM.Scope, viaMM.ScopeID, viaMM.ScopeName = "service", "PSVC1", "Checkout *API*"
	viaMM.PDState, viaMM.StaleURL = WebhookPDDisabled, true
	viaMM.Stats = WebhookStats{Since: since, Failed: 0}
	unknown := direct
	unknown.Scope, unknown.ScopeID, unknown.ScopeName = "team", "PTEAM1", "Platform"
	unknown.PDState, unknown.PDProblem = WebhookPDUnknown, "PagerDuty did not answer"
	unknown.Stats.Failed = 3
	tests := []struct {
		name string
		v    WebhookView
	}{
		{"webhook_status_not_set_up.md", WebhookView{Now: now, Stats: WebhookStats{Since: since}}},
		{"webhook_status_direct.md", direct},
		{"webhook_status_mattermost_disabled_stale.md", viaMM},
		{"webhook_status_unknown_failed.md", unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := WebhookStatus(tt.v) + "\n---\n" + WebhookStatusLine(tt.v) + "\n"
			golden(t, tt.name, got)
			if strings.Contains(got, "?secret") {
				t.Fatal("a URL query reached the view")
			}
		})
	}
}
