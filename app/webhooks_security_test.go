package app

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/internal/mmfake"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
)

// The plugin forbids users to call only the manifest's exact /webhook path: a user can call
// /webhook/{name} through the plugin's /call with a bot context. Those calls must do nothing.
func TestUsersCannotCallWebhookPaths(t *testing.T) {
	e := newNotifyEnv(t, false) // the Mattermost route: plain events are accepted from the plugin
	e.setupWebhook()
	if resp := e.subscribe(e.admin, nil); resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("subscribe: %s", respText(resp))
	}
	forged := map[string]any{"event": map[string]any{
		"id": "FORGED1", "event_type": "incident.triggered", "resource_type": "incident", "occurred_at": "2026-11-23T09:30:00Z",
		"data": map[string]any{"id": "QFORGED", "type": "incident", "number": 666, "title": "forged by a user",
			"status": "triggered", "urgency": "high", "created_at": "2026-11-23T09:30:00Z", "html_url": "https://evil.example.com/x",
			"service": map[string]any{"id": e.seed.APIService, "type": "service_reference", "summary": "API"}},
	}}
	tests := []struct {
		name   string
		path   string
		values map[string]any
	}{
		{"event without a secret", "/webhook/pagerduty", map[string]any{"data": forged}},
		{"event with a wrong secret", "/webhook/pagerduty", map[string]any{"data": forged, "rawQuery": "secret=guess"}},
		{"tick without a secret", "/webhook/tick", nil},
		{"tick with a wrong secret", "/webhook/tick", map[string]any{"rawQuery": "secret=" + strings.Repeat("x", 26)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.pd.ResetRequests()
			resp, err := e.mm.Call(e.ctx, mmfake.CallOpts{Path: tt.path, Values: tt.values, ActingUser: e.user,
				ChannelID: e.channel.Id, TeamID: e.team.Id, Location: apps.LocationCommand, UserAgent: "webapp"})
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if resp.Type != apps.CallResponseTypeError || resp.Text != "Not a webhook call." {
				t.Fatalf("a user's call to %s answered %s", tt.path, respText(resp))
			}
			e.idle()
			for _, p := range e.roots(e.channel.Id) {
				if strings.Contains(p.Message, "forged by a user") {
					t.Fatalf("the bot posted a forged card: %q", p.Message)
				}
			}
			if n := len(e.pd.Requests()); n != 0 {
				t.Fatalf("a user's call made %d PagerDuty requests", n)
			}
		})
	}
	// The genuine route still works: a tick through the plugin's webhook URL reads on-calls.
	e.pd.ResetRequests()
	status, err := httpPostJSON(e.mm.WebhookURL("tick"))
	if err != nil {
		t.Fatal(err)
	}
	e.idle()
	if status != http.StatusOK || e.pd.CountRequests(http.MethodGet, "/oncalls") == 0 {
		t.Fatalf("a genuine tick answered %d with %d on-call requests", status, e.pd.CountRequests(http.MethodGet, "/oncalls"))
	}
}

// A delivery dated in the future is refused, so it cannot win every later "newer than the card"
// comparison and freeze the card.
func TestFutureDatedDeliveryDoesNotFreezeTheCard(t *testing.T) {
	e := newNotifyEnv(t, false)
	subID := e.setupWebhook()
	if resp := e.subscribe(e.admin, nil); resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("subscribe: %s", respText(resp))
	}
	id := e.incident("Real outage", e.clock.Now())
	e.deliver(subID, "incident.triggered", id)
	// A forged or broken acknowledgement dated 2099, then the genuine resolve a minute later.
	e.setStatus(id, "acknowledged")
	e.deliver(subID, "incident.acknowledged", id, pdfake.WithOccurredAt(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)))
	e.setStatus(id, "resolved")
	e.clock.Advance(time.Minute)
	e.deliver(subID, "incident.resolved", id)
	roots := e.roots(e.channel.Id)
	if len(roots) != 1 {
		t.Fatalf("%d cards, want 1", len(roots))
	}
	if card := e.mm.PostByID(roots[0].Id); !strings.Contains(card.Message, "Resolved") {
		t.Fatalf("the card did not take the genuine resolve after a future-dated acknowledgement:\n%s", card.Message)
	}
}
