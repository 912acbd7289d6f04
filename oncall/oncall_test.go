package oncall

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	gold "github.com/mattermost/mattermost-app-pagerduty/internal/golden"

	"github.com/PagerDuty/go-pagerduty"
)

// golden compares got with testdata/name.golden (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	gold.Assert(t, name+".golden", []byte(got))
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestFromAPI(t *testing.T) {
	tests := []struct {
		name    string
		in      pagerduty.OnCall
		want    Entry
		wantErr bool
	}{
		{
			name: "schedule entry with full user (include[]=users)",
			in: pagerduty.OnCall{
				User:             pagerduty.User{APIObject: pagerduty.APIObject{ID: "PU1", Summary: "Ann S"}, Name: "Ann Smith", Email: "ann@example.com"},
				Schedule:         pagerduty.Schedule{APIObject: pagerduty.APIObject{ID: "PS1", Summary: "Primary"}},
				EscalationPolicy: pagerduty.EscalationPolicy{APIObject: pagerduty.APIObject{ID: "PE1", Summary: "Ops"}},
				EscalationLevel:  2, Start: "2026-03-06T15:28:51-05:00", End: "2026-03-07T15:28:51-05:00",
			},
			want: Entry{UserID: "PU1", UserName: "Ann Smith", UserEmail: "ann@example.com", ScheduleID: "PS1", ScheduleName: "Primary",
				PolicyID: "PE1", PolicyName: "Ops", Level: 2, Start: utc("2026-03-06T20:28:51Z"), End: utc("2026-03-07T20:28:51Z")},
		},
		{
			name: "direct policy target: no schedule, null times",
			in: pagerduty.OnCall{
				User:             pagerduty.User{APIObject: pagerduty.APIObject{ID: "PU2", Summary: "Bob"}},
				EscalationPolicy: pagerduty.EscalationPolicy{APIObject: pagerduty.APIObject{ID: "PE1", Summary: "Ops"}},
				EscalationLevel:  1,
			},
			want: Entry{UserID: "PU2", UserName: "Bob", PolicyID: "PE1", PolicyName: "Ops", Level: 1},
		},
		{name: "bad start", in: pagerduty.OnCall{Start: "yesterday"}, wantErr: true},
		{name: "bad end", in: pagerduty.OnCall{Start: "2026-03-06T15:28:51Z", End: "2026-13-07"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromAPI([]pagerduty.OnCall{tt.in})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want error, got %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !entryEqual(got[0], tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func entryEqual(a, b Entry) bool {
	as, ae, bs, be := a.Start, a.End, b.Start, b.End
	a.Start, a.End, b.Start, b.End = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b && as.Equal(bs) && ae.Equal(be)
}

func TestShiftsAndScheduleFromAPI(t *testing.T) {
	shifts, err := ShiftsFromAPI([]pagerduty.RenderedScheduleEntry{
		{Start: "2026-01-05T09:00:00+01:00", End: "2026-01-05T17:00:00+01:00", User: pagerduty.APIObject{ID: "PU1", Summary: "Ann"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(shifts) != 1 || shifts[0].UserID != "PU1" || !shifts[0].Start.Equal(utc("2026-01-05T08:00:00Z")) || !shifts[0].End.Equal(utc("2026-01-05T16:00:00Z")) {
		t.Errorf("shifts = %+v", shifts)
	}
	if _, err := ShiftsFromAPI([]pagerduty.RenderedScheduleEntry{{Start: "x"}}); err == nil {
		t.Error("bad time accepted")
	}

	info := ScheduleFromAPI(pagerduty.Schedule{
		APIObject: pagerduty.APIObject{ID: "PS1", Summary: "sum", HTMLURL: "https://x.pagerduty.com/schedules/PS1"},
		Name:      "Primary", TimeZone: "Europe/Berlin", Description: "d",
		Users: []pagerduty.APIObject{{ID: "PU1", Summary: "Ann"}},
		ScheduleLayers: []pagerduty.ScheduleLayer{{Users: []pagerduty.UserReference{
			{User: pagerduty.APIObject{ID: "PU1", Summary: "Ann"}}, {User: pagerduty.APIObject{ID: "PU3", Summary: "Cid"}},
		}}},
	})
	want := ScheduleInfo{ID: "PS1", Name: "Primary", Description: "d", TimeZone: "Europe/Berlin",
		HTMLURL: "https://x.pagerduty.com/schedules/PS1", Members: []Person{{"PU1", "Ann"}, {"PU3", "Cid"}}}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("ScheduleFromAPI = %+v, want %+v", info, want)
	}
}

func TestUserLocation(t *testing.T) {
	tests := []struct {
		tz   map[string]string
		want string
	}{
		{nil, "UTC"},
		{map[string]string{"useAutomaticTimezone": "true", "automaticTimezone": "Europe/Berlin", "manualTimezone": ""}, "Europe/Berlin"},
		{map[string]string{"useAutomaticTimezone": "false", "automaticTimezone": "Europe/Berlin", "manualTimezone": "Asia/Tokyo"}, "Asia/Tokyo"},
		{map[string]string{"useAutomaticTimezone": "false", "automaticTimezone": "Europe/Berlin", "manualTimezone": ""}, "Europe/Berlin"},
		{map[string]string{"useAutomaticTimezone": "true", "automaticTimezone": "Not/AZone", "manualTimezone": "America/New_York"}, "America/New_York"},
		{map[string]string{"useAutomaticTimezone": "true", "automaticTimezone": "Not/AZone"}, "UTC"},
	}
	for _, tt := range tests {
		if got := UserLocation(tt.tz).String(); got != tt.want {
			t.Errorf("UserLocation(%v) = %s, want %s", tt.tz, got, tt.want)
		}
	}
}

func TestRelativeAndStatus(t *testing.T) {
	rel := []struct {
		d    time.Duration
		want string
	}{
		{0, "<1m"}, {59 * time.Second, "<1m"}, {time.Minute, "1m"}, {45*time.Minute + 59*time.Second, "45m"},
		{2*time.Hour + 30*time.Minute, "2h 30m"}, {3 * time.Hour, "3h"}, {28*time.Hour + 10*time.Minute, "1d 4h"},
		{48 * time.Hour, "2d"}, {-90 * time.Minute, "1h 30m"},
	}
	for _, tt := range rel {
		if got := Relative(tt.d); got != tt.want {
			t.Errorf("Relative(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	now := utc("2026-01-05T10:00:00Z")
	st := []struct {
		start, end time.Time
		want       string
	}{
		{utc("2026-01-05T09:00:00Z"), utc("2026-01-05T12:30:00Z"), "2h 30m remaining"},
		{utc("2026-01-06T14:00:00Z"), utc("2026-01-06T18:00:00Z"), "starts in 1d 4h"},
		{utc("2026-01-05T08:00:00Z"), utc("2026-01-05T10:00:00Z"), "ended"},
		{utc("2026-01-05T08:00:00Z"), time.Time{}, "until further notice"},
		{time.Time{}, time.Time{}, "until further notice"},
		{time.Time{}, utc("2026-01-05T10:05:00Z"), "5m remaining"},
	}
	for _, tt := range st {
		if got := ShiftStatus(tt.start, tt.end, now); got != tt.want {
			t.Errorf("ShiftStatus(%v, %v) = %q, want %q", tt.start, tt.end, got, tt.want)
		}
	}
}

func TestFormatSpan(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	tests := []struct {
		name       string
		start, end time.Time
		want       string
	}{
		{"same day", utc("2026-01-05T08:00:00Z"), utc("2026-01-05T16:00:00Z"), "Mon 05 Jan 09:00 CET – 17:00 CET"},
		{"across midnight", utc("2026-01-05T22:00:00Z"), utc("2026-01-06T06:00:00Z"), "Mon 05 Jan 23:00 CET – Tue 06 Jan 07:00 CET"},
		// 2026-10-25: 03:00 CEST becomes 02:00 CET. Same local day, different zone: full end.
		{"DST end day", utc("2026-10-24T22:00:00Z"), utc("2026-10-25T23:00:00Z"), "Sun 25 Oct 00:00 CEST – Mon 26 Oct 00:00 CET"},
		{"DST end within day", utc("2026-10-24T22:00:00Z"), utc("2026-10-25T11:00:00Z"), "Sun 25 Oct 00:00 CEST – Sun 25 Oct 12:00 CET"},
		{"open end", utc("2026-01-05T08:00:00Z"), time.Time{}, "Mon 05 Jan 09:00 CET – open-ended"},
		{"open start", time.Time{}, utc("2026-01-05T08:00:00Z"), "since ever – Mon 05 Jan 09:00 CET"},
	}
	for _, tt := range tests {
		if got := FormatSpan(tt.start, tt.end, berlin); got != tt.want {
			t.Errorf("%s: FormatSpan = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestTimeline(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	now := utc("2026-01-05T10:00:00Z")
	ann := Shift{UserID: "PU1", UserName: "Ann", Start: utc("2026-01-05T08:00:00Z"), End: utc("2026-01-05T12:30:00Z")}
	bob := Shift{UserID: "PU2", UserName: "Bob", Start: ann.End, End: utc("2026-01-06T08:00:00Z")}
	cid := Shift{UserID: "PU3", UserName: "Cid", Start: bob.End, End: utc("2026-01-07T08:00:00Z")}
	late := Shift{UserID: "PU4", UserName: "Dee", Start: utc("2026-01-07T10:00:00Z"), End: utc("2026-01-07T12:00:00Z")}
	past := Shift{UserID: "PU5", UserName: "Eve", Start: utc("2026-01-05T00:00:00Z"), End: utc("2026-01-05T08:00:00Z")}
	open := Shift{UserID: "PU6", UserName: "Fay", Start: utc("2026-01-01T00:00:00Z")}

	type row struct {
		user    string
		current bool
		status  string
	}
	tests := []struct {
		name   string
		shifts []Shift
		want   []row
	}{
		{"current then next, beyond window and past dropped", []Shift{cid, late, bob, ann, past},
			[]row{{"PU1", true, "2h 30m remaining"}, {"PU2", false, "starts in 2h 30m"}, {"PU3", false, "starts in 22h"}}},
		{"open-ended current", []Shift{open}, []row{{"PU6", true, "until further notice"}}},
		{"two people on call at once, sorted by name", []Shift{{UserID: "PU2", UserName: "Bob", Start: ann.Start, End: ann.End}, ann},
			[]row{{"PU1", true, "2h 30m remaining"}, {"PU2", true, "2h 30m remaining"}}},
		{"nothing", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := Timeline(tt.shifts, now, berlin, ViewWindow)
			var got []row
			for _, r := range rows {
				got = append(got, row{r.UserID, r.Current, r.Status})
				if !r.LocalStart.IsZero() && r.LocalStart.Location() != berlin {
					t.Errorf("LocalStart not in viewer zone: %v", r.LocalStart.Location())
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rows = %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if cur := CurrentOnCall(Timeline([]Shift{ann, bob, ann}, now, berlin, ViewWindow)); !reflect.DeepEqual(cur, []Person{{"PU1", "Ann"}}) {
		t.Errorf("CurrentOnCall = %+v", cur)
	}
}

// A Berlin day shift on the DST change day lasts 23h (March) or 25h (October); relative times are
// computed on instants, so the view reports the real remaining time.
func TestTimelineAcrossDST(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	tests := []struct {
		name         string
		start, end   time.Time
		now          time.Time
		wantStatus   string
		wantDuration time.Duration
	}{
		{"spring forward: local midnight to midnight", time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), time.Date(2026, 3, 30, 0, 0, 0, 0, berlin),
			time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), "23h remaining", 23 * time.Hour},
		{"fall back: local midnight to midnight", time.Date(2026, 10, 25, 0, 0, 0, 0, berlin), time.Date(2026, 10, 26, 0, 0, 0, 0, berlin),
			time.Date(2026, 10, 25, 0, 0, 0, 0, berlin), "1d 1h remaining", 25 * time.Hour},
		{"fall back: starts after the repeated hour", time.Date(2026, 10, 25, 3, 0, 0, 0, berlin), time.Date(2026, 10, 25, 9, 0, 0, 0, berlin),
			time.Date(2026, 10, 25, 1, 0, 0, 0, berlin), "starts in 3h", 6 * time.Hour},
	}
	for _, tt := range tests {
		rows := Timeline([]Shift{{UserID: "PU1", UserName: "Ann", Start: tt.start, End: tt.end}}, tt.now, berlin, ViewWindow)
		if len(rows) != 1 {
			t.Fatalf("%s: %d rows", tt.name, len(rows))
		}
		if rows[0].Status != tt.wantStatus || tt.end.Sub(tt.start) != tt.wantDuration {
			t.Errorf("%s: status %q (want %q), duration %v (want %v)", tt.name, rows[0].Status, tt.wantStatus, tt.end.Sub(tt.start), tt.wantDuration)
		}
	}
}

func TestMineIn48h(t *testing.T) {
	now := utc("2026-01-05T10:00:00Z")
	schedules := []ScheduleInfo{{ID: "S1", Name: "One"}, {ID: "S2", Name: "Two"}, {ID: "S3", Name: "Three"}, {ID: "S4", Name: "Four"}}
	entries := []Entry{
		{UserID: "ME", ScheduleID: "S1", Start: now.Add(47 * time.Hour), End: now.Add(50 * time.Hour)}, // starts inside
		{UserID: "ME", ScheduleID: "S2", Start: now.Add(48 * time.Hour), End: now.Add(50 * time.Hour)}, // starts exactly at the edge: outside
		{UserID: "ME", ScheduleID: "S3", Start: now.Add(-5 * time.Hour), End: now},                     // ended now: outside
		{UserID: "OTHER", ScheduleID: "S4", Start: now, End: now.Add(time.Hour)},                       // someone else
		{UserID: "ME", ScheduleID: "", PolicyID: "E1", Start: time.Time{}, End: time.Time{}},           // direct target: no schedule
		{UserID: "ME", ScheduleID: "S4", Start: now.Add(-time.Hour), End: time.Time{}},                 // open-ended, on call now
		{UserID: "ME", ScheduleID: "S-unknown", Start: now, End: now.Add(time.Hour)},                   // not in list
	}
	got := MineIn48h(schedules, entries, "ME", now)
	var ids []string
	for _, s := range got {
		ids = append(ids, s.ID)
	}
	if want := []string{"S1", "S4"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("MineIn48h = %v, want %v", ids, want)
	}
}

func TestRenderScheduleGolden(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	now := utc("2026-01-05T22:30:00Z") // 23:30 in Berlin: handover at midnight local
	info := ScheduleInfo{ID: "PS1", Name: "Platform *primary*", Description: "Pages for @channel [the](javascript:x) platform\nsecond line",
		TimeZone: "Europe/Berlin", HTMLURL: "https://acme.pagerduty.com/schedules/PS1"}
	shifts := []Shift{
		{UserID: "PU1", UserName: "Ann @here", Start: utc("2026-01-05T08:00:00Z"), End: utc("2026-01-05T23:00:00Z")},
		{UserID: "PU2", UserName: "Bob", Start: utc("2026-01-05T23:00:00Z"), End: utc("2026-01-06T08:00:00Z")},
		{UserID: "PU3", UserName: "", Start: utc("2026-01-06T08:00:00Z"), End: utc("2026-01-07T08:00:00Z")},
	}
	golden(t, "schedule_view", RenderSchedule(info, Timeline(shifts, now, berlin, ViewWindow), berlin))
	golden(t, "schedule_view_empty", RenderSchedule(ScheduleInfo{ID: "PS2", Name: "Empty", HTMLURL: "javascript:alert(1)"}, nil, time.UTC))

	dst := []Shift{{UserID: "PU1", UserName: "Ann", Start: time.Date(2026, 10, 24, 12, 0, 0, 0, berlin), End: time.Date(2026, 10, 25, 12, 0, 0, 0, berlin)},
		{UserID: "PU2", UserName: "Bob", Start: time.Date(2026, 10, 25, 12, 0, 0, 0, berlin)}}
	golden(t, "schedule_view_dst", RenderSchedule(ScheduleInfo{ID: "PS3", Name: "DST", TimeZone: "Europe/Berlin"},
		Timeline(dst, time.Date(2026, 10, 25, 1, 30, 0, 0, berlin), berlin, ViewWindow), berlin))
}

func TestRenderScheduleListGolden(t *testing.T) {
	list := []ScheduleInfo{
		{ID: "PS2", Name: "beta", TimeZone: "UTC", HTMLURL: "https://acme.pagerduty.com/schedules/PS2"},
		{ID: "PS1", Name: "Alpha | ops", Description: "# not a heading @all", TimeZone: "Europe/Berlin", HTMLURL: "https://acme.pagerduty.com/schedules/PS1"},
		{ID: "PS3", Name: "", TimeZone: ""},
	}
	golden(t, "schedule_list_all", RenderScheduleList(list, false))
	golden(t, "schedule_list_mine", RenderScheduleList(list[:1], true))
	golden(t, "schedule_list_mine_empty", RenderScheduleList(nil, true))
	golden(t, "schedule_list_all_empty", RenderScheduleList(nil, false))
}

func TestSplit(t *testing.T) {
	md := "header\n- a\n- bb\n- ccc\n"
	tests := []struct {
		max  int
		want []string
	}{
		{100, []string{md}},
		{12, []string{"header\n- a\n", "- bb\n- ccc\n"}},
		{6, []string{"header", "- a\n", "- bb\n", "- ccc\n"}},
	}
	for _, tt := range tests {
		got := Split(md, tt.max)
		if tt.max == 6 {
			// "header\n" is 7 runes: cut to fit.
			if len(got) != 4 || len([]rune(got[0])) > 6 || got[1] != "- a\n" {
				t.Errorf("Split(%d) = %q", tt.max, got)
			}
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Split(%d) = %q, want %q", tt.max, got, tt.want)
		}
	}
	if got := Split(strings.Repeat("- item\n", 5000), MaxPostRunes); len(got) != 3 {
		t.Errorf("35000 runes split into %d posts, want 3", len(got))
	}
}

func TestValidateWindowAndQuickOverride(t *testing.T) {
	now := utc("2026-01-05T10:00:00Z")
	tests := []struct {
		name       string
		start, end time.Time
		want       error
		wantStart  time.Time
	}{
		{"ok future", now.Add(time.Hour), now.Add(2 * time.Hour), nil, now.Add(time.Hour)},
		{"under way: starts now", now.Add(-time.Hour), now.Add(time.Hour), nil, now},
		{"start after end", now.Add(2 * time.Hour), now.Add(time.Hour), ErrStartAfterEnd, time.Time{}},
		{"empty window", now.Add(time.Hour), now.Add(time.Hour), ErrStartAfterEnd, time.Time{}},
		{"missing end", now.Add(time.Hour), time.Time{}, ErrStartAfterEnd, time.Time{}},
		{"in the past", now.Add(-2 * time.Hour), now.Add(-time.Hour), ErrWindowInPast, time.Time{}},
		{"ends exactly now", now.Add(-2 * time.Hour), now, ErrWindowInPast, time.Time{}},
		{"exactly 30 days", now, now.Add(MaxOverrideRange), nil, now},
		{"over 30 days", now, now.Add(MaxOverrideRange + time.Minute), ErrRangeTooLong, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateWindow(tt.start, tt.end, now)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("ValidateWindow err = %v, want %v", err, tt.want)
			}
			o, err := QuickOverride("PU9", tt.start, tt.end, now)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("QuickOverride err = %v, want %v", err, tt.want)
			}
			if err == nil && (!o.Start.Equal(tt.wantStart) || !o.End.Equal(tt.end) || o.UserID != "PU9") {
				t.Errorf("QuickOverride = %+v", o)
			}
		})
	}
	if _, err := QuickOverride(" ", now.Add(time.Hour), now.Add(2*time.Hour), now); !errors.Is(err, ErrMissingUser) {
		t.Errorf("missing user: %v", err)
	}
}

func TestPlanBulkOverride(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	now := utc("2026-01-05T10:00:00Z")
	day := func(d int, h int) time.Time {
		return utc("2026-01-05T00:00:00Z").Add(time.Duration(d)*24*time.Hour + time.Duration(h)*time.Hour)
	}
	// X works 08-16 UTC every day, Y covers the rest; on day 2 X's shift is split in two
	// contiguous entries (as PagerDuty renders a layer boundary), which must become one override.
	var shifts []Shift
	for d := 0; d < 40; d++ {
		if d == 2 {
			shifts = append(shifts, Shift{UserID: "X", UserName: "Xena", Start: day(d, 8), End: day(d, 12)},
				Shift{UserID: "X", UserName: "Xena", Start: day(d, 12), End: day(d, 16)})
		} else {
			shifts = append(shifts, Shift{UserID: "X", UserName: "Xena", Start: day(d, 8), End: day(d, 16)})
		}
		shifts = append(shifts, Shift{UserID: "Y", UserName: "Yul", Start: day(d, 16), End: day(d+1, 8)})
	}
	type ov struct{ start, end time.Time }
	tests := []struct {
		name       string
		from, to   string
		start, end time.Time
		want       []ov
		wantErr    error
	}{
		{"range starting mid-shift is clipped to now, end clipped to range", "X", "Z", day(0, 0), day(2, 10),
			[]ov{{now, day(0, 16)}, {day(1, 8), day(1, 16)}, {day(2, 8), day(2, 10)}}, nil},
		{"contiguous entries merged", "X", "Z", day(2, 0), day(3, 0), []ov{{day(2, 8), day(2, 16)}}, nil},
		{"hand X's shifts to Y who is also a member", "X", "Y", day(3, 0), day(4, 0), []ov{{day(3, 8), day(3, 16)}}, nil},
		{"same person", "X", "X", day(1, 0), day(2, 0), nil, ErrSameUser},
		{"no shifts in range", "X", "Z", day(1, 17), day(1, 23), nil, ErrNoShifts},
		{"person not in the schedule", "Q", "Z", day(1, 0), day(2, 0), nil, ErrNoShifts},
		{"past range", "X", "Z", day(-3, 0), day(-2, 0), nil, ErrWindowInPast},
		{"start after end", "X", "Z", day(3, 0), day(2, 0), nil, ErrStartAfterEnd},
		{"31 days", "X", "Z", day(1, 0), day(32, 0), nil, ErrRangeTooLong},
		{"missing person", "", "Z", day(1, 0), day(2, 0), nil, ErrMissingUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := PlanBulkOverride(shifts, tt.from, tt.to, tt.start, tt.end, now, berlin)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []ov
			for _, o := range plan.Overrides {
				if o.UserID != tt.to {
					t.Errorf("override for %s, want %s", o.UserID, tt.to)
				}
				got = append(got, ov{o.Start, o.End})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("overrides = %v\nwant %v", got, tt.want)
			}
			if n := strings.Count(plan.Preview, "\n- "); n != len(tt.want) {
				t.Errorf("preview lists %d shifts, want %d:\n%s", n, len(tt.want), plan.Preview)
			}
		})
	}
	plan, err := PlanBulkOverride(shifts, "X", "Y", day(0, 0), day(3, 0), now, berlin)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "bulk_preview", plan.Preview)

	// 30 days of daily shifts: one request's worth of overrides, one per shift.
	plan, err = PlanBulkOverride(shifts, "X", "Y", day(1, 0), day(31, 0), now, berlin)
	if err != nil || len(plan.Overrides) != 30 {
		t.Errorf("30-day plan: %d overrides, err %v", len(plan.Overrides), err)
	}
}

type lookup map[string]bool

func (l lookup) UserExists(_ context.Context, id string) (bool, error) {
	if id == "BROKEN" {
		return false, errors.New("503")
	}
	return l[id], nil
}

func TestCheckUsers(t *testing.T) {
	l := lookup{"PU1": true, "PU2": true}
	tests := []struct {
		ids     []string
		want    error
		mention string
	}{
		{[]string{"PU1", "PU2"}, nil, ""},
		{[]string{"PU1", "PX"}, ErrUserNotInAccount, "PX"},
		{[]string{"PU1", ""}, ErrMissingUser, ""},
	}
	for _, tt := range tests {
		err := CheckUsers(context.Background(), l, tt.ids...)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("CheckUsers(%v) = %v, want %v", tt.ids, err, tt.want)
		}
		if tt.mention != "" && !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("error %q does not name %s", err, tt.mention)
		}
	}
	if err := CheckUsers(context.Background(), l, "BROKEN"); err == nil || errors.Is(err, ErrUserNotInAccount) {
		t.Errorf("lookup failure must not read as 'not in account': %v", err)
	}
}

func TestRenderOverrideResultsGolden(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	res := []OverrideResult{
		{Start: utc("2026-01-05T08:00:00Z"), End: utc("2026-01-05T16:00:00Z"), Status: 201},
		{Start: utc("2026-01-06T08:00:00Z"), End: utc("2026-01-06T16:00:00Z"), Status: 400, Error: "Override must end after its start; @channel [x](y)"},
		{Start: utc("2026-01-07T08:00:00Z"), End: utc("2026-01-07T16:00:00Z"), Status: 403},
	}
	out := RenderOverrideResults(res, berlin)
	if !strings.HasPrefix(out, "**1 of 3 override(s) created**") {
		t.Errorf("count line wrong:\n%s", out)
	}
	golden(t, "override_results", out)
}
