package app

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
)

// The clock is Monday 2026-11-23 09:30 UTC. Platform Primary hands over daily at 09:00 UTC
// (Rita today, Sam tomorrow, Lena the day after); Payments Primary weekly on Monday 09:00 (Sam
// this week). Rita's Mattermost zone is Europe/Berlin (CET, UTC+1).

func TestSchedulesList(t *testing.T) {
	e := newOnCallEnv(t)
	// 130 more schedules: the list takes two pages and more than one post.
	for i := range 130 {
		e.pd.AddSchedule(pdfake.Schedule{Name: fmt.Sprintf("Team %03d rotation", i), TimeZone: "Asia/Tokyo",
			Description: fmt.Sprintf("Rotation of team %03d, handover at 10:00 Tokyo time; pages go to the whole team first", i)})
	}
	e.pd.AddSchedule(pdfake.Schedule{Name: "@channel [evil](javascript:x)", Description: "# not a heading @all"})
	tests := []struct {
		name     string
		values   map[string]any
		want     []string
		notWant  []string
		requests int // GET /schedules
	}{
		{"all", nil, []string{"#### Schedules (133)", "**[Payments Primary](", "Europe/London", "**[Platform Primary](",
			"Team 000 rotation", "Rotation of team 000", "Open one with `/pagerduty schedule NAME`"}, []string{"@channel", "](javascript:"}, 2},
		{"mine", map[string]any{fieldScope: option("mine", "mine")}, []string{"#### Your schedules: shifts in the next 48 hours (1)", "**[Platform Primary]("},
			[]string{"Payments Primary", "Team 000"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.pd.ResetRequests()
			m := e.mark(nil, e.user)
			resp := e.command(e.user, "schedules", tt.values)
			wantOK(t, "/pagerduty schedules", resp)
			all := resp.Text + "\n" + joined(e.newDMs(m, e.user)) // a long list continues in DMs
			mustContain(t, all, tt.want...)
			mustNotContain(t, all, tt.notWant...)
			if n := e.pd.CountRequests("GET", "/schedules"); n != tt.requests {
				t.Errorf("%d GET /schedules, want %d (every page)", n, tt.requests)
			}
			if tt.name == "all" {
				if len([]rune(resp.Text)) > 16383 {
					t.Errorf("the reply is %d characters, over Mattermost's post limit", len([]rune(resp.Text)))
				}
				for i := range 130 {
					if name := fmt.Sprintf("Team %03d rotation", i); !strings.Contains(all, name) {
						t.Fatalf("%s missing from the list and its continuation", name)
					}
				}
				mustContain(t, resp.Text, "continues in 1 direct message(s)")
			}
		})
	}
	// The channel-header menu's Schedules entry answers the same list.
	resp := e.callFrom(e.user, "/channel_header", call(pathMenuSubmit, expandUser), map[string]any{forms.MenuField: option("Schedules", "schedules")})
	wantOK(t, "menu: schedules", resp)
	mustContain(t, resp.Text, "#### Schedules (133)")
	// A scope the select does not offer (a hand-made call) gets a specific error.
	resp = e.callFrom(e.user, "/command/pagerduty/schedules", call(pathSchedules, expandUser), map[string]any{fieldScope: "everyone"})
	if resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, "scope: use `mine`") {
		t.Errorf("bad scope: %s", respText(resp))
	}
}

