package app

import (
	"bytes"
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/internal/mmfake"
	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
	"github.com/mattermost/mattermost-app-pagerduty/subscription"
)

// ocEnv is the spine's env, configured (REST API key as the app-level credential), with Rita
// connected as PagerDuty's Rita Responder, the bot in the channel, and Mattermost accounts for
// Sam and Lena with their PagerDuty emails (not connected: the monitor finds them by email).
type ocEnv struct {
	*env
	sam, lena *model.User
}

func newOnCallEnv(t *testing.T) *ocEnv {
	t.Helper()
	e := newEnvWith(t, envOptions{responder: true})
	sam := e.mm.AddUser("sam", mmfake.Email("sam@example.com"), mmfake.Timezone("Europe/London"))
	lena := e.mm.AddUser("lena", mmfake.Email("lena@example.com"), mmfake.Timezone("Asia/Tokyo"))
	for _, u := range []*model.User{sam, lena} {
		e.mm.AddTeamMember(e.team.Id, u.Id, false)
		e.mm.AddChannelMember(e.channel.Id, u.Id, false)
	}
	return &ocEnv{env: e, sam: sam, lena: lena}
}

// callFrom makes a submit call from a location (a command, a modal opened by one) in the channel.
func (e *ocEnv) callFrom(u *model.User, location string, c *apps.Call, values map[string]any) *apps.CallResponse {
	e.t.Helper()
	return e.callAt(u, where{channelID: e.channel.Id, location: apps.Location(location)}, c, values)
}

// submitForm submits a modal the app answered with.
func (e *ocEnv) submitForm(u *model.User, resp *apps.CallResponse, values map[string]any) *apps.CallResponse {
	e.t.Helper()
	return e.submit(u, where{channelID: e.channel.Id, location: "/modal"}, resp, values)
}

// lookupFrom runs a dynamic select's lookup as the modal does.
func (e *ocEnv) lookupFrom(u *model.User, f apps.Field, values map[string]any, query string) []apps.SelectOption {
	e.t.Helper()
	if f.SelectDynamicLookup == nil {
		e.t.Fatalf("field %s has no lookup", f.Name)
	}
	c := f.SelectDynamicLookup
	resp, err := e.mm.Call(e.ctx, mmfake.CallOpts{
		Path: c.Path, Expand: c.Expand, State: c.State, Values: values, ActingUser: u, Query: query, SelectedField: f.Name,
		ChannelID: e.channel.Id, TeamID: e.team.Id, Location: "/modal", UserAgent: "webapp",
	})
	if err != nil || resp.Type != apps.CallResponseTypeOK {
		e.t.Fatalf("lookup %s: %v %s", f.Name, err, respText(resp))
	}
	var out []apps.SelectOption
	items, _ := resp.Data.(map[string]any)["items"].([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		l, _ := m["label"].(string)
		v, _ := m["value"].(string)
		out = append(out, apps.SelectOption{Label: l, Value: v})
	}
	return out
}

// typed is what the webapp sends for a dynamic select typed in a command.
func typed(s string) map[string]any { return option(s, s) }

func field(t *testing.T, f *apps.Form, name string) apps.Field {
	t.Helper()
	for _, fl := range f.Fields {
		if fl.Name == name {
			return fl
		}
	}
	t.Fatalf("form %q has no field %s", f.Title, name)
	return apps.Field{}
}

// tick POSTs the tick webhook to the plugin as the scheduler does, waits for the plugin to call
// the app, and returns the app's answer.
func (e *ocEnv) tick() *apps.CallResponse {
	e.t.Helper()
	before := len(e.mm.WebhookCalls())
	status, err := httpPostJSON(e.mm.WebhookURL(tickWebhook))
	if err != nil {
		e.t.Fatal(err)
	}
	if status != http.StatusOK {
		e.t.Fatalf("the plugin answered the tick with %d", status)
	}
	if err := e.mm.WaitIdle(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	calls := e.mm.WebhookCalls()
	if len(calls) != before+1 {
		e.t.Fatalf("%d webhook calls after the tick, want %d", len(calls), before+1)
	}
	last := calls[len(calls)-1]
	if last.Err != nil || last.Response == nil || last.Path != pathWebhook+"/"+tickWebhook {
		e.t.Fatalf("tick call %s: status %d err %v", last.Path, last.Status, last.Err)
	}
	return last.Response
}

// subscribe stores an oncall.change subscription of a channel in the app's one store, as
// `/pagerduty subscribe oncall.change --schedule ID` does.
func (e *ocEnv) subscribe(channelID string, scheduleIDs ...string) {
	e.t.Helper()
	if _, err := e.app.subs.Add(e.kvCtx(), subscription.Subscription{
		ChannelID: channelID, Events: []string{subscription.EventOnCallChange}, ScheduleIDs: scheduleIDs, CreatedBy: e.admin.Id,
	}); err != nil {
		e.t.Fatalf("subscribing: %v", err)
	}
}

// mark remembers how many posts a channel and DMs each user had, to assert only what follows.
type mark struct {
	posts map[string]int
	dms   map[string]int
}

func (e *ocEnv) mark(channelIDs []string, users ...*model.User) mark {
	m := mark{posts: map[string]int{}, dms: map[string]int{}}
	for _, ch := range channelIDs {
		m.posts[ch] = len(e.mm.Posts(ch))
	}
	for _, u := range users {
		m.dms[u.Id] = len(e.mm.DMs(u.Id))
	}
	return m
}

// newPosts are the channel's posts since m.
func (e *ocEnv) newPosts(m mark, channelID string) []string {
	var out []string
	for _, p := range e.mm.Posts(channelID)[m.posts[channelID]:] {
		out = append(out, p.Message)
	}
	return out
}

// newDMs are the DMs u received since m.
func (e *ocEnv) newDMs(m mark, u *model.User) []string {
	var out []string
	for _, p := range e.mm.DMs(u.Id)[m.dms[u.Id]:] {
		out = append(out, p.Message)
	}
	return out
}

func joined(ss []string) string { return strings.Join(ss, "\n---\n") }

// kvCtx carries the bot's KV, as a call's context does, for the app's process-wide stores.
func (e *ocEnv) kvCtx() context.Context {
	return withKV(e.ctx, e.kvCtxKV())
}

func subscriptionFor(channelID string, events ...string) subscription.Subscription {
	return subscription.Subscription{ChannelID: channelID, Events: events}
}

// monitorKV is the monitor's stored state (snapshot shards, manifest, ledger) as one string.
func (e *ocEnv) monitorKV() string {
	var parts []string
	for k, v := range e.mm.KVDump() {
		if k.UserID == e.bot.Id && (k.Prefix == "o" || k.Prefix == "om" || k.Prefix == "r") {
			parts = append(parts, k.Prefix+"/"+k.ID+"="+string(v))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "\n")
}

// httpPostJSON posts {} and returns the status.
func httpPostJSON(url string) (int, error) {
	resp, err := http.Post(url, "application/json", bytes.NewReader([]byte(`{}`)))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// kvCtxKV is the bot's KV.
func (e *ocEnv) kvCtxKV() kvstore.KV { return e.botClient().KV() }
