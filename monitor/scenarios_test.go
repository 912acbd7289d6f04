package monitor

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/oncall"
)

func wantBaseline(h *harness, rep TickReport) {
	h.t.Helper()
	if !rep.Baseline || !rep.Committed {
		h.t.Errorf("baseline tick: Baseline=%v Committed=%v", rep.Baseline, rep.Committed)
	}
}

func wantNotBaseline(h *harness, rep TickReport) {
	h.t.Helper()
	if rep.Baseline {
		h.t.Errorf("tick at %s ran without the previous snapshot", rep.Now)
	}
}

// Handover at local midnight in Berlin (23:00Z), with the reminder 30 minutes before, once.
func TestMonitorHandoverAcrossMidnight(t *testing.T) {
	h := newHarness(t)
	h.pd.set(
		on(ann, primary, ts("2026-01-05T07:00:00Z"), ts("2026-01-05T23:00:00Z")),
		on(bob, primary, ts("2026-01-05T23:00:00Z"), ts("2026-01-06T07:00:00Z")),
		on(fay, secondary, ts("2026-01-05T00:00:00Z"), ts("2026-01-07T00:00:00Z")),
	)
	handover := []string{
		"dm mm-ann: ended PU1@PS1",
		"dm mm-bob: started PU2@PS1",
		"post ch-all: ended PU1@PS1, started PU2@PS1",
		"post ch-primary: ended PU1@PS1, started PU2@PS1",
	}
	h.run([]step{
		{at: "2026-01-05T22:20:00Z", check: wantBaseline},
		{at: "2026-01-05T22:29:00Z"},
		{at: "2026-01-05T22:30:00Z", want: []string{"dm mm-bob: reminder PU2@PS1"}},
		{at: "2026-01-05T22:31:00Z", setup: func(h *harness) { h.restart() }}, // the reminder mark survives a restart
		{at: "2026-01-05T22:59:00Z"},
		{at: "2026-01-05T23:00:00Z", want: handover, check: wantNotBaseline},
		{at: "2026-01-05T23:01:00Z"},
		{at: "2026-01-05T23:30:00Z"},
	})
	golden(t, "handover_midnight", h.log.String())
}

// Ticks missed for minutes: each change is still reported once, at the next tick.
func TestMonitorMissedTicks(t *testing.T) {
	h := newHarness(t)
	h.pd.set(
		on(ann, primary, ts("2026-01-07T00:00:00Z"), ts("2026-01-07T09:00:00Z")),
		on(bob, primary, ts("2026-01-07T09:00:00Z"), ts("2026-01-07T17:00:00Z")),
		on(cid, secondary, ts("2026-01-07T00:00:00Z"), ts("2026-01-07T08:40:00Z")),
		on(eve, secondary, ts("2026-01-07T08:40:00Z"), ts("2026-01-07T20:00:00Z")),
	)
	h.run([]step{
		// Eve's shift starts in 20 minutes: the reminder goes out on the very first tick.
		{at: "2026-01-07T08:20:00Z", want: []string{"dm mm-eve: reminder PU5@PS2"}, check: wantBaseline},
		{at: "2026-01-07T08:27:00Z"}, // Bob's shift is 33 minutes away
		{at: "2026-01-07T08:33:00Z", want: []string{"dm mm-bob: reminder PU2@PS1"}},
		// Clock jumps over 08:40 and 09:00: both handovers once. Eve wants reminders only, Cid
		// has no Mattermost account.
		{at: "2026-01-07T09:04:00Z", want: []string{
			"dm mm-ann: ended PU1@PS1",
			"dm mm-bob: started PU2@PS1",
			"post ch-all: ended PU1@PS1, started PU2@PS1, ended PU3@PS2, started PU5@PS2",
			"post ch-primary: ended PU1@PS1, started PU2@PS1",
		}, check: func(h *harness, rep TickReport) {
			if rep.Unmapped != 1 {
				h.t.Errorf("Unmapped = %d, want 1 (Cid)", rep.Unmapped)
			}
		}},
		{at: "2026-01-07T09:09:00Z"},
		{at: "2026-01-07T09:10:00Z"},
	})
	golden(t, "missed_ticks", h.log.String())
}

