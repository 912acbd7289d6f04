package app

import (
	"strings"
	"testing"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/monitor"
)

func TestNotifyPreferences(t *testing.T) {
	e := newOnCallEnv(t)
	prefs := func(t *testing.T, uid string) monitor.Prefs {
		t.Helper()
		p, err := (&monitor.KVPrefs{KV: e.kvCtxKV(), Locks: e.app.locks}).Get(e.ctx, uid)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	mode := func(m string) map[string]any { return map[string]any{fieldNotifyMode: option(m, m)} }

	resp := e.command(e.user, "notify", mode("status"))
	wantOK(t, "status", resp)
	mustContain(t, resp.Text, "On-call DMs are **off**.", "- Shift starts in 30 minutes: off")
	mustNotContain(t, resp.Text, "not connected")

	resp = e.command(e.user, "notify", mode("on"))
	wantOK(t, "on", resp)
	mustContain(t, resp.Text, "On-call DMs are **on** for every kind.")
	if p := prefs(t, e.user.Id); p != monitor.AllPrefs(true) {
		t.Errorf("stored %+v after on", p)
	}

	// The modal shows the stored switches; saving it stores exactly them.
	form := e.command(e.user, "notify", nil)
	if form.Type != apps.CallResponseTypeForm || form.Form.Submit.Path != pathNotifySubmit {
		t.Fatalf("modal: %s", respText(form))
	}
	for _, k := range monitor.Kinds() {
		if v := field(t, form.Form, string(k.Kind)).Value; v != true {
			t.Errorf("switch %s shows %v", k.Kind, v)
		}
	}
	resp = e.submitForm(e.user, form, map[string]any{"started": false, "ended": false, "reminder": true, "override": true})
	wantOK(t, "save", resp)
	mustContain(t, resp.Text, "Saved. On-call DMs are on for **2 of 4** kinds.", "- On-call started: off", "- Shift taken by an override: on")
	if p := prefs(t, e.user.Id); p != (monitor.Prefs{Reminder: true, Override: true}) {
		t.Errorf("stored %+v after the modal", p)
	}

	// A value that is not a switch is refused and nothing is saved.
	resp = e.submitForm(e.user, form, map[string]any{"started": "yes please", "ended": true})
	if resp.Type != apps.CallResponseTypeError {
		t.Fatalf("bad switch: %s", respText(resp))
	}
	if p := prefs(t, e.user.Id); p != (monitor.Prefs{Reminder: true, Override: true}) {
		t.Errorf("a refused save changed the preferences: %+v", p)
	}

	resp = e.command(e.user, "notify", mode("off"))
	wantOK(t, "off", resp)
	if p := prefs(t, e.user.Id); p.Any() {
		t.Errorf("stored %+v after off", p)
	}

	// Sam never connected: he may opt in, and is told how he is found.
	resp = e.command(e.sam, "notify", mode("on"))
	wantOK(t, "sam on", resp)
	mustContain(t, resp.Text, "You have not connected your PagerDuty account", "/pagerduty connect")
	if p := prefs(t, e.sam.Id); p != monitor.AllPrefs(true) {
		t.Errorf("Sam's preferences %+v", p)
	}
	// Preferences are per user.
	if p := prefs(t, e.lena.Id); p.Any() {
		t.Errorf("Lena's preferences changed: %+v", p)
	}

	// A mode the select does not offer (a hand-made call).
	resp = e.callFrom(e.user, "/command/pagerduty/notify", call(pathNotify, expandUser), map[string]any{fieldNotifyMode: "loud"})
	if resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, "mode: use `on`, `off` or `status`") {
		t.Errorf("bad mode: %s", respText(resp))
	}
	// The menu entry opens the modal.
	resp = e.callFrom(e.user, "/channel_header", call(pathMenuSubmit, expandUser), map[string]any{forms.MenuField: option("notify", "notify")})
	if resp.Type != apps.CallResponseTypeForm || resp.Form.Title != "On-call DMs" {
		t.Errorf("menu: %s", respText(resp))
	}
}
