// Package timefmt renders times the way on-call people read them: in their own Mattermost time
// zone, with a relative part ("in 2h 30m", "3h 5m ago").
package timefmt

import (
	"fmt"
	"strings"
	"time"
)

// Location resolves a Mattermost user's timezone map ({"useAutomaticTimezone":"true",
// "automaticTimezone":"Europe/Berlin","manualTimezone":""}); unknown or empty zones fall back to UTC
// so a bad profile setting never breaks a reply.
func Location(tz map[string]string) *time.Location {
	name := tz["manualTimezone"]
	if tz["useAutomaticTimezone"] != "false" && tz["automaticTimezone"] != "" {
		name = tz["automaticTimezone"]
	}
	if name == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Duration renders d as "1d 4h", "2h 30m", "45m" or "less than a minute" (two units at most).
func Duration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	if d < time.Minute {
		return "less than a minute"
	}
	days := int(d / (24 * time.Hour))
	hours := int(d % (24 * time.Hour) / time.Hour)
	mins := int(d % time.Hour / time.Minute)
	var parts []string
	if days > 0 {
		parts = append(parts, fmt.Sprintf("%dd", days))
	}
	if hours > 0 {
		parts = append(parts, fmt.Sprintf("%dh", hours))
	}
	if mins > 0 && days == 0 {
		parts = append(parts, fmt.Sprintf("%dm", mins))
	}
	if len(parts) > 2 {
		parts = parts[:2]
	}
	return strings.Join(parts, " ")
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
