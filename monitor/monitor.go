// Package monitor watches PagerDuty on-calls once a minute and tells people what changed: posts
// to channels subscribed to oncall.change and DMs to users who opted in (on-call started, ended,
// shift starts in 30 minutes, shift taken by an override).
//
// It never imports the Apps framework; PagerDuty, the Mattermost user directory, subscriptions,
// preferences and delivery are interfaces the front door wires in (ports.go). State lives in the
// app's KV store (store.go explains the layout and why a half-written snapshot is never read).
//
// Delivery guarantee. Each tick diffs the new on-call data against the last committed snapshot,
// delivers, then commits the new snapshot. A notification that fails to deliver is retried: the
// snapshot is not advanced (up to MaxAttempts ticks) and a ledger of what was already delivered
// on top of that snapshot (KV r/*, and memory) keeps the retry from repeating the rest. A process
// crash between a successful delivery and the ledger or commit write re-sends that tick's
// notifications: we chose at-least-once over at-most-once because a missed "you are on call now"
// or reminder costs more than a duplicate DM, and the window is one tick's send loop. Reminders
// are marked in the snapshot record itself and retried while still due.
//
// One ticker: ticks within one process are serialized (a second concurrent Tick returns at once,
// Skipped), and MinInterval drops a tick that follows the previous one too closely (two schedulers
// re-armed after a restart). Across processes the framework gives no lock; the app runs one
// instance (kvstore's rule), and a tick from another process is still safe for the snapshot
// (generation-checked) though it could repeat a notification.
package monitor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
)

// Defaults for the Monitor's tunables.
const (
	DefaultWindow       = 35 * time.Minute // read now … now+35m: covers the 30-minute reminder with margin
	DefaultReminderLead = 30 * time.Minute
	DefaultMaxAttempts  = 3
	// refreshAfter: with no change at all, the manifest is rewritten at most this often (only to
	// move the snapshot's time forward, which keeps override detection's window wide).
	refreshAfter = 5 * time.Minute
)

// ErrPartialDelivery is returned (wrapping the delivery errors) when some notifications could not
// be delivered; the report says which, and they are retried on the next tick.
var ErrPartialDelivery = errors.New("some on-call notifications were not delivered")

// Monitor is one configured on-call monitor. The per-call dependencies (KV with a fresh bot
// token, Notify, Users, …) may be new for every tick; Local carries what must outlive a call.
//
// Wiring, per tick call (the app's tick webhook handler):
//
//	m := &monitor.Monitor{
//		KV: botKV, Source: pdSource, Notify: botNotifier, Users: directory,
//		Prefs: &monitor.KVPrefs{KV: botKV, Locks: appLocks}, Subscriptions: subs,
//		Local: processLocal, MinInterval: 45 * time.Second, Log: logger,
//	}
//	report, err := m.Tick(ctx)
type Monitor struct {
	// Required.
	KV     kvstore.KV
	Source OnCallSource
	Notify Notifier
	// Optional: Clock defaults to time.Now; without Users or Prefs no DMs are sent, without
	// Subscriptions no channel posts; Log defaults to discarding.
	Clock         func() time.Time
	Users         UserDirectory
	Prefs         PrefStore
	Subscriptions ChannelTargets
	Log           *slog.Logger

	// Local is the process-wide state (tick lock, last-good snapshot, delivery ledger). Create one
	// with NewLocal per process and share it when a Monitor is built per call; nil uses one owned
	// by this Monitor value.
	Local *Local

	Window       time.Duration // default DefaultWindow
	ReminderLead time.Duration // default DefaultReminderLead
	// MinInterval skips a tick that comes less than this after the previous one in this process
	// (0: never skip). Set it a little under the scheduler's period, e.g. 45s for 1 minute.
	MinInterval time.Duration
	MaxAttempts int // ticks a failed delivery is retried before the snapshot moves on; default 3

	own Local
}

// Local is the state a monitor keeps in process memory between ticks.
type Local struct {
	mu       sync.Mutex
	cache    *cachedSnapshot
	lastTick time.Time
	// ledger holds what was delivered on top of generation ledgerGen, for retries in this process
	// even when KV writes fail.
	ledgerGen uint64
	ledger    ledger
	// staleClearedGen is the generation after which shards beyond the shard count were deleted.
	staleClearedGen uint64
}

// NewLocal returns process state for monitors built per call.
func NewLocal() *Local { return &Local{} }

