package app

import (
	"strings"
	"testing"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/internal/mmfake"
	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
	"github.com/mattermost/mattermost-app-pagerduty/mmclient"
	"github.com/mattermost/mattermost-app-pagerduty/subscription"
)

// subsOf reads a channel's subscriptions from Mattermost's KV (not from the app's cache).
func (ne *notifyEnv) subsOf(channelID string) []subscription.Subscription {
	ne.t.Helper()
	fresh := subscription.NewStore(mmclient.New(ne.mm.URL(), ne.mm.Token(ne.mm.Bot().Id), nil).KV(), &kvstore.Locks{})
	subs, err := fresh.List(ne.ctx, channelID)
	if err != nil {
		ne.t.Fatal(err)
	}
	return subs
}

func TestSubscribePermissions(t *testing.T) {
	e := newNotifyEnv(t, true)
	chAdmin := e.mm.AddUser("chadmin")
	teamAdmin := e.mm.AddUser("teamadmin")
	outsider := e.mm.AddUser("outsider")
	e.mm.AddTeamMember(e.team.Id, chAdmin.Id, false)
	e.mm.AddChannelMember(e.channel.Id, chAdmin.Id, true)
	e.mm.AddTeamMember(e.team.Id, teamAdmin.Id, true) // not in the channel
	e.mm.AddTeamMember(e.team.Id, outsider.Id, false) // not in the channel
	sysadminOutside := e.mm.AddUser("root2", mmfake.Sysadmin())
	e.mm.AddTeamMember(e.team.Id, sysadminOutside.Id, false)
	// Non-sysadmins narrow subscriptions to services their PagerDuty account can see, read with
	// their own token: they must be connected.
	e.connect(chAdmin, e.seed.Secondary)
	e.connect(teamAdmin, e.seed.Owner)
	e.connect(sysadminOutside, e.seed.Admin)

	tests := []struct {
		name       string
		user       *model.User
		canChange  bool
		canList    bool
		listRefuse string
	}{
		{name: "channel member", user: e.user, canList: true},
		{name: "channel admin", user: chAdmin, canChange: true, canList: true},
		{name: "team admin outside the channel", user: teamAdmin, canChange: true, listRefuse: "Join this channel"},
		{name: "system admin outside the channel", user: sysadminOutside, canChange: true, canList: true},
		{name: "team member outside the channel", user: outsider, listRefuse: "Join this channel"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.subsOf(e.channel.Id))
			resp := e.subscribe(tc.user, map[string]any{forms.SubFieldEvents: "triggered " + tc.user.Username})
			// The extra word is an unknown event type for those allowed: permission is checked first.
			if tc.canChange {
				mustContain(t, resp.Text, `unknown event type "`+tc.user.Username+`"`)
				resp = e.subscribe(tc.user, map[string]any{forms.SubFieldEvents: "resolved", forms.SubFieldUrgency: selectOpt("low"), forms.SubFieldService: e.seed.APIService})
				if resp.Type != apps.CallResponseTypeOK {
					t.Fatalf("subscribe: %s", respText(resp))
				}
				if n := len(e.subsOf(e.channel.Id)); n != before+1 {
					t.Fatalf("%d subscriptions, want %d", n, before+1)
				}
				subs := e.subsOf(e.channel.Id)
				if id := subs[len(subs)-1].ID; resp.Text == "" || !strings.Contains(resp.Text, id) {
					t.Fatalf("reply does not name the subscription: %q", resp.Text)
				}
				unsub := e.callIn(tc.user, e.channel.Id, pathUnsubscribe, map[string]any{forms.SubFieldIDs: subs[len(subs)-1].ID})
				if unsub.Type != apps.CallResponseTypeOK || len(e.subsOf(e.channel.Id)) != before {
					t.Fatalf("unsubscribe: %s", respText(unsub))
				}
			} else {
				if resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, "Only channel admins, team admins and system admins") {
					t.Fatalf("subscribe answered %s", respText(resp))
				}
				if n := len(e.subsOf(e.channel.Id)); n != before {
					t.Fatal("a refused subscribe stored something")
				}
				unsub := e.callIn(tc.user, e.channel.Id, pathUnsubscribe, map[string]any{forms.SubFieldIDs: "all"})
				mustContain(t, unsub.Text, "Only channel admins")
			}
			list := e.callIn(tc.user, e.channel.Id, pathSubscriptions, nil)
			if tc.canList {
				if list.Type != apps.CallResponseTypeOK {
					t.Fatalf("list: %s", respText(list))
				}
				mustContain(t, list.Text, "PagerDuty notifications in incidents")
			} else {
				mustContain(t, list.Text, tc.listRefuse)
			}
		})
	}

	t.Run("direct messages are refused with a sentence", func(t *testing.T) {
		dm := e.mm.DirectChannel(e.admin.Id, e.user.Id)
		for _, path := range []string{pathSubscribe, pathUnsubscribe, pathSubscriptions, pathNotifications} {
			resp := e.callIn(e.admin, dm.Id, path, nil)
			if resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, "not in a direct or group message") {
				t.Errorf("%s in a DM: %s", path, respText(resp))
			}
		}
	})
}

