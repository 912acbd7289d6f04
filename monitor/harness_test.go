package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	gold "github.com/mattermost/mattermost-app-pagerduty/internal/golden"

	"github.com/PagerDuty/go-pagerduty"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
	"github.com/mattermost/mattermost-app-pagerduty/oncall"
)

// golden compares got with testdata/name.golden (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	gold.Assert(t, name+".golden", []byte(got))
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// --- people and schedules of the fake account ---

type person struct{ id, name, email string }

var (
	ann = person{"PU1", "Ann Archer", "ann@example.com"} // connected: mapped by PagerDuty id
	bob = person{"PU2", "Bob Baker", "bob@example.com"}  // not connected: mapped by email
	cid = person{"PU3", "Cid Cole", "cid@example.com"}   // no Mattermost account
	dee = person{"PU4", "Dee Dunn", "dee@example.com"}   // email hidden from the bot
	eve = person{"PU5", "Eve Evans", "eve@example.com"}  // connected, reminders only
	fay = person{"PU6", "Fay Fox", "fay@example.com"}    // connected, DMs off (default)
)

type sched struct{ id, name string }

var (
	primary   = sched{"PS1", "Primary"}
	secondary = sched{"PS2", "Secondary"}
)

// on returns the entries PagerDuty lists for p on schedule s from start to end: one per
// escalation policy using the schedule (Primary is used by two policies, so it comes twice).
func on(p person, s sched, start, end time.Time) []oncall.Entry {
	e := oncall.Entry{UserID: p.id, UserName: p.name, UserEmail: p.email, ScheduleID: s.id, ScheduleName: s.name,
		PolicyID: "PE1", PolicyName: "Platform", Level: 1, Start: start, End: end}
	if s == primary {
		e2 := e
		e2.PolicyID, e2.PolicyName, e2.Level = "PE2", "Database", 2
		return []oncall.Entry{e, e2}
	}
	return []oncall.Entry{e}
}

// --- fake PagerDuty: GET /oncalls over a mutable list, paginated ---

type fakePD struct {
	mu      sync.Mutex
	entries []oncall.Entry
	// fail returns an error for a page request (n counts requests from 1), or nil.
	fail                   func(n, offset int) error
	calls                  int
	cache                  []oncall.Entry
	cacheSince, cacheUntil time.Time
	cacheLen               int
	noCache                bool
	// dupFirst shifts every page after the first by one, as offset pagination does when an
	// entry is inserted while paging: the last entry of a page comes again on the next.
	dupFirst bool
}

func (f *fakePD) set(groups ...[]oncall.Entry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries, f.cache = nil, nil
	for _, g := range groups {
		f.entries = append(f.entries, g...)
	}
}

func pdTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// page implements PageFunc with PagerDuty's semantics: entries overlapping [since, until), in a
// stable order, `limit` at a time, more=true while entries remain.
func (f *fakePD) page(_ context.Context, since, until time.Time, offset, limit int) ([]pagerduty.OnCall, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if limit > 100 || offset+limit > 10000 {
		return nil, false, fmt.Errorf("400: bad pagination offset=%d limit=%d", offset, limit)
	}
	if f.fail != nil {
		if err := f.fail(f.calls, offset); err != nil {
			return nil, false, err
		}
	}
	var match []oncall.Entry
	if f.cacheSince.Equal(since) && f.cacheUntil.Equal(until) && f.cacheLen == len(f.entries) && f.cache != nil && !f.noCache {
		match = f.cache // the same read paging on: avoid re-filtering 10,000 entries per page
	} else {
		for _, e := range f.entries {
			if (e.Start.IsZero() || e.Start.Before(until)) && (e.End.IsZero() || e.End.After(since)) {
				match = append(match, e)
			}
		}
		f.cache, f.cacheSince, f.cacheUntil, f.cacheLen = match, since, until, len(f.entries)
	}
	if f.dupFirst && offset > 0 {
		// An entry was inserted at the front after the first page was read: every later page
		// starts with the last entry of the page before it.
		match = append([]oncall.Entry{match[0]}, match...)
	}
	if offset > len(match) {
		return nil, false, nil
	}
	end := min(offset+limit, len(match))
	var out []pagerduty.OnCall
	for _, e := range match[offset:end] {
		out = append(out, pagerduty.OnCall{
			User:             pagerduty.User{APIObject: pagerduty.APIObject{ID: e.UserID, Summary: e.UserName}, Name: e.UserName, Email: e.UserEmail},
			Schedule:         pagerduty.Schedule{APIObject: pagerduty.APIObject{ID: e.ScheduleID, Summary: e.ScheduleName}},
			EscalationPolicy: pagerduty.EscalationPolicy{APIObject: pagerduty.APIObject{ID: e.PolicyID, Summary: e.PolicyName}},
			EscalationLevel:  uint(e.Level), Start: pdTime(e.Start), End: pdTime(e.End),
		})
	}
	return out, end < len(match), nil
}

