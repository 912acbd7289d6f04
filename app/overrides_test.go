package app

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
)

// overrideWrites counts the override-creating requests PagerDuty received.
func (e *ocEnv) overrideWrites() int {
	return e.pd.CountRequests("POST", "/schedules/")
}

func (e *ocEnv) overrides(scheduleID string) []pdfake.Override {
	e.t.Helper()
	s, ok := e.pd.Schedule(scheduleID)
	if !ok {
		e.t.Fatalf("no schedule %s", scheduleID)
	}
	return s.Overrides
}

func TestQuickOverride(t *testing.T) {
	e := newOnCallEnv(t)
	now := e.clock.Now()

	t.Run("a command with every value acts at once", func(t *testing.T) {
		resp := e.command(e.user, "override", map[string]any{
			forms.FieldSchedule: typed("Platform Primary"), forms.FieldUser: typed("Lena Limited"),
			forms.FieldStart: "now", forms.FieldEnd: "2h",
		})
		wantOK(t, "override", resp)
		mustContain(t, resp.Text, "✅ **Lena Limited** is on call for **Platform Primary** Mon 23 Nov 10:30 CET – 12:30 CET (2h). Times in Europe/Berlin.")
		ovs := e.overrides(e.seed.PlatformSchedule)
		if len(ovs) != 1 || ovs[0].UserID != e.seed.Limited || !ovs[0].Start.Equal(now) || !ovs[0].End.Equal(now.Add(2*time.Hour)) {
			t.Fatalf("overrides in PagerDuty: %+v", ovs)
		}
	})

	t.Run("missing values open the modal with what was typed; the modal creates it", func(t *testing.T) {
		resp := e.command(e.user, "override", map[string]any{forms.FieldSchedule: typed("Payments Primary"), forms.FieldEnd: "2026-11-24 18:00"})
		if resp.Type != apps.CallResponseTypeForm || resp.Form.Submit.Path != pathOverride {
			t.Fatalf("%s", respText(resp))
		}
		f := resp.Form
		if v := field(t, f, forms.FieldSchedule).Value.(map[string]any); v["value"] != "Payments Primary" {
			t.Errorf("schedule not echoed: %v", v)
		}
		if field(t, f, forms.FieldEnd).Value != "2026-11-24 18:00" || field(t, f, forms.FieldStart).Value != "now" {
			t.Errorf("times not echoed: %v %v", field(t, f, forms.FieldStart).Value, field(t, f, forms.FieldEnd).Value)
		}
		opts := e.lookupFrom(e.user, field(t, f, forms.FieldUser), nil, "olivia")
		if len(opts) != 1 || opts[0].Value != "user:"+e.seed.Owner {
			t.Fatalf("user lookup: %+v", opts)
		}
		resp = e.submitForm(e.user, resp, map[string]any{
			forms.FieldSchedule: option("Payments Primary", "schedule:"+e.seed.PaymentsSchedule),
			forms.FieldUser:     option(opts[0].Label, opts[0].Value),
			forms.FieldStart:    "2026-11-24 08:00", forms.FieldEnd: "2026-11-24 18:00",
		})
		wantOK(t, "override from the modal", resp)
		mustContain(t, resp.Text, "**Olivia Owner** is on call for **Payments Primary** Tue 24 Nov 08:00 CET – 18:00 CET (10h)")
		ovs := e.overrides(e.seed.PaymentsSchedule)
		if len(ovs) != 1 || ovs[0].UserID != e.seed.Owner || !ovs[0].Start.Equal(time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)) {
			t.Fatalf("overrides in PagerDuty: %+v", ovs)
		}
	})

	t.Run("invalid values get specific errors and nothing is written", func(t *testing.T) {
		base := func(mod map[string]any) map[string]any {
			v := map[string]any{forms.FieldSchedule: typed("Platform Primary"), forms.FieldUser: typed("Lena Limited"), forms.FieldStart: "now", forms.FieldEnd: "2h"}
			for k, x := range mod {
				v[k] = x
			}
			return v
		}
		tests := []struct {
			name   string
			values map[string]any
			field  string
			want   string
		}{
			{"start after end", base(map[string]any{forms.FieldStart: "2026-11-24 12:00", forms.FieldEnd: "2026-11-24 10:00"}), forms.FieldEnd,
				"end: Tue 24 Nov 10:00 CET is not after the start, Tue 24 Nov 12:00 CET."},
			{"window in the past", base(map[string]any{forms.FieldStart: "2026-11-23 08:00", forms.FieldEnd: "2026-11-23 10:00"}), forms.FieldEnd,
				"end: Mon 23 Nov 10:00 CET is already past (it is now Mon 23 Nov 10:30 CET)"},
			{"longer than 30 days", base(map[string]any{forms.FieldEnd: "31d"}), forms.FieldEnd, "end: at most 30 days after the start"},
			{"not a time", base(map[string]any{forms.FieldStart: "tomorrow morning"}), forms.FieldStart,
				"start: `tomorrow morning` is not a time: use YYYY-MM-DD HH:MM in your time zone (Europe/Berlin)"},
			{"not a length", base(map[string]any{forms.FieldEnd: "a while"}), forms.FieldEnd, "or a length after the start such as 4h or 2d"},
			{"user outside the account", base(map[string]any{forms.FieldUser: option("Ghost", "user:PGHOST1")}), forms.FieldUser,
				"user: `Ghost` is not a user of this PagerDuty account"},
			{"nobody by that name", base(map[string]any{forms.FieldUser: typed("Nobody Atall")}), forms.FieldUser, "no PagerDuty user matches `Nobody Atall`"},
			{"unknown schedule", base(map[string]any{forms.FieldSchedule: typed("Nonexistent")}), forms.FieldSchedule, "no PagerDuty schedule matches `Nonexistent`"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e.pd.ResetRequests()
				resp := e.command(e.user, "override", tt.values)
				if resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, tt.want) {
					t.Fatalf("got %s, want an error containing %q", respText(resp), tt.want)
				}
				fe, _ := resp.Data.(map[string]any)["errors"].(map[string]any)
				if msg, _ := fe[tt.field].(string); !strings.Contains(msg, tt.want) {
					t.Errorf("field errors %v, want %s: %q", fe, tt.field, tt.want)
				}
				if n := e.overrideWrites(); n != 0 {
					t.Errorf("%d override requests sent", n)
				}
				if strings.Contains(resp.Text, "goroutine") || strings.Contains(resp.Text, ".go:") {
					t.Errorf("a stack trace reached the user: %s", resp.Text)
				}
			})
		}
	})

	t.Run("a role that cannot write gets PagerDuty's refusal in one sentence", func(t *testing.T) {
		if err := e.pd.SetUserRole(e.seed.Responder, pdfake.RoleObserver); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = e.pd.SetUserRole(e.seed.Responder, pdfake.RoleUser) }()
		resp := e.command(e.user, "override", map[string]any{forms.FieldSchedule: typed("Platform Primary"), forms.FieldUser: typed("Lena Limited"),
			forms.FieldStart: "now", forms.FieldEnd: "1h"})
		if resp.Type != apps.CallResponseTypeError || resp.Text != "Your PagerDuty role does not allow creating the override." {
			t.Fatalf("%s", respText(resp))
		}
	})
	if v := e.pd.Violations(); len(v) > 0 {
		t.Fatalf("PagerDuty spec violations: %v", v)
	}
}

