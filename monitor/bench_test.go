package monitor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
	"github.com/mattermost/mattermost-app-pagerduty/oncall"
)

// tenK returns the previous and current snapshots of a 10,000-entry account one minute apart,
// with 300 schedules handed to someone else on top of the handovers the minute brings.
func tenK(b *testing.B) (prev, cur *Snapshot, changes int) {
	now := ts("2026-03-02T10:00:00Z")
	entries := bigAccount(10000, now)
	prev = BuildSnapshot(entries, now, now.Add(DefaultWindow), nil)
	for i := range prev.Recs {
		prev.Recs[i].Reminded = prev.Recs[i].Start > now.Unix() // as after the reminders went out
	}
	next := make([]oncall.Entry, len(entries))
	copy(next, entries)
	for i := 0; i < 600; i += 2 {
		next[i*10].UserID, next[i*10].UserName = fmt.Sprintf("PNEW%d", i), "New Person"
	}
	later := now.Add(time.Minute)
	cur = BuildSnapshot(next, later, later.Add(DefaultWindow), prev)
	changes = len(Diff(prev, cur, DefaultReminderLead))
	if len(prev.Recs) < 9900 || changes < 300 {
		b.Fatalf("setup: %d records, %d changes", len(prev.Recs), changes)
	}
	return prev, cur, changes
}

// BenchmarkDiff10k: the diff of two 10,000-record snapshots with a few hundred changes.
func BenchmarkDiff10k(b *testing.B) {
	prev, cur, changes := tenK(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Diff(prev, cur, DefaultReminderLead)
	}
	b.ReportMetric(float64(changes), "events")
}

// BenchmarkBuildSnapshot10k: collapsing and sorting 10,000 entries (done once per tick).
func BenchmarkBuildSnapshot10k(b *testing.B) {
	now := ts("2026-03-02T10:00:00Z")
	entries := bigAccount(10000, now)
	prev := BuildSnapshot(entries, now, now.Add(DefaultWindow), nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		BuildSnapshot(entries, now, now.Add(DefaultWindow), prev)
	}
}

// BenchmarkTick10k: a whole tick over 10,000 entries (fake PagerDuty pages of 100 with JSON-free
// conversion, snapshot, diff, commit to the in-memory KV), with the same data each time, as in
// steady state. Reports PagerDuty requests and KV writes per tick.
func BenchmarkTick10k(b *testing.B) {
	now := ts("2026-03-02T10:00:00Z")
	pd := &fakePD{entries: bigAccount(10000, now)}
	src := &PagedSource{Page: pd.page}
	mem := kvstore.NewMemory()
	m := &Monitor{KV: mem, Source: src, Clock: func() time.Time { return now }, Notify: &fakeNotifier{}}
	if _, err := m.Tick(context.Background()); err != nil {
		b.Fatal(err)
	}
	req0, ops0 := src.Requests(), mem.Ops()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		pd.cache = nil
		if _, err := m.Tick(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(src.Requests()-req0)/float64(b.N), "requests/tick")
	b.ReportMetric(float64(mem.Ops()-ops0)/float64(b.N), "kv-ops/tick")
}

// BenchmarkCommit10kOneChange: encoding 10,000 records into shards when one schedule changed:
// only the changed shard is compressed.
func BenchmarkCommit10kOneChange(b *testing.B) {
	now := ts("2026-03-02T10:00:00Z")
	entries := bigAccount(10000, now)
	snap := BuildSnapshot(entries, now, now.Add(DefaultWindow), nil)
	shards, err := planShards(snap.Recs, nil)
	if err != nil {
		b.Fatal(err)
	}
	refs := make([]shardRef, len(shards))
	for i, s := range shards {
		refs[i] = shardRef{hash: s.hash, count: s.count, size: s.size}
	}
	snap.Recs[100].UserID = "PNEW"
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := planShards(snap.Recs, refs); err != nil {
			b.Fatal(err)
		}
	}
}
