package oncall

import (
	"strings"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/timefmt"

	// The app may run in a container without /usr/share/zoneinfo; without the embedded database
	// every user's zone would silently fall back to UTC and shift times would be wrong.
	_ "time/tzdata"
)

// UserLocation is timefmt.Location, under the name the on-call code reads best with.
func UserLocation(tz map[string]string) *time.Location { return timefmt.Location(tz) }

// Relative is timefmt.Duration: "1d 4h", "2h 30m", "45m", "<1m".
func Relative(d time.Duration) string { return timefmt.Duration(d) }

// ShiftStatus says where a shift stands at now: "2h 30m remaining", "starts in 1d 4h", "ended",
// or "until further notice" for an open-ended shift under way.
func ShiftStatus(start, end, now time.Time) string {
	switch {
	case !end.IsZero() && !now.Before(end):
		return "ended"
	case !start.IsZero() && now.Before(start):
		return "starts in " + Relative(start.Sub(now))
	case end.IsZero():
		return "until further notice"
	default:
		return Relative(end.Sub(now)) + " remaining"
	}
}

// FormatTime renders t in loc as "Mon 02 Jan 15:04 CET". The zone abbreviation is on every time,
// not once per message, because a shift can start in CEST and end in CET on a DST change day.
func FormatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "open"
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("Mon 02 Jan 15:04 MST")
}

// FormatSpan renders a shift "Mon 02 Jan 09:00 CET – Mon 02 Jan 17:00 CET", writing only the
// clock time of the end when it falls on the same local day in the same zone.
func FormatSpan(start, end time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	s := "since ever"
	if !start.IsZero() {
		s = FormatTime(start, loc)
	}
	switch {
	case end.IsZero():
		return s + " – open-ended"
	case !start.IsZero() && sameLocalDay(start, end, loc):
		return s + " – " + end.In(loc).Format("15:04 MST")
	default:
		return s + " – " + FormatTime(end, loc)
	}
}

func sameLocalDay(a, b time.Time, loc *time.Location) bool {
	a, b = a.In(loc), b.In(loc)
	an, _ := a.Zone()
	bn, _ := b.Zone()
	return a.Year() == b.Year() && a.YearDay() == b.YearDay() && an == bn
}

// zoneLabel names loc for headers: "Europe/Berlin".
func zoneLabel(loc *time.Location) string {
	if loc == nil {
		return "UTC"
	}
	return strings.TrimSpace(loc.String())
}
