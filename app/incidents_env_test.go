package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/incident"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
)

// incidentEnv is the spine's env with a connected responder and the bot in the channel (it
// posts the cards there).
type incidentEnv struct {
	*env
}

func newIncidentEnv(t *testing.T) *incidentEnv {
	t.Helper()
	return &incidentEnv{env: newEnvWith(t, envOptions{responder: true})}
}

// addIncident stores an open incident on the API service, assigned to who is on call at level 1.
func (e *incidentEnv) addIncident(title string, mods ...func(*pdfake.Incident)) string {
	e.t.Helper()
	inc := pdfake.Incident{
		Title: title, ServiceID: e.seed.APIService, Urgency: "high", EscalationLevel: 1, AssignedVia: "escalation_policy",
		EscalationPolicyID: e.seed.PlatformEP, CreatedAt: e.clock.Now().Add(-time.Hour),
	}
	for _, u := range e.pd.OnCallNow(e.seed.PlatformEP, 1, e.clock.Now()) {
		inc.Assignments = append(inc.Assignments, pdfake.Assignment{UserID: u, At: inc.CreatedAt})
	}
	for _, m := range mods {
		m(&inc)
	}
	return e.pd.AddIncident(inc)
}

func (e *incidentEnv) incident(id string) pdfake.Incident {
	e.t.Helper()
	inc, ok := e.pd.Incident(id)
	if !ok {
		e.t.Fatalf("no incident %s in the fake", id)
	}
	return inc
}

// cards lists the bot's posts in the channel that carry an incident.
func (e *incidentEnv) cards() []*model.Post {
	var out []*model.Post
	for _, p := range e.mm.Posts(e.channel.Id) {
		if p.UserId == e.bot.Id && p.GetProp(propIncidentID) != nil {
			out = append(out, p)
		}
	}
	return out
}

// buttons decodes a card's in-post bindings.
func buttons(t testing.TB, p *model.Post) []apps.Binding {
	t.Helper()
	raw, err := json.Marshal(p.GetProp(apps.PropAppBindings))
	if err != nil {
		t.Fatal(err)
	}
	var embeds []apps.Binding
	if err := json.Unmarshal(raw, &embeds); err != nil || len(embeds) != 1 {
		t.Fatalf("card %s app_bindings: %v %s", p.Id, err, raw)
	}
	if embeds[0].AppID != AppID {
		t.Fatalf("card embed has app_id %q", embeds[0].AppID)
	}
	return embeds[0].Bindings
}

func buttonLabels(t testing.TB, p *model.Post) string {
	var ls []string
	for _, b := range buttons(t, p) {
		ls = append(ls, b.Label)
	}
	return strings.Join(ls, ",")
}

// click presses a card button as the webapp does: its call, from the post, at
// /in_post/<embed>/<button>.
func (e *incidentEnv) click(u *model.User, p *model.Post, label string) *apps.CallResponse {
	e.t.Helper()
	for _, b := range buttons(e.t, p) {
		if b.Label == label {
			return e.callAt(u, where{channelID: p.ChannelId, postID: p.Id, location: apps.Location("/in_post/" + cardEmbedLocation + "/" + string(b.Location))}, b.Submit, nil)
		}
	}
	e.t.Fatalf("card %s has no %q button (has %s)", p.Id, label, buttonLabels(e.t, p))
	return nil
}

// writes counts PagerDuty requests other than GET since the last reset.
func (e *incidentEnv) writes() []string {
	var out []string
	for _, r := range e.pd.Requests() {
		if r.Method != "GET" {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

func (e *incidentEnv) requests() []string {
	var out []string
	for _, r := range e.pd.Requests() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

func wantType(t *testing.T, resp *apps.CallResponse, typ apps.CallResponseType) {
	t.Helper()
	if resp.Type != typ {
		t.Fatalf("response %s, want type %s (data %v)", respText(resp), typ, resp.Data)
	}
}

// viewOf reads an incident through the REST API as the domain sees it (for posting cards
// directly, as the webhook notifications do).
func (e *incidentEnv) viewOf(id string) incident.Incident {
	e.t.Helper()
	pd := pdclient.New(pdclient.Config{
		Hosts: pdclient.Hosts{API: e.pd.URL(), Identity: e.pd.URL(), Events: e.pd.URL()},
		Auth:  pdclient.Auth{Kind: pdclient.AuthOAuth, Token: e.pd.IssueUserToken(e.seed.Admin)},
	})
	raw, err := pd.GetIncident(e.ctx, id)
	if err != nil {
		e.t.Fatalf("reading incident %s: %v", id, err)
	}
	return incident.FromAPI(raw)
}