func TestScheduleView(t *testing.T) {
	e := newOnCallEnv(t)
	for _, value := range []any{typed("Platform Primary"), typed("platform"), typed(e.seed.PlatformSchedule), option("Platform Primary", "schedule:"+e.seed.PlatformSchedule)} {
		resp := e.command(e.user, "schedule", map[string]any{forms.FieldSchedule: value})
		if resp.Type != apps.CallResponseTypeForm || resp.Form == nil {
			t.Fatalf("/pagerduty schedule %v: %s", value, respText(resp))
		}
		f := resp.Form
		mustContain(t, f.Header,
			"#### **[Platform Primary](",
			"Schedule time zone: Etc/UTC · times shown in Europe/Berlin",
			"**On call now:** **Rita Responder** (23h 30m remaining)",
			"▶ **Rita Responder · Mon 23 Nov 10:00 CET – Tue 24 Nov 10:00 CET · 23h 30m remaining**",
			"- Sam Second · Tue 24 Nov 10:00 CET – Wed 25 Nov 10:00 CET · starts in 23h 30m",
			"- Lena Limited · Wed 25 Nov 10:00 CET – Thu 26 Nov 10:00 CET · starts in 1d 23h")
		if f.Title != "Schedule: Platform Primary" || f.SubmitButtons != forms.FieldButton {
			t.Errorf("title %q, submit buttons %q", f.Title, f.SubmitButtons)
		}
		var buttons []string
		for _, o := range field(t, f, forms.FieldButton).SelectStaticOptions {
			buttons = append(buttons, o.Value)
		}
		if strings.Join(buttons, ",") != "page,override,bulk" {
			t.Errorf("buttons %v", buttons)
		}
	}

	t.Run("without a name it asks for one", func(t *testing.T) {
		resp := e.command(e.user, "schedule", nil)
		if resp.Type != apps.CallResponseTypeForm || resp.Form.Title != "Open a PagerDuty schedule" {
			t.Fatalf("%s", respText(resp))
		}
		opts := e.lookupFrom(e.user, field(t, resp.Form, forms.FieldSchedule), nil, "pay")
		if len(opts) != 1 || opts[0].Label != "Payments Primary" || opts[0].Value != "schedule:"+e.seed.PaymentsSchedule {
			t.Fatalf("schedule lookup: %+v", opts)
		}
		view := e.submitForm(e.user, resp, map[string]any{forms.FieldSchedule: option(opts[0].Label, opts[0].Value)})
		if view.Type != apps.CallResponseTypeForm || !strings.Contains(view.Form.Header, "**On call now:** **Sam Second**") {
			t.Fatalf("Payments view: %s", respText(view))
		}
	})

	t.Run("unknown schedule", func(t *testing.T) {
		resp := e.command(e.user, "schedule", map[string]any{forms.FieldSchedule: typed("Nonexistent")})
		if resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, "no PagerDuty schedule matches `Nonexistent`") {
			t.Fatalf("%s", respText(resp))
		}
	})

	t.Run("nobody on call: no page button", func(t *testing.T) {
		empty := e.pd.AddSchedule(pdfake.Schedule{Name: "Empty", TimeZone: "Europe/Paris"})
		resp := e.command(e.user, "schedule", map[string]any{forms.FieldSchedule: typed(empty)})
		if resp.Type != apps.CallResponseTypeForm {
			t.Fatalf("%s", respText(resp))
		}
		mustContain(t, resp.Form.Header, "**On call now:** nobody", "_No shifts in the next 48 hours._")
		for _, o := range field(t, resp.Form, forms.FieldButton).SelectStaticOptions {
			if o.Value == forms.ButtonPage {
				t.Error("a page button with nobody to page")
			}
		}
	})

	t.Run("page button pages the current on-call through the incidents' page call", func(t *testing.T) {
		view := e.command(e.user, "schedule", map[string]any{forms.FieldSchedule: typed("Platform Primary")})
		page := e.submitForm(e.user, view, map[string]any{forms.FieldButton: option("Page the on-call", forms.ButtonPage)})
		if page.Type != apps.CallResponseTypeForm || page.Form.Submit.Path != pathPage {
			t.Fatalf("page button: %s", respText(page))
		}
		mustContain(t, page.Form.Header, "whoever is on call in **Platform Primary** (now: **Rita Responder**)")
		target := field(t, page.Form, forms.FieldTarget).Value.(map[string]any)
		before := len(e.pd.Incidents())
		resp := e.submitForm(e.user, page, map[string]any{
			forms.FieldTarget:  target,
			forms.FieldService: option("API", "service:"+e.seed.APIService),
			forms.FieldMessage: "Checkout is down",
		})
		wantOK(t, "page", resp)
		mustContain(t, resp.Text, "You paged whoever is on call in **Platform Primary** (Rita Responder)")
		incs := e.pd.Incidents()
		if len(incs) != before+1 {
			t.Fatalf("%d incidents created", len(incs)-before)
		}
		inc := incs[len(incs)-1]
		if inc.Title != "Checkout is down" || len(inc.Assignments) != 1 || inc.Assignments[0].UserID != e.seed.Responder {
			t.Errorf("incident %q assigned to %+v", inc.Title, inc.Assignments)
		}
	})

	t.Run("override buttons open the forms with the schedule", func(t *testing.T) {
		view := e.command(e.user, "schedule", map[string]any{forms.FieldSchedule: typed("Platform Primary")})
		for button, path := range map[string]string{forms.ButtonOverride: pathOverride, forms.ButtonBulk: pathBulkOverride} {
			resp := e.submitForm(e.user, view, map[string]any{forms.FieldButton: option(button, button)})
			if resp.Type != apps.CallResponseTypeForm || resp.Form.Submit.Path != path {
				t.Fatalf("%s button: %s", button, respText(resp))
			}
			sched := field(t, resp.Form, forms.FieldSchedule).Value.(map[string]any)
			if sched["value"] != "schedule:"+e.seed.PlatformSchedule || sched["label"] != "Platform Primary" {
				t.Errorf("%s form: schedule %v", button, sched)
			}
		}
	})

	t.Run("a forged schedule id in the state is refused", func(t *testing.T) {
		c := &apps.Call{Path: pathScheduleAction, Expand: expandUser, State: map[string]any{"id": "../users", "name": "x"}}
		resp := e.callFrom(e.user, "/modal", c, map[string]any{forms.FieldButton: option("Override", forms.ButtonOverride)})
		if resp.Type != apps.CallResponseTypeError {
			t.Fatalf("%s", respText(resp))
		}
	})
	if v := e.pd.Violations(); len(v) > 0 {
		t.Fatalf("PagerDuty spec violations: %v", v)
	}
}

