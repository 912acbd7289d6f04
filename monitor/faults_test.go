package monitor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mattermost/mattermost-app-pagerduty/oncall"
)

var handover1000 = []string{
	"dm mm-ann: ended PU1@PS1", "dm mm-bob: started PU2@PS1",
	"post ch-all: ended PU1@PS1, started PU2@PS1", "post ch-primary: ended PU1@PS1, started PU2@PS1",
}

func handoverAt10(h *harness) {
	h.pd.set(
		on(ann, primary, ts("2026-01-14T00:00:00Z"), ts("2026-01-14T10:00:00Z")),
		on(bob, primary, ts("2026-01-14T10:00:00Z"), ts("2026-01-14T18:00:00Z")),
	)
}

func committed(want bool) func(h *harness, rep TickReport) {
	return func(h *harness, rep TickReport) {
		h.t.Helper()
		if rep.Committed != want {
			h.t.Errorf("tick %s: Committed=%v, want %v", rep.Now, rep.Committed, want)
		}
	}
}

// A delivery that fails is retried on the next tick; what was delivered is not sent again, also
// when the process restarts in between (KV ledger).
func TestMonitorDeliveryRetry(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			h := newHarness(t)
			handoverAt10(h)
			failOnce := 1
			h.notif.fail = func(kind, target string) error {
				if target == "ch-primary" && failOnce > 0 {
					failOnce--
					return errors.New("403 bot not in channel")
				}
				return nil
			}
			h.run([]step{
				{at: "2026-01-14T09:00:00Z", check: wantBaseline},
				{at: "2026-01-14T10:00:00Z", wantErr: ErrPartialDelivery, want: []string{
					"dm mm-ann: ended PU1@PS1", "dm mm-bob: started PU2@PS1", "post ch-all: ended PU1@PS1, started PU2@PS1",
				}, check: committed(false)},
				{at: "2026-01-14T10:01:00Z", setup: func(h *harness) {
					if restart {
						h.restart()
					}
				}, want: []string{"post ch-primary: ended PU1@PS1, started PU2@PS1"}, check: committed(true)},
				{at: "2026-01-14T10:02:00Z"},
			})
		})
	}
}

// A target that always fails is tried MaxAttempts times, then the snapshot moves on.
func TestMonitorDeliveryGivesUp(t *testing.T) {
	h := newHarness(t)
	handoverAt10(h)
	attempts := 0
	h.notif.fail = func(kind, target string) error {
		if target == "mm-bob" {
			attempts++
			return errors.New("500")
		}
		return nil
	}
	h.run([]step{
		{at: "2026-01-14T09:00:00Z", check: wantBaseline},
		{at: "2026-01-14T10:00:00Z", wantErr: ErrPartialDelivery, want: []string{
			"dm mm-ann: ended PU1@PS1", "post ch-all: ended PU1@PS1, started PU2@PS1", "post ch-primary: ended PU1@PS1, started PU2@PS1",
		}, check: committed(false)},
		{at: "2026-01-14T10:01:00Z", wantErr: ErrPartialDelivery, check: committed(false)},
		{at: "2026-01-14T10:02:00Z", wantErr: ErrPartialDelivery, check: committed(true)},
		{at: "2026-01-14T10:03:00Z"},
		{at: "2026-01-14T10:04:00Z"},
	})
	if attempts != 3 {
		t.Errorf("DM to mm-bob attempted %d times, want 3 (MaxAttempts)", attempts)
	}
}

// A failed reminder is retried while the shift has not started; once delivered, never again.
func TestMonitorReminderRetry(t *testing.T) {
	h := newHarness(t)
	handoverAt10(h)
	fails := 1
	h.notif.fail = func(kind, target string) error {
		if target == "mm-bob" && fails > 0 {
			fails--
			return errors.New("timeout")
		}
		return nil
	}
	h.run([]step{
		{at: "2026-01-14T09:00:00Z", check: wantBaseline},
		{at: "2026-01-14T09:30:00Z", wantErr: ErrPartialDelivery, check: committed(true)},
		{at: "2026-01-14T09:31:00Z", want: []string{"dm mm-bob: reminder PU2@PS1"}},
		{at: "2026-01-14T09:32:00Z"},
		{at: "2026-01-14T09:50:00Z", setup: func(h *harness) { h.restart() }},
	})
}

