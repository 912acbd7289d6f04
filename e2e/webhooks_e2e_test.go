//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
	"github.com/mattermost/mattermost-app-pagerduty/mmclient"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
)

// TestWebhooks: the admin sets up PagerDuty webhooks (the fake returns the signing secret) and
// subscribes the channel; the fake sends a signed incident.triggered to the app's direct
// ingress and the card appears in the channel; the same delivery again posts nothing; a bad
// signature gets 401 and posts nothing; incident.acknowledged edits the same post and adds a
// line in its thread.
func TestWebhooks(t *testing.T) {
	ctx := testCtx(t)
	ensureConfigured(t, ctx)
	botID := botUserID(t, ctx)
	top := t

	var subID string
	t.Run("setup creates a subscription to the app's own endpoint", func(t *testing.T) {
		resp := command(t, ctx, s.stack.AdminToken, "/pagerduty webhook setup")
		if resp.Type != apps.CallResponseTypeOK || !strings.Contains(resp.Text, "directly to the app") {
			t.Fatalf("/pagerduty webhook setup: %s %q", resp.Type, resp.Text)
		}
		subs := s.pd.WebhookSubscriptions()
		if len(subs) != 1 || subs[0].URL != s.appURL+"/ingress/pagerduty" || subs[0].Secret == "" {
			t.Fatalf("subscriptions in PagerDuty: %+v", subs)
		}
		subID = subs[0].ID
		if strings.Contains(resp.Text, subs[0].Secret) {
			t.Fatal("the reply shows the signing secret")
		}
	})
	if subID == "" {
		t.FailNow()
	}
	t.Cleanup(func() {
		resp := command(t, ctx, s.stack.AdminToken, "/pagerduty webhook teardown")
		if resp.Type != apps.CallResponseTypeOK || len(s.pd.WebhookSubscriptions()) != 0 {
			t.Errorf("teardown: %s %q, %d subscriptions left", resp.Type, resp.Text, len(s.pd.WebhookSubscriptions()))
		}
	})

	t.Run("a plain user may not set up webhooks or subscribe the channel", func(t *testing.T) {
		if _, err := s.stack.ExecuteCommand(ctx, s.stack.UserToken, s.stack.ChannelID, s.stack.TeamID, "/pagerduty webhook status"); err == nil {
			t.Fatal("a plain user's bindings offer /pagerduty webhook")
		}
		resp := command(t, ctx, s.stack.UserToken, "/pagerduty subscribe triggered")
		if resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, "Only channel admins") {
			t.Fatalf("plain user's subscribe: %s %q", resp.Type, resp.Text)
		}
	})

	t.Run("bad arguments get the valid values", func(t *testing.T) {
		resp := command(t, ctx, s.stack.AdminToken, "/pagerduty subscribe exploded")
		if resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, `unknown event type "exploded"`) || !strings.Contains(resp.Text, "incident.triggered") {
			t.Fatalf("%s %q", resp.Type, resp.Text)
		}
	})

	t.Run("the admin subscribes the channel; the app adds its bot to it", func(t *testing.T) {
		resp := command(t, ctx, s.stack.AdminToken, "/pagerduty subscribe triggered acknowledged resolved --urgency high")
		if resp.Type != apps.CallResponseTypeOK || !strings.Contains(resp.Text, "is now subscribed") {
			t.Fatalf("/pagerduty subscribe: %s %q", resp.Type, resp.Text)
		}
		top.Cleanup(func() { command(top, ctx, s.stack.AdminToken, "/pagerduty unsubscribe all") })
		list := command(t, ctx, s.stack.UserToken, "/pagerduty list")
		if !strings.Contains(list.Text, "incident.triggered, incident.acknowledged, incident.resolved · urgency high") {
			t.Fatalf("/pagerduty list as a member:\n%s", list.Text)
		}
	})

	t.Run("in a team the bot is not in, subscribe adds it to the team first", func(t *testing.T) {
		name := fmt.Sprintf("e2e-wh-%d", time.Now().UnixNano()%1_000_000_000)
		var team model.Team
		if err := adminJSON(ctx, http.MethodPost, "/api/v4/teams", map[string]string{"name": name, "display_name": name, "type": "O"}, &team); err != nil {
			t.Fatalf("creating a team: %v", err)
		}
		ch, err := s.stack.CreateChannel(ctx, s.stack.AdminToken, team.Id, name)
		if err != nil {
			t.Fatal(err)
		}
		admin := mmclient.New(s.stack.URL, s.stack.AdminToken, s.stack.HTTP)
		if _, err := admin.GetTeamMember(ctx, team.Id, botID); !mmclient.IsNotFound(err) {
			t.Fatalf("the bot is already in the new team (%v): the test proves nothing", err)
		}
		resp, err := s.stack.ExecuteCommand(ctx, s.stack.AdminToken, ch.Id, team.Id, "/pagerduty subscribe triggered")
		if err != nil || resp.Type != apps.CallResponseTypeOK {
			t.Fatalf("subscribe: %v %+v", err, resp)
		}
		if _, err := admin.GetChannelMember(ctx, ch.Id, botID); err != nil {
			t.Fatalf("the bot is not in the channel: %v", err)
		}
		if resp, err := s.stack.ExecuteCommand(ctx, s.stack.AdminToken, ch.Id, team.Id, "/pagerduty unsubscribe all"); err != nil || resp.Type != apps.CallResponseTypeOK {
			t.Fatalf("unsubscribe: %v %+v", err, resp)
		}
	})

	title := fmt.Sprintf("e2e webhook db-%d down", time.Now().UnixNano())
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	incidentID := s.pd.AddIncident(pdfake.Incident{
		Title: title, ServiceID: s.seed.APIService, Urgency: "high", EscalationLevel: 1, AssignedVia: "escalation_policy",
		EscalationPolicyID: s.seed.PlatformEP, CreatedAt: t0, Assignments: []pdfake.Assignment{{UserID: s.seed.Responder, At: t0}},
	})
	eventID := "e2e-" + incidentID + "-triggered"
	since := time.Now().Add(-time.Second)
	isOurs := func(p *model.Post) bool {
		return p.UserId == botID && p.RootId == "" && strings.Contains(p.Message, title)
	}
	countOurs := func() int {
		posts, err := s.stack.GetPosts(ctx, s.stack.AdminToken, s.stack.ChannelID, since)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range posts {
			if isOurs(p) {
				n++
			}
		}
		return n
	}

	var card *model.Post
	t.Run("a signed incident.triggered posts the card", func(t *testing.T) {
		start := time.Now()
		status, err := s.pd.DeliverWebhook(ctx, subID, "incident.triggered", incidentID, pdfake.WithEventID(eventID), pdfake.WithOccurredAt(t0))
		if err != nil || status != http.StatusAccepted {
			t.Fatalf("delivery: %d %v", status, err)
		}
		t.Logf("e2e: ingress answered in %s", time.Since(start))
		card, err = s.stack.WaitForPostSince(ctx, s.stack.AdminToken, s.stack.ChannelID, since, isOurs, 15*time.Second)
		if err != nil {
			t.Fatalf("no card: %v", err)
		}
		t.Logf("e2e: card posted %s after the delivery", time.Since(start))
		if !strings.Contains(card.Message, "**Triggered**") || card.GetProp("pagerduty_incident_id") != incidentID {
			t.Fatalf("card: %q %v", card.Message, card.GetProps())
		}
	})
	if card == nil {
		t.FailNow()
	}

	t.Run("the same delivery again posts nothing", func(t *testing.T) {
		status, err := s.pd.DeliverWebhook(ctx, subID, "incident.triggered", incidentID, pdfake.WithEventID(eventID), pdfake.WithOccurredAt(t0))
		if err != nil || status/100 != 2 {
			t.Fatalf("redelivery: %d %v", status, err)
		}
		time.Sleep(2 * time.Second) // anything the redelivery started would be posted by now
		if n := countOurs(); n != 1 {
			t.Fatalf("%d cards after a redelivery", n)
		}
	})

	t.Run("a bad signature gets 401 and posts nothing", func(t *testing.T) {
		other := s.pd.AddIncident(pdfake.Incident{Title: title + " (forged)", ServiceID: s.seed.APIService, Urgency: "high",
			EscalationPolicyID: s.seed.PlatformEP, EscalationLevel: 1, AssignedVia: "escalation_policy", CreatedAt: t0})
		status, err := s.pd.DeliverWebhook(ctx, subID, "incident.triggered", other, pdfake.WithBadSignature())
		if err != nil || status != http.StatusUnauthorized {
			t.Fatalf("forged delivery: %d %v", status, err)
		}
		// Unsigned, straight to the ingress.
		body, _ := s.pd.BuildWebhookEvent("incident.triggered", other)
		resp, err := http.Post(s.appURL+"/ingress/pagerduty", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("unsigned delivery: %d", resp.StatusCode)
		}
		time.Sleep(2 * time.Second)
		posts, _ := s.stack.GetPosts(ctx, s.stack.AdminToken, s.stack.ChannelID, since)
		for _, p := range posts {
			if strings.Contains(p.Message, "(forged)") {
				t.Fatalf("a forged event was posted: %q", p.Message)
			}
		}
	})

	t.Run("incident.acknowledged edits the same post and adds a thread line", func(t *testing.T) {
		pd := pdclient.New(pdclient.Config{Hosts: pdclient.Hosts{API: s.pd.URL(), Identity: s.pd.URL(), Events: s.pd.URL()},
			Auth: pdclient.Auth{Kind: pdclient.AuthAPIKey, Token: apiKey}})
		if _, err := pd.ManageIncident(ctx, "adam@example.com", incidentID, pdclient.IncidentUpdate{Status: "acknowledged"}); err != nil {
			t.Fatalf("acknowledging in the fake: %v", err)
		}
		status, err := s.pd.DeliverWebhook(ctx, subID, "incident.acknowledged", incidentID, pdfake.WithOccurredAt(t0.Add(time.Minute)))
		if err != nil || status != http.StatusAccepted {
			t.Fatalf("delivery: %d %v", status, err)
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			p, err := s.stack.GetPost(ctx, s.stack.AdminToken, card.Id)
			if err == nil && strings.Contains(p.Message, "**Acknowledged**") {
				if p.EditAt == 0 {
					t.Errorf("the card changed but is not marked edited")
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the card was not edited: %v %q", err, p.Message)
			}
			time.Sleep(200 * time.Millisecond)
		}
		line, err := s.stack.WaitForPostSince(ctx, s.stack.AdminToken, s.stack.ChannelID, since, func(p *model.Post) bool {
			return p.UserId == botID && p.RootId == card.Id && strings.Contains(p.Message, "Acknowledged")
		}, 15*time.Second)
		if err != nil {
			t.Fatalf("no thread line: %v", err)
		}
		t.Logf("e2e: thread line %q", line.Message)
		if n := countOurs(); n != 1 {
			t.Fatalf("%d cards after the acknowledgement, want the same one", n)
		}
	})

	t.Run("status counts the deliveries and never shows a secret", func(t *testing.T) {
		resp := command(t, ctx, s.stack.AdminToken, "/pagerduty webhook status")
		for _, want := range []string{"direct to the app", ": active", "2 accepted, 1 duplicate, 2 rejected", "last event `incident.acknowledged`"} {
			if !strings.Contains(resp.Text, want) {
				t.Errorf("status missing %q:\n%s", want, resp.Text)
			}
		}
		sub, _ := s.pd.WebhookSubscription(subID)
		if strings.Contains(resp.Text, sub.Secret) {
			t.Fatal("status shows the signing secret")
		}
		if rss, err := s.app.RSS(); err == nil {
			t.Logf("e2e: app RSS after the webhook scenario: %d KiB", rss)
		}
	})
}
