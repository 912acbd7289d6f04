package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestDeduperSeen(t *testing.T) {
	ctx := context.Background()
	kv := kvstore.NewMemory()
	locks := &kvstore.Locks{}
	clk := &clock{t: time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)}
	d := NewDeduper(kv, locks, WithClock(clk.Now))

	steps := []struct {
		name    string
		dedup   *Deduper
		advance time.Duration
		id      string
		want    bool
	}{
		{"first delivery", d, 0, "ev-1", false},
		{"retry a second later", d, time.Second, "ev-1", true},
		{"another event", d, 0, "ev-2", false},
		{"retry after a restart (no memory, same KV)", NewDeduper(kv, locks, WithClock(clk.Now), WithMemory(0)), time.Hour, "ev-1", true},
		{"retry 47 h after the first delivery", NewDeduper(kv, locks, WithClock(clk.Now), WithMemory(0)), 46 * time.Hour, "ev-2", true},
		{"new event near the end of the window", d, 0, "ev-3", false},
		{"after the window the id is forgotten", NewDeduper(kv, locks, WithClock(clk.Now), WithMemory(0)), 3 * time.Hour, "ev-1", false},
		{"the forgotten id is remembered again", NewDeduper(kv, locks, WithClock(clk.Now), WithMemory(0)), 0, "ev-1", true},
		{"a newer id survives the expiry of older ones", NewDeduper(kv, locks, WithClock(clk.Now), WithMemory(0)), 0, "ev-3", true},
	}
	for _, s := range steps {
		clk.Add(s.advance)
		got, err := s.dedup.Seen(ctx, s.id)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got != s.want {
			t.Fatalf("%s: Seen(%s) = %v, want %v", s.name, s.id, got, s.want)
		}
	}
}

// The in-memory LRU answers repeats without touching the KV store.
func TestDeduperMemory(t *testing.T) {
	ctx := context.Background()
	kv := kvstore.NewMemory()
	d := NewDeduper(kv, &kvstore.Locks{}, WithMemory(2))
	for _, id := range []string{"a", "b"} {
		if dup, err := d.Seen(ctx, id); err != nil || dup {
			t.Fatalf("Seen(%s) = %v, %v", id, dup, err)
		}
	}
	ops := kv.Ops()
	if dup, _ := d.Seen(ctx, "a"); !dup {
		t.Fatal("a not a duplicate")
	}
	if kv.Ops() != ops {
		t.Fatal("a repeat in memory went to the KV store")
	}
	_, _ = d.Seen(ctx, "c") // evicts b, the least recently used
	ops = kv.Ops()
	if dup, _ := d.Seen(ctx, "b"); !dup {
		t.Fatal("b forgotten: it must still be found in KV")
	}
	if kv.Ops() == ops {
		t.Fatal("b should have been evicted from memory and looked up in KV")
	}
}

// A failed KV write is an error, and the id is not remembered in memory either.
func TestDeduperKVError(t *testing.T) {
	ctx := context.Background()
	kv := &failingKV{KV: kvstore.NewMemory()}
	d := NewDeduper(kv, &kvstore.Locks{})
	kv.fail.Store(true)
	if _, err := d.Seen(ctx, "x"); err == nil {
		t.Fatal("KV failure not reported")
	}
	kv.fail.Store(false)
	if dup, err := d.Seen(ctx, "x"); err != nil || dup {
		t.Fatalf("after a failed first attempt Seen = %v, %v; want new", dup, err)
	}
}

type failingKV struct {
	kvstore.KV
	fail atomic.Bool
}

func (f *failingKV) Set(ctx context.Context, prefix, id string, v any) error {
	if f.fail.Load() {
		return errors.New("kv down")
	}
	return f.KV.Set(ctx, prefix, id, v)
}

// Storage stays bounded whatever the traffic: at most `shards` documents, each under 8 KB, and a
// full shard forgets its oldest ids first.
func TestDeduperBounded(t *testing.T) {
	ctx := context.Background()
	kv := kvstore.NewMemory()
	clk := &clock{t: time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)}
	const shards = 4
	d := NewDeduper(kv, &kvstore.Locks{}, WithShards(shards), WithMemory(0), WithClock(clk.Now), WithLogger(quiet))
	const n = shards*dedupeCapacity + 1000 // more than fits
	for i := 0; i < n; i++ {
		clk.Add(time.Second)
		if dup, err := d.Seen(ctx, "ev-"+strconv.Itoa(i)); err != nil || dup {
			t.Fatalf("event %d: %v, %v", i, dup, err)
		}
	}
	keys := kv.Keys()
	if len(keys) > shards {
		t.Fatalf("%d dedupe documents, want at most %d", len(keys), shards)
	}
	for i := 0; i < shards; i++ {
		if size := kv.Size(PrefixDedupe, strconv.Itoa(i)); size > kvstore.MaxValueSize || size < kvstore.MaxValueSize-2*dedupeEntryChars {
			t.Fatalf("shard %d is %d bytes; want full but under the limit", i, size)
		}
	}
	// The newest ids are still known, the very first ones were evicted early.
	for i := n - 100; i < n; i++ {
		if dup, _ := d.Seen(ctx, "ev-"+strconv.Itoa(i)); !dup {
			t.Fatalf("recent event %d forgotten", i)
		}
	}
	forgotten := 0
	for i := 0; i < 100; i++ {
		if dup, _ := d.Seen(ctx, "ev-"+strconv.Itoa(i)); !dup {
			forgotten++
		}
	}
	if forgotten == 0 {
		t.Fatal("no early eviction although the shards overflowed")
	}
}

// Concurrent deliveries of the same event: exactly one is new.
func TestDeduperConcurrent(t *testing.T) {
	ctx := context.Background()
	d := NewDeduper(kvstore.NewMemory(), &kvstore.Locks{})
	for round := 0; round < 20; round++ {
		id := fmt.Sprint("ev-", round)
		var news atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dup, err := d.Seen(ctx, id)
				if err != nil {
					t.Error(err)
				}
				if !dup {
					news.Add(1)
				}
			}()
		}
		wg.Wait()
		if news.Load() != 1 {
			t.Fatalf("%s: %d deliveries treated as new, want 1", id, news.Load())
		}
	}
}

func TestLRU(t *testing.T) {
	l := newLRU(3)
	for _, k := range []uint64{1, 2, 3} {
		l.add(k)
	}
	l.touch(1) // order now 1,3,2
	l.add(4)   // evicts 2
	l.add(3)   // refresh 3: order 3,4,1
	l.add(5)   // evicts 1
	for k, want := range map[uint64]bool{1: false, 2: false, 3: true, 4: true, 5: true} {
		if got := l.touch(k); got != want {
			t.Errorf("key %d present = %v, want %v", k, got, want)
		}
	}
	var nilLRU *lru
	nilLRU.add(1)
	if nilLRU.touch(1) {
		t.Fatal("disabled LRU remembered")
	}
}

func TestMinuteEncoding(t *testing.T) {
	for _, m := range []int64{0, 1, 63, 64, 29_000_000, 1<<30 - 1} {
		if got := decodeMinute(string(appendMinute(nil, m))); got != m {
			t.Errorf("minute %d round-trips to %d", m, got)
		}
	}
}
