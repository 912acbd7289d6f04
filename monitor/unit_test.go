package monitor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/PagerDuty/go-pagerduty"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
	"github.com/mattermost/mattermost-app-pagerduty/oncall"
)

func rec(user, scope string, start, end string) Rec {
	r := Rec{UserID: user, UserName: user, ScopeID: scope, ScopeName: scope}
	if start != "" {
		r.Start = ts(start).Unix()
	}
	if end != "" {
		r.End = ts(end).Unix()
	}
	return r
}

func snap(at string, recs ...Rec) *Snapshot {
	s := &Snapshot{Taken: ts(at), Until: ts(at).Add(DefaultWindow), Recs: recs}
	sortRecs(s.Recs)
	return s
}

func tags(events []Event) []string {
	var out []string
	for i := range events {
		out = append(out, tagOf(events[i].Key()))
	}
	slices.Sort(out)
	return out
}

func TestDiff(t *testing.T) {
	const d = "2026-02-02T"
	tests := []struct {
		name      string
		prev, cur *Snapshot
		want      []string
	}{
		{"no previous snapshot: only reminders", nil,
			snap(d+"10:00:00Z", rec("A", "S", d+"09:00:00Z", d+"10:20:00Z"), rec("B", "S", d+"10:20:00Z", d+"18:00:00Z")),
			[]string{"reminder B@S"}},
		{"same data later: nothing",
			snap(d+"10:00:00Z", rec("A", "S", d+"09:00:00Z", d+"12:00:00Z")),
			snap(d+"10:01:00Z", rec("A", "S", d+"09:00:00Z", d+"12:00:00Z")), nil},
		{"handover",
			snap(d+"09:59:00Z", rec("A", "S", d+"09:00:00Z", d+"10:00:00Z"), rec("B", "S", d+"10:00:00Z", d+"18:00:00Z")),
			snap(d+"10:00:00Z", rec("B", "S", d+"10:00:00Z", d+"18:00:00Z")),
			[]string{"ended A@S", "started B@S"}},
		{"contiguous stretches of the same user: no change, no reminder",
			snap(d+"09:59:00Z", rec("A", "S", d+"09:00:00Z", d+"10:00:00Z"), rec("A", "S", d+"10:00:00Z", d+"18:00:00Z")),
			snap(d+"10:00:00Z", rec("A", "S", d+"10:00:00Z", d+"18:00:00Z")), nil},
		{"continuation starting soon is not reminded",
			snap(d+"09:39:00Z", rec("A", "S", d+"09:00:00Z", d+"10:00:00Z"), rec("A", "S", d+"10:00:00Z", d+"18:00:00Z")),
			snap(d+"09:40:00Z", rec("A", "S", d+"09:00:00Z", d+"10:00:00Z"), rec("A", "S", d+"10:00:00Z", d+"18:00:00Z")), nil},
		{"reminder boundary: 30m exactly is due, 31m is not", nil,
			snap(d+"10:00:00Z", rec("A", "S", d+"10:30:00Z", d+"12:00:00Z"), rec("B", "T", d+"10:31:00Z", d+"12:00:00Z")),
			[]string{"reminder A@S"}},
		{"already reminded", nil,
			func() *Snapshot {
				s := snap(d+"10:00:00Z", rec("A", "S", d+"10:10:00Z", d+"12:00:00Z"))
				s.Recs[0].Reminded = true
				return s
			}(), nil},
		{"same user in two schedules changes in one only",
			snap(d+"09:59:00Z", rec("A", "S", d+"09:00:00Z", d+"10:00:00Z"), rec("A", "T", d+"09:00:00Z", d+"18:00:00Z")),
			snap(d+"10:00:00Z", rec("A", "T", d+"09:00:00Z", d+"18:00:00Z")),
			[]string{"ended A@S"}},
		{"override of a later part of the shift",
			snap(d+"09:00:00Z", rec("A", "S", d+"08:00:00Z", d+"16:00:00Z")),
			snap(d+"09:01:00Z", rec("A", "S", d+"08:00:00Z", d+"09:20:00Z"), rec("B", "S", d+"09:20:00Z", d+"10:00:00Z"), rec("A", "S", d+"10:00:00Z", d+"16:00:00Z")),
			[]string{"override A@S>B", "reminder B@S"}},
		{"override beyond the common window is not seen (nothing to compare with)",
			snap(d+"09:00:00Z", rec("A", "S", d+"08:00:00Z", d+"16:00:00Z")),
			snap(d+"09:01:00Z", rec("A", "S", d+"08:00:00Z", d+"11:00:00Z"), rec("B", "S", d+"11:00:00Z", d+"12:00:00Z")), nil},
		{"override of the running shift replaces the ended event",
			snap(d+"09:00:00Z", rec("A", "S", d+"08:00:00Z", d+"16:00:00Z")),
			snap(d+"09:01:00Z", rec("B", "S", d+"09:01:00Z", d+"10:00:00Z")),
			[]string{"override A@S>B", "started B@S"}},
		{"B already held the time: a planned handover, not an override",
			snap(d+"09:00:00Z", rec("A", "S", d+"08:00:00Z", d+"09:10:00Z"), rec("B", "S", d+"09:10:00Z", d+"12:00:00Z")),
			snap(d+"09:10:00Z", rec("B", "S", d+"09:10:00Z", d+"12:00:00Z")),
			[]string{"ended A@S", "started B@S"}},
		{"shift removed with nobody instead: ended, no override",
			snap(d+"09:00:00Z", rec("A", "S", d+"08:00:00Z", d+"16:00:00Z")),
			snap(d + "09:01:00Z"), []string{"ended A@S"}},
		{"two people take parts of one shift",
			snap(d+"09:00:00Z", rec("A", "S", d+"08:00:00Z", d+"16:00:00Z")),
			snap(d+"09:01:00Z", rec("A", "S", d+"08:00:00Z", d+"09:10:00Z"), rec("B", "S", d+"09:10:00Z", d+"09:20:00Z"), rec("C", "S", d+"09:20:00Z", d+"09:50:00Z")),
			[]string{"override A@S>B", "override A@S>C", "reminder B@S", "reminder C@S"}},
		{"open-ended records: never end by time",
			snap(d+"09:00:00Z", rec("A", "S", "", ""), rec("B", "T", d+"01:00:00Z", "")),
			snap(d+"19:00:00Z", rec("A", "S", "", ""), rec("B", "T", d+"01:00:00Z", "")), nil},
		{"schedule disappears entirely",
			snap(d+"09:00:00Z", rec("A", "S", d+"08:00:00Z", d+"16:00:00Z"), rec("B", "T", d+"08:00:00Z", d+"16:00:00Z")),
			snap(d+"09:01:00Z", rec("B", "T", d+"08:00:00Z", d+"16:00:00Z")), []string{"ended A@S"}},
		{"new schedule appears with someone on call",
			snap(d + "09:00:00Z"),
			snap(d+"09:01:00Z", rec("A", "S", d+"08:00:00Z", d+"16:00:00Z")), []string{"started A@S"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tags(Diff(tt.prev, tt.cur, DefaultReminderLead))
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("Diff = %v, want %v", got, want)
			}
		})
	}
}