// --- fake Mattermost side ---

type sentMsg struct {
	kind, target, text string
	err                error
}

type fakeNotifier struct {
	mu   sync.Mutex
	msgs []sentMsg
	// fail decides the outcome of a delivery attempt (kind "post" or "dm").
	fail func(kind, target string) error
}

func (n *fakeNotifier) record(kind, target, text string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var err error
	if n.fail != nil {
		err = n.fail(kind, target)
	}
	n.msgs = append(n.msgs, sentMsg{kind, target, text, err})
	return err
}

func (n *fakeNotifier) PostToChannel(_ context.Context, ch, md string) error {
	return n.record("post", ch, md)
}
func (n *fakeNotifier) DM(_ context.Context, u, md string) error { return n.record("dm", u, md) }

func (n *fakeNotifier) take() []sentMsg {
	n.mu.Lock()
	defer n.mu.Unlock()
	m := n.msgs
	n.msgs = nil
	return m
}

type fakeDirectory struct {
	byPD, byEmail map[string]MMUser
	err           error
	calls         []string
}

func (d *fakeDirectory) ByPagerDutyID(_ context.Context, id string) (MMUser, bool, error) {
	d.calls = append(d.calls, "pd:"+id)
	if d.err != nil {
		return MMUser{}, false, d.err
	}
	u, ok := d.byPD[id]
	return u, ok, nil
}

func (d *fakeDirectory) ByEmail(_ context.Context, email string) (MMUser, bool, error) {
	d.calls = append(d.calls, "email:"+email)
	if d.err != nil {
		return MMUser{}, false, d.err
	}
	u, ok := d.byEmail[email]
	return u, ok, nil
}

type fakeSubs struct {
	subs []ChannelSubscription
	err  error
}

func (s *fakeSubs) OnCallChannels(context.Context) ([]ChannelSubscription, error) {
	return s.subs, s.err
}

// faultyKV wraps a KV and fails chosen operations.
type faultyKV struct {
	kvstore.KV
	failSet func(prefix, id string) error
	failGet func(prefix, id string) error
	sets    []string
}

func (f *faultyKV) Set(ctx context.Context, prefix, id string, v any) error {
	if f.failSet != nil {
		if err := f.failSet(prefix, id); err != nil {
			return err
		}
	}
	f.sets = append(f.sets, prefix+"/"+id)
	return f.KV.Set(ctx, prefix, id, v)
}

func (f *faultyKV) Get(ctx context.Context, prefix, id string, out any) (bool, error) {
	if f.failGet != nil {
		if err := f.failGet(prefix, id); err != nil {
			return false, err
		}
	}
	return f.KV.Get(ctx, prefix, id, out)
}

// --- harness ---