func TestSubscribeAddsTheBotAndFilters(t *testing.T) {
	e := newNotifyEnv(t, true)
	e.connect(e.admin, e.seed.Admin)
	bot := e.mm.Bot()
	if e.mm.IsChannelMember(e.channel.Id, bot.Id) || e.mm.IsTeamMember(e.team.Id, bot.Id) {
		t.Fatal("the bot starts in the team or channel: the test proves nothing")
	}

	t.Run("bad arguments are refused with the valid values, and change nothing", func(t *testing.T) {
		tests := []struct {
			name   string
			values map[string]any
			wants  []string
			pdGets []string // the PagerDuty lists fetched (only what the filters need)
		}{
			{"unknown event type", map[string]any{forms.SubFieldEvents: "triggered exploded"},
				[]string{`unknown event type "exploded"`, "incident.triggered", "incident.acknowledged"}, nil},
			{"unknown option", map[string]any{forms.SubFieldEvents: "triggered --colour red"},
				[]string{`unknown option "--colour"`, "--service"}, nil},
			{"flag without a value", map[string]any{forms.SubFieldEvents: "triggered --team"},
				[]string{"--team needs a value", e.seed.PlatformTeam}, []string{"/teams"}},
			{"unknown service", map[string]any{forms.SubFieldService: "PNOPE01"},
				[]string{`unknown service "PNOPE01"`, e.seed.APIService, "API"}, []string{"/services"}},
			{"unknown team", map[string]any{forms.SubFieldTeam: "PNOPE01, " + e.seed.PlatformTeam},
				[]string{`unknown team "PNOPE01"`, e.seed.PaymentsTeam}, []string{"/teams"}},
			{"unknown priority", map[string]any{forms.SubFieldPriority: "P9"},
				[]string{`unknown priority "P9"`, "P1", "P5"}, []string{"/priorities"}},
			{"bad urgency", map[string]any{forms.SubFieldUrgency: selectOpt("medium")},
				[]string{`unknown urgency "medium"`, "high", "low"}, nil},
			{"two urgencies", map[string]any{forms.SubFieldEvents: "--urgency high,low"},
				[]string{"--urgency takes one value"}, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e.pd.ResetRequests()
				resp := e.subscribe(e.admin, tc.values)
				if resp.Type != apps.CallResponseTypeError {
					t.Fatalf("answered %s", respText(resp))
				}
				mustContain(t, resp.Text, append([]string{"Nothing was subscribed"}, tc.wants...)...)
				if n := len(e.subsOf(e.channel.Id)); n != 0 {
					t.Fatalf("%d subscriptions stored", n)
				}
				if e.mm.IsChannelMember(e.channel.Id, bot.Id) {
					t.Fatal("the bot was added for a refused subscription")
				}
				for _, list := range []string{"/services", "/teams", "/priorities", "/schedules"} {
					want := 0
					for _, g := range tc.pdGets {
						if g == list {
							want = 1
						}
					}
					if got := e.pd.CountRequests("GET", list); got != want {
						t.Errorf("GET %s %d times, want %d", list, got, want)
					}
				}
			})
		}
	})

	t.Run("the not connected get a pointer to connect when filters need PagerDuty", func(t *testing.T) {
		e.mm.AddChannelMember(e.channel.Id, e.user.Id, true)
		defer e.mm.AddChannelMember(e.channel.Id, e.user.Id, false)
		resp := e.subscribe(e.user, map[string]any{forms.SubFieldService: e.seed.APIService})
		mustContain(t, resp.Text, "/pagerduty connect")
		if n := len(e.subsOf(e.channel.Id)); n != 0 {
			t.Fatal("stored")
		}
	})

	var stored subscription.Subscription
	t.Run("a valid subscribe adds the bot to the team and channel and stores the filters", func(t *testing.T) {
		e.pd.ResetRequests()
		resp := e.subscribe(e.admin, map[string]any{
			// The rest of the line may carry flags too (events first, as typed).
			forms.SubFieldEvents:   "triggered Resolved --service " + strings.ToLower(e.seed.APIService),
			forms.SubFieldService:  e.seed.WebService,
			forms.SubFieldTeam:     e.seed.PlatformTeam,
			forms.SubFieldUrgency:  selectOpt("high"),
			forms.SubFieldPriority: "p1,P2",
		})
		if resp.Type != apps.CallResponseTypeOK {
			t.Fatalf("subscribe: %s", respText(resp))
		}
		subs := e.subsOf(e.channel.Id)
		if len(subs) != 1 {
			t.Fatalf("%d subscriptions", len(subs))
		}
		stored = subs[0]
		want := subscription.Subscription{Events: []string{"incident.triggered", "incident.resolved"},
			ServiceIDs: []string{e.seed.APIService, e.seed.WebService}, TeamIDs: []string{e.seed.PlatformTeam},
			Urgency: "high", Priorities: []string{"P1", "P2"}}
		if strings.Join(stored.Events, ",") != strings.Join(want.Events, ",") || strings.Join(stored.ServiceIDs, ",") != strings.Join(want.ServiceIDs, ",") ||
			strings.Join(stored.TeamIDs, ",") != strings.Join(want.TeamIDs, ",") || stored.Urgency != want.Urgency ||
			strings.Join(stored.Priorities, ",") != strings.Join(want.Priorities, ",") || stored.CreatedBy != e.admin.Id {
			t.Fatalf("stored %+v", stored)
		}
		if !e.mm.IsTeamMember(e.team.Id, bot.Id) || !e.mm.IsChannelMember(e.channel.Id, bot.Id) {
			t.Fatal("the bot was not added to the team and channel")
		}
		mustContain(t, resp.Text, stored.ID, "/pagerduty unsubscribe "+stored.ID, "webhooks are not set up")
		if n := e.pd.CountRequests("GET", "/schedules"); n != 0 {
			t.Fatalf("fetched schedules %d times without a --schedule filter", n)
		}

		dup := e.subscribe(e.admin, map[string]any{forms.SubFieldEvents: "resolved triggered --priority P2,P1 --urgency high --team " + e.seed.PlatformTeam +
			" --service " + e.seed.WebService + " " + e.seed.APIService})
		mustContain(t, dup.Text, "same filters")
	})

	t.Run("unsubscribe checks every id before removing any", func(t *testing.T) {
		if resp := e.subscribe(e.admin, map[string]any{forms.SubFieldEvents: "acknowledged"}); resp.Type != apps.CallResponseTypeOK {
			t.Fatalf("subscribe: %s", respText(resp))
		}
		resp := e.callIn(e.admin, e.channel.Id, pathUnsubscribe, map[string]any{forms.SubFieldIDs: stored.ID + " zzzzzz"})
		mustContain(t, resp.Text, "no subscription `zzzzzz`", "nothing was removed", stored.ID)
		if n := len(e.subsOf(e.channel.Id)); n != 2 {
			t.Fatalf("%d left, want 2", n)
		}
		resp = e.callIn(e.admin, e.channel.Id, pathUnsubscribe, nil)
		mustContain(t, resp.Text, "/pagerduty unsubscribe all", stored.ID)
		resp = e.callIn(e.admin, e.channel.Id, pathUnsubscribe, map[string]any{forms.SubFieldIDs: stored.ID})
		if resp.Type != apps.CallResponseTypeOK || len(e.subsOf(e.channel.Id)) != 1 {
			t.Fatalf("unsubscribe one: %s", respText(resp))
		}
		resp = e.callIn(e.admin, e.channel.Id, pathUnsubscribe, map[string]any{forms.SubFieldIDs: "all"})
		mustContain(t, resp.Text, "Removed 1 subscription")
		if n := len(e.subsOf(e.channel.Id)); n != 0 {
			t.Fatalf("%d left after all", n)
		}
	})
}