func TestBuildSnapshot(t *testing.T) {
	now, until := ts("2026-02-02T10:00:00Z"), ts("2026-02-02T10:35:00Z")
	mk := func(user, sched, policy string, level int, start, end string) oncall.Entry {
		e := oncall.Entry{UserID: user, UserName: strings.Repeat("N", 100), ScheduleID: sched, ScheduleName: sched, PolicyID: policy, PolicyName: policy, Level: level}
		if start != "" {
			e.Start = ts(start)
		}
		if end != "" {
			e.End = ts(end)
		}
		return e
	}
	prev := &Snapshot{Recs: []Rec{{UserID: "A", ScopeID: "S", Start: ts("2026-02-02T10:20:00Z").Unix(), Reminded: true}}}
	s := BuildSnapshot([]oncall.Entry{
		mk("A", "S", "P1", 1, "2026-02-02T10:20:00Z", "2026-02-02T12:00:00Z"),
		mk("A", "S", "P2", 2, "2026-02-02T10:20:00Z", "2026-02-02T13:00:00Z"), // same stretch via another policy: longest end kept
		mk("B", "", "P3", 1, "", ""),                                          // direct target
		mk("C", "S", "P1", 1, "2026-02-02T09:00:00Z", "2026-02-02T10:00:00Z"), // ended at now: dropped
		mk("D", "S", "P1", 1, "2026-02-02T10:35:00Z", "2026-02-02T12:00:00Z"), // starts at until: dropped
		mk("", "S", "P1", 1, "2026-02-02T10:00:00Z", "2026-02-02T12:00:00Z"),  // no user: dropped
	}, now, until, prev)
	if len(s.Recs) != 2 {
		t.Fatalf("records = %+v", s.Recs)
	}
	a, b := s.Recs[0], s.Recs[1] // "S" sorts before "policy:P3"
	if a.UserID != "A" || a.End != ts("2026-02-02T13:00:00Z").Unix() || !a.Reminded || utf8.RuneCountInString(a.UserName) != maxStoredName {
		t.Errorf("collapsed record = %+v", a)
	}
	if b.ScopeID != "policy:P3" || b.ScopeName != "P3" || b.Start != 0 || b.End != 0 {
		t.Errorf("direct record = %+v", b)
	}
}

