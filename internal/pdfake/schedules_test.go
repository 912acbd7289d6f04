package pdfake

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// oncallAccount: schedule S covers day T as A 00-08, B 08-16, C 16-24 with an override D 10-12;
// policy P has level 1 = S and level 2 = user A directly.
func oncallAccount(t *testing.T) (f *Fake, c *apiClient, clk *fixedClock, ids map[string]string) {
	f = New(t)
	clk = newClock(at(9))
	f.SetClock(clk.now)
	f.AddAPIKey("key")
	ids = map[string]string{}
	for _, n := range []string{"A", "B", "C", "D"} {
		ids[n] = f.AddUser(User{Name: "User " + n, Email: strings.ToLower(n) + "@example.com"})
	}
	ids["S"] = f.AddSchedule(Schedule{Name: "S", Entries: []ScheduleEntry{
		{UserID: ids["A"], Start: at(0), End: at(8)},
		{UserID: ids["B"], Start: at(8), End: at(16)},
		{UserID: ids["C"], Start: at(16), End: at(24)},
	}})
	if _, err := f.AddOverride(ids["S"], Override{UserID: ids["D"], Start: at(10), End: at(12)}); err != nil {
		t.Fatal(err)
	}
	ids["P"] = f.AddEscalationPolicy(EscalationPolicy{Name: "P", Rules: []EscalationRule{
		{Targets: []Target{ScheduleTarget(ids["S"])}},
		{Targets: []Target{UserTarget(ids["A"])}},
	}})
	return f, &apiClient{t: t, base: f.URL(), auth: "Token token=key"}, clk, ids
}

// at is hour h of 2025-03-12 UTC.
func at(h int) time.Time {
	return time.Date(2025, 3, 12, 0, 0, 0, 0, time.UTC).Add(time.Duration(h) * time.Hour)
}

func iso(h int) string { return at(h).Format(time.RFC3339) }

// oncallRows renders a GET /oncalls reply as "level user start-end schedule?" rows for comparison.
func oncallRows(t *testing.T, r reply, names map[string]string) []string {
	t.Helper()
	byID := map[string]string{}
	for n, id := range names {
		byID[id] = n
	}
	var rows []string
	list, _ := get(r.body, "oncalls").([]any)
	for _, o := range list {
		span := "always"
		if s := str(o, "start"); s != "" {
			st, _ := time.Parse(time.RFC3339, s)
			en, _ := time.Parse(time.RFC3339, str(o, "end"))
			span = st.UTC().Format("15") + "-" + en.UTC().Format("15")
			if en.Sub(st) >= 24*time.Hour || en.Day() != st.Day() {
				span = st.UTC().Format("15") + "-" + en.UTC().Format("02T15")
			}
		}
		sched := "-"
		if get(o, "schedule") != nil {
			sched = byID[str(o, "schedule", "id")]
		}
		rows = append(rows, str(o, "escalation_level")+" "+byID[str(o, "user", "id")]+" "+span+" "+sched)
	}
	return rows
}

