package app

import (
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/internal/mmfake"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
	"github.com/mattermost/mattermost-app-pagerduty/pdauth"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
	"github.com/mattermost/mattermost-app-pagerduty/settings"
)

// notifyEnv is env (env_test.go) built with the options the notifications need: a public URL
// (the direct ingress, on the app's own loopback listener) or none (the Mattermost route), a
// state directory, and the app configured. Its app can be restarted in place (same listener,
// same Mattermost, same PagerDuty, fresh process memory).
type notifyEnv struct {
	*env
}

func newNotifyEnv(t *testing.T, direct bool) *notifyEnv {
	t.Helper()
	return &notifyEnv{env: newEnvWith(t, envOptions{configure: true, stateDir: true, direct: direct})}
}

// admin runs /pagerduty webhook <action> as the sysadmin.
func (ne *notifyEnv) webhookCmd(u *model.User, action string, more map[string]any) *apps.CallResponse {
	ne.t.Helper()
	v := map[string]any{forms.WebhookFieldAction: selectOpt(action)}
	for k, x := range more {
		v[k] = x
	}
	return ne.call(u, call(pathWebhookAdmin, expandUser), v)
}

// setupWebhook sets up the webhook subscription and returns its PagerDuty id.
func (ne *notifyEnv) setupWebhook() string {
	ne.t.Helper()
	resp := ne.webhookCmd(ne.admin, "setup", nil)
	if resp.Type != apps.CallResponseTypeOK {
		ne.t.Fatalf("webhook setup: %s", respText(resp))
	}
	subs := ne.pd.WebhookSubscriptions()
	if len(subs) != 1 {
		ne.t.Fatalf("PagerDuty has %d webhook subscriptions, want 1", len(subs))
	}
	return subs[0].ID
}

// callIn makes a subscription call as u from a channel.
func (ne *notifyEnv) callIn(u *model.User, channelID, path string, values map[string]any) *apps.CallResponse {
	ne.t.Helper()
	resp, err := ne.mm.Call(ne.ctx, mmfake.CallOpts{
		Path: path, Expand: expandSubs, Values: values, ActingUser: u,
		ChannelID: channelID, TeamID: ne.team.Id, Location: apps.LocationCommand, UserAgent: "webapp", TrackAsSubmit: true,
	})
	if err != nil {
		ne.t.Fatalf("call %s: %v", path, err)
	}
	return resp
}

func (ne *notifyEnv) subscribe(u *model.User, values map[string]any) *apps.CallResponse {
	ne.t.Helper()
	return ne.callIn(u, ne.channel.Id, pathSubscribe, values)
}

// incident adds an open incident on the API service (Platform team), triggered at `at`.
func (ne *notifyEnv) incident(title string, at time.Time) string {
	ne.t.Helper()
	return ne.pd.AddIncident(pdfake.Incident{
		Title: title, ServiceID: ne.seed.APIService, Urgency: "high", EscalationLevel: 1, AssignedVia: "escalation_policy",
		EscalationPolicyID: ne.seed.PlatformEP, CreatedAt: at,
		Assignments: []pdfake.Assignment{{UserID: ne.seed.Responder, At: at}},
	})
}

// setStatus changes an incident in PagerDuty (the fake), as an admin would there.
func (ne *notifyEnv) setStatus(id, status string) {
	ne.t.Helper()
	c := pdclient.New(ne.app.pdConfig(pdauth.Hosts(settings.AppConfig{Region: settings.RegionCustom,
		Hosts: settings.Hosts{API: ne.pd.URL(), Identity: ne.pd.URL(), Events: ne.pd.URL()}}), pdclient.Auth{Kind: pdclient.AuthAPIKey, Token: testAPIKey}))
	if _, err := c.ManageIncident(ne.ctx, "adam@example.com", id, pdclient.IncidentUpdate{Status: status}); err != nil {
		ne.t.Fatalf("setting incident %s to %s: %v", id, status, err)
	}
}

// deliver has PagerDuty deliver one event and waits until Mattermost has called the app with
// whatever it forwarded.
func (ne *notifyEnv) deliver(subID, eventType, incidentID string, opts ...pdfake.WebhookOption) int {
	ne.t.Helper()
	status, err := ne.pd.DeliverWebhook(ne.ctx, subID, eventType, incidentID, opts...)
	if err != nil {
		ne.t.Fatalf("delivering %s: %v", eventType, err)
	}
	ne.idle()
	return status
}

func (ne *notifyEnv) idle() {
	ne.t.Helper()
	if err := ne.mm.WaitIdle(ne.ctx); err != nil {
		ne.t.Fatal(err)
	}
}

// roots are the bot's root posts in a channel (the cards and standalone lines).
func (ne *notifyEnv) roots(channelID string) []*model.Post {
	var out []*model.Post
	bot := ne.mm.Bot()
	for _, p := range ne.mm.Posts(channelID) {
		if p.UserId == bot.Id && p.RootId == "" {
			out = append(out, p)
		}
	}
	return out
}

// replies are the posts in a thread.
func (ne *notifyEnv) replies(channelID, rootID string) []*model.Post {
	var out []*model.Post
	for _, p := range ne.mm.Posts(channelID) {
		if p.RootId == rootID {
			out = append(out, p)
		}
	}
	return out
}

func (ne *notifyEnv) stats() forms.WebhookStats { return ne.app.wh.statsSnapshot() }

// kvSecretFree fails if any stored or rendered text holds the signing secret.
func secretFree(t *testing.T, secret string, texts ...string) {
	t.Helper()
	if secret == "" {
		t.Fatal("no secret to look for")
	}
	for _, s := range texts {
		if strings.Contains(s, secret) {
			t.Fatalf("the signing secret appears in:\n%s", s)
		}
	}
}

// selectOpt is a select value as the webapp sends it, its label its value.
func selectOpt(v string) map[string]any { return option(v, v) }