// TestOnCallBindings: the on-call commands are embedded forms the plugin keeps whole, offered
// by connection state, and in the channel-header menu.
func TestOnCallBindings(t *testing.T) {
	e := newOnCallEnv(t)
	for _, tt := range []struct {
		name    string
		u       func() string
		want    []string
		notWant []string
	}{
		{"connected", func() string { return e.user.Username }, []string{"schedules", "schedule", "override", "bulk-override", "notify"}, nil},
		{"not connected", func() string { return e.sam.Username }, []string{"notify"}, []string{"schedules", "schedule", "override", "bulk-override"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := e.mm.UserByUsername(tt.u())
			for _, name := range tt.want {
				b, ok := e.binding(u, name)
				if !ok {
					t.Fatalf("no /pagerduty %s", name)
				}
				if b.Form == nil || b.Form.Submit == nil || b.Form.Source != nil || len(b.Form.Fields) == 0 {
					t.Errorf("/pagerduty %s: the form must be embedded with its fields: %+v", name, b.Form)
				}
				for _, f := range b.Form.Fields {
					if f.IsRequired {
						t.Errorf("/pagerduty %s: field %s is required (the webapp would refuse the command instead of opening the modal)", name, f.Name)
					}
				}
			}
			for _, name := range tt.notWant {
				if _, ok := e.binding(u, name); ok {
					t.Errorf("/pagerduty %s offered", name)
				}
			}
		})
	}
	if p := e.mm.Problems(); len(p) > 0 {
		t.Fatalf("the plugin drops parts of the bindings: %v", p)
	}
	menu := e.callFrom(e.user, "/channel_header", call(pathMenu, expandUser), nil)
	if menu.Type != apps.CallResponseTypeForm {
		t.Fatalf("menu: %s", respText(menu))
	}
	var entries []string
	for _, o := range field(t, menu.Form, forms.MenuField).SelectStaticOptions {
		entries = append(entries, o.Value)
	}
	for _, want := range []string{"schedules", "schedule", "override", "bulk-override", "notify"} {
		if !strings.Contains(","+strings.Join(entries, ",")+",", ","+want+",") {
			t.Errorf("menu %v lacks %s", entries, want)
		}
	}
	help := e.command(e.user, "help", nil)
	mustContain(t, help.Text, "`/pagerduty schedules [mine]`", "`/pagerduty bulk-override SCHEDULE --from USER --to USER --start DAY --end DAY`")
}
