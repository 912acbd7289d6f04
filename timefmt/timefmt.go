// Package timefmt renders times the way on-call people read them: in their own Mattermost time
// zone, with a relative part ("in 2h 30m", "3h 5m ago").
package timefmt

import (
	"fmt"
	"time"
)

// Location resolves a Mattermost user's timezone map ({"useAutomaticTimezone":"true",
// "automaticTimezone":"Europe/Berlin","manualTimezone":""}). The automatic zone is used unless
// useAutomaticTimezone is "false"; when the chosen zone is empty or unknown the other one is
// tried, then UTC, so a bad profile setting never breaks a reply.
func Location(tz map[string]string) *time.Location {
	first, second := tz["automaticTimezone"], tz["manualTimezone"]
	if tz["useAutomaticTimezone"] == "false" {
		first, second = second, first
	}
	for _, name := range []string{first, second} {
		if name == "" {
			continue
		}
		if loc, err := time.LoadLocation(name); err == nil {
			return loc
		}
	}
	return time.UTC
}

// Duration renders d with its two largest units, rounded down to the minute: "1d 4h",
// "2h 30m", "45m", "<1m". Negative durations are rendered by magnitude; callers add
// "remaining", "in" or "ago".
func Duration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	if d < time.Minute {
		return "<1m"
	}
	days := int64(d / (24 * time.Hour))
	hours := int64(d % (24 * time.Hour) / time.Hour)
	mins := int64(d % time.Hour / time.Minute)
	switch {
	case days > 0 && hours > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case hours > 0 && mins > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	case hours > 0:
		return fmt.Sprintf("%dh", hours)
	default:
		return fmt.Sprintf("%dm", mins)
	}
}

// Relative renders t against now: "in 2h 30m" or "2h 30m ago".
func Relative(t, now time.Time) string {
	if t.After(now) {
		return "in " + Duration(t.Sub(now))
	}
	return Duration(now.Sub(t)) + " ago"
}

// Clock renders t in loc: "15:04" today, "Mon 15:04" within a week, else "Jan 2 15:04", with the
// zone abbreviation so shared screenshots stay unambiguous.
func Clock(t, now time.Time, loc *time.Location) string {
	t, now = t.In(loc), now.In(loc)
	y1, m1, d1 := t.Date()
	y2, m2, d2 := now.Date()
	switch {
	case y1 == y2 && m1 == m2 && d1 == d2:
		return t.Format("15:04 MST")
	case t.Sub(now) < 6*24*time.Hour && now.Sub(t) < 6*24*time.Hour:
		return t.Format("Mon 15:04 MST")
	default:
		return t.Format("Jan 2 15:04 MST")
	}
}