func TestShardRoundTrip(t *testing.T) {
	recs := []Rec{
		{UserID: "PU1", UserName: `Ann "quoted" <b>&`, UserEmail: "ann@example.com", ScopeID: "PS1", ScopeName: "Prim\u00e4r", Start: 1767600000, End: 1767628800, Reminded: true},
		{UserID: "PU2", UserName: "Bob", ScopeID: "PS1", ScopeName: "Prim\u00e4r", Start: 1767628800, End: 0},
		{UserID: "PU1", UserName: `Ann "quoted" <b>&`, UserEmail: "ann@example.com", ScopeID: "policy:PE1", ScopeName: "Direct", Start: 0, End: 0},
		{UserID: "PU3", UserName: "Cid", ScopeID: "PS2", ScopeName: "Second", Start: 0, End: 1767628800},
		{UserID: "PU4", UserName: "Dee", ScopeID: "PS2", ScopeName: "Second", Start: 1767500000, End: 1767400000}, // end before start survives
	}
	es := encodeShard(recs)
	(&compressor{}).compress(&es)
	mem := kvstore.NewMemory()
	if err := mem.Set(context.Background(), "o", "0.0", es.doc); err != nil {
		t.Fatal(err)
	}
	var doc shardDoc
	if _, err := mem.Get(context.Background(), "o", "0.0", &doc); err != nil {
		t.Fatal(err)
	}
	if est, real := es.size, mem.Size("o", "0.0"); est < real {
		t.Errorf("size estimate %d below the real %d bytes", est, real)
	}
	got, err := decodeShard(&doc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, recs)
	}
	if encodeShard(got).hash != es.hash {
		t.Error("hash differs after round trip")
	}
	doc.Z = doc.Z[:len(doc.Z)-3]
	if _, err := decodeShard(&doc); err == nil {
		t.Error("truncated record stream decoded without error")
	}
	refs := []shardRef{{0, 7, 0xdeadbeefcafe, 12, 7000}, {1, 8, 1, 0, 70}}
	if back, err := decodeRefs(encodeRefs(refs)); err != nil || !reflect.DeepEqual(back, refs) {
		t.Errorf("refs round trip: %v %v", back, err)
	}
	for _, bad := range []string{"AgE", "AAE", "!!"} {
		if _, err := decodeRefs(bad); err == nil {
			t.Errorf("decodeRefs(%q) accepted", bad)
		}
	}
}

