package subscription

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
)

func newTestStore(kv kvstore.KV, locks *kvstore.Locks) *Store {
	s := NewStore(kv, locks)
	var n atomic.Int64
	s.NewID = func() string { return "id" + strconv.FormatInt(n.Add(1), 36) }
	s.Now = func() time.Time { return time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC) }
	return s
}

func channelID(i int) string { return fmt.Sprintf("ch%024d", i) } // 26 characters, like Mattermost ids

func TestStoreAddListRemove(t *testing.T) {
	ctx := context.Background()
	kv := kvstore.NewMemory()
	s := newTestStore(kv, &kvstore.Locks{})
	ch := channelID(1)

	a, err := s.Add(ctx, Subscription{ChannelID: ch, Events: []string{"incident.triggered"}, CreatedBy: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == "" || a.ChannelID != ch || a.CreatedAt.IsZero() {
		t.Fatalf("Add returned %+v; want id, channel and time set", a)
	}
	b, err := s.Add(ctx, Subscription{ChannelID: ch, ServiceIDs: []string{"S1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, Subscription{ChannelID: ch, Events: []string{"incident.triggered"}}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("same filters again: err = %v, want ErrDuplicate", err)
	}
	if _, err := s.Add(ctx, Subscription{ChannelID: ch, Urgency: "medium"}); err == nil {
		t.Fatal("bad urgency accepted")
	}
	if _, err := s.Add(ctx, Subscription{}); err == nil {
		t.Fatal("subscription without channel accepted")
	}

	// A second Store over the same KV (a restarted app) sees the same thing.
	for name, st := range map[string]*Store{"cached": s, "restarted": newTestStore(kv, &kvstore.Locks{})} {
		got, err := st.List(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		if ids := subIDs(got); !slices.Equal(ids, []string{a.ID, b.ID}) {
			t.Fatalf("%s: List = %v, want [%s %s]", name, ids, a.ID, b.ID)
		}
		if got[0].ChannelID != ch || got[0].CreatedBy != "u1" {
			t.Fatalf("%s: List[0] = %+v", name, got[0])
		}
		if chans, _ := st.Channels(ctx); !slices.Equal(chans, []string{ch}) {
			t.Fatalf("%s: Channels = %v", name, chans)
		}
	}

	if err := s.Remove(ctx, ch, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Remove unknown: err = %v, want ErrNotFound", err)
	}
	if err := s.Remove(ctx, ch, a.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.List(ctx, ch); !slices.Equal(subIDs(got), []string{b.ID}) {
		t.Fatalf("after Remove: %v", subIDs(got))
	}
	if err := s.Remove(ctx, ch, b.ID); err != nil {
		t.Fatal(err)
	}
	if chans, _ := s.Channels(ctx); len(chans) != 0 {
		t.Fatalf("channel without subscriptions still indexed: %v", chans)
	}
	if keys := kv.Keys(); len(keys) != 1 || !strings.HasPrefix(keys[0], "si/") {
		t.Fatalf("KV after removing everything = %v; want only the (empty) index shard", keys)
	}

	// RemoveAll
	for i := 0; i < 3; i++ {
		if _, err := s.Add(ctx, Subscription{ChannelID: ch, TeamIDs: []string{fmt.Sprint("T", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.RemoveAll(ctx, ch)
	if err != nil || n != 3 {
		t.Fatalf("RemoveAll = %d, %v; want 3", n, err)
	}
	if got, _ := newTestStore(kv, &kvstore.Locks{}).List(ctx, ch); len(got) != 0 {
		t.Fatalf("after RemoveAll: %v", got)
	}
	if chans, _ := newTestStore(kv, &kvstore.Locks{}).Channels(ctx); len(chans) != 0 {
		t.Fatalf("after RemoveAll, index = %v", chans)
	}
}

func subIDs(subs []Subscription) []string {
	var ids []string
	for _, s := range subs {
		ids = append(ids, s.ID)
	}
	return ids
}

func TestStoreForEvent(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(kvstore.NewMemory(), &kvstore.Locks{})
	add := func(ch int, sub Subscription) Subscription {
		sub.ChannelID = channelID(ch)
		got, err := s.Add(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	all := add(1, Subscription{})
	svc := add(2, Subscription{ServiceIDs: []string{"S1"}})
	add(2, Subscription{ServiceIDs: []string{"S2"}})
	high := add(3, Subscription{Urgency: "high"})
	add(4, Subscription{Events: []string{EventOnCallChange}})

	got, err := s.ForEvent(ctx, Event{Type: "incident.triggered", ServiceID: "S1", Urgency: "high"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{all.ID, svc.ID, high.ID}; !slices.Equal(subIDs(got), want) {
		t.Fatalf("ForEvent = %v, want %v", subIDs(got), want)
	}
	got, _ = s.ForEvent(ctx, Event{Type: "incident.triggered", ServiceID: "S3", Urgency: "low"})
	if want := []string{all.ID}; !slices.Equal(subIDs(got), want) {
		t.Fatalf("ForEvent = %v, want %v", subIDs(got), want)
	}
}

// Many channels spread over the index shards; every shard stays under 8 KB and a restarted
// store finds every channel.
func TestStoreIndexSharding(t *testing.T) {
	ctx := context.Background()
	kv := kvstore.NewMemory()
	locks := &kvstore.Locks{}
	s := newTestStore(kv, locks)
	const channels = 2000
	for i := 0; i < channels; i++ {
		if _, err := s.Add(ctx, Subscription{ChannelID: channelID(i), ServiceIDs: []string{"S1"}}); err != nil {
			t.Fatalf("channel %d: %v", i, err)
		}
	}
	used := 0
	for i := 0; i < IndexShards; i++ {
		size := kv.Size(PrefixIndex, strconv.Itoa(i))
		if size > kvstore.MaxValueSize {
			t.Fatalf("shard %d is %d bytes", i, size)
		}
		if size > 0 {
			used++
		}
	}
	if used != IndexShards {
		t.Fatalf("%d of %d shards used; the hash does not spread channels", used, IndexShards)
	}
	got, err := newTestStore(kv, locks).ForEvent(ctx, Event{Type: "incident.triggered", ServiceID: "S1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != channels {
		t.Fatalf("restarted store found %d subscriptions, want %d", len(got), channels)
	}
}

// A full index shard refuses the channel with ErrIndexFull and writes nothing.
func TestStoreIndexFull(t *testing.T) {
	ctx := context.Background()
	kv := kvstore.NewMemory()
	s := newTestStore(kv, &kvstore.Locks{})
	target := indexShard(channelID(0))
	var fill []string
	for i := 1; len(fill) < 400; i++ {
		if indexShard(channelID(i)) == target {
			fill = append(fill, channelID(i))
		}
	}
	slices.Sort(fill)
	n := 0
	for ; n < len(fill); n++ { // as many as fit
		if _, err := kvstore.CheckSize(indexDoc{Channels: fill[:n+1]}); err != nil {
			break
		}
	}
	t.Logf("a full index shard holds %d channels", n)
	if err := kv.Set(ctx, PrefixIndex, target, indexDoc{Channels: fill[:n]}); err != nil {
		t.Fatal(err)
	}
	before := kv.Size(PrefixIndex, target)
	_, err := s.Add(ctx, Subscription{ChannelID: channelID(0)})
	if !errors.Is(err, ErrIndexFull) {
		t.Fatalf("err = %v, want ErrIndexFull", err)
	}
	if kv.Size(PrefixIndex, target) != before || kv.Size(PrefixChannel, channelID(0)) != 0 {
		t.Fatal("a refused Add wrote something")
	}
}

// Filling a channel to the 8 KB limit: the Add that would overflow fails with ErrChannelFull,
// and neither the channel document nor the index changes.
func TestStoreChannelFull(t *testing.T) {
	ctx := context.Background()
	kv := kvstore.NewMemory()
	s := newTestStore(kv, &kvstore.Locks{})
	ch := channelID(7)
	big := func(i int) Subscription {
		var svcs []string
		for j := 0; j < 12; j++ {
			svcs = append(svcs, fmt.Sprintf("PSERVICE%03d%03d", i, j))
		}
		return Subscription{ChannelID: ch, Events: []string{"incident.triggered", "incident.acknowledged", "incident.resolved"}, ServiceIDs: svcs, CreatedBy: "abcdefghijklmnopqrstuvwxyz"}
	}
	n := 0
	var err error
	for ; n < MaxPerChannel+1; n++ {
		if _, err = s.Add(ctx, big(n)); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrChannelFull) {
		t.Fatalf("after %d subscriptions err = %v, want ErrChannelFull", n, err)
	}
	if n >= MaxPerChannel {
		t.Fatalf("the size limit never bit (%d subscriptions); make the test subscriptions bigger", n)
	}
	size := kv.Size(PrefixChannel, ch)
	if size > kvstore.MaxValueSize || size < kvstore.MaxValueSize-600 {
		t.Fatalf("channel document is %d bytes; want close to but under %d", size, kvstore.MaxValueSize)
	}
	t.Logf("%d subscriptions in %d bytes", n, size)
	keys := kv.Keys()
	if _, err := s.Add(ctx, big(n+1)); !errors.Is(err, ErrChannelFull) {
		t.Fatalf("second overflow err = %v", err)
	}
	if kv.Size(PrefixChannel, ch) != size || !slices.Equal(kv.Keys(), keys) {
		t.Fatal("a refused Add changed the KV store")
	}
	got, _ := newTestStore(kv, &kvstore.Locks{}).List(ctx, ch)
	if len(got) != n {
		t.Fatalf("stored %d subscriptions, want %d", len(got), n)
	}
	// Removing one makes room again.
	if err := s.Remove(ctx, ch, got[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, big(n+2)); err != nil {
		t.Fatalf("after removing one: %v", err)
	}

	// The count limit, with small subscriptions.
	ch2 := channelID(8)
	for i := 0; i < MaxPerChannel; i++ {
		if _, err := s.Add(ctx, Subscription{ChannelID: ch2, TeamIDs: []string{fmt.Sprint("T", i)}}); err != nil {
			t.Fatalf("small subscription %d: %v", i, err)
		}
	}
	if _, err := s.Add(ctx, Subscription{ChannelID: ch2, TeamIDs: []string{"Tx"}}); !errors.Is(err, ErrChannelFull) {
		t.Fatalf("subscription %d: err = %v, want ErrChannelFull", MaxPerChannel+1, err)
	}

	// A first subscription too big on its own leaves no index entry behind.
	ch3 := channelID(9)
	huge := Subscription{ChannelID: ch3}
	for j := 0; j < 600; j++ {
		huge.ServiceIDs = append(huge.ServiceIDs, fmt.Sprintf("PS%010d", j))
	}
	if _, err := s.Add(ctx, huge); !errors.Is(err, ErrChannelFull) {
		t.Fatalf("huge: err = %v, want ErrChannelFull", err)
	}
	if chans, _ := newTestStore(kv, &kvstore.Locks{}).Channels(ctx); slices.Contains(chans, ch3) {
		t.Fatal("refused first subscription left the channel in the index")
	}
}

// 100 concurrent subscribe/unsubscribe calls over a few channels lose nothing: afterwards the KV
// store holds exactly the subscriptions that were added and not removed, and the index holds
// exactly the channels that have some.
func TestStoreConcurrent(t *testing.T) {
	ctx := context.Background()
	kv := kvstore.NewMemory()
	locks := &kvstore.Locks{}
	s := newTestStore(slowKV{kv}, locks)
	const workers = 100
	const channels = 5

	// Channel 0 starts with subscriptions that workers remove, so it goes empty -> non-empty ->
	// empty while others add: the index transitions race.
	var preexisting []Subscription
	for i := 0; i < 10; i++ {
		sub, err := s.Add(ctx, Subscription{ChannelID: channelID(0), TeamIDs: []string{fmt.Sprint("pre", i)}})
		if err != nil {
			t.Fatal(err)
		}
		preexisting = append(preexisting, sub)
	}

	var mu sync.Mutex
	want := map[string][]string{} // channel -> ids that must remain
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			<-start
			ch := channelID(w % channels)
			sub, err := s.Add(ctx, Subscription{ChannelID: ch, ServiceIDs: []string{fmt.Sprint("S", w)}})
			if err != nil {
				t.Error(err)
				return
			}
			switch {
			case w < 10: // remove a pre-existing one
				if err := s.Remove(ctx, channelID(0), preexisting[w].ID); err != nil {
					t.Error(err)
				}
				mu.Lock()
				want[ch] = append(want[ch], sub.ID)
				mu.Unlock()
			case w%3 == 0: // remove its own
				if err := s.Remove(ctx, ch, sub.ID); err != nil {
					t.Error(err)
				}
			default:
				mu.Lock()
				want[ch] = append(want[ch], sub.ID)
				mu.Unlock()
			}
		}(w)
	}
	close(start)
	wg.Wait()

	fresh := newTestStore(kv, &kvstore.Locks{})
	var wantChans []string
	total := 0
	for i := 0; i < channels; i++ {
		ch := channelID(i)
		got, err := fresh.List(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		gotIDs, wantIDs := subIDs(got), slices.Clone(want[ch])
		slices.Sort(gotIDs)
		slices.Sort(wantIDs)
		if !slices.Equal(gotIDs, wantIDs) {
			t.Errorf("channel %d: stored %v, want %v", i, gotIDs, wantIDs)
		}
		cached, _ := s.List(ctx, ch)
		if len(cached) != len(got) {
			t.Errorf("channel %d: cache has %d, KV has %d", i, len(cached), len(got))
		}
		if len(wantIDs) > 0 {
			wantChans = append(wantChans, ch)
		}
		total += len(wantIDs)
	}
	if total < 50 {
		t.Fatalf("test setup: only %d subscriptions remain", total)
	}
	for name, st := range map[string]*Store{"cached": s, "restarted": fresh} {
		chans, err := st.Channels(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(chans, wantChans) {
			t.Errorf("%s index = %v, want %v", name, chans, wantChans)
		}
	}
}

// Add, then remove-all, racing on one channel over and over: the channel ends indexed if and only
// if it has subscriptions.
func TestStoreIndexFollowsChannel(t *testing.T) {
	ctx := context.Background()
	kv := kvstore.NewMemory()
	locks := &kvstore.Locks{}
	s := newTestStore(slowKV{kv}, locks)
	ch := channelID(3)
	var wg sync.WaitGroup
	for w := 0; w < 50; w++ {
		wg.Add(2)
		go func(w int) {
			defer wg.Done()
			if _, err := s.Add(ctx, Subscription{ChannelID: ch, ServiceIDs: []string{fmt.Sprint("S", w)}}); err != nil {
				t.Error(err)
			}
		}(w)
		go func() {
			defer wg.Done()
			if _, err := s.RemoveAll(ctx, ch); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	fresh := newTestStore(kv, &kvstore.Locks{})
	subs, _ := fresh.List(ctx, ch)
	chans, _ := fresh.Channels(ctx)
	if (len(subs) > 0) != slices.Contains(chans, ch) {
		t.Fatalf("%d subscriptions but indexed = %v", len(subs), slices.Contains(chans, ch))
	}
}

// A stale index entry (a crash between the two writes of Remove) is harmless and cleaned up.
func TestStoreStaleIndexEntry(t *testing.T) {
	ctx := context.Background()
	kv := kvstore.NewMemory()
	ch := channelID(5)
	if err := kv.Set(ctx, PrefixIndex, indexShard(ch), indexDoc{Channels: []string{ch}}); err != nil {
		t.Fatal(err)
	}
	s := newTestStore(kv, &kvstore.Locks{})
	if got, err := s.ForEvent(ctx, Event{Type: "incident.triggered"}); err != nil || len(got) != 0 {
		t.Fatalf("ForEvent with a stale entry = %v, %v", got, err)
	}
	if err := s.Remove(ctx, ch, "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	if chans, _ := newTestStore(kv, &kvstore.Locks{}).Channels(ctx); len(chans) != 0 {
		t.Fatalf("stale entry not cleaned: %v", chans)
	}
}

// slowKV widens race windows: every operation sleeps a little, so concurrent read-modify-write
// cycles interleave and a missing lock shows up as a lost update instead of passing by luck.
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