// Sam's Platform days between Mon 23 and Sun 29 Nov (Berlin) are Tue 24 and Fri 27.
func bulkValues(e *ocEnv, mod map[string]any) map[string]any {
	v := map[string]any{
		forms.FieldSchedule: typed("Platform Primary"), forms.FieldFrom: typed("Sam Second"), forms.FieldTo: typed("Lena Limited"),
		forms.FieldStart: "2026-11-23", forms.FieldEnd: "2026-11-29",
	}
	for k, x := range mod {
		v[k] = x
	}
	return v
}

func TestBulkOverride(t *testing.T) {
	e := newOnCallEnv(t)
	day := func(d int) time.Time { return time.Date(2026, 11, d, 9, 0, 0, 0, time.UTC) }

	t.Run("preview, then one request, then each result", func(t *testing.T) {
		e.pd.ResetRequests()
		preview := e.command(e.user, "bulk-override", bulkValues(e, nil))
		if preview.Type != apps.CallResponseTypeForm || preview.Form.Submit.Path != pathBulkConfirm {
			t.Fatalf("preview: %s %v", respText(preview), preview.Data)
		}
		mustContain(t, preview.Form.Header, "**Schedule:** Platform Primary",
			"2 shift(s) of **Sam Second** will be handed over (times in Europe/Berlin):",
			"- Tue 24 Nov 10:00 CET – Wed 25 Nov 10:00 CET (1d)",
			"- Fri 27 Nov 10:00 CET – Sat 28 Nov 10:00 CET (1d)",
			"They go to **Lena Limited**")
		if n := e.overrideWrites(); n != 0 {
			t.Fatalf("the preview wrote %d times", n)
		}
		resp := e.submitForm(e.user, preview, map[string]any{forms.FieldButton: option("Create 2 override(s)", forms.ButtonConfirm)})
		wantOK(t, "confirm", resp)
		mustContain(t, resp.Text, "#### Bulk override on Platform Primary", "Shifts of **Sam Second** handed to **Lena Limited**.",
			"**2 of 2 override(s) created** (times in Europe/Berlin)",
			"- ✅ Tue 24 Nov 10:00 CET – Wed 25 Nov 10:00 CET: created",
			"- ✅ Fri 27 Nov 10:00 CET – Sat 28 Nov 10:00 CET: created")
		if n := e.overrideWrites(); n != 1 {
			t.Errorf("%d override requests, want one for both", n)
		}
		ovs := e.overrides(e.seed.PlatformSchedule)
		if len(ovs) != 2 || ovs[0].UserID != e.seed.Limited || !ovs[0].Start.Equal(day(24)) || !ovs[1].End.Equal(day(28)) {
			t.Fatalf("overrides in PagerDuty: %+v", ovs)
		}
		// Sam has no shift left in the range: a second bulk override says so.
		resp = e.command(e.user, "bulk-override", bulkValues(e, nil))
		if resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, "from: Sam Second has no shifts on Platform Primary between Mon 23 Nov 10:30 CET and Mon 30 Nov 00:00 CET.") {
			t.Fatalf("%s", respText(resp))
		}
	})
}

