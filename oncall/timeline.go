package oncall

import (
	"sort"
	"time"
)

// ViewWindow is how far ahead the schedule view and the "mine" filter look.
const ViewWindow = 48 * time.Hour

// TimelineRow is one shift of the schedule view, ready to render in the viewer's zone.
type TimelineRow struct {
	Shift
	// LocalStart and LocalEnd are Start and End in the viewer's location (zero stays zero).
	LocalStart, LocalEnd time.Time
	// Current is true for the shift(s) on call at now; they are highlighted.
	Current bool
	// Status is ShiftStatus at now: "2h 30m remaining", "starts in 1d 4h", "until further notice".
	Status string
}

// Timeline keeps the shifts that overlap [now, now+window), sorted by start (then user name),
// and marks those on call at now. Shifts that ended before now are dropped: the view shows who is
// on call and who is next, not history. Relative times are computed on absolute durations, so a
// shift over a DST change reports its real length (23h or 25h for a local day).
func Timeline(shifts []Shift, now time.Time, loc *time.Location, window time.Duration) []TimelineRow {
	if loc == nil {
		loc = time.UTC
	}
	until := now.Add(window)
	rows := make([]TimelineRow, 0, len(shifts))
	for _, s := range shifts {
		if !overlaps(s.Start, s.End, now, until) || (!s.End.IsZero() && !s.End.After(now)) {
			continue
		}
		r := TimelineRow{Shift: s, Current: activeAt(s.Start, s.End, now), Status: ShiftStatus(s.Start, s.End, now)}
		if !s.Start.IsZero() {
			r.LocalStart = s.Start.In(loc)
		}
		if !s.End.IsZero() {
			r.LocalEnd = s.End.In(loc)
		}
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		return a.UserName < b.UserName
	})
	return rows
}

// CurrentOnCall returns the users on call at the timeline's now (the rows marked Current), once
// each, for the "page the current on-call" button.
func CurrentOnCall(rows []TimelineRow) []Person {
	var out []Person
	seen := map[string]bool{}
	for _, r := range rows {
		if r.Current && !seen[r.UserID] {
			seen[r.UserID] = true
			out = append(out, Person{ID: r.UserID, Name: r.UserName})
		}
	}
	return out
}

// MineIn48h keeps the schedules in which userID has an on-call entry overlapping
// [now, now+48h). entries come from one GET /oncalls with user_ids[]=userID and that range, which
// is one paginated request instead of rendering every schedule.
func MineIn48h(schedules []ScheduleInfo, entries []Entry, userID string, now time.Time) []ScheduleInfo {
	until := now.Add(ViewWindow)
	mine := map[string]bool{}
	for _, e := range entries {
		if e.UserID == userID && e.ScheduleID != "" && overlaps(e.Start, e.End, now, until) &&
			(e.End.IsZero() || e.End.After(now)) {
			mine[e.ScheduleID] = true
		}
	}
	var out []ScheduleInfo
	for _, s := range schedules {
		if mine[s.ID] {
			out = append(out, s)
		}
	}
	return out
}