// Lookups that fail (subscriptions, directory) are retried like failed deliveries.
func TestMonitorLookupFailures(t *testing.T) {
	h := newHarness(t)
	handoverAt10(h)
	errSubs := errors.New("subscriptions unavailable")
	h.run([]step{
		{at: "2026-01-14T09:00:00Z", check: wantBaseline},
		{at: "2026-01-14T10:00:00Z", setup: func(h *harness) { h.subs.err = errSubs; h.dir.err = nil },
			wantErr: errSubs, want: []string{"dm mm-ann: ended PU1@PS1", "dm mm-bob: started PU2@PS1"}, check: committed(false)},
		{at: "2026-01-14T10:01:00Z", setup: func(h *harness) { h.subs.err = nil },
			want: []string{"post ch-all: ended PU1@PS1, started PU2@PS1", "post ch-primary: ended PU1@PS1, started PU2@PS1"}},
	})

	h = newHarness(t)
	handoverAt10(h)
	errDir := errors.New("mattermost 503")
	h.run([]step{
		{at: "2026-01-14T09:00:00Z", check: wantBaseline},
		{at: "2026-01-14T10:00:00Z", setup: func(h *harness) { h.dir.err = errDir }, wantErr: errDir, want: []string{
			"post ch-all: ended PU1@PS1, started PU2@PS1", "post ch-primary: ended PU1@PS1, started PU2@PS1",
		}},
		{at: "2026-01-14T10:01:00Z", setup: func(h *harness) { h.dir.err = nil }, want: []string{"dm mm-ann: ended PU1@PS1", "dm mm-bob: started PU2@PS1"}},
		{at: "2026-01-14T10:02:00Z"},
	})
}

// The commit's manifest write fails after the shards and the deliveries went out. The same
// process does not resend (memory ledger); a new process reads the old snapshot intact and, by the
// chosen at-least-once trade-off, sends that tick's notifications again.
func TestMonitorCommitFailure(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			h := newHarness(t)
			handoverAt10(h)
			errKV := errors.New("KV unavailable")
			want := []string(nil)
			if restart {
				want = handover1000
			}
			h.run([]step{
				{at: "2026-01-14T09:00:00Z", check: wantBaseline},
				{at: "2026-01-14T10:00:00Z", setup: func(h *harness) {
					h.kv.failSet = func(prefix, id string) error {
						if prefix == prefixState {
							return errKV
						}
						return nil
					}
				}, wantErr: errKV, want: handover1000, check: func(h *harness, rep TickReport) {
					if rep.Committed || rep.ShardsWritten == 0 {
						h.t.Errorf("Committed=%v ShardsWritten=%d: want shards written, manifest not", rep.Committed, rep.ShardsWritten)
					}
				}},
				{at: "2026-01-14T10:01:00Z", setup: func(h *harness) {
					h.kv.failSet = nil
					if restart {
						h.restart()
					}
				}, want: want, check: func(h *harness, rep TickReport) {
					wantNotBaseline(h, rep)
					committed(true)(h, rep)
				}},
				{at: "2026-01-14T10:02:00Z"},
			})
		})
	}
}

// Shards that do not match the manifest (a lost write) are never read as a whole snapshot: the
// tick starts a new baseline (no false "started"/"ended"), and the next tick is normal.
func TestMonitorCorruptSnapshot(t *testing.T) {
	h := newHarness(t)
	handoverAt10(h)
	h.run([]step{
		{at: "2026-01-14T09:00:00Z", check: wantBaseline},
		{at: "2026-01-14T09:01:00Z", setup: func(h *harness) {
			h.restart()
			for _, k := range h.mem.Keys() {
				if strings.HasPrefix(k, prefixSnapshot+"/") {
					id := strings.TrimPrefix(k, prefixSnapshot+"/")
					// Replace the shard by a well-formed one of another generation (an empty
					// snapshot), as a lost write would leave: it decodes, but must not be used.
					empty := encodeShard(nil)
					(&compressor{}).compress(&empty)
					empty.doc.G = 999
					if err := h.mem.Set(context.Background(), prefixSnapshot, id, empty.doc); err != nil {
						h.t.Fatal(err)
					}
				}
			}
			h.pd.set(on(cid, primary, ts("2026-01-14T00:00:00Z"), ts("2026-01-14T10:00:00Z")),
				on(bob, primary, ts("2026-01-14T10:00:00Z"), ts("2026-01-14T18:00:00Z")))
		}, check: wantBaseline},
		{at: "2026-01-14T09:02:00Z", setup: func(h *harness) { h.restart() }, check: wantNotBaseline},
	})
}