type cachedSnapshot struct {
	gen  uint64
	snap *Snapshot
	refs []shardRef
}

// TickReport says what a tick did, for logs, status commands and tests.
type TickReport struct {
	Now      time.Time
	Skipped  string // non-empty when the tick did nothing, with the reason
	Baseline bool   // no usable previous snapshot: only reminders could be sent
	Requests int64  // PagerDuty requests, when the source counts them
	Entries  int    // on-call entries read
	Records  int    // snapshot records after collapsing
	Events   []Event
	// Deliveries are the posts and DMs attempted, in order.
	Deliveries []Delivery
	Failed     int // deliveries and lookups that failed
	Unmapped   int // PagerDuty users with events but no Mattermost user
	Committed  bool
	Generation uint64
	// Shards is the snapshot's shard count, ShardsWritten how many documents the commit wrote.
	Shards, ShardsWritten int
}

// Delivery is one post (ChannelID set) or DM (UserID set, a Mattermost user ID).
type Delivery struct {
	ChannelID, UserID string
	Events            []string // Event.Key() of the events it reports
	Err               error
}

func (m *Monitor) local() *Local {
	if m.Local != nil {
		return m.Local
	}
	return &m.own
}

func (m *Monitor) log() *slog.Logger {
	if m.Log != nil {
		return m.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (m *Monitor) now() time.Time {
	clock := m.Clock
	if clock == nil {
		clock = time.Now
	}
	return clock().UTC().Truncate(time.Second)
}

// Tick reads the on-calls of [now, now+Window), diffs them with the last snapshot, delivers the
// notifications and commits the new snapshot. A PagerDuty or KV read error returns before
// anything is sent or written, so the old snapshot stays and the next tick reports the change.
func (m *Monitor) Tick(ctx context.Context) (TickReport, error) {
	if m.KV == nil || m.Source == nil || m.Notify == nil {
		return TickReport{}, errors.New("monitor: KV, Source and Notify are required")
	}
	local := m.local()
	if !local.mu.TryLock() {
		return TickReport{Skipped: "another tick is running"}, nil
	}
	defer local.mu.Unlock()
	now := m.now()
	rep := TickReport{Now: now}
	if m.MinInterval > 0 && !local.lastTick.IsZero() && !now.Before(local.lastTick) && now.Sub(local.lastTick) < m.MinInterval {
		rep.Skipped = "previous tick was less than MinInterval ago"
		return rep, nil
	}
	window := cmp.Or(m.Window, DefaultWindow)
	log := m.log()

	var st stateDoc
	found, err := m.KV.Get(ctx, prefixState, stateID, &st)
	if err != nil {
		return rep, fmt.Errorf("reading monitor state: %w", err)
	}
	if found && now.Unix() < st.Taken {
		rep.Skipped = "the clock is behind the last snapshot"
		return rep, nil
	}
	refs, refsErr := decodeRefs(st.Shards)
	if found && (st.V != stateVersion || refsErr != nil) {
		log.Warn("monitor state unreadable, starting from a new baseline", "version", st.V, "error", refsErr)
		found, refs = false, nil
	}

	counter, counts := m.Source.(RequestCounter)
	var before int64
	if counts {
		before = counter.Requests()
	}
	entries, err := m.Source.OnCalls(ctx, now, now.Add(window))
	if counts {
		rep.Requests = counter.Requests() - before
	}
	if err != nil {
		return rep, fmt.Errorf("reading PagerDuty on-calls (snapshot kept): %w", err)
	}
	local.lastTick = now
	rep.Entries = len(entries)

	var prev *Snapshot
	prevValid := false
	if found {
		prev, err = m.loadSnapshot(ctx, &st, refs)
		switch {
		case errors.Is(err, errCorrupt):
			log.Warn("monitor snapshot unreadable, starting from a new baseline", "error", err)
			prev = nil
		case err != nil:
			return rep, err
		default:
			prevValid = true
		}
	}
	rep.Baseline = prev == nil
	cur := BuildSnapshot(entries, now, now.Add(window), prev)
	rep.Records = len(cur.Recs)
	rep.Events = Diff(prev, cur, cmp.Or(m.ReminderLead, DefaultReminderLead))

	sent, err := m.ledgerFor(ctx, &st, found)
	if err != nil {
		return rep, err
	}
	failed, errs := m.deliver(ctx, &rep, now, sent)

	retryable := false
	for i := range rep.Events {
		if failed[&rep.Events[i]] && rep.Events[i].Kind != KindReminder {
			retryable = true
		}
	}
	if retryable && found && st.Attempts+1 < cmp.Or(m.MaxAttempts, DefaultMaxAttempts) {
		// Keep the snapshot so the failed changes are computed again; remember what went out.
		local.ledgerGen, local.ledger = st.Gen, sent
		docs, lerr := m.saveLedger(ctx, st.Gen, sent)
		st.Attempts++
		st.LedgerGen, st.LedgerDocs = st.Gen, max(docs, st.LedgerDocs)
		if serr := m.KV.Set(ctx, prefixState, stateID, st); serr != nil || lerr != nil {
			errs = append(errs, fmt.Errorf("recording deliveries for retry: %w", errors.Join(lerr, serr)))
		}
		rep.Generation = st.Gen
		return rep, fmt.Errorf("%w (attempt %d, retried next tick): %w", ErrPartialDelivery, st.Attempts, errors.Join(errs...))
	}
	if retryable {
		log.Error("giving up on-call notifications after repeated failures", "attempts", st.Attempts+1, "errors", errors.Join(errs...))
	}

	// Reminders delivered (or with nobody to tell) are marked in the new snapshot; failed ones
	// stay unmarked and are retried while the shift has not started.
	reminded := map[recKey]bool{}
	for i := range rep.Events {
		if e := &rep.Events[i]; e.Kind == KindReminder && !failed[e] {
			reminded[recKey{e.UserID, e.ScopeID, unix(e.Start)}] = true
		}
	}
	for i := range cur.Recs {
		if r := &cur.Recs[i]; reminded[recKey{r.UserID, r.ScopeID, r.Start}] {
			r.Reminded = true
		}
	}
	if err := m.commit(ctx, &rep, &st, found, refs, prevValid, cur, now); err != nil {
		// The deliveries of this tick are remembered in memory for the next tick's retry.
		local.ledgerGen, local.ledger = st.Gen, sent
		return rep, err
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("%w: %w", ErrPartialDelivery, errors.Join(errs...))
	}
	return rep, nil
}

// ledgerFor returns what was already delivered on top of the current generation: the in-memory
// ledger when this process has it, merged with the KV ledger a previous partial tick wrote.
func (m *Monitor) ledgerFor(ctx context.Context, st *stateDoc, found bool) (ledger, error) {
	local := m.local()
	l := ledger{}
	if local.ledger != nil && local.ledgerGen == st.Gen {
		for k := range local.ledger {
			l[k] = struct{}{}
		}
	}
	if !found {
		return l, nil
	}
	stored, err := m.loadLedger(ctx, st)
	if err != nil {
		return nil, err
	}
	for k := range stored {
		l[k] = struct{}{}
	}
	return l, nil
}

// outgoing is one planned post or DM.
type outgoing struct {
	channelID, userID string
	msg               message
	keys              []uint64
}

// unsent picks the events one target wants that were not sent to it yet, with their ledger
// keys (target is "c|<channel ID>" or "d|<Mattermost user ID>").
func (l ledger) unsent(target string, events []*Event, wants func(*Event) bool) ([]*Event, []uint64) {
	var out []*Event
	var keys []uint64
	for _, e := range events {
		k := ledgerKey(target + "|" + e.Key())
		if _, done := l[k]; !done && wants(e) {
			out = append(out, e)
			keys = append(keys, k)
		}
	}
	return out, keys
}

// planMessages appends one outgoing like to per message, each with the ledger keys of its
// events (keys are in the events' order, as the messages are).
func planMessages(plan []outgoing, to outgoing, msgs []message, keys []uint64) []outgoing {
	for _, msg := range msgs {
		to.msg, to.keys = msg, keys[:len(msg.events)]
		plan = append(plan, to)
		keys = keys[len(msg.events):]
	}
	return plan
}

// deliver plans and sends the notifications for rep.Events, skipping those in sent and adding
// what it delivers to sent. It returns the events that could not be delivered (or whose targets
// could not be looked up) and the errors.
func (m *Monitor) deliver(ctx context.Context, rep *TickReport, now time.Time, sent ledger) (map[*Event]bool, []error) {
	log := m.log()
	failed := map[*Event]bool{}
	var errs []error
	fail := func(err error, events ...*Event) {
		errs = append(errs, err)
		rep.Failed++
		for _, e := range events {
			failed[e] = true
		}
	}
	var plan []outgoing

	// Channel posts.
	var forChannels []*Event
	for i := range rep.Events {
		if rep.Events[i].ChannelWorthy() {
			forChannels = append(forChannels, &rep.Events[i])
		}
	}
	if len(forChannels) > 0 && m.Subscriptions != nil {
		subs, err := m.Subscriptions.OnCallChannels(ctx)
		if err != nil {
			fail(fmt.Errorf("listing oncall.change subscriptions: %w", err), forChannels...)
			subs = nil
		}
		for _, sub := range mergeSubscriptions(subs) {
			evs, keys := sent.unsent("c|"+sub.ChannelID, forChannels, func(e *Event) bool { return sub.Matches(e.ScopeID) })
			plan = planMessages(plan, outgoing{channelID: sub.ChannelID}, channelMessages(evs, now), keys)
		}
	}

	// DMs, grouped per PagerDuty user in event order.
	byUser := map[string][]*Event{}
	var order []string
	for i := range rep.Events {
		e := &rep.Events[i]
		if _, ok := byUser[e.UserID]; !ok {
			order = append(order, e.UserID)
		}
		byUser[e.UserID] = append(byUser[e.UserID], e)
	}
	prefs := map[string]Prefs{}
	for _, pdUser := range order {
		evs := byUser[pdUser]
		if m.Users == nil || m.Prefs == nil {
			break
		}
		mm, ok, err := m.resolve(ctx, pdUser, evs[0].UserEmail)
		if err != nil {
			fail(fmt.Errorf("mapping PagerDuty user %s: %w", pdUser, err), evs...)
			continue
		}
		if !ok {
			rep.Unmapped++
			log.Debug("no Mattermost user for PagerDuty user", "pd_user", pdUser)
			continue
		}
		p, seen := prefs[mm.ID]
		if !seen {
			if p, err = m.Prefs.Get(ctx, mm.ID); err != nil {
				fail(fmt.Errorf("reading DM preferences: %w", err), evs...)
				continue
			}
			prefs[mm.ID] = p
		}
		want, keys := sent.unsent("d|"+mm.ID, evs, func(e *Event) bool { return p.Wants(e.Kind) })
		loc := mm.Location
		if loc == nil {
			loc = time.UTC
		}
		plan = planMessages(plan, outgoing{userID: mm.ID}, dmMessages(want, now, loc), keys)
	}

	for _, o := range plan {
		d := Delivery{ChannelID: o.channelID, UserID: o.userID}
		for _, e := range o.msg.events {
			d.Events = append(d.Events, e.Key())
		}
		if err := ctx.Err(); err != nil {
			d.Err = err
		} else if o.channelID != "" {
			d.Err = m.Notify.PostToChannel(ctx, o.channelID, o.msg.text)
		} else {
			d.Err = m.Notify.DM(ctx, o.userID, o.msg.text)
		}
		rep.Deliveries = append(rep.Deliveries, d)
		if d.Err != nil {
			target := "channel " + o.channelID
			if o.userID != "" {
				target = "user " + o.userID
			}
			log.Warn("on-call notification not delivered", "target", target, "error", d.Err)
			fail(fmt.Errorf("notifying %s: %w", target, d.Err), o.msg.events...)
			continue
		}
		for _, k := range o.keys {
			sent[k] = struct{}{}
		}
	}
	return failed, errs
}

// resolve maps a PagerDuty user: the connected-account record first, the email as a fallback.
func (m *Monitor) resolve(ctx context.Context, pdUserID, email string) (MMUser, bool, error) {
	u, ok, err := m.Users.ByPagerDutyID(ctx, pdUserID)
	if err != nil || ok {
		return u, ok, err
	}
	if email == "" {
		return MMUser{}, false, nil
	}
	return m.Users.ByEmail(ctx, email)
}

// mergeSubscriptions folds several subscriptions of one channel into one (an unfiltered one wins),
// so a channel subscribed twice gets one post, and orders channels for a stable send order.
func mergeSubscriptions(subs []ChannelSubscription) []ChannelSubscription {
	byID := map[string]*ChannelSubscription{}
	var out []*ChannelSubscription
	for _, s := range subs {
		if s.ChannelID == "" {
			continue
		}
		m, ok := byID[s.ChannelID]
		if !ok {
			c := ChannelSubscription{ChannelID: s.ChannelID, ScheduleIDs: slices.Clone(s.ScheduleIDs)}
			byID[s.ChannelID] = &c
			out = append(out, &c)
			continue
		}
		if len(m.ScheduleIDs) == 0 || len(s.ScheduleIDs) == 0 {
			m.ScheduleIDs = nil
			continue
		}
		m.ScheduleIDs = append(m.ScheduleIDs, s.ScheduleIDs...)
	}
	res := make([]ChannelSubscription, len(out))
	for i, s := range out {
		res[i] = *s
	}
	slices.SortFunc(res, func(a, b ChannelSubscription) int {
		switch {
		case a.ChannelID < b.ChannelID:
			return -1
		case a.ChannelID > b.ChannelID:
			return 1
		}
		return 0
	})
	return res
}

// commit writes the changed shards into their free slots, then the manifest (the commit point),
// then deletes what is no longer referenced. With nothing changed and a recent manifest it
// writes nothing.
func (m *Monitor) commit(ctx context.Context, rep *TickReport, st *stateDoc, found bool, refs []shardRef, prevValid bool, cur *Snapshot, now time.Time) error {
	local := m.local()
	var current []shardRef
	if prevValid {
		current = refs
	}
	shards, err := planShards(cur.Recs, current)
	if err != nil {
		return fmt.Errorf("sharding the snapshot: %w", err)
	}
	rep.Shards = len(shards)
	changed := !prevValid || len(shards) != len(refs)
	if !changed {
		for i := range shards {
			if shards[i].hash != refs[i].hash || shards[i].count != refs[i].count {
				changed = true
				break
			}
		}
	}
	if found && !changed && len(rep.Events) == 0 && st.Attempts == 0 && st.LedgerDocs == 0 &&
		now.Sub(time.Unix(st.Taken, 0)) < refreshAfter {
		rep.Generation = st.Gen
		return nil
	}

	gen := st.Gen + 1
	newRefs := make([]shardRef, len(shards))
	for i := range shards {
		sh := &shards[i]
		if prevValid && len(shards) == len(refs) && sh.hash == refs[i].hash && sh.count == refs[i].count {
			newRefs[i] = refs[i]
			continue
		}
		slot := 0
		if i < len(refs) {
			slot = 1 - refs[i].slot
		}
		if sh.size < 0 {
			return fmt.Errorf("internal: shard %d changed but was not encoded", i)
		}
		sh.doc.G, sh.doc.I = gen, i
		if err := m.KV.Set(ctx, prefixSnapshot, shardID(i, slot), sh.doc); err != nil {
			return fmt.Errorf("writing snapshot shard %d (snapshot not advanced): %w", i, err)
		}
		rep.ShardsWritten++
		newRefs[i] = shardRef{slot: slot, gen: gen, hash: sh.hash, count: sh.count, size: sh.size}
	}
	staleUpTo := max(len(refs), st.Stale)
	if local.staleClearedGen == st.Gen && st.Stale > 0 {
		staleUpTo = len(refs)
	}
	next := stateDoc{V: stateVersion, Gen: gen, Taken: now.Unix(), Until: cur.Until.Unix(), Shards: encodeRefs(newRefs)}
	if staleUpTo > len(newRefs) {
		next.Stale = staleUpTo
	}
	if err := m.KV.Set(ctx, prefixState, stateID, next); err != nil {
		return fmt.Errorf("writing monitor state (snapshot not advanced): %w", err)
	}
	rep.ShardsWritten++
	rep.Committed, rep.Generation = true, gen
	local.cache = &cachedSnapshot{gen: gen, snap: cur, refs: newRefs}
	local.ledger, local.ledgerGen = nil, 0

	// Clean-up after the commit point: failures only leave unreferenced documents behind.
	log := m.log()
	cleared := true
	for i := len(newRefs); i < staleUpTo; i++ {
		for slot := 0; slot < 2; slot++ {
			if err := m.KV.Delete(ctx, prefixSnapshot, shardID(i, slot)); err != nil {
				cleared = false
				log.Warn("deleting unused snapshot shard", "shard", i, "error", err)
			}
		}
	}
	if cleared {
		local.staleClearedGen = gen
	}
	for i := 0; i < st.LedgerDocs; i++ {
		if err := m.KV.Delete(ctx, prefixLedger, fmt.Sprint(i)); err != nil {
			log.Warn("deleting delivery ledger", "doc", i, "error", err)
		}
	}
	return nil
}
