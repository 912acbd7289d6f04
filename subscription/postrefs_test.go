package subscription

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
)

var t0 = time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)

func TestPostRefsRecordAndGet(t *testing.T) {
	ctx := context.Background()
	kv := kvstore.NewMemory()
	p := NewPostRefs(kv, &kvstore.Locks{})

	if refs, err := p.Get(ctx, "INC1"); err != nil || len(refs) != 0 {
		t.Fatalf("Get unknown incident = %v, %v", refs, err)
	}
	if err := p.Record(ctx, "INC1", PostRef{ChannelID: "c1", PostID: "post1", LastOccurredAt: t0, LastEventID: "e1"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Record(ctx, "INC1", PostRef{ChannelID: "c2", PostID: "post2", LastOccurredAt: t0}); err != nil {
		t.Fatal(err)
	}
	// Recording the same post again is idempotent; another post for the same channel is refused.
	if err := p.Record(ctx, "INC1", PostRef{ChannelID: "c1", PostID: "post1", LastOccurredAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := p.Record(ctx, "INC1", PostRef{ChannelID: "c1", PostID: "other", LastOccurredAt: t0.Add(time.Hour)}); !errors.Is(err, ErrCardExists) {
		t.Fatalf("second card: err = %v, want ErrCardExists", err)
	}
	if err := p.Record(ctx, "INC1", PostRef{ChannelID: "c3"}); err == nil {
		t.Fatal("Record without post id accepted")
	}

	refs, err := p.Get(ctx, "INC1")
	if err != nil {
		t.Fatal(err)
	}
	want := []PostRef{
		{ChannelID: "c1", PostID: "post1", LastOccurredAt: t0, LastEventID: "e1"},
		{ChannelID: "c2", PostID: "post2", LastOccurredAt: t0},
	}
	if fmt.Sprint(refs) != fmt.Sprint(want) {
		t.Fatalf("Get = %+v, want %+v", refs, want)
	}
	if _, ok, _ := p.Lookup(ctx, "INC1", "c9"); ok {
		t.Fatal("Lookup found a card in a channel that has none")
	}
}

func TestPostRefsUpdateIfNewer(t *testing.T) {
	ctx := context.Background()
	p := NewPostRefs(kvstore.NewMemory(), &kvstore.Locks{})
	if _, _, err := p.UpdateIfNewer(ctx, "INC1", "c1", t0, nil); !errors.Is(err, ErrNoCard) {
		t.Fatalf("no card: err = %v, want ErrNoCard", err)
	}
	if err := p.Record(ctx, "INC1", PostRef{ChannelID: "c1", PostID: "post1", LastOccurredAt: t0, LastEventID: "e0"}); err != nil {
		t.Fatal(err)
	}
	setEvent := func(id string) func(*PostRef) error {
		return func(r *PostRef) error { r.LastEventID = id; return nil }
	}
	tests := []struct {
		name     string
		at       time.Time
		event    string
		applied  bool
		wantAt   time.Time
		wantLast string
	}{
		{"newer applies", t0.Add(time.Minute), "e1", true, t0.Add(time.Minute), "e1"},
		{"older is refused", t0.Add(30 * time.Second), "e2", false, t0.Add(time.Minute), "e1"},
		{"same event again is refused", t0.Add(time.Minute), "e1", false, t0.Add(time.Minute), "e1"},
		{"another event at the same instant applies", t0.Add(time.Minute), "e3", true, t0.Add(time.Minute), "e3"},
		{"much newer applies", t0.Add(time.Hour), "e4", true, t0.Add(time.Hour), "e4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, applied, err := p.UpdateIfNewer(ctx, "INC1", "c1", tt.at, setEvent(tt.event))
			if err != nil {
				t.Fatal(err)
			}
			if applied != tt.applied {
				t.Fatalf("applied = %v, want %v", applied, tt.applied)
			}
			got, _, _ := p.Lookup(ctx, "INC1", "c1")
			if !got.LastOccurredAt.Equal(tt.wantAt) || got.LastEventID != tt.wantLast || got.PostID != "post1" {
				t.Fatalf("stored %+v, want at %v event %s", got, tt.wantAt, tt.wantLast)
			}
			if ref.ChannelID != "c1" || ref.PostID != "post1" {
				t.Fatalf("returned %+v", ref)
			}
		})
	}
	// An fn error aborts without writing.
	if _, _, err := p.UpdateIfNewer(ctx, "INC1", "c1", t0.Add(2*time.Hour), func(*PostRef) error { return errors.New("boom") }); err == nil {
		t.Fatal("fn error swallowed")
	}
	if got, _, _ := p.Lookup(ctx, "INC1", "c1"); !got.LastOccurredAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("fn error still wrote: %+v", got)
	}
}

// Many events for one incident racing in random order: the reference ends at the newest, and
// each event that was applied was newer than every event applied before it.
func TestPostRefsConcurrentNewestWins(t *testing.T) {
	ctx := context.Background()
	p := NewPostRefs(slowKV{kvstore.NewMemory()}, &kvstore.Locks{})
	if err := p.Record(ctx, "INC1", PostRef{ChannelID: "c1", PostID: "post1", LastOccurredAt: t0}); err != nil {
		t.Fatal(err)
	}
	const n = 100
	order := rand.Perm(n)
	var mu sync.Mutex
	var applied []int
	var wg sync.WaitGroup
	for _, k := range order {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			_, ok, err := p.UpdateIfNewer(ctx, "INC1", "c1", t0.Add(time.Duration(k+1)*time.Second), func(r *PostRef) error {
				mu.Lock()
				applied = append(applied, k) // under the document lock: in apply order
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Error(err)
			}
			_ = ok
		}(k)
	}
	wg.Wait()
	got, _, _ := p.Lookup(ctx, "INC1", "c1")
	if want := t0.Add(n * time.Second); !got.LastOccurredAt.Equal(want) {
		t.Fatalf("final = %v, want %v", got.LastOccurredAt, want)
	}
	for i := 1; i < len(applied); i++ {
		if applied[i] <= applied[i-1] {
			t.Fatalf("event %d applied after newer event %d", applied[i], applied[i-1])
		}
	}
}

func TestPostRefsFacts(t *testing.T) {
	ctx := context.Background()
	p := NewPostRefs(kvstore.NewMemory(), &kvstore.Locks{})
	if _, ok, _ := p.Facts(ctx, "INC1"); ok {
		t.Fatal("facts for an unknown incident")
	}
	steps := []struct {
		f       Facts
		current bool
		want    string
	}{
		{Facts{At: t0, ServiceID: "S1", Urgency: "high"}, true, "high"},
		{Facts{At: t0.Add(time.Minute), ServiceID: "S1", Urgency: "low"}, true, "low"},
		{Facts{At: t0.Add(30 * time.Second), ServiceID: "S1", Urgency: "high"}, false, "low"},
		{Facts{At: t0.Add(2 * time.Minute), ServiceID: "S1", Urgency: "low"}, true, "low"},
		{Facts{At: t0.Add(90 * time.Second), ServiceID: "S1", Urgency: "high"}, false, "low"},
	}
	for i, s := range steps {
		current, err := p.SetFacts(ctx, "INC1", s.f)
		if err != nil {
			t.Fatal(err)
		}
		got, _, _ := p.Facts(ctx, "INC1")
		if current != s.current || got.Urgency != s.want {
			t.Fatalf("step %d: current = %v, urgency %q; want %v, %q", i, current, got.Urgency, s.current, s.want)
		}
	}
	// Facts and the channel list share the head document without clobbering each other.
	if err := p.Record(ctx, "INC1", PostRef{ChannelID: "c1", PostID: "p1", LastOccurredAt: t0}); err != nil {
		t.Fatal(err)
	}
	if f, ok, _ := p.Facts(ctx, "INC1"); !ok || f.ServiceID != "S1" {
		t.Fatalf("facts lost after Record: %+v", f)
	}
	if refs, _ := p.Get(ctx, "INC1"); len(refs) != 1 {
		t.Fatalf("Get = %v", refs)
	}
}

// Many channels with a card for one incident: every document stays under 8 KB and routing
// (Lookup) works for all of them; Get lists as many as the head can hold.
func TestPostRefsManyChannels(t *testing.T) {
	ctx := context.Background()
	kv := kvstore.NewMemory()
	p := NewPostRefs(kv, &kvstore.Locks{})
	const channels = 400
	bigFacts := Facts{At: t0, ServiceID: "PSERVICE0001", Urgency: "high", Priority: "P1"}
	for i := 0; i < 100; i++ {
		bigFacts.TeamIDs = append(bigFacts.TeamIDs, fmt.Sprintf("PTEAM%05d", i))
	}
	for i := 0; i < channels; i++ {
		if i == 200 {
			// Facts change while the head fills up: neither crowds out the other.
			if _, err := p.SetFacts(ctx, "INC1", bigFacts); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Record(ctx, "INC1", PostRef{ChannelID: channelID(i), PostID: fmt.Sprintf("post%022d", i), LastOccurredAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < channels; i++ {
		if _, ok, err := p.Lookup(ctx, "INC1", channelID(i)); !ok || err != nil {
			t.Fatalf("channel %d: %v %v", i, ok, err)
		}
	}
	refs, err := p.Get(ctx, "INC1")
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != channels {
		t.Fatalf("Get returned %d refs, want %d", len(refs), channels)
	}
	for i, r := range refs {
		if r.ChannelID != channelID(i) {
			t.Fatalf("refs[%d] is channel %s, want %s", i, r.ChannelID, channelID(i))
		}
	}
	for _, k := range kv.Keys() {
		if id := strings.TrimPrefix(k, PrefixPost+"/"); kv.Size(PrefixPost, id) > kvstore.MaxValueSize {
			t.Fatalf("%s is %d bytes", k, kv.Size(PrefixPost, id))
		}
	}
	bigFacts.At = t0.Add(time.Minute)
	if _, err := p.SetFacts(ctx, "INC1", bigFacts); err != nil {
		t.Fatalf("facts no longer fit in a full head: %v", err)
	}
	if kv.Size(PrefixPost, "INC1~1") == 0 {
		t.Fatal("test setup: no overflow page was needed")
	}
}

func TestPostRefsForget(t *testing.T) {
	ctx := context.Background()
	p := NewPostRefs(kvstore.NewMemory(), &kvstore.Locks{})
	if err := p.Record(ctx, "INC1", PostRef{ChannelID: "c1", PostID: "post1", LastOccurredAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := p.Forget(ctx, "INC1", "c1", "other"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := p.Lookup(ctx, "INC1", "c1"); !ok {
		t.Fatal("Forget of another post id dropped the card")
	}
	if err := p.Forget(ctx, "INC1", "c1", "post1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := p.Lookup(ctx, "INC1", "c1"); ok {
		t.Fatal("card still there after Forget")
	}
	if _, _, err := p.UpdateIfNewer(ctx, "INC1", "c1", t0.Add(time.Hour), nil); !errors.Is(err, ErrNoCard) {
		t.Fatalf("after Forget: err = %v, want ErrNoCard", err)
	}
	if err := p.Record(ctx, "INC1", PostRef{ChannelID: "c1", PostID: "post2", LastOccurredAt: t0}); err != nil {
		t.Fatalf("a new card after Forget: %v", err)
	}
}