// The same tick twice, a tick inside MinInterval, and a restart: nothing is sent twice, and the
// in-memory copy saves KV reads.
func TestMonitorRepeatedTickAndRestart(t *testing.T) {
	h := newHarness(t)
	h.pd.set(
		on(ann, primary, ts("2026-01-07T00:00:00Z"), ts("2026-01-07T09:00:00Z")),
		on(bob, primary, ts("2026-01-07T09:00:00Z"), ts("2026-01-07T17:00:00Z")),
	)
	var ops int
	kvOps := func(want int) func(h *harness, rep TickReport) {
		return func(h *harness, rep TickReport) {
			h.t.Helper()
			if got := h.mem.Ops() - ops; got != want {
				h.t.Errorf("tick %s: %d KV operations, want %d", rep.Now, got, want)
			}
		}
	}
	mark := func(h *harness) { ops = h.mem.Ops() }
	handover := []string{
		"dm mm-ann: ended PU1@PS1", "dm mm-bob: started PU2@PS1",
		"post ch-all: ended PU1@PS1, started PU2@PS1", "post ch-primary: ended PU1@PS1, started PU2@PS1",
	}
	h.run([]step{
		{at: "2026-01-07T08:00:00Z", check: wantBaseline},
		// Same time again: same data, nothing to send, nothing to write; one read of the manifest.
		{at: "2026-01-07T08:00:00Z", setup: mark, check: kvOps(1)},
		{at: "2026-01-07T08:01:00Z", setup: mark, check: kvOps(1)},
		// A new process reads the manifest and every shard, then has the copy in memory.
		{at: "2026-01-07T08:02:00Z", setup: func(h *harness) { h.restart(); mark(h) }, check: func(h *harness, rep TickReport) {
			wantNotBaseline(h, rep)
			if got := h.mem.Ops() - ops; got != 1+rep.Shards {
				h.t.Errorf("after restart: %d KV operations, want manifest + %d shards", got, rep.Shards)
			}
		}},
		{at: "2026-01-07T08:03:00Z", setup: mark, check: kvOps(1)},
		// Unchanged for 5 minutes: the manifest is rewritten to move the snapshot time forward.
		{at: "2026-01-07T08:08:00Z", setup: mark, check: kvOps(2)},
		{at: "2026-01-07T09:00:00Z", want: handover},
		{at: "2026-01-07T09:00:00Z"},
		{at: "2026-01-07T09:00:30Z"},
		{at: "2026-01-07T09:01:00Z", setup: func(h *harness) { h.restart() }},
	})

	// MinInterval drops a tick that follows the previous one too closely in this process.
	m := h.monitor()
	m.MinInterval = 45 * time.Second
	h.now = ts("2026-01-07T09:01:30Z")
	rep, err := m.Tick(context.Background())
	if err != nil || rep.Skipped == "" {
		t.Errorf("tick 30s after the previous one: Skipped=%q err=%v", rep.Skipped, err)
	}
	h.now = ts("2026-01-07T09:02:00Z")
	if rep, err := m.Tick(context.Background()); err != nil || rep.Skipped != "" {
		t.Errorf("tick 60s after: Skipped=%q err=%v", rep.Skipped, err)
	}
	// A clock that went backwards does not diff backwards.
	h.now = ts("2026-01-07T08:30:00Z")
	if rep, err := h.monitor().Tick(context.Background()); err != nil || rep.Skipped == "" || len(h.notif.take()) != 0 {
		t.Errorf("tick in the past: Skipped=%q err=%v", rep.Skipped, err)
	}
}

// Only one tick runs at a time in a process; a concurrent one returns at once.
func TestMonitorConcurrentTickSkipped(t *testing.T) {
	h := newHarness(t)
	h.local.mu.Lock()
	h.now = ts("2026-01-07T08:00:00Z")
	rep, err := h.monitor().Tick(context.Background())
	h.local.mu.Unlock()
	if err != nil || rep.Skipped != "another tick is running" || h.pd.calls != 0 {
		t.Errorf("concurrent tick: Skipped=%q err=%v PagerDuty calls=%d", rep.Skipped, err, h.pd.calls)
	}
}