// bigAccount makes n on-call entries that all overlap [now, now+35m): schedules whose current
// shift hands over to the next one at now + 1…34 minutes, two entries per schedule, users from a
// pool of 0.3·n, with pseudo-random names (syllables: they compress like real names, not like a
// repeated pattern) and emails of one company domain.
func bigAccount(n int, now time.Time) []oncall.Entry {
	syl := []string{"an", "ber", "ka", "lo", "mi", "ra", "sen", "tor", "vi", "el", "is", "ul", "ma", "ri", "jo", "han", "der", "son", "ste", "fan", "ie", "ol", "gus", "ta", "ve"}
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		var b strings.Builder
		for k := 2 + rng.IntN(2); k > 0; k-- {
			b.WriteString(syl[rng.IntN(len(syl))])
		}
		w := b.String()
		return strings.ToUpper(w[:1]) + w[1:]
	}
	pool := max(1, n*3/10)
	names := make([]string, pool)
	for i := range names {
		names[i] = word() + " " + word()
	}
	schedNames := make([]string, n/2+1)
	for i := range schedNames {
		schedNames[i] = word() + " " + []string{"primary", "secondary", "on-call", "escalation"}[i%4]
	}
	entries := make([]oncall.Entry, 0, n)
	for i := 0; i < n; i++ {
		s := i / 2
		u := (i * 7919) % pool
		handover := now.Add(time.Duration(s%34+1) * time.Minute)
		start, end := handover.Add(-8*time.Hour), handover
		if i%2 == 1 {
			start, end = handover, handover.Add(8*time.Hour)
		}
		entries = append(entries, oncall.Entry{
			UserID: fmt.Sprintf("P%06X", u*2654435761%(1<<24)), UserName: names[u],
			UserEmail:  strings.ToLower(strings.ReplaceAll(names[u], " ", ".")) + "@acme-corp.com",
			ScheduleID: fmt.Sprintf("S%06X", s*40503%(1<<24)), ScheduleName: schedNames[s],
			PolicyID: fmt.Sprintf("E%05d", s), PolicyName: "Policy", Level: 1, Start: start, End: end,
		})
	}
	return entries
}

// 10,000 entries fit in a bounded number of documents under 8 KB; a change in one schedule
// rewrites one shard and the manifest; a new process reads it back whole.
func TestSnapshot10kFitsBounded(t *testing.T) {
	now := ts("2026-03-02T10:00:00Z")
	mem := kvstore.NewMemory()
	pd := &fakePD{entries: bigAccount(10000, now)}
	src := &PagedSource{Page: pd.page}
	local := NewLocal()
	clock := now
	mon := func() *Monitor {
		return &Monitor{KV: mem, Source: src, Clock: func() time.Time { return clock }, Notify: &fakeNotifier{}, Local: local}
	}
	rep, err := mon().Tick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	docs := 0
	for _, k := range mem.Keys() {
		if strings.HasPrefix(k, "o/") {
			docs++
			if id := strings.TrimPrefix(k, "o/"); mem.Size("o", id) > kvstore.MaxValueSize {
				t.Errorf("%s is %d bytes", k, mem.Size("o", id))
			}
		}
	}
	stored := 0
	for i := 0; i < rep.Shards; i++ {
		stored += mem.Size("o", shardID(i, 0))
	}
	t.Logf("10,000 entries → %d records in %d shards (%d documents, %d KB, %.0f%% average fill), manifest %d bytes, %d requests",
		rep.Records, rep.Shards, docs, stored/1024, 100*float64(stored)/float64(rep.Shards*kvstore.MaxValueSize), mem.Size("om", "state"), rep.Requests)
	// Worst case: 10,000 distinct records (5,000 schedules, 3,000 people), ~43 bytes each stored.
	if rep.Shards > 96 || docs != rep.Shards || rep.Requests != 100 {
		t.Errorf("shards=%d docs=%d requests=%d: want ≤ 96 shards, one document each, 100 requests", rep.Shards, docs, rep.Requests)
	}

	// One schedule changes hands (same clock, so time alone changes nothing).
	for i := range pd.entries {
		if pd.entries[i].ScheduleID == pd.entries[84].ScheduleID {
			pd.entries[i].UserID, pd.entries[i].UserName = "PNEW", "New Person"
		}
	}
	pd.cache = nil
	rep, err = mon().Tick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.ShardsWritten != 2 || !rep.Committed {
		t.Errorf("one schedule changed: wrote %d documents (want 1 shard + manifest), committed=%v", rep.ShardsWritten, rep.Committed)
	}
	if len(rep.Events) == 0 {
		t.Error("the change was not detected")
	}

	// A new process: every shard read and verified, nothing new to report.
	local = NewLocal()
	rep, err = mon().Tick(context.Background())
	if err != nil || rep.Baseline || len(rep.Events) != 0 {
		t.Errorf("after restart: baseline=%v events=%d err=%v", rep.Baseline, len(rep.Events), err)
	}
}

