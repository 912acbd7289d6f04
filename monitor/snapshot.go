package monitor

import (
	"cmp"
	"slices"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
	"github.com/mattermost/mattermost-app-pagerduty/oncall"
)

// directScopePrefix marks the scope of entries without a schedule (an escalation policy that
// targets the user directly). Such a scope never matches a channel's schedule filter.
const directScopePrefix = "policy:"

// maxStoredName bounds names kept in the snapshot: they are only shown in messages, and long
// names would make shards (and so KV writes) larger for nothing.
const maxStoredName = 80

// Rec is one on-call stretch in a snapshot. PagerDuty returns one entry per user × escalation
// policy × level; people are told about schedules, not levels, so entries collapse to user ×
// scope × start (scope = schedule, or the policy for direct targets). Times are Unix seconds,
// 0 meaning open (PagerDuty's null).
type Rec struct {
	UserID, UserName, UserEmail string
	ScopeID, ScopeName          string
	Start, End                  int64
	// Reminded is set once the "starts in 30 minutes" reminder of this stretch was handled; it
	// travels with the record from snapshot to snapshot, so it survives restarts and disappears
	// with the record when the shift is over (no separate pruning).
	Reminded bool
}

func (r *Rec) activeAt(t int64) bool {
	return (r.Start == 0 || r.Start <= t) && (r.End == 0 || t < r.End)
}

// Snapshot is the on-call state read at Taken for the window [Taken, Until).
type Snapshot struct {
	Taken, Until time.Time
	// Recs is sorted by ScopeID, Start, UserID and holds each (user, scope, start) once.
	Recs []Rec
}

type recKey struct {
	user, scope string
	start       int64
}

// BuildSnapshot collapses entries into records, drops those outside [now, until) (offset
// pagination over changing data can return strays and duplicates), and carries each record's
// Reminded flag over from prev.
func BuildSnapshot(entries []oncall.Entry, now, until time.Time, prev *Snapshot) *Snapshot {
	s := &Snapshot{Taken: now, Until: until, Recs: make([]Rec, 0, len(entries))}
	nowU, untilU := now.Unix(), until.Unix()
	for i := range entries {
		e := &entries[i]
		r := Rec{UserID: e.UserID, UserName: mdsafe.Truncate(e.UserName, maxStoredName), UserEmail: e.UserEmail,
			ScopeID: e.ScheduleID, ScopeName: mdsafe.Truncate(e.ScheduleName, maxStoredName)}
		if r.ScopeID == "" {
			r.ScopeID = directScopePrefix + e.PolicyID
			r.ScopeName = mdsafe.Truncate(e.PolicyName, maxStoredName)
		}
		if !e.Start.IsZero() {
			r.Start = e.Start.Unix()
		}
		if !e.End.IsZero() {
			r.End = e.End.Unix()
		}
		if r.UserID == "" || (r.End != 0 && r.End <= nowU) || (r.Start != 0 && r.Start >= untilU) {
			continue
		}
		s.Recs = append(s.Recs, r)
	}
	sortRecs(s.Recs)
	// Collapse duplicates (same user, scope, start): keep the longest end, 0 (open) being longest.
	out := s.Recs[:0]
	for _, r := range s.Recs {
		if n := len(out); n > 0 && out[n-1].ScopeID == r.ScopeID && out[n-1].UserID == r.UserID && out[n-1].Start == r.Start {
			if r.End == 0 || (out[n-1].End != 0 && r.End > out[n-1].End) {
				out[n-1].End = r.End
			}
			continue
		}
		out = append(out, r)
	}
	s.Recs = out
	if prev != nil {
		reminded := map[recKey]bool{}
		for i := range prev.Recs {
			if p := &prev.Recs[i]; p.Reminded {
				reminded[recKey{p.UserID, p.ScopeID, p.Start}] = true
			}
		}
		if len(reminded) > 0 {
			for i := range s.Recs {
				r := &s.Recs[i]
				r.Reminded = reminded[recKey{r.UserID, r.ScopeID, r.Start}]
			}
		}
	}
	return s
}

func compareRecs(a, b Rec) int {
	if c := cmp.Compare(a.ScopeID, b.ScopeID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Start, b.Start); c != 0 {
		return c
	}
	return cmp.Compare(a.UserID, b.UserID)
}

func sortRecs(recs []Rec) { slices.SortFunc(recs, compareRecs) }