func TestOncallsFromSchedulesAndOverrides(t *testing.T) {
	f, c, clk, ids := oncallAccount(t)
	tests := []struct {
		name  string
		now   int // clock hour
		query string
		want  []string
	}{
		{"now, shift split by the override", 9, "", []string{"1 B 08-10 S", "2 A always -"}},
		{"now inside the override", 11, "", []string{"1 D 10-12 S", "2 A always -"}},
		{"now after the override, B again", 13, "", []string{"1 B 12-16 S", "2 A always -"}},
		{"range lists every segment it touches, unclipped", 9, "since=" + iso(7) + "&until=" + iso(13),
			[]string{"1 A 00-08 S", "1 B 08-10 S", "1 D 10-12 S", "1 B 12-16 S", "2 A always -"}},
		{"earliest keeps one per (policy, level, user)", 9, "earliest=true&since=" + iso(7) + "&until=" + iso(13),
			[]string{"1 A 00-08 S", "1 B 08-10 S", "1 D 10-12 S", "2 A always -"}},
		{"schedule filter drops direct user targets", 9, "schedule_ids[]=" + ids["S"], []string{"1 B 08-10 S"}},
		{"user filter", 9, "since=" + iso(7) + "&until=" + iso(13) + "&user_ids[]=" + ids["A"],
			[]string{"1 A 00-08 S", "2 A always -"}},
		{"policy filter, unknown policy", 9, "escalation_policy_ids[]=PNOPE00", nil},
		{"nobody scheduled after the last shift", 25, "schedule_ids[]=" + ids["S"], nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.set(at(tt.now))
			r := c.do(http.MethodGet, "/oncalls?"+tt.query, nil).mustStatus(t, http.StatusOK)
			got := oncallRows(t, r, ids)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("on-calls\n got %q\nwant %q", got, tt.want)
			}
		})
	}

	t.Run("include users and time_zone", func(t *testing.T) {
		clk.set(at(9))
		r := c.do(http.MethodGet, "/oncalls?include[]=users&time_zone=America/New_York&schedule_ids[]="+ids["S"], nil).mustStatus(t, http.StatusOK)
		if typ, email := str(r.body, "oncalls", 0, "user", "type"), str(r.body, "oncalls", 0, "user", "email"); typ != "user" || email != "b@example.com" {
			t.Errorf("included user = %s %s", typ, email)
		}
		if s := str(r.body, "oncalls", 0, "start"); s != "2025-03-12T04:00:00-04:00" {
			t.Errorf("start rendered in New York = %q", s)
		}
	})
	t.Run("until before since is 400", func(t *testing.T) {
		c.do(http.MethodGet, "/oncalls?since="+url.QueryEscape(iso(10))+"&until="+url.QueryEscape(iso(9)), nil).mustStatus(t, http.StatusBadRequest)
	})
	if got := f.OnCallNow(ids["P"], 1, at(11)); len(got) != 1 || got[0] != ids["D"] {
		t.Errorf("OnCallNow at 11:00 = %v", got)
	}
}