// Overrides: of a later part of a shift (A is told, B is reminded), and of the running part (A is
// told "taken", not "ended"; the taker's start is posted).
func TestMonitorOverrides(t *testing.T) {
	h := newHarness(t)
	annDay := on(ann, primary, ts("2026-01-08T08:00:00Z"), ts("2026-01-08T16:00:00Z"))
	bobEve := on(bob, primary, ts("2026-01-08T16:00:00Z"), ts("2026-01-09T00:00:00Z"))
	h.pd.set(annDay, bobEve)
	withBobOverride := func(h *harness) {
		h.pd.set(
			on(ann, primary, ts("2026-01-08T08:00:00Z"), ts("2026-01-08T09:30:00Z")),
			on(bob, primary, ts("2026-01-08T09:30:00Z"), ts("2026-01-08T11:00:00Z")),
			on(ann, primary, ts("2026-01-08T11:00:00Z"), ts("2026-01-08T16:00:00Z")),
			bobEve)
	}
	withCidOverride := func(h *harness) {
		h.pd.set(
			on(ann, primary, ts("2026-01-08T08:00:00Z"), ts("2026-01-08T09:30:00Z")),
			on(bob, primary, ts("2026-01-08T09:30:00Z"), ts("2026-01-08T11:00:00Z")),
			on(ann, primary, ts("2026-01-08T11:00:00Z"), ts("2026-01-08T12:05:00Z")),
			on(cid, primary, ts("2026-01-08T12:05:00Z"), ts("2026-01-08T13:00:00Z")),
			on(ann, primary, ts("2026-01-08T13:00:00Z"), ts("2026-01-08T16:00:00Z")),
			bobEve)
	}
	h.run([]step{
		{at: "2026-01-08T09:00:00Z", check: wantBaseline},
		{at: "2026-01-08T09:10:00Z", setup: withBobOverride, want: []string{
			"dm mm-ann: override PU1@PS1>PU2",
			"dm mm-bob: reminder PU2@PS1",
			"post ch-all: override PU1@PS1>PU2",
			"post ch-primary: override PU1@PS1>PU2",
		}, check: func(h *harness, rep TickReport) {
			for _, e := range rep.Events {
				if e.Kind == KindOverride && (!e.Start.Equal(ts("2026-01-08T09:30:00Z")) || !e.End.Equal(ts("2026-01-08T11:00:00Z"))) {
					h.t.Errorf("override reported as %s–%s, want the whole 09:30–11:00", e.Start, e.End)
				}
			}
		}},
		{at: "2026-01-08T09:11:00Z"},
		// The planned handover to the override is an ordinary end and start.
		{at: "2026-01-08T09:30:00Z", want: []string{
			"dm mm-ann: ended PU1@PS1", "dm mm-bob: started PU2@PS1",
			"post ch-all: ended PU1@PS1, started PU2@PS1", "post ch-primary: ended PU1@PS1, started PU2@PS1",
		}},
		{at: "2026-01-08T10:30:00Z", want: []string{"dm mm-ann: reminder PU1@PS1"}},
		{at: "2026-01-08T11:00:00Z", want: []string{
			"dm mm-ann: started PU1@PS1", "dm mm-bob: ended PU2@PS1",
			"post ch-all: ended PU2@PS1, started PU1@PS1", "post ch-primary: ended PU2@PS1, started PU1@PS1",
		}},
		{at: "2026-01-08T12:05:00Z"},
		// Cid takes the running shift: Ann is told who took it (no separate "ended" DM).
		{at: "2026-01-08T12:06:00Z", setup: withCidOverride, want: []string{
			"dm mm-ann: override PU1@PS1>PU3",
			"post ch-all: override PU1@PS1>PU3, started PU3@PS1",
			"post ch-primary: override PU1@PS1>PU3, started PU3@PS1",
		}},
		{at: "2026-01-08T12:07:00Z"},
	})
	golden(t, "overrides", h.log.String())
}