type harness struct {
	t      *testing.T
	mem    *kvstore.Memory
	kv     *faultyKV
	now    time.Time
	pd     *fakePD
	src    *PagedSource
	notif  *fakeNotifier
	dir    *fakeDirectory
	subs   *fakeSubs
	prefs  *KVPrefs
	local  *Local
	berlin *time.Location
	log    strings.Builder // transcript of every tick and message, for the golden file
	sent   []sentMsg       // every message the notifier was given, in order
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	mem := kvstore.NewMemory()
	h := &harness{t: t, mem: mem, kv: &faultyKV{KV: mem}, pd: &fakePD{}, notif: &fakeNotifier{}, berlin: berlin, local: NewLocal()}
	h.src = &PagedSource{Page: h.pd.page}
	h.dir = &fakeDirectory{
		byPD: map[string]MMUser{
			ann.id: {ID: "mm-ann", Location: berlin},
			eve.id: {ID: "mm-eve", Location: berlin},
			fay.id: {ID: "mm-fay"},
			// A stale connected record wins over email: the connect-time id is authoritative.
		},
		byEmail: map[string]MMUser{
			bob.email: {ID: "mm-bob", Location: ny},
			ann.email: {ID: "mm-WRONG-ann-by-email"},
			// dee's email is not visible to the bot: no entry.
		},
	}
	h.subs = &fakeSubs{subs: []ChannelSubscription{
		{ChannelID: "ch-all"},
		{ChannelID: "ch-primary", ScheduleIDs: []string{primary.id}},
		{ChannelID: "ch-none", ScheduleIDs: []string{"PS-OTHER"}},
	}}
	h.prefs = &KVPrefs{KV: mem, Locks: &kvstore.Locks{}}
	ctx := context.Background()
	for _, u := range []string{"mm-ann", "mm-bob"} {
		if _, err := h.prefs.SetAll(ctx, u, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.prefs.Set(ctx, "mm-eve", Prefs{Reminder: true}); err != nil {
		t.Fatal(err)
	}
	return h
}

// monitor builds a Monitor as the app would for one call: fresh value, shared Local.
func (h *harness) monitor() *Monitor {
	return &Monitor{
		KV: h.kv, Source: h.src, Clock: func() time.Time { return h.now }, Users: h.dir, Prefs: h.prefs,
		Subscriptions: h.subs, Notify: h.notif, Local: h.local,
	}
}

// restart forgets the process memory, as a new app process would.
func (h *harness) restart() { h.local = NewLocal() }

// tick runs one tick at `at` and returns the report and the tags of the delivered messages:
// "post ch-all: ended PU1@PS1, started PU2@PS1" or "dm mm-bob: reminder PU2@PS1". It also checks
// that the notifier saw exactly the deliveries the report lists.
func (h *harness) tick(at time.Time) (TickReport, []string, error) {
	h.t.Helper()
	h.now = at
	rep, err := h.monitor().Tick(context.Background())
	msgs := h.notif.take()
	h.sent = append(h.sent, msgs...)
	if len(msgs) != len(rep.Deliveries) {
		h.t.Fatalf("notifier saw %d messages, report lists %d deliveries", len(msgs), len(rep.Deliveries))
	}
	fmt.Fprintf(&h.log, "== tick %s", at.Format(time.RFC3339))
	if rep.Skipped != "" {
		fmt.Fprintf(&h.log, " (skipped: %s)", rep.Skipped)
	}
	if err != nil {
		fmt.Fprintf(&h.log, " (error)")
	}
	h.log.WriteString("\n")
	var tags []string
	for i, d := range rep.Deliveries {
		m := msgs[i]
		kind, target := "post", d.ChannelID
		if d.UserID != "" {
			kind, target = "dm", d.UserID
		}
		if m.kind != kind || m.target != target {
			h.t.Fatalf("delivery %d: notifier saw %s %s, report says %s %s", i, m.kind, m.target, kind, target)
		}
		status := ""
		if d.Err != nil {
			status = " [FAILED]"
		}
		fmt.Fprintf(&h.log, "%s %s%s:\n%s\n", kind, target, status, strings.TrimRight(m.text, "\n"))
		if d.Err != nil {
			continue
		}
		var evs []string
		for _, k := range d.Events {
			evs = append(evs, tagOf(k))
		}
		tags = append(tags, fmt.Sprintf("%s %s: %s", kind, target, strings.Join(evs, ", ")))
	}
	sort.Strings(tags)
	return rep, tags, err
}

// tagOf shortens an event key "kind|scope|user|start|by" to "kind user@scope" (+ ">by").
func tagOf(key string) string {
	f := strings.Split(key, "|")
	tag := f[0] + " " + f[2] + "@" + f[1]
	if f[4] != "" {
		tag += ">" + f[4]
	}
	return tag
}

// step is one tick of a scenario.
type step struct {
	at      string           // clock time, RFC 3339
	setup   func(h *harness) // change the PagerDuty data (or faults) before the tick
	want    []string         // tags of delivered messages, sorted; nil = nothing delivered
	wantErr error            // errors.Is target, nil = no error
	check   func(h *harness, rep TickReport)
}

func (h *harness) run(steps []step) {
	h.t.Helper()
	for _, s := range steps {
		if s.setup != nil {
			s.setup(h)
		}
		rep, tags, err := h.tick(ts(s.at))
		if s.wantErr == nil && err != nil {
			h.t.Errorf("tick %s: unexpected error %v", s.at, err)
		}
		if s.wantErr != nil && !errors.Is(err, s.wantErr) {
			h.t.Errorf("tick %s: error %v, want %v", s.at, err, s.wantErr)
		}
		want := slices.Clone(s.want)
		sort.Strings(want)
		if !slices.Equal(tags, want) {
			h.t.Errorf("tick %s delivered:\n  %s\nwant:\n  %s", s.at, strings.Join(tags, "\n  "), strings.Join(want, "\n  "))
		}
		if s.check != nil {
			s.check(h, rep)
		}
	}
}
