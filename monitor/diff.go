package monitor

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind is a kind of on-call change; each is a separate DM switch in Prefs.
type Kind string

const (
	KindStarted  Kind = "started"  // a user is on call now and was not at the previous tick
	KindEnded    Kind = "ended"    // a user was on call at the previous tick and is not now
	KindReminder Kind = "reminder" // a user's shift starts within the reminder lead time
	KindOverride Kind = "override" // part of a user's shift is now held by someone else
)

// Event is one on-call change for one user in one scope (schedule or direct policy).
type Event struct {
	Kind                        Kind
	ScopeID, ScopeName          string
	UserID, UserName, UserEmail string
	// Start and End are the shift concerned (zero = open). For an override they are the part
	// of the user's shift that the other user now holds.
	Start, End time.Time
	// ByUserID and ByUserName name who took the shift (override only).
	ByUserID, ByUserName string
	// NowOnCall names who is on call in the scope after the change (ended only).
	NowOnCall []string
}

// Key identifies the event for the sent-notification ledger; it is stable across ticks that
// recompute the same change from the same previous snapshot.
func (e *Event) Key() string {
	var b strings.Builder
	b.WriteString(string(e.Kind))
	for _, s := range []string{e.ScopeID, e.UserID, strconv.FormatInt(unix(e.Start), 10), e.ByUserID} {
		b.WriteByte('|')
		b.WriteString(s)
	}
	return b.String()
}

// ChannelWorthy reports whether the event goes to subscribed channels: reminders are personal.
func (e *Event) ChannelWorthy() bool { return e.Kind != KindReminder }

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func fromUnix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// interval is [s, e) in Unix seconds; e == maxTime stands for open.
type interval struct{ s, e int64 }

const maxTime = int64(1<<63 - 1)

func endOrMax(e int64) int64 {
	if e == 0 {
		return maxTime
	}
	return e
}

// Diff computes the changes between prev (nil: no usable previous snapshot, so only reminders
// are computed) and cur, whose Taken is now:
//
//   - started: on call at cur.Taken in a scope, not on call there at prev.Taken;
//   - ended: on call at prev.Taken, not at cur.Taken (dropped when an override explains it);
//   - reminder: a record starting in (now, now+lead] not yet Reminded, unless the same user is
//     already on call in that scope right before (a continuation, not a new shift);
//   - override: in the window both snapshots cover, [now, prev.Until), time that a record of
//     user A covered in prev is no longer covered by A in cur but by B, who did not cover it in
//     prev. A schedule edit that moves shifts looks the same through /oncalls and is reported
//     the same way.
//
// Comparing activity at each snapshot's own time (not record identity) is what makes a missed
// tick harmless: whatever changed in between is reported once, at the next tick. Scopes are
// walked in one merge pass over both sorted record lists, so the cost is linear in the records.
func Diff(prev, cur *Snapshot, lead time.Duration) []Event {
	var events []Event
	now := cur.Taken.Unix()
	remindUntil := cur.Taken.Add(lead).Unix()
	var p []Rec
	var prevTaken, common int64
	if prev != nil {
		p = prev.Recs
		prevTaken = prev.Taken.Unix()
		common = min(prev.Until.Unix(), cur.Until.Unix())
	}
	c := cur.Recs
	var buf scopeBuf
	i, j := 0, 0
	for i < len(p) || j < len(c) {
		var scope string
		switch {
		case i >= len(p):
			scope = c[j].ScopeID
		case j >= len(c):
			scope = p[i].ScopeID
		default:
			scope = min(p[i].ScopeID, c[j].ScopeID)
		}
		i2 := i
		for i2 < len(p) && p[i2].ScopeID == scope {
			i2++
		}
		j2 := j
		for j2 < len(c) && c[j2].ScopeID == scope {
			j2++
		}
		curScope := c[j:j2]
		if prev != nil {
			events = diffScope(events, &buf, p[i:i2], curScope, prevTaken, now, common)
		}
		events = remindScope(events, curScope, now, remindUntil)
		i, j = i2, j2
	}
	slices.SortFunc(events, compareEvents) // a total order: deterministic without a stable sort
	return events
}

// scopeBuf holds per-scope scratch slices reused across scopes to keep Diff allocation-free
// for unchanged scopes.
type scopeBuf struct {
	prevActive, curActive []*Rec
}

func activeUsers(dst []*Rec, recs []Rec, t int64) []*Rec {
	dst = dst[:0]
	for k := range recs {
		r := &recs[k]
		if !r.activeAt(t) {
			continue
		}
		dup := false
		for x, d := range dst {
			if d.UserID == r.UserID {
				dup = true
				if r.End == 0 || (d.End != 0 && r.End > d.End) {
					dst[x] = r // keep the stretch that lasts longest
				}
				break
			}
		}
		if !dup {
			dst = append(dst, r)
		}
	}
	return dst
}

func hasUser(rs []*Rec, user string) bool {
	for _, r := range rs {
		if r.UserID == user {
			return true
		}
	}
	return false
}