func TestNotificationsModal(t *testing.T) {
	e := newNotifyEnv(t, true)
	e.setupWebhook()
	e.connect(e.admin, e.seed.Admin)

	t.Run("from the channel-header menu", func(t *testing.T) {
		resp := e.call(e.admin, call(pathMenuSubmit, expandUser), map[string]any{forms.MenuField: selectOpt("notifications")})
		if resp.Type != apps.CallResponseTypeForm || resp.Form == nil || resp.Form.Submit == nil || resp.Form.Submit.Path != pathNotifications {
			t.Fatalf("menu choice answered %s %+v", respText(resp), resp.Form)
		}
		next := e.callIn(e.admin, e.channel.Id, resp.Form.Submit.Path, nil)
		if next.Type != apps.CallResponseTypeForm || next.Form.Submit.Path != pathNotificationsSubmit {
			t.Fatalf("continue answered %s", respText(next))
		}
		menu := e.call(e.user, call(pathMenu, expandUser), nil)
		found := false
		for _, o := range menu.Form.Fields[0].SelectStaticOptions {
			found = found || (o.Label == "Channel notifications" && o.Value == "notifications")
		}
		if !found {
			t.Fatalf("the menu does not offer Channel notifications: %+v", menu.Form.Fields[0].SelectStaticOptions)
		}
	})

	submit := func(u *model.User, values map[string]any) *apps.CallResponse {
		return e.callIn(u, e.channel.Id, pathNotificationsSubmit, values)
	}
	t.Run("add, then remove from the modal", func(t *testing.T) {
		form := e.callIn(e.admin, e.channel.Id, pathNotifications, nil)
		if form.Type != apps.CallResponseTypeForm {
			t.Fatalf("modal: %s", respText(form))
		}
		bad := submit(e.admin, map[string]any{forms.SubFieldAction: selectOpt(forms.SubActionAdd), forms.SubFieldService: "PNOPE01"})
		errs, _ := bad.Data.(map[string]any)["errors"].(map[string]any)
		if bad.Type != apps.CallResponseTypeError || !strings.Contains(errs[forms.SubFieldService].(string), `unknown service "PNOPE01"`) {
			t.Fatalf("bad service: %s %v", respText(bad), bad.Data)
		}
		ok := submit(e.admin, map[string]any{
			forms.SubFieldAction: selectOpt(forms.SubActionAdd),
			forms.SubFieldEvents: []any{selectOpt("incident.triggered"), selectOpt("incident.resolved")},
			forms.SubFieldTeam:   e.seed.PaymentsTeam,
		})
		if ok.Type != apps.CallResponseTypeOK {
			t.Fatalf("add: %s", respText(ok))
		}
		subs := e.subsOf(e.channel.Id)
		if len(subs) != 1 || len(subs[0].Events) != 2 || subs[0].TeamIDs[0] != e.seed.PaymentsTeam {
			t.Fatalf("stored %+v", subs)
		}
		form = e.callIn(e.admin, e.channel.Id, pathNotifications, nil)
		mustContain(t, form.Form.Header, subs[0].ID)
		none := submit(e.admin, map[string]any{forms.SubFieldAction: selectOpt(forms.SubActionRemove)})
		if none.Type != apps.CallResponseTypeError {
			t.Fatalf("remove nothing: %s", respText(none))
		}
		rm := submit(e.admin, map[string]any{forms.SubFieldAction: selectOpt(forms.SubActionRemove), forms.SubFieldRemove: []any{selectOpt(subs[0].ID)}})
		if rm.Type != apps.CallResponseTypeOK || len(e.subsOf(e.channel.Id)) != 0 {
			t.Fatalf("remove: %s", respText(rm))
		}
	})

	t.Run("a plain member gets the list, and cannot submit", func(t *testing.T) {
		resp := e.callIn(e.user, e.channel.Id, pathNotifications, nil)
		if resp.Type != apps.CallResponseTypeOK {
			t.Fatalf("answered %s", respText(resp))
		}
		mustContain(t, resp.Text, "Channel admins, team admins and system admins can change them")
		sub := submit(e.user, map[string]any{forms.SubFieldAction: selectOpt(forms.SubActionAdd)})
		mustContain(t, sub.Text, "Only channel admins")
		if n := len(e.subsOf(e.channel.Id)); n != 0 {
			t.Fatal("stored")
		}
	})
}