func TestBulkOverrideModalAndChanges(t *testing.T) {
	e := newOnCallEnv(t)
	platform := "schedule:" + e.seed.PlatformSchedule

	t.Run("the modal's whose-shifts select lists the schedule's members", func(t *testing.T) {
		form := e.command(e.user, "bulk-override", nil)
		if form.Type != apps.CallResponseTypeForm || form.Form.Submit.Path != pathBulkOverride {
			t.Fatalf("%s", respText(form))
		}
		from := field(t, form.Form, forms.FieldFrom)
		values := map[string]any{forms.FieldSchedule: option("Platform Primary", platform)}
		var names []string
		for _, o := range e.lookupFrom(e.user, from, values, "") {
			names = append(names, o.Label+"="+o.Value)
		}
		want := "Rita Responder=user:" + e.seed.Responder + ",Sam Second=user:" + e.seed.Secondary + ",Lena Limited=user:" + e.seed.Limited
		if strings.Join(names, ",") != want {
			t.Errorf("members %v, want %s", names, want)
		}
		if opts := e.lookupFrom(e.user, from, values, "sa"); len(opts) != 1 || opts[0].Label != "Sam Second" {
			t.Errorf("members matching sa: %+v", opts)
		}
	})

	t.Run("a schedule change between preview and confirm shows the new preview and sends nothing", func(t *testing.T) {
		preview := e.command(e.user, "bulk-override", bulkValues(e, nil))
		if preview.Type != apps.CallResponseTypeForm {
			t.Fatalf("%s", respText(preview))
		}
		// Someone else takes Sam's Friday meanwhile.
		if _, err := e.pd.AddOverride(e.seed.PlatformSchedule, pdfake.Override{UserID: e.seed.Owner,
			Start: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
		e.pd.ResetRequests()
		again := e.submitForm(e.user, preview, map[string]any{forms.FieldButton: option("Create 2 override(s)", forms.ButtonConfirm)})
		if again.Type != apps.CallResponseTypeForm || again.Form.Submit.Path != pathBulkConfirm {
			t.Fatalf("confirm after a change: %s", respText(again))
		}
		mustContain(t, again.Form.Header, "The schedule changed since the preview", "1 shift(s) of **Sam Second**", "- Tue 24 Nov 10:00 CET – Wed 25 Nov 10:00 CET (1d)")
		mustNotContain(t, again.Form.Header, "Fri 27 Nov")
		if n := e.overrideWrites(); n != 0 {
			t.Fatalf("%d override requests after a change", n)
		}
		resp := e.submitForm(e.user, again, map[string]any{forms.FieldButton: option("Create 1 override(s)", forms.ButtonConfirm)})
		wantOK(t, "confirm the new preview", resp)
		mustContain(t, resp.Text, "**1 of 1 override(s) created**")
	})

	t.Run("PagerDuty's per-item verdicts are reported one by one", func(t *testing.T) {
		// Make PagerDuty refuse the second override of the batch (its end before its start)
		// by rewriting the request on the way: the fake answers 201 with one 201 and one 400.
		orig := e.app.hc
		e.app.hc = &http.Client{Transport: breakSecondOverride{next: http.DefaultTransport}}
		defer func() { e.app.hc = orig }()
		preview := e.command(e.user, "bulk-override", bulkValues(e, map[string]any{forms.FieldFrom: typed("Lena Limited"), forms.FieldTo: typed("Adam Admin")}))
		if preview.Type != apps.CallResponseTypeForm {
			t.Fatalf("%s", respText(preview))
		}
		resp := e.submitForm(e.user, preview, map[string]any{forms.FieldButton: option("confirm", forms.ButtonConfirm)})
		wantOK(t, "confirm", resp)
		// Lena holds Tue 24 (from the previous subtest) and Wed 25, merged, and Sat 28.
		mustContain(t, resp.Text, "**1 of 2 override(s) created**", "- ✅ Tue 24 Nov 10:00 CET – Thu 26 Nov 10:00 CET: created",
			"- ❌ Sun 29 Nov 10:00 CET – Sat 28 Nov 10:00 CET: failed (400): Override must end after its start")
	})

	t.Run("invalid values get specific errors and nothing is written", func(t *testing.T) {
		tests := []struct {
			name, field, want string
			mod               map[string]any
		}{
			{"over 30 days", forms.FieldEnd, "end: at most 30 days after the start; Mon 23 Nov 00:00 CET to Thu 24 Dec 00:00 CET is 31d.",
				map[string]any{forms.FieldEnd: "2026-12-23"}},
			{"in the past", forms.FieldEnd, "is already past", map[string]any{forms.FieldStart: "2026-11-01", forms.FieldEnd: "2026-11-10"}},
			{"start after end", forms.FieldEnd, "is not after the start", map[string]any{forms.FieldStart: "2026-11-29", forms.FieldEnd: "2026-11-27"}},
			{"same person", forms.FieldTo, "to: choose someone other than the person whose shifts are handed over.", map[string]any{forms.FieldTo: typed("Sam Second")}},
			{"same person by two names", forms.FieldTo, "to: choose someone other than the person whose shifts are handed over.",
				map[string]any{forms.FieldTo: option("Sam", "user:"+e.seed.Secondary)}},
			{"no shifts", forms.FieldFrom, "from: Oscar Observer has no shifts on Platform Primary", map[string]any{forms.FieldFrom: typed("Oscar Observer")}},
			{"taker outside the account", forms.FieldTo, "to: `Ghost` is not a user of this PagerDuty account", map[string]any{forms.FieldTo: option("Ghost", "user:PGHOST1")}},
			{"giver outside the account", forms.FieldFrom, "from: `Ghost` is not a user of this PagerDuty account", map[string]any{forms.FieldFrom: option("Ghost", "user:PGHOST1")}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e.pd.ResetRequests()
				resp := e.command(e.user, "bulk-override", bulkValues(e, tt.mod))
				if resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, tt.want) {
					t.Fatalf("got %s, want an error containing %q", respText(resp), tt.want)
				}
				fe, _ := resp.Data.(map[string]any)["errors"].(map[string]any)
				if msg, _ := fe[tt.field].(string); !strings.Contains(msg, tt.want) {
					t.Errorf("field errors %v, want %s: %q", fe, tt.field, tt.want)
				}
				if n := e.overrideWrites(); n != 0 {
					t.Errorf("%d override requests sent", n)
				}
			})
		}
	})

	t.Run("a damaged or stale confirmation is refused", func(t *testing.T) {
		c := &apps.Call{Path: pathBulkConfirm, Expand: expandUser, State: map[string]any{"s": "../x", "f": "A", "t": "B", "a": 1, "b": 2, "o": [][]int{{1, 2}}}}
		resp := e.callFrom(e.user, "/modal", c, map[string]any{forms.FieldButton: option("confirm", forms.ButtonConfirm)})
		if resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, "out of date") {
			t.Fatalf("%s", respText(resp))
		}
		preview := e.command(e.user, "bulk-override", bulkValues(e, map[string]any{forms.FieldFrom: typed("Rita Responder"), forms.FieldEnd: "2026-11-23"}))
		if preview.Type != apps.CallResponseTypeForm {
			t.Fatalf("%s", respText(preview))
		}
		e.clock.Advance(24 * time.Hour) // the preview was left open past the range's end
		defer e.clock.Advance(-24 * time.Hour)
		e.pd.ResetRequests()
		resp = e.submitForm(e.user, preview, map[string]any{forms.FieldButton: option("confirm", forms.ButtonConfirm)})
		if resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, "Nothing was changed") {
			t.Fatalf("%s", respText(resp))
		}
		if n := e.overrideWrites(); n != 0 {
			t.Errorf("%d override requests sent", n)
		}
	})
	if v := e.pd.Violations(); len(v) > 0 {
		t.Fatalf("PagerDuty spec violations: %v", v)
	}
}

// breakSecondOverride swaps the start and end of the second override of a batch.
type breakSecondOverride struct{ next http.RoundTripper }

func (b breakSecondOverride) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/overrides") || r.Body == nil {
		return b.next.RoundTrip(r)
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	var body struct {
		Overrides []map[string]any `json:"overrides"`
	}
	if err := json.Unmarshal(raw, &body); err == nil && len(body.Overrides) > 1 {
		o := body.Overrides[1]
		o["start"], o["end"] = o["end"], o["start"]
		raw, _ = json.Marshal(body)
	}
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(raw))
	r2.ContentLength = int64(len(raw))
	return b.next.RoundTrip(r2)
}
