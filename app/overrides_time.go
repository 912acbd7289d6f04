package app

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
)

// Times typed into the override forms and commands are read in the acting user's Mattermost
// time zone: people think of their shifts in their own wall-clock time.

// localLayouts are the wall-clock forms accepted, most specific first.
var localLayouts = []string{
	"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02T15:04",
}

// lengthPattern is a length after the start: "4h", "+90m", "2d", "1d12h", "1h30m".
var lengthPattern = regexp.MustCompile(`^\+?(?:(\d{1,3})d)?(?:(\d{1,4})h)?(?:(\d{1,5})m)?$`)

// timeHint is what every time error suggests, in the user's zone.
func timeHint(loc *time.Location) string {
	return fmt.Sprintf("use YYYY-MM-DD HH:MM in your time zone (%s)", loc.String())
}

// parseWhen reads one point in time. "now" is now; "YYYY-MM-DD HH:MM" is wall-clock time in loc;
// a date alone is the start of that day, or with endOfDay the start of the next day (so "until
// the 30th" includes the 30th); RFC 3339 with an offset is taken as written. Wall-clock times
// that do not exist or repeat on a DST change day are resolved as Go's time.Date does (the
// repeated hour is its first occurrence).
func parseWhen(field, s string, now time.Time, loc *time.Location, endOfDay bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "now") {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range localLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	if d, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		if endOfDay {
			y, m, day := d.Date()
			return time.Date(y, m, day+1, 0, 0, 0, 0, loc), nil
		}
		return d, nil
	}
	return time.Time{}, fmt.Errorf("%s: %s is not a time: %s, a date (YYYY-MM-DD) or `now`", field, mdsafe.Code(mdsafe.Truncate(s, 40)), timeHint(loc))
}

// parseLength reads "4h", "+90m", "2d", "1d12h"; ok is false when s is not a length.
func parseLength(s string) (time.Duration, bool) {
	m := lengthPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || (m[1] == "" && m[2] == "" && m[3] == "") {
		return 0, false
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute} {
		if m[i+1] != "" {
			n, _ := strconv.Atoi(m[i+1])
			d += time.Duration(n) * unit
		}
	}
	return d, true
}

// parseEnd reads an end: a length after start ("4h") or a point in time (parseWhen).
func parseEnd(field, s string, start, now time.Time, loc *time.Location, endOfDay bool) (time.Time, error) {
	if d, ok := parseLength(s); ok {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("%s: a length must be more than zero (for example 4h)", field)
		}
		return start.Add(d), nil
	}
	t, err := parseWhen(field, s, now, loc, endOfDay)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w, or a length after the start such as 4h or 2d", err)
	}
	return t, nil
}