// The commands are embedded forms whose flags the webapp can match (labels = the flag words),
// offered by role, and the plugin keeps every binding.
func TestNotificationBindings(t *testing.T) {
	e := newNotifyEnv(t, true)
	commandsOf := func(u *model.User) map[string]apps.Binding {
		bb, err := e.mm.Bindings(e.ctx, u, e.channel.Id, e.team.Id)
		if err != nil {
			t.Fatalf("bindings: %v", err)
		}
		out := map[string]apps.Binding{}
		for _, top := range bb {
			if top.Location != apps.LocationCommand {
				continue
			}
			for _, root := range top.Bindings {
				for _, b := range root.Bindings {
					out[b.Label] = b
				}
			}
		}
		return out
	}
	admin, user := commandsOf(e.admin), commandsOf(e.user)
	if p := e.mm.Problems(); len(p) > 0 {
		t.Fatalf("the plugin would drop bindings: %v", p)
	}
	for _, name := range []string{"subscribe", "unsubscribe", "list", "notifications"} {
		if _, ok := user[name]; !ok {
			t.Errorf("a plain user has no /pagerduty %s", name)
		}
	}
	if _, ok := user["webhook"]; ok {
		t.Error("a plain user is offered /pagerduty webhook")
	}
	wantFlags := map[string][]string{
		"subscribe": {"events", "service", "team", "urgency", "priority"},
		"webhook":   {"action", "service", "team"},
	}
	for name, flags := range wantFlags {
		b, ok := admin[name]
		if !ok || b.Form == nil || b.Form.Submit == nil {
			t.Fatalf("/pagerduty %s is not an embedded form: %+v", name, b)
		}
		labels := map[string]apps.Field{}
		for _, f := range b.Form.Fields {
			labels[f.Label] = f
		}
		for _, fl := range flags {
			if _, ok := labels[fl]; !ok {
				t.Errorf("/pagerduty %s has no field labelled %q", name, fl)
			}
		}
	}
	if f := commandsFieldPos(admin["subscribe"], "events"); f != -1 {
		t.Errorf("events position %d, want -1 (the rest of the line)", f)
	}
}