func TestScheduleRendering(t *testing.T) {
	_, c, _, ids := oncallAccount(t)
	r := c.do(http.MethodGet, "/schedules/"+ids["S"]+"?since="+url.QueryEscape(iso(9))+"&until="+url.QueryEscape(iso(17)), nil).mustStatus(t, http.StatusOK)
	entries := func(path ...any) []string {
		var out []string
		list, _ := get(r.body, path...).([]any)
		for _, e := range list {
			st, _ := time.Parse(time.RFC3339, str(e, "start"))
			en, _ := time.Parse(time.RFC3339, str(e, "end"))
			out = append(out, str(e, "user", "summary")+" "+st.UTC().Format("15")+"-"+en.UTC().Format("15"))
		}
		return out
	}
	checks := map[string][]string{
		"final":     entries("schedule", "final_schedule", "rendered_schedule_entries"),
		"overrides": entries("schedule", "overrides_subschedule", "rendered_schedule_entries"),
		"layer":     entries("schedule", "schedule_layers", 0, "rendered_schedule_entries"),
	}
	want := map[string][]string{
		"final":     {"User B 09-10", "User D 10-12", "User B 12-16", "User C 16-17"},
		"overrides": {"User D 10-12"},
		"layer":     {"User B 09-16", "User C 16-17"},
	}
	for k, w := range want {
		if strings.Join(checks[k], "|") != strings.Join(w, "|") {
			t.Errorf("%s entries = %q, want %q", k, checks[k], w)
		}
	}
	if p := get(r.body, "schedule", "final_schedule", "rendered_coverage_percentage"); p != 100.0 {
		t.Errorf("coverage = %v", p)
	}
	users := c.do(http.MethodGet, "/schedules/"+ids["S"]+"/users?since="+url.QueryEscape(iso(9))+"&until="+url.QueryEscape(iso(11)), nil).mustStatus(t, http.StatusOK)
	var names []string
	for _, u := range get(users.body, "users").([]any) {
		names = append(names, str(u, "name"))
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "User B,User D" {
		t.Errorf("schedule users 09-11 = %v", names)
	}
}

func TestOverrideMultiCreate(t *testing.T) {
	f, c, clk, ids := oncallAccount(t)
	r := c.do(http.MethodPost, "/schedules/"+ids["S"]+"/overrides", map[string]any{"overrides": []any{
		map[string]any{"start": iso(13), "end": iso(15), "user": map[string]any{"id": ids["C"], "type": "user_reference"}},
		map[string]any{"start": iso(15), "end": iso(14), "user": map[string]any{"id": ids["C"], "type": "user_reference"}},
		map[string]any{"start": iso(18), "end": iso(20), "user": map[string]any{"id": "PNOBODY", "type": "user_reference"}},
		map[string]any{"start": iso(20), "end": iso(22), "user": map[string]any{"id": ids["A"], "type": "user_reference"}},
	}}).mustStatus(t, http.StatusCreated)
	var statuses []string
	for _, item := range r.list {
		statuses = append(statuses, str(item, "status"))
	}
	if strings.Join(statuses, ",") != "201,400,400,201" {
		t.Fatalf("per-item statuses = %v; body %s", statuses, r.raw)
	}
	if e := str(r.list, 1, "errors", 0); !strings.Contains(e, "end after") {
		t.Errorf("end-before-start error = %q", e)
	}
	if e := str(r.list, 2, "errors", 0); !strings.Contains(e, "PNOBODY") {
		t.Errorf("unknown-user error = %q", e)
	}
	s, _ := f.Schedule(ids["S"])
	if len(s.Overrides) != 3 { // D's plus the two good ones
		t.Fatalf("schedule has %d overrides, want 3", len(s.Overrides))
	}
	clk.set(at(14))
	if got := f.OnCallNow(ids["P"], 1, at(14)); len(got) != 1 || got[0] != ids["C"] {
		t.Errorf("on call at 14:00 = %v, want C from the new override", got)
	}

	list := c.do(http.MethodGet, "/schedules/"+ids["S"]+"/overrides?since="+url.QueryEscape(iso(0))+"&until="+url.QueryEscape(iso(24)), nil).mustStatus(t, http.StatusOK)
	if n := len(get(list.body, "overrides").([]any)); n != 3 {
		t.Errorf("listed %d overrides, want 3", n)
	}

	// Deleting: a future override goes (204), a running one is truncated (200), a past one stays (400).
	future := str(r.list, 3, "override", "id")
	running := str(r.list, 0, "override", "id")
	past := s.Overrides[0].ID // D 10-12, over at 14:00
	c.do(http.MethodDelete, "/schedules/"+ids["S"]+"/overrides/"+future, nil).mustStatus(t, http.StatusNoContent)
	c.do(http.MethodDelete, "/schedules/"+ids["S"]+"/overrides/"+running, nil).mustStatus(t, http.StatusOK)
	c.do(http.MethodDelete, "/schedules/"+ids["S"]+"/overrides/"+past, nil).mustStatus(t, http.StatusBadRequest)
	c.do(http.MethodDelete, "/schedules/"+ids["S"]+"/overrides/PNOPE00", nil).mustStatus(t, http.StatusNotFound)
	s, _ = f.Schedule(ids["S"])
	if len(s.Overrides) != 2 || !s.Overrides[1].End.Equal(at(14)) {
		t.Errorf("after deletes: %+v", s.Overrides)
	}
	c.do(http.MethodPost, "/schedules/"+ids["S"]+"/overrides", map[string]any{"overrides": []any{}}).mustStatus(t, http.StatusBadRequest)
}
