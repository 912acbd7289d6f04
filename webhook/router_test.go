package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
	"github.com/mattermost/mattermost-app-pagerduty/subscription"
)

var base = time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)

// at is base plus n minutes: events in tests are ordered by their minute.
func at(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

var fixtures map[string][]byte

// body builds a delivery from the fixture of typ with the given event id, time and data edits.
func body(t testing.TB, typ, id string, when time.Time, edits ...func(data map[string]any)) []byte {
	t.Helper()
	if fixtures == nil {
		fixtures = loadEvents(t)
	}
	raw, ok := fixtures[typ]
	if !ok {
		t.Fatalf("no fixture for %s", typ)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	ev := m["event"].(map[string]any)
	ev["id"] = id
	ev["occurred_at"] = when.Format(time.RFC3339Nano)
	for _, e := range edits {
		e(ev["data"].(map[string]any))
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func event(t testing.TB, typ, id string, when time.Time, edits ...func(data map[string]any)) Event {
	t.Helper()
	ev, err := Decode(body(t, typ, id, when, edits...))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func onIncident(id string) func(map[string]any) {
	return func(d map[string]any) {
		if d["type"] == "incident" {
			d["id"] = id
		} else if inc, ok := d["incident"].(map[string]any); ok {
			inc["id"] = id
		}
	}
}

func set(key string, v any) func(map[string]any) { return func(d map[string]any) { d[key] = v } }

type env struct {
	kv     *kvstore.Memory
	subs   *subscription.Store
	refs   *subscription.PostRefs
	router *Router
	exec   *recorder
}

func newEnv(t testing.TB) *env { return newEnvKV(t, nil) }

// newEnvKV lets a test wrap the KV store (nil: plain memory).
func newEnvKV(t testing.TB, wrap func(kvstore.KV) kvstore.KV) *env {
	mem := kvstore.NewMemory()
	var kv kvstore.KV = mem
	if wrap != nil {
		kv = wrap(mem)
	}
	locks := &kvstore.Locks{}
	e := &env{kv: mem, subs: subscription.NewStore(kv, locks), refs: subscription.NewPostRefs(kv, locks), exec: &recorder{}}
	e.router = NewRouter(e.subs, e.refs)
	e.router.Now = func() time.Time { return at(60) }
	e.router.Log = quiet
	return e
}

func (e *env) subscribe(t testing.TB, ch string, sub subscription.Subscription) {
	t.Helper()
	sub.ChannelID = ch
	if _, err := e.subs.Add(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
}

// recorder is a fake Mattermost: it numbers new posts and records what was done.
type recorder struct {
	mu      sync.Mutex
	posts   int
	actions []Action
	ids     []string
	fail    func(a Action) error
}

func (r *recorder) Execute(_ context.Context, a Action) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(a); err != nil {
			return "", err
		}
	}
	r.actions = append(r.actions, a)
	id := ""
	if a.Kind == NewCard {
		r.posts++
		id = fmt.Sprint("post-", r.posts)
	}
	r.ids = append(r.ids, id)
	return id, nil
}

func (r *recorder) take() []Action {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.actions
	r.actions = nil
	return a
}

// summary is "kind channel post" per action, for compact expectations.
func summary(actions []Action) []string {
	out := []string{}
	for _, a := range actions {
		s := a.Kind.String() + " " + a.ChannelID
		if a.PostID != "" {
			s += " " + a.PostID
		}
		out = append(out, s)
	}
	return out
}

func TestRouterScenarios(t *testing.T) {
	type step struct {
		typ   string
		when  int // minute
		edits []func(map[string]any)
		want  []string
	}
	tests := []struct {
		name  string
		subs  map[string][]subscription.Subscription
		steps []step
	}{
		{
			name: "triggered posts a card, later events edit it and add a line",
			subs: map[string][]subscription.Subscription{"ch1": {{}}},
			steps: []step{
				{typ: "incident.triggered", when: 1, want: []string{"new card ch1"}},
				{typ: "incident.acknowledged", when: 2, want: []string{"edit card ch1 post-1", "thread line ch1 post-1"}},
				{typ: "incident.annotated", when: 3, want: []string{"thread line ch1 post-1"}},
				{typ: "incident.resolved", when: 4, want: []string{"edit card ch1 post-1", "thread line ch1 post-1"}},
			},
		},
		{
			name: "acknowledged arriving before triggered",
			subs: map[string][]subscription.Subscription{"ch1": {{}}},
			steps: []step{
				{typ: "incident.acknowledged", when: 2, want: []string{"new card ch1"}},
				{typ: "incident.triggered", when: 1, want: []string{}},
				{typ: "incident.resolved", when: 3, want: []string{"edit card ch1 post-1", "thread line ch1 post-1"}},
			},
		},
		{
			name: "resolved then an older acknowledged",
			subs: map[string][]subscription.Subscription{"ch1": {{}}},
			steps: []step{
				{typ: "incident.triggered", when: 1, want: []string{"new card ch1"}},
				{typ: "incident.resolved", when: 3, want: []string{"edit card ch1 post-1", "thread line ch1 post-1"}},
				{typ: "incident.acknowledged", when: 2, want: []string{}},
				{typ: "incident.reopened", when: 4, want: []string{"edit card ch1 post-1", "thread line ch1 post-1"}},
			},
		},
		{
			name: "one card per channel, several channels",
			subs: map[string][]subscription.Subscription{"ch1": {{}}, "ch2": {{}}, "ch3": {{Urgency: "low"}}},
			steps: []step{
				{typ: "incident.triggered", when: 1, want: []string{"new card ch1", "new card ch2"}},
				{typ: "incident.acknowledged", when: 2, want: []string{"edit card ch1 post-1", "thread line ch1 post-1", "edit card ch2 post-2", "thread line ch2 post-2"}},
			},
		},
		{
			name: "several matching subscriptions in one channel post once",
			subs: map[string][]subscription.Subscription{"ch1": {{}, {ServiceIDs: []string{"PF9KMXH"}}, {Urgency: "high"}}},
			steps: []step{
				{typ: "incident.triggered", when: 1, want: []string{"new card ch1"}},
			},
		},
		{
			name: "a channel with a card keeps it current for events it did not subscribe to",
			subs: map[string][]subscription.Subscription{"ch1": {{Events: []string{IncidentTriggered}}}, "ch2": {{}}},
			steps: []step{
				{typ: "incident.triggered", when: 1, want: []string{"new card ch1", "new card ch2"}},
				{typ: "incident.acknowledged", when: 2, want: []string{"edit card ch2 post-2", "thread line ch2 post-2", "edit card ch1 post-1"}},
				{typ: "incident.annotated", when: 3, want: []string{"thread line ch2 post-2"}},
			},
		},
		{
			name: "a channel subscribed to resolved only gets a card when it resolves",
			subs: map[string][]subscription.Subscription{"ch1": {{Events: []string{IncidentResolved}}}},
			steps: []step{
				{typ: "incident.triggered", when: 1, want: []string{}},
				{typ: "incident.resolved", when: 2, want: []string{"new card ch1"}},
			},
		},
		{
			name: "a note for an incident without a card in the channel is a standalone line",
			subs: map[string][]subscription.Subscription{"ch1": {{Events: []string{IncidentAnnotated}}}},
			steps: []step{
				{typ: "incident.triggered", when: 1, want: []string{}},
				{typ: "incident.annotated", when: 2, want: []string{"generic line ch1"}},
			},
		},
		{
			name: "a note is filtered by the service its incident is on",
			subs: map[string][]subscription.Subscription{"on": {{ServiceIDs: []string{"PF9KMXH"}}}, "off": {{ServiceIDs: []string{"POTHER"}}}},
			steps: []step{
				{typ: "incident.triggered", when: 1, want: []string{"new card on"}},
				{typ: "incident.annotated", when: 2, want: []string{"thread line on post-1"}},
				{typ: "incident.responder.added", when: 3, want: []string{"thread line on post-1"}},
			},
		},
		{
			name: "a note on an incident never seen matches no service filter",
			subs: map[string][]subscription.Subscription{"svc": {{ServiceIDs: []string{"PF9KMXH"}}}, "all": {{}}},
			steps: []step{
				{typ: "incident.annotated", when: 1, want: []string{"generic line all"}},
			},
		},
		{
			name: "service events go to channels that name them",
			subs: map[string][]subscription.Subscription{"ch1": {{}}, "ch2": {{Events: []string{ServiceUpdated}}}, "ch3": {{Events: []string{ServiceUpdated}, TeamIDs: []string{"PNOPE"}}}},
			steps: []step{
				{typ: "service.updated", when: 1, want: []string{"generic line ch2"}},
			},
		},
		{
			name: "an event type PagerDuty adds later is a generic thread line",
			subs: map[string][]subscription.Subscription{"ch1": {{}}},
			steps: []step{
				{typ: "incident.triggered", when: 1, want: []string{"new card ch1"}},
				{typ: "incident.frobnicated", when: 2, want: []string{"thread line ch1 post-1"}},
			},
		},
		{
			name: "priority changes move a channel in and out of a priority filter; the card stays current",
			subs: map[string][]subscription.Subscription{"p1": {{Priorities: []string{"P1"}}}},
			steps: []step{
				{typ: "incident.triggered", when: 1, want: []string{"new card p1"}},
				{typ: "incident.priority_updated", when: 2, want: []string{"edit card p1 post-1"}}, // now P2
				{typ: "incident.annotated", when: 3, want: []string{}},
				{typ: "incident.priority_updated", when: 4, edits: []func(map[string]any){set("priority", map[string]any{"id": "X", "summary": "P1"})},
					want: []string{"edit card p1 post-1", "thread line p1 post-1"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			for ch, subs := range tt.subs {
				for _, s := range subs {
					e.subscribe(t, ch, s)
				}
			}
			for i, st := range tt.steps {
				ev := event(t, st.typ, fmt.Sprint("ev", i), at(st.when), st.edits...)
				if err := e.router.Deliver(context.Background(), ev, e.exec); err != nil {
					t.Fatalf("step %d (%s): %v", i, st.typ, err)
				}
				got := summary(e.exec.take())
				want := slices.Clone(st.want)
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Fatalf("step %d (%s at %d): actions %q, want %q", i, st.typ, st.when, got, want)
				}
			}
		})
	}
}

// Every filter, one channel each, against the same triggered event (service PF9KMXH, team
// PFCVPS0, urgency high, priority P1).
func TestRouterFilters(t *testing.T) {
	tests := []struct {
		name string
		sub  subscription.Subscription
		want bool
	}{
		{"no filter", subscription.Subscription{}, true},
		{"event type listed", subscription.Subscription{Events: []string{IncidentTriggered}}, true},
		{"event type not listed", subscription.Subscription{Events: []string{IncidentResolved}}, false},
		{"service", subscription.Subscription{ServiceIDs: []string{"PF9KMXH"}}, true},
		{"other service", subscription.Subscription{ServiceIDs: []string{"POTHER"}}, false},
		{"team", subscription.Subscription{TeamIDs: []string{"PFCVPS0"}}, true},
		{"other team", subscription.Subscription{TeamIDs: []string{"POTHER"}}, false},
		{"urgency high", subscription.Subscription{Urgency: "high"}, true},
		{"urgency low", subscription.Subscription{Urgency: "low"}, false},
		{"priority P1", subscription.Subscription{Priorities: []string{"P1"}}, true},
		{"priority P2", subscription.Subscription{Priorities: []string{"P2", "P3"}}, false},
		{"schedule (on-call only)", subscription.Subscription{ScheduleIDs: []string{"PSCHED"}}, false},
		{"on-call changes only", subscription.Subscription{Events: []string{subscription.EventOnCallChange}}, false},
	}
	e := newEnv(t)
	for i, tt := range tests {
		e.subscribe(t, fmt.Sprint("ch", i), tt.sub)
	}
	actions, err := e.router.Ingest(context.Background(), event(t, IncidentTriggered, "ev1", at(1)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, a := range actions {
		if a.Kind != NewCard {
			t.Fatalf("unexpected %v", a.Kind)
		}
		got[a.ChannelID] = true
	}
	for i, tt := range tests {
		if got[fmt.Sprint("ch", i)] != tt.want {
			t.Errorf("%s: got a card = %v, want %v", tt.name, !tt.want, tt.want)
		}
	}
}

// What the actions carry: the rendered card, the line, the incident.
func TestRouterActionContent(t *testing.T) {
	e := newEnv(t)
	e.subscribe(t, "ch1", subscription.Subscription{})
	ctx := context.Background()
	acts, err := e.router.Ingest(ctx, event(t, IncidentAcknowledged, "ev1", at(1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != 1 || acts[0].Kind != NewCard {
		t.Fatalf("actions = %q", summary(acts))
	}
	a := acts[0]
	if !strings.Contains(a.Card.Title, "A little bump in the road") || !strings.Contains(a.Card.Body, "🟡 **Acknowledged**") {
		t.Fatalf("card = %+v", a.Card)
	}
	if a.Line != "🟡 Acknowledged by Alice" {
		t.Fatalf("first-event line = %q", a.Line)
	}
	if a.Incident == nil || a.IncidentID != "PGR0VU2" || a.EventID != "ev1" || !a.OccurredAt.Equal(at(1)) {
		t.Fatalf("action = %+v", a)
	}
	if err := e.router.Posted(ctx, a.IncidentID, a.ChannelID, "P-1", a.OccurredAt); err != nil {
		t.Fatal(err)
	}
	acts, _ = e.router.Ingest(ctx, event(t, IncidentResolved, "ev2", at(2)))
	if len(acts) != 2 || acts[0].Kind != EditCard || acts[0].PostID != "P-1" || !strings.Contains(acts[0].Card.Body, "🟢 **Resolved**") ||
		acts[1].Kind != ThreadLine || acts[1].Line != "🟢 Resolved by Alice" {
		t.Fatalf("after resolve: %+v", acts)
	}
	// A triggered first event posts the card without a line: the card says it all.
	acts, _ = e.router.Ingest(ctx, event(t, IncidentTriggered, "ev3", at(3), onIncident("OTHER")))
	if len(acts) != 1 || acts[0].Kind != NewCard || acts[0].Line != "" {
		t.Fatalf("triggered: %+v", acts)
	}
	// Posted refuses a second card for the same incident and channel.
	if err := e.router.Posted(ctx, "PGR0VU2", "ch1", "P-2", at(4)); !errors.Is(err, subscription.ErrCardExists) {
		t.Fatalf("second card: err = %v", err)
	}
}

// The whole ingress: verify, decode, dedupe, route. Replays post once.
func TestPipelineReplayPostsOnce(t *testing.T) {
	e := newEnv(t)
	e.subscribe(t, "ch1", subscription.Subscription{})
	d := NewDeduper(e.kv, &kvstore.Locks{})
	secret := []byte("s3cret")
	ctx := context.Background()
	process := func(b []byte, sig string) error {
		if err := Verify(b, sig, secret); err != nil {
			return err
		}
		ev, err := Decode(b)
		if err != nil {
			return err
		}
		if dup, err := d.Seen(ctx, ev.ID); err != nil || dup {
			return err
		}
		return e.router.Deliver(ctx, ev, e.exec)
	}
	trig := body(t, IncidentTriggered, "evT", at(1))
	for i := 0; i < 3; i++ {
		if err := process(trig, Sign(trig, secret)); err != nil {
			t.Fatal(err)
		}
	}
	// The same event through the plugin route (re-encoded bytes, no HMAC possible) is also a replay.
	if ev, err := Decode(reencode(t, trig)); err != nil {
		t.Fatal(err)
	} else if dup, _ := d.Seen(ctx, ev.ID); !dup {
		t.Fatal("re-encoded replay not recognised")
	}
	ack := body(t, IncidentAcknowledged, "evA", at(2))
	for i := 0; i < 2; i++ {
		if err := process(ack, Sign(ack, secret)); err != nil {
			t.Fatal(err)
		}
	}
	// A forged delivery posts nothing.
	forged := body(t, IncidentResolved, "evR", at(3))
	if err := process(forged, Sign(forged, []byte("guess"))); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("forged: %v", err)
	}
	if err := process(forged, ""); !errors.Is(err, ErrMissingSignature) {
		t.Fatalf("unsigned: %v", err)
	}
	got := summary(e.exec.take())
	want := []string{"new card ch1", "edit card ch1 post-1", "thread line ch1 post-1"}
	if !slices.Equal(got, want) {
		t.Fatalf("actions %q, want %q", got, want)
	}
}

// A card deleted in Mattermost is forgotten, and the next event posts a new one.
func TestRouterPostGone(t *testing.T) {
	e := newEnv(t)
	e.subscribe(t, "ch1", subscription.Subscription{})
	ctx := context.Background()
	if err := e.router.Deliver(ctx, event(t, IncidentTriggered, "ev1", at(1)), e.exec); err != nil {
		t.Fatal(err)
	}
	e.exec.fail = func(a Action) error {
		if a.Kind == EditCard {
			return fmt.Errorf("mattermost: 404: %w", ErrPostGone)
		}
		return nil
	}
	if err := e.router.Deliver(ctx, event(t, IncidentAcknowledged, "ev2", at(2)), e.exec); !errors.Is(err, ErrPostGone) {
		t.Fatalf("err = %v, want ErrPostGone", err)
	}
	e.exec.fail = nil
	e.exec.take()
	if err := e.router.Deliver(ctx, event(t, IncidentResolved, "ev3", at(3)), e.exec); err != nil {
		t.Fatal(err)
	}
	if got := summary(e.exec.take()); !slices.Equal(got, []string{"new card ch1"}) {
		t.Fatalf("after the card was deleted: %q", got)
	}
}

// Events of one incident delivered concurrently in random order, to many channels: each
// channel gets exactly one card, edits reach Mattermost in increasing event time, and every card
// ends showing the newest event.
func TestRouterConcurrentOutOfOrder(t *testing.T) {
	e := newEnvKV(t, func(kv kvstore.KV) kvstore.KV { return slowKV{kv} })
	const channels = 5
	for c := 0; c < channels; c++ {
		e.subscribe(t, fmt.Sprint("ch", c), subscription.Subscription{})
	}
	types := []string{IncidentTriggered, IncidentAcknowledged, IncidentEscalated, IncidentReassigned, IncidentPriorityUpdated,
		IncidentUnacknowledged, IncidentAcknowledged, IncidentResolved}
	var evs []Event
	for i, typ := range types {
		evs = append(evs, event(t, typ, fmt.Sprint("ev", i), at(i+1)))
	}
	rand.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	var wg sync.WaitGroup
	for _, ev := range evs {
		wg.Add(1)
		go func(ev Event) {
			defer wg.Done()
			if err := e.router.Deliver(context.Background(), ev, e.exec); err != nil {
				t.Error(err)
			}
		}(ev)
	}
	wg.Wait()
	cards := map[string]int{}
	last := map[string]time.Time{}
	for _, a := range e.exec.take() {
		switch a.Kind {
		case NewCard:
			cards[a.ChannelID]++
			last[a.ChannelID] = a.OccurredAt
		case EditCard:
			if !a.OccurredAt.After(last[a.ChannelID]) {
				t.Errorf("%s: edit for %v after the card showed %v", a.ChannelID, a.OccurredAt, last[a.ChannelID])
			}
			last[a.ChannelID] = a.OccurredAt
		}
	}
	for c := 0; c < channels; c++ {
		ch := fmt.Sprint("ch", c)
		if cards[ch] != 1 {
			t.Errorf("%s got %d cards", ch, cards[ch])
		}
		if !last[ch].Equal(at(len(types))) {
			t.Errorf("%s card shows %v, want the newest %v", ch, last[ch], at(len(types)))
		}
	}
}

// slowKV widens race windows: every operation sleeps a little, so concurrent deliveries
// interleave and a missing lock shows up as a duplicate card or a regressing edit.
type slowKV struct{ kvstore.KV }

func (s slowKV) pause() { time.Sleep(time.Duration(50+time.Now().UnixNano()%200) * time.Microsecond) }

func (s slowKV) Get(ctx context.Context, prefix, id string, out any) (bool, error) {
	s.pause()
	return s.KV.Get(ctx, prefix, id, out)
}

func (s slowKV) Set(ctx context.Context, prefix, id string, v any) error {
	s.pause()
	return s.KV.Set(ctx, prefix, id, v)
}

func (s slowKV) Delete(ctx context.Context, prefix, id string) error {
	s.pause()
	return s.KV.Delete(ctx, prefix, id)
}

func TestExclusiveSharesDeliversIncidentLock(t *testing.T) {
	r := NewRouter(nil, nil)
	held := make(chan struct{})
	release := make(chan struct{})
	go r.Exclusive("PINC", func() { close(held); <-release })
	<-held
	got := make(chan struct{})
	go func() { r.incidentLock("PINC").Lock(); close(got); r.incidentLock("PINC").Unlock() }()
	select {
	case <-got:
		t.Fatal("the incident lock was free while Exclusive ran")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-got
}

func TestIngestRefusesFutureEvents(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		at      time.Time
		refused bool
	}{
		{"now", now, false},
		{"within clock skew", now.Add(MaxClockSkew - time.Second), false},
		{"past", now.Add(-48 * time.Hour), false},
		{"beyond clock skew", now.Add(MaxClockSkew + time.Second), true},
		{"year 2099", time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.router.Now = func() time.Time { return now }
			_, err := e.router.Ingest(context.Background(), Event{ID: "E1", Type: "incident.acknowledged", OccurredAt: tt.at})
			if got := errors.Is(err, ErrFutureEvent); got != tt.refused {
				t.Fatalf("Ingest at %v: err = %v, refused = %v, want %v", tt.at, err, got, tt.refused)
			}
		})
	}
}