func commandsFieldPos(b apps.Binding, label string) int {
	for _, f := range b.Form.Fields {
		if f.Label == label {
			return f.AutocompletePosition
		}
	}
	return 0
}

func TestSubscribeOnCallChangesBySchedule(t *testing.T) {
	// No webhook is set up: on-call changes come from the app's own monitor, not from webhooks.
	e := newNotifyEnv(t, false)
	e.connect(e.admin, e.seed.Admin) // the schedule catalog is read with the subscriber's token
	tests := []struct {
		name    string
		values  map[string]any
		want    []string
		notWant []string
		stored  bool
	}{
		{name: "schedule flag field", values: map[string]any{forms.SubFieldEvents: "oncall.change", forms.SubFieldSchedule: e.seed.PlatformSchedule},
			want: []string{"oncall.change", e.seed.PlatformSchedule}, notWant: []string{"webhooks are not set up"}, stored: true},
		{name: "unknown schedule", values: map[string]any{forms.SubFieldEvents: "oncall.change", forms.SubFieldSchedule: "PNOSUCH"},
			want: []string{"PNOSUCH", e.seed.PaymentsSchedule}},
		{name: "incident events still need webhooks", values: map[string]any{forms.SubFieldEvents: "triggered"},
			want: []string{"webhooks are not set up"}, stored: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.subsOf(e.channel.Id))
			resp := e.subscribe(e.admin, tt.values)
			mustContain(t, resp.Text, tt.want...)
			mustNotContain(t, resp.Text, tt.notWant...)
			after := e.subsOf(e.channel.Id)
			if got := len(after) - before; (got == 1) != tt.stored {
				t.Fatalf("stored %d subscriptions, want stored=%v (reply %s)", got, tt.stored, respText(resp))
			}
			if tt.stored && tt.values[forms.SubFieldSchedule] != nil {
				if s := after[len(after)-1]; len(s.ScheduleIDs) != 1 || s.ScheduleIDs[0] != e.seed.PlatformSchedule {
					t.Fatalf("schedule filter = %v", s.ScheduleIDs)
				}
			}
		})
	}
}