func TestPlanShardsHysteresis(t *testing.T) {
	recs := BuildSnapshot(bigAccount(3000, ts("2026-03-02T10:00:00Z")), ts("2026-03-02T10:00:00Z"), ts("2026-03-02T10:35:00Z"), nil).Recs
	grown, err := planShards(recs, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := len(grown)
	if k < 2 {
		t.Fatalf("3000 records in %d shard", k)
	}
	again, _ := planShards(recs, make([]shardRef, k))
	if len(again) != k {
		t.Errorf("stable input changed the shard count %d → %d", k, len(again))
	}
	shrunk, _ := planShards(recs[:10], make([]shardRef, k))
	if len(shrunk) >= k {
		t.Errorf("10 records kept %d shards", len(shrunk))
	}
}

func TestPagedSource(t *testing.T) {
	now := ts("2026-03-02T10:00:00Z")
	for _, n := range []int{0, 1, 100, 101, 250, 1000, 10000} {
		pd := &fakePD{entries: bigAccount(n, now)}
		src := &PagedSource{Page: pd.page}
		got, err := src.OnCalls(context.Background(), now.Add(-24*time.Hour), now.Add(48*time.Hour))
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		want := max(1, (n+99)/100)
		if len(got) != n || src.Requests() != int64(want) {
			t.Errorf("n=%d: %d entries in %d requests, want %d requests", n, len(got), src.Requests(), want)
		}
	}
	pd := &fakePD{entries: bigAccount(10001, now)}
	if _, err := (&PagedSource{Page: pd.page}).OnCalls(context.Background(), now.Add(-24*time.Hour), now.Add(48*time.Hour)); !errors.Is(err, ErrTooManyOnCalls) {
		t.Errorf("10,001 entries: %v, want ErrTooManyOnCalls", err)
	}
	bad := &PagedSource{Page: func(context.Context, time.Time, time.Time, int, int) ([]pagerduty.OnCall, bool, error) {
		return []pagerduty.OnCall{{Start: "not a time"}}, false, nil
	}}
	if _, err := bad.OnCalls(context.Background(), now, now); err == nil {
		t.Error("bad timestamp accepted")
	}
	stuck := &PagedSource{Page: func(context.Context, time.Time, time.Time, int, int) ([]pagerduty.OnCall, bool, error) {
		return nil, true, nil
	}}
	if _, err := stuck.OnCalls(context.Background(), now, now); err == nil {
		t.Error("empty page with more=true looped or was accepted")
	}
}

// Requests per tick = ⌈entries/100⌉ (at least 1): the monitor makes one paginated read and no
// other PagerDuty request.
func TestRequestsPerTick(t *testing.T) {
	now := ts("2026-03-02T10:00:00Z")
	for _, n := range []int{0, 100, 101, 250, 10000} {
		pd := &fakePD{entries: bigAccount(n, now)}
		m := &Monitor{KV: kvstore.NewMemory(), Source: &PagedSource{Page: pd.page}, Notify: &fakeNotifier{}}
		for tick := 0; tick < 2; tick++ {
			m.Clock = func() time.Time { return now.Add(time.Duration(tick) * time.Minute) }
			rep, err := m.Tick(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := int64(max(1, (rep.Entries+99)/100))
			if rep.Requests != want || rep.Entries < n*9/10 {
				t.Errorf("n=%d tick %d: %d requests for %d entries, want %d", n, tick, rep.Requests, rep.Entries, want)
			}
			if tick == 0 {
				t.Logf("entries=%5d requests/tick=%d", rep.Entries, rep.Requests)
			}
		}
	}
}

func TestChannelMessagesSplit(t *testing.T) {
	now := ts("2026-03-02T10:00:00Z")
	var events []*Event
	for i := 0; i < 2000; i++ {
		events = append(events, &Event{Kind: KindStarted, ScopeID: fmt.Sprintf("S%d", i/3), ScopeName: fmt.Sprintf("Schedule %d", i/3),
			UserID: fmt.Sprintf("U%d", i), UserName: fmt.Sprintf("User %d", i), Start: now, End: now.Add(time.Hour)})
	}
	msgs := channelMessages(events, now)
	seen := 0
	for i, m := range msgs {
		if n := utf8.RuneCountInString(m.text); n > oncall.MaxPostRunes {
			t.Errorf("post %d has %d runes", i, n)
		}
		if !strings.HasPrefix(m.text, "#### PagerDuty on-call changes\n**Schedule ") {
			t.Errorf("post %d does not start with the header and a schedule: %q", i, m.text[:60])
		}
		if got := strings.Count(m.text, "\n- "); got != len(m.events) {
			t.Errorf("post %d: %d lines for %d events", i, got, len(m.events))
		}
		seen += len(m.events)
	}
	if len(msgs) < 2 || seen != len(events) {
		t.Errorf("%d posts carrying %d of %d events", len(msgs), seen, len(events))
	}
}

func TestMergeSubscriptions(t *testing.T) {
	got := mergeSubscriptions([]ChannelSubscription{
		{ChannelID: "b", ScheduleIDs: []string{"S1"}}, {ChannelID: "a", ScheduleIDs: []string{"S1"}},
		{ChannelID: "a", ScheduleIDs: []string{"S2"}}, {ChannelID: "b"}, {ChannelID: ""},
	})
	want := []ChannelSubscription{{ChannelID: "a", ScheduleIDs: []string{"S1", "S2"}}, {ChannelID: "b"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("merge = %+v, want %+v", got, want)
	}
	if !want[1].Matches("policy:P1") || want[0].Matches("policy:P1") || !want[0].Matches("S2") {
		t.Error("Matches wrong")
	}
}

func TestPrefs(t *testing.T) {
	ctx := context.Background()
	s := &KVPrefs{KV: kvstore.NewMemory(), Locks: &kvstore.Locks{}}
	p, err := s.Get(ctx, "u1")
	if err != nil || p.Any() {
		t.Fatalf("default prefs = %+v, %v; want all off", p, err)
	}
	if p, err = s.SetAll(ctx, "u1", true); err != nil || p != AllPrefs(true) {
		t.Fatalf("SetAll on = %+v %v", p, err)
	}
	if got, _ := s.Get(ctx, "u1"); got != AllPrefs(true) {
		t.Errorf("stored = %+v", got)
	}
	for _, k := range Kinds() {
		if !p.Wants(k.Kind) || p.With(k.Kind, false).Wants(k.Kind) {
			t.Errorf("kind %s switch broken", k.Kind)
		}
	}
	partial := Prefs{}.With(KindReminder, true).With(KindOverride, true)
	if err := s.Set(ctx, "u2", partial); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "u2"); got != partial {
		t.Errorf("partial = %+v", got)
	}
	if _, err := s.SetAll(ctx, "u1", false); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "u1"); got.Any() {
		t.Errorf("after off: %+v", got)
	}
	golden(t, "prefs_status", RenderPrefs(Prefs{})+"\n"+RenderPrefs(AllPrefs(true))+"\n"+RenderPrefs(partial))
}
