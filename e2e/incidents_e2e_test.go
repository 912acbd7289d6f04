//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/e2e/harness"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
)

// TestIncidents: alice triggers an incident from the modal, the bot posts its card in the
// channel, she presses Acknowledge on the card (the card's own in-post binding call, as the
// webapp sends it), PagerDuty (the fake) has the incident acknowledged by her, and the same
// post shows the new state.
func TestIncidents(t *testing.T) {
	ctx := testCtx(t)
	ensureConnected(t, ctx)
	botID := botUserID(t, ctx)
	// The bot posts the cards, so it must be in the team and the channel (an admin adds it, as in
	// production).
	if err := addTeamMember(ctx, s.stack.TeamID, botID); err != nil {
		t.Fatalf("adding the bot to the team: %v", err)
	}
	if err := s.stack.AddChannelMember(ctx, s.stack.AdminToken, s.stack.ChannelID, botID); err != nil {
		t.Fatalf("adding the bot to the channel: %v", err)
	}

	// The real plugin keeps every binding (it only logs what it drops).
	if problems, err := s.stack.BindingProblems(ctx, s.stack.UserToken, s.stack.ChannelID, s.stack.TeamID); err != nil || problems != "" {
		t.Fatalf("binding problems: %v %s", err, problems)
	}

	title := fmt.Sprintf("e2e checkout down %d", time.Now().UnixNano())
	var card *model.Post
	var incidentID string

	t.Run("trigger from the modal posts the card", func(t *testing.T) {
		resp := command(t, ctx, s.stack.UserToken, "/pagerduty trigger "+title)
		if resp.Type != apps.CallResponseTypeForm || resp.Form == nil {
			t.Fatalf("/pagerduty trigger answered %s %q", resp.Type, resp.Text)
		}
		since := time.Now().Add(-time.Second)
		resp, err := s.stack.SubmitForm(ctx, s.stack.UserToken, *resp.Form, commandContext("/command/pagerduty/trigger"), map[string]any{
			"service": apps.SelectOption{Label: "API", Value: "service:" + s.seed.APIService},
			"title":   title,
			"urgency": "high",
		})
		if err != nil || resp.Type != apps.CallResponseTypeOK {
			t.Fatalf("submitting the trigger modal: %v %+v", err, resp)
		}
		if !strings.Contains(resp.Text, "You triggered") || !strings.Contains(resp.Text, "](") {
			t.Fatalf("reply does not link the incident: %q", resp.Text)
		}
		card, err = s.stack.WaitForPostSince(ctx, s.stack.UserToken, s.stack.ChannelID, since, func(p *model.Post) bool {
			return p.UserId == botID && strings.Contains(p.Message, title)
		}, 15*time.Second)
		if err != nil {
			t.Fatalf("no card: %v", err)
		}
		incidentID, _ = card.GetProp("pagerduty_incident_id").(string)
		if incidentID == "" {
			t.Fatalf("card has no incident id: %+v", card.GetProps())
		}
		if !strings.Contains(card.Message, "**Triggered**") {
			t.Fatalf("card:\n%s", card.Message)
		}
	})
	if card == nil {
		t.FailNow()
	}

	t.Run("Acknowledge on the card acknowledges in PagerDuty and edits the card", func(t *testing.T) {
		buttons, err := harness.InPostBindings(card)
		if err != nil {
			t.Fatal(err)
		}
		var ack *apps.Binding
		var labels []string
		for i, b := range buttons {
			labels = append(labels, b.Label)
			if b.Label == "Acknowledge" {
				ack = &buttons[i]
			}
		}
		if ack == nil {
			t.Fatalf("card buttons %v, want Acknowledge", labels)
		}
		s.pd.ResetRequests()
		resp, err := s.stack.ClickInPostBinding(ctx, s.stack.UserToken, card, *ack)
		if err != nil || resp.Type != apps.CallResponseTypeOK {
			t.Fatalf("clicking Acknowledge: %v %+v", err, resp)
		}
		inc, ok := s.pd.Incident(incidentID)
		if !ok || inc.Status != pdfake.StatusAcknowledged || len(inc.Acknowledgements) == 0 || inc.Acknowledgements[0].UserID != s.seed.Responder {
			t.Fatalf("PagerDuty incident after the click: %+v", inc)
		}
		var writes []string
		for _, r := range s.pd.Requests() {
			writes = append(writes, r.Method+" "+r.Path)
		}
		if strings.Join(writes, ";") != "PUT /incidents/"+incidentID {
			t.Fatalf("PagerDuty requests for one click: %v, want one PUT", writes)
		}
		after, err := s.stack.GetPost(ctx, s.stack.UserToken, card.Id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(after.Message, "**Acknowledged**") || after.EditAt == 0 {
			t.Fatalf("the card was not edited in place:\n%s", after.Message)
		}
		buttons, _ = harness.InPostBindings(after)
		for _, b := range buttons {
			if b.Label == "Acknowledge" {
				t.Fatal("the edited card still offers Acknowledge")
			}
		}
		card = after
	})

	t.Run("post menu: incident actions refuse on other posts, create starts from the post", func(t *testing.T) {
		post, err := s.stack.CreatePost(ctx, s.stack.UserToken, s.stack.ChannelID, "Payments failing for EU customers")
		if err != nil {
			t.Fatal(err)
		}
		bindings, err := s.stack.Bindings(ctx, s.stack.UserToken, s.stack.ChannelID, s.stack.TeamID)
		if err != nil {
			t.Fatal(err)
		}
		actions := harness.FindBinding(bindings, "/post_menu/incident-actions")
		create := harness.FindBinding(bindings, "/post_menu/create-incident")
		if actions == nil || create == nil {
			t.Fatalf("post menu bindings missing; have %v", harness.Locations(bindings))
		}
		where := here()
		where.PostID = post.Id
		resp, err := s.stack.ClickBinding(ctx, s.stack.UserToken, where, *actions)
		if err != nil || resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, "not a PagerDuty incident card") {
			t.Fatalf("incident actions on a plain post: %v %+v", err, resp)
		}
		resp, err = s.stack.ClickBinding(ctx, s.stack.UserToken, where, *create)
		if err != nil || resp.Type != apps.CallResponseTypeForm {
			t.Fatalf("create from post: %v %+v", err, resp)
		}
		var desc string
		for _, f := range resp.Form.Fields {
			if f.Name == "description" {
				desc, _ = f.Value.(string)
			}
		}
		if !strings.Contains(desc, "/_redirect/pl/"+post.Id) {
			t.Fatalf("description has no permalink: %q", desc)
		}
		where.PostID = card.Id
		resp, err = s.stack.ClickBinding(ctx, s.stack.UserToken, where, *actions)
		if err != nil || resp.Type != apps.CallResponseTypeForm || !strings.Contains(resp.Form.Header, title) {
			t.Fatalf("incident actions on the card: %v %+v", err, resp)
		}
	})
}
