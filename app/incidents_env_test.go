package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/incident"
	"github.com/mattermost/mattermost-app-pagerduty/internal/mmfake"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
	"github.com/mattermost/mattermost-app-pagerduty/mmclient"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
)

// incidentEnv is the spine's env with a connected responder and the bot in the channel (it
// posts the cards there).
type incidentEnv struct {
	*env
	bot *model.User
}

func newIncidentEnv(t *testing.T) *incidentEnv {
	t.Helper()
	e := newEnv(t)
	e.configure()
	e.connect(e.user, e.seed.Responder)
	bot := e.mm.Bot()
	e.mm.AddChannelMember(e.channel.Id, bot.Id, false)
	ie := &incidentEnv{env: e, bot: bot}
	if p := e.mm.Problems(); len(p) > 0 {
		t.Fatalf("the plugin would drop parts of the bindings: %v", p)
	}
	return ie
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

// commandBinding finds /pagerduty <name> in u's bindings, as the webapp's parser would.
func (e *incidentEnv) commandBinding(u *model.User, name string) apps.Binding {
	e.t.Helper()
	bb, err := e.mm.Bindings(e.ctx, u, e.channel.Id, e.team.Id)
	if err != nil {
		e.t.Fatalf("bindings: %v", err)
	}
	for _, top := range bb {
		if top.Location != apps.LocationCommand {
			continue
		}
		for _, root := range top.Bindings {
			for _, b := range root.Bindings {
				if b.Label == name {
					return b
				}
			}
		}
	}
	e.t.Fatalf("no /pagerduty %s for %s", name, u.Username)
	return apps.Binding{}
}

// command submits /pagerduty <name> with values already parsed (what the webapp sends: text as
// strings, selects as {label, value}).
func (e *incidentEnv) command(u *model.User, name string, values map[string]any) *apps.CallResponse {
	e.t.Helper()
	b := e.commandBinding(u, name)
	c := b.Submit
	if b.Form != nil {
		c = b.Form.Submit
	}
	resp, err := e.mm.Call(e.ctx, mmfake.CallOpts{
		Path: c.Path, Expand: c.Expand, State: c.State, Values: values, ActingUser: u,
		ChannelID: e.channel.Id, TeamID: e.team.Id, Location: apps.Location("/command/pagerduty/" + name), UserAgent: "webapp", TrackAsSubmit: true,
	})
	if err != nil {
		e.t.Fatalf("/pagerduty %s: %v", name, err)
	}
	return resp
}

// where is the user agent context a call is made from.
type where struct {
	channelID, postID string
	location          apps.Location
}

func (e *incidentEnv) here() where {
	return where{channelID: e.channel.Id, location: apps.LocationCommand}
}

// callAt makes a call from a given place (a post, a modal opened from one...).
func (e *incidentEnv) callAt(u *model.User, w where, c *apps.Call, values map[string]any) *apps.CallResponse {
	e.t.Helper()
	if c == nil {
		e.t.Fatal("nil call")
	}
	resp, err := e.mm.Call(e.ctx, mmfake.CallOpts{
		Path: c.Path, Expand: c.Expand, State: c.State, Values: values, ActingUser: u,
		ChannelID: w.channelID, TeamID: e.team.Id, PostID: w.postID, Location: w.location, UserAgent: "webapp", TrackAsSubmit: true,
	})
	if err != nil {
		e.t.Fatalf("call %s: %v", c.Path, err)
	}
	return resp
}

// submit submits a modal the app answered, from where it was opened.
func (e *incidentEnv) submit(u *model.User, w where, resp *apps.CallResponse, values map[string]any) *apps.CallResponse {
	e.t.Helper()
	if resp.Type != apps.CallResponseTypeForm || resp.Form == nil || resp.Form.Submit == nil {
		e.t.Fatalf("expected a form, got %s", respText(resp))
	}
	return e.callAt(u, w, resp.Form.Submit, values)
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
func buttons(t *testing.T, p *model.Post) []apps.Binding {
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

func buttonLabels(t *testing.T, p *model.Post) string {
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

func option(label, value string) map[string]any {
	return map[string]any{"label": label, "value": value}
}

func wantType(t *testing.T, resp *apps.CallResponse, typ apps.CallResponseType) {
	t.Helper()
	if resp.Type != typ {
		t.Fatalf("response %s, want type %s (data %v)", respText(resp), typ, resp.Data)
	}
}

func (e *incidentEnv) botClient() *mmclient.Client {
	return mmclient.New(e.mm.URL(), e.mm.Token(e.bot.Id), nil)
}

func (e *incidentEnv) asUserClient(u *model.User) *mmclient.Client {
	return mmclient.New(e.mm.URL(), e.mm.Token(u.Id), nil)
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