// DST changes in Berlin: times in DMs carry the right zone, durations are real durations.
func TestMonitorDST(t *testing.T) {
	t.Run("October: 03:00 CEST becomes 02:00 CET", func(t *testing.T) {
		h := newHarness(t)
		h.pd.set(
			on(ann, primary, ts("2026-10-24T22:00:00Z"), ts("2026-10-25T11:00:00Z")), // 00:00 CEST – 12:00 CET: 13h
			on(bob, primary, ts("2026-10-25T11:00:00Z"), ts("2026-10-25T23:00:00Z")),
			on(ann, secondary, ts("2026-10-25T01:00:00Z"), ts("2026-10-25T05:00:00Z")), // 02:00 CET, right after the change
		)
		h.run([]step{
			{at: "2026-10-25T00:20:00Z", check: wantBaseline},
			{at: "2026-10-25T00:30:00Z", want: []string{"dm mm-ann: reminder PU1@PS2"}},
			{at: "2026-10-25T01:00:00Z", want: []string{"dm mm-ann: started PU1@PS2", "post ch-all: started PU1@PS2"}},
			{at: "2026-10-25T05:00:00Z", want: []string{"dm mm-ann: ended PU1@PS2", "post ch-all: ended PU1@PS2"}},
			{at: "2026-10-25T10:30:00Z", want: []string{"dm mm-bob: reminder PU2@PS1"}},
			{at: "2026-10-25T11:00:00Z", want: []string{
				"dm mm-ann: ended PU1@PS1", "dm mm-bob: started PU2@PS1",
				"post ch-all: ended PU1@PS1, started PU2@PS1", "post ch-primary: ended PU1@PS1, started PU2@PS1",
			}},
		})
		golden(t, "dst_october", h.log.String())
		if !strings.Contains(h.log.String(), "starts in 30m: Sun 25 Oct 02:00 CET – 06:00 CET") {
			t.Error("reminder does not show the post-change CET time")
		}
	})
	t.Run("March: 02:00 CET becomes 03:00 CEST", func(t *testing.T) {
		h := newHarness(t)
		h.pd.set(on(ann, primary, ts("2026-03-28T21:00:00Z"), ts("2026-03-29T04:00:00Z"))) // 22:00 CET – 06:00 CEST: 7h
		h.run([]step{
			{at: "2026-03-28T20:59:00Z", want: []string{"dm mm-ann: reminder PU1@PS1"}, check: wantBaseline},
			{at: "2026-03-28T21:00:00Z", want: []string{"dm mm-ann: started PU1@PS1", "post ch-all: started PU1@PS1", "post ch-primary: started PU1@PS1"}},
			{at: "2026-03-29T01:30:00Z"},
			{at: "2026-03-29T04:00:00Z", want: []string{"dm mm-ann: ended PU1@PS1", "post ch-all: ended PU1@PS1", "post ch-primary: ended PU1@PS1"}},
		})
		golden(t, "dst_march", h.log.String())
		if !strings.Contains(h.log.String(), "until Sun 29 Mar 06:00 CEST (7h remaining)") {
			t.Error("started DM does not show 06:00 CEST, 7h remaining")
		}
	})
}

// Open-ended entries (PagerDuty's null start/end): a direct policy target and a shift without an
// end never "end" by themselves; removal and a later end are reported.
func TestMonitorOpenEnded(t *testing.T) {
	h := newHarness(t)
	direct := []oncall.Entry{{UserID: ann.id, UserName: ann.name, UserEmail: ann.email, PolicyID: "PE3", PolicyName: "Direct <b>policy</b>", Level: 1}}
	openBob := on(bob, secondary, ts("2026-01-01T00:00:00Z"), time.Time{})
	h.pd.set(direct, openBob)
	h.run([]step{
		{at: "2026-01-09T10:00:00Z", check: wantBaseline},
		{at: "2026-01-09T10:01:00Z"},
		{at: "2026-01-10T10:00:00Z"},
		{at: "2026-01-10T10:01:00Z", setup: func(h *harness) { h.pd.set(openBob) }, want: []string{
			"dm mm-ann: ended PU1@policy:PE3", "post ch-all: ended PU1@policy:PE3",
		}},
		{at: "2026-01-10T10:02:00Z", setup: func(h *harness) { h.pd.set(direct, openBob) }, want: []string{
			"dm mm-ann: started PU1@policy:PE3", "post ch-all: started PU1@policy:PE3",
		}},
		// Bob's open shift gets an end: still on call, nothing to say until it comes.
		{at: "2026-01-10T10:03:00Z", setup: func(h *harness) {
			h.pd.set(direct, on(bob, secondary, ts("2026-01-01T00:00:00Z"), ts("2026-01-10T12:00:00Z")))
		}},
		{at: "2026-01-10T12:00:00Z", want: []string{"dm mm-bob: ended PU2@PS2", "post ch-all: ended PU2@PS2"}},
	})
	golden(t, "open_ended", h.log.String())
}