func TestSubscriptionScopeFollowsPagerDutyVisibility(t *testing.T) {
	e := newNotifyEnv(t, true)
	chAdmin := e.mm.AddUser("chadmin")
	e.mm.AddTeamMember(e.team.Id, chAdmin.Id, false)
	e.mm.AddChannelMember(e.channel.Id, chAdmin.Id, true)
	unconnected := e.mm.AddUser("unconnected")
	e.mm.AddTeamMember(e.team.Id, unconnected.Id, false)
	e.mm.AddChannelMember(e.channel.Id, unconnected.Id, true)
	e.connect(chAdmin, e.seed.Secondary)
	e.connect(e.admin, e.seed.Admin)
	tests := []struct {
		name     string
		user     *model.User
		values   map[string]any
		want     string
		stored   bool
		noPDCall bool
	}{
		{name: "channel admin, every incident", user: chAdmin, values: nil,
			want: "Only system admins can subscribe a channel to every incident", noPDCall: true},
		{name: "channel admin, only an urgency", user: chAdmin, values: map[string]any{forms.SubFieldUrgency: selectOpt("high")},
			want: "name the services (--service ID) or teams (--team ID)", noPDCall: true},
		{name: "channel admin, on-call changes of every schedule", user: chAdmin, values: map[string]any{forms.SubFieldEvents: "oncall.change"},
			want: "name the schedules (--schedule ID)", noPDCall: true},
		{name: "channel admin, a service", user: chAdmin, values: map[string]any{forms.SubFieldService: e.seed.APIService},
			want: "is now subscribed", stored: true},
		{name: "channel admin, a team", user: chAdmin, values: map[string]any{forms.SubFieldEvents: "triggered", forms.SubFieldTeam: e.seed.PlatformTeam},
			want: "is now subscribed", stored: true},
		{name: "channel admin, a schedule", user: chAdmin, values: map[string]any{forms.SubFieldEvents: "oncall.change", forms.SubFieldSchedule: e.seed.PlatformSchedule},
			want: "is now subscribed", stored: true},
		{name: "channel admin without a PagerDuty account", user: unconnected, values: map[string]any{forms.SubFieldService: e.seed.APIService},
			want: "/pagerduty connect"},
		{name: "system admin, the whole account", user: e.admin, values: map[string]any{forms.SubFieldEvents: "resolved"},
			want: "is now subscribed", stored: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.subsOf(e.channel.Id))
			e.pd.ResetRequests()
			resp := e.subscribe(tt.user, tt.values)
			mustContain(t, resp.Text, tt.want)
			if got := len(e.subsOf(e.channel.Id)) - before; (got == 1) != tt.stored {
				t.Fatalf("stored %d subscriptions, want stored=%v: %s", got, tt.stored, respText(resp))
			}
			if tt.noPDCall && len(e.pd.Requests()) != 0 {
				t.Fatalf("a subscription refused for its scope made %d PagerDuty requests", len(e.pd.Requests()))
			}
		})
	}
}