// A KV read failure stops the tick before PagerDuty is asked and before anything is sent.
func TestMonitorKVReadFailure(t *testing.T) {
	h := newHarness(t)
	handoverAt10(h)
	errKV := errors.New("KV read failed")
	h.run([]step{
		{at: "2026-01-14T09:00:00Z", check: wantBaseline},
		{at: "2026-01-14T10:00:00Z", setup: func(h *harness) {
			h.kv.failGet = func(prefix, id string) error { return errKV }
			h.pd.calls = 0
		}, wantErr: errKV, check: func(h *harness, rep TickReport) {
			if h.pd.calls != 0 {
				h.t.Errorf("PagerDuty asked %d times although the state could not be read", h.pd.calls)
			}
		}},
		{at: "2026-01-14T10:01:00Z", setup: func(h *harness) { h.kv.failGet = nil }, want: handover1000},
	})
}

// 250 schedules (3 pages): a change on the third page is found; duplicates across pages (offset
// pagination over changing data) do not double anything; a fault on page 3 keeps the snapshot.
func TestMonitorPaginationPast100(t *testing.T) {
	h := newHarness(t)
	h.pd.dupFirst = true
	var base []oncall.Entry
	for i := 0; i < 249; i++ {
		p := person{fmt.Sprintf("PX%03d", i), fmt.Sprintf("Person %d", i), ""}
		base = append(base, on(p, sched{fmt.Sprintf("PS-%03d", i), fmt.Sprintf("Team %03d", i)}, ts("2026-01-15T00:00:00Z"), ts("2026-01-16T00:00:00Z"))...)
	}
	last := sched{"PS-249", "Team 249"}
	h.pd.set(base,
		on(ann, last, ts("2026-01-15T00:00:00Z"), ts("2026-01-15T10:10:00Z")),
		on(bob, last, ts("2026-01-15T10:10:00Z"), ts("2026-01-15T20:00:00Z")))
	requests := func(want int64) func(h *harness, rep TickReport) {
		return func(h *harness, rep TickReport) {
			h.t.Helper()
			if rep.Requests != want || rep.Entries < 251 {
				h.t.Errorf("tick %s: %d requests for %d entries, want %d", rep.Now, rep.Requests, rep.Entries, want)
			}
			if rep.Entries != rep.Records+1 {
				h.t.Errorf("tick %s: %d entries read, %d records: want the one duplicate collapsed", rep.Now, rep.Entries, rep.Records)
			}
		}
	}
	errPage3 := errors.New("502 on page 3")
	h.run([]step{
		{at: "2026-01-15T10:00:00Z", want: []string{"dm mm-bob: reminder PU2@PS-249"}, check: requests(3)},
		{at: "2026-01-15T10:05:00Z", check: requests(3)},
		{at: "2026-01-15T10:10:00Z", setup: func(h *harness) {
			h.pd.fail = func(n, offset int) error {
				if offset >= 200 {
					return errPage3
				}
				return nil
			}
		}, wantErr: errPage3},
		{at: "2026-01-15T10:11:00Z", setup: func(h *harness) { h.pd.fail = nil }, want: []string{
			"dm mm-ann: ended PU1@PS-249", "dm mm-bob: started PU2@PS-249", "post ch-all: ended PU1@PS-249, started PU2@PS-249",
		}, check: requests(3)},
		{at: "2026-01-15T10:12:00Z", check: requests(3)},
	})
}