// DMs follow the mapping order (connected record, then email) and preferences (default off).
func TestMonitorUserMappingAndPrefs(t *testing.T) {
	h := newHarness(t)
	start := ts("2026-01-12T09:00:00Z")
	h.pd.set(
		on(ann, secondary, start, start.Add(8*time.Hour)),
		on(bob, secondary, start, start.Add(8*time.Hour)),
		on(dee, secondary, start, start.Add(8*time.Hour)),
		on(fay, secondary, start, start.Add(8*time.Hour)),
		on(eve, secondary, start, start.Add(8*time.Hour)),
	)
	h.run([]step{
		{at: "2026-01-12T08:00:00Z", check: wantBaseline},
		// No tick between 08:00 and 08:59: the reminders still go out, once, to those who want them
		// (Fay is mapped but DMs are off by default; Dee cannot be mapped).
		{at: "2026-01-12T08:59:00Z", want: []string{
			"dm mm-ann: reminder PU1@PS2", "dm mm-bob: reminder PU2@PS2", "dm mm-eve: reminder PU5@PS2",
		}},
		{at: "2026-01-12T09:00:00Z", want: []string{
			"dm mm-ann: started PU1@PS2", // by PagerDuty id, not the email match
			"dm mm-bob: started PU2@PS2", // by email
			// dee: email hidden → no DM; fay: mapped, DMs off by default; eve: reminders only.
			"post ch-all: started PU1@PS2, started PU2@PS2, started PU4@PS2, started PU5@PS2, started PU6@PS2",
		}, check: func(h *harness, rep TickReport) {
			if rep.Unmapped != 1 {
				h.t.Errorf("Unmapped = %d, want 1 (Dee)", rep.Unmapped)
			}
			calls := strings.Join(h.dir.calls, " ")
			for _, want := range []string{"pd:PU2 email:bob@example.com", "pd:PU4 email:dee@example.com"} {
				if !strings.Contains(calls, want) {
					h.t.Errorf("directory calls %q lack %q", calls, want)
				}
			}
			if strings.Contains(calls, "email:ann@example.com") || strings.Contains(calls, "email:fay@example.com") {
				h.t.Errorf("email looked up although the PagerDuty id matched: %s", calls)
			}
		}},
		{at: "2026-01-12T09:01:00Z", setup: func(h *harness) {
			if _, err := h.prefs.SetAll(context.Background(), "mm-fay", true); err != nil {
				h.t.Fatal(err)
			}
		}},
		{at: "2026-01-12T17:00:00Z", want: []string{
			"dm mm-ann: ended PU1@PS2", "dm mm-bob: ended PU2@PS2", "dm mm-fay: ended PU6@PS2",
			"post ch-all: ended PU1@PS2, ended PU2@PS2, ended PU4@PS2, ended PU5@PS2, ended PU6@PS2",
		}},
	})
}

// PagerDuty faults: the tick fails before sending or writing anything, and the change is
// reported once after recovery.
func TestMonitorPagerDutyFaults(t *testing.T) {
	h := newHarness(t)
	h.pd.set(
		on(ann, primary, ts("2026-01-13T00:00:00Z"), ts("2026-01-13T10:00:00Z")),
		on(bob, primary, ts("2026-01-13T10:00:00Z"), ts("2026-01-13T18:00:00Z")),
	)
	var sets int
	noWrites := func(h *harness, rep TickReport) {
		if len(h.kv.sets) != sets {
			h.t.Errorf("tick %s wrote to KV during a PagerDuty fault: %v", rep.Now, h.kv.sets[sets:])
		}
	}
	fault := func(err error) func(h *harness) {
		return func(h *harness) {
			sets = len(h.kv.sets)
			h.pd.fail = func(int, int) error { return err }
		}
	}
	errPD := errors.New("PagerDuty 500")
	err429 := errors.New("PagerDuty 429 Too Many Requests")
	h.run([]step{
		{at: "2026-01-13T09:50:00Z", want: []string{"dm mm-bob: reminder PU2@PS1"}, check: wantBaseline},
		{at: "2026-01-13T10:00:00Z", setup: fault(errPD), wantErr: errPD, check: noWrites},
		{at: "2026-01-13T10:01:00Z", setup: fault(err429), wantErr: err429, check: noWrites},
		{at: "2026-01-13T10:02:00Z", setup: func(h *harness) { h.pd.fail = nil }, want: []string{
			"dm mm-ann: ended PU1@PS1", "dm mm-bob: started PU2@PS1",
			"post ch-all: ended PU1@PS1, started PU2@PS1", "post ch-primary: ended PU1@PS1, started PU2@PS1",
		}},
		{at: "2026-01-13T10:03:00Z"},
	})
}