func diffScope(events []Event, buf *scopeBuf, prev, cur []Rec, prevTaken, now, common int64) []Event {
	buf.prevActive = activeUsers(buf.prevActive, prev, prevTaken)
	buf.curActive = activeUsers(buf.curActive, cur, now)
	var overrides []Event
	if now < common {
		overrides = detectOverrides(prev, cur, now, common)
	}
	for _, r := range buf.curActive {
		if !hasUser(buf.prevActive, r.UserID) {
			events = append(events, eventFor(KindStarted, r))
		}
	}
	for _, r := range buf.prevActive {
		if hasUser(buf.curActive, r.UserID) {
			continue
		}
		explained := false
		for k := range overrides {
			if o := &overrides[k]; o.UserID == r.UserID && unix(o.Start) <= now {
				explained = true
				break
			}
		}
		if explained {
			continue
		}
		ev := eventFor(KindEnded, r)
		for _, a := range buf.curActive {
			ev.NowOnCall = append(ev.NowOnCall, a.UserName)
		}
		events = append(events, ev)
	}
	return append(events, overrides...)
}

func eventFor(kind Kind, r *Rec) Event {
	return Event{Kind: kind, ScopeID: r.ScopeID, ScopeName: r.ScopeName, UserID: r.UserID, UserName: r.UserName,
		UserEmail: r.UserEmail, Start: fromUnix(r.Start), End: fromUnix(r.End)}
}

// uncovered subtracts from iv the union of the given user's records and returns what is left.
func uncovered(iv interval, recs []Rec, user string) []interval {
	left := []interval{iv}
	for k := range recs {
		r := &recs[k]
		if r.UserID != user {
			continue
		}
		rs, re := r.Start, endOrMax(r.End)
		var next []interval
		for _, l := range left {
			if re <= l.s || rs >= l.e {
				next = append(next, l)
				continue
			}
			if rs > l.s {
				next = append(next, interval{l.s, rs})
			}
			if re < l.e {
				next = append(next, interval{re, l.e})
			}
		}
		left = next
		if len(left) == 0 {
			break
		}
	}
	return left
}

// holdsSame reports whether recs has a record of r's user with r's exact start and end: the
// common case of an unchanged shift, checked before any interval arithmetic.
func holdsSame(recs []Rec, r *Rec) bool {
	for k := range recs {
		if o := &recs[k]; o.UserID == r.UserID && o.Start == r.Start && o.End == r.End {
			return true
		}
	}
	return false
}

func detectOverrides(prev, cur []Rec, now, common int64) []Event {
	var out []Event
	for pi := range prev {
		a := &prev[pi]
		span := interval{max(a.Start, now), min(endOrMax(a.End), common)}
		if span.s >= span.e || holdsSame(cur, a) {
			continue
		}
		lost := uncovered(span, cur, a.UserID)
		for _, l := range lost {
			for ci := range cur {
				b := &cur[ci]
				if b.UserID == a.UserID {
					continue
				}
				piece := interval{max(l.s, b.Start), min(l.e, endOrMax(b.End))}
				if piece.s >= piece.e || len(uncovered(piece, prev, b.UserID)) == 0 {
					continue // B does not hold the lost time, or already held it before
				}
				// Report the whole stretch B now holds of A's shift, not only the part inside
				// the comparison window.
				s := max(a.Start, b.Start)
				e := min(endOrMax(a.End), endOrMax(b.End))
				out = mergeOverride(out, a, b, s, e)
			}
		}
	}
	return out
}

func mergeOverride(out []Event, a, b *Rec, s, e int64) []Event {
	if e == maxTime {
		e = 0
	}
	for k := range out {
		o := &out[k]
		if o.UserID == a.UserID && o.ByUserID == b.UserID {
			if s < unix(o.Start) {
				o.Start = fromUnix(s)
			}
			if e == 0 || (!o.End.IsZero() && e > unix(o.End)) {
				o.End = fromUnix(e)
			}
			return out
		}
	}
	ev := eventFor(KindOverride, a)
	ev.Start, ev.End = fromUnix(s), fromUnix(e)
	ev.ByUserID, ev.ByUserName = b.UserID, b.UserName
	return append(out, ev)
}

func remindScope(events []Event, cur []Rec, now, until int64) []Event {
	for k := range cur {
		r := &cur[k]
		if r.Reminded || r.Start <= now || r.Start > until {
			continue
		}
		continuation := false
		for x := range cur {
			if o := &cur[x]; x != k && o.UserID == r.UserID && o.activeAt(r.Start-1) {
				continuation = true
				break
			}
		}
		if !continuation {
			events = append(events, eventFor(KindReminder, r))
		}
	}
	return events
}

// kindRank orders a scope's events as people read a handover: who lost the shift, then who has it.
func kindRank(k Kind) int {
	switch k {
	case KindOverride:
		return 0
	case KindEnded:
		return 1
	case KindStarted:
		return 2
	default:
		return 3
	}
}

func compareEvents(a, b Event) int {
	if c := compareFold(a.ScopeName, b.ScopeName); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ScopeID, b.ScopeID); c != 0 {
		return c
	}
	if c := cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)); c != 0 {
		return c
	}
	if c := cmp.Compare(a.UserName, b.UserName); c != 0 {
		return c
	}
	if c := cmp.Compare(a.UserID, b.UserID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ByUserID, b.ByUserID); c != 0 {
		return c
	}
	return a.Start.Compare(b.Start)
}

// compareFold orders strings case-insensitively without allocating (strings.ToLower would
// allocate on every comparison of the sort).
func compareFold(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if c := cmp.Compare(unicode.ToLower(ra), unicode.ToLower(rb)); c != 0 {
			return c
		}
		a, b = a[na:], b[nb:]
	}
	return cmp.Compare(len(a), len(b))
}
