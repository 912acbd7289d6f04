// Package oncall is the pure domain of on-call features: on-call entries and schedule shifts
// converted from PagerDuty's API types, the schedule timeline in a user's time zone, the markdown
// shown for schedules, and the validation and planning of overrides.
//
// It never imports the Apps framework and does no I/O of its own (the only lookup, CheckUsers,
// goes through an interface), so any front door (Apps, a plain slash command, a bot) can reuse it.
// Every piece of text that comes from PagerDuty is rendered through mdsafe.
package oncall

import (
	"cmp"
	"fmt"
	"time"

	"github.com/PagerDuty/go-pagerduty"
)

// Entry is one on-call period as GET /oncalls returns it: a user on call for an escalation policy
// at one level, through a schedule (ScheduleID empty when the policy targets the user directly).
type Entry struct {
	UserID, UserName, UserEmail string
	ScheduleID, ScheduleName    string
	PolicyID, PolicyName        string
	Level                       int
	// Start and End bound the period; a zero value is open: PagerDuty sends null for permanent
	// on-calls (direct user targets) and for periods that do not end.
	Start, End time.Time
}

// ActiveAt reports whether the entry covers t (start inclusive, end exclusive; zero bounds open).
func (e Entry) ActiveAt(t time.Time) bool { return activeAt(e.Start, e.End, t) }

func activeAt(start, end, t time.Time) bool {
	return (start.IsZero() || !t.Before(start)) && (end.IsZero() || t.Before(end))
}

// overlaps reports whether [start,end) (zero = open) intersects [from,to).
func overlaps(start, end, from, to time.Time) bool {
	return (start.IsZero() || start.Before(to)) && (end.IsZero() || end.After(from))
}

// FromAPI converts PagerDuty on-calls. The user's name and email are read from the full user
// object when the request asked for include[]=users, else from the reference's summary (no email).
// A timestamp PagerDuty sent but that does not parse is an error: silently treating it as "open"
// would make the monitor announce shifts that do not exist.
func FromAPI(in []pagerduty.OnCall) ([]Entry, error) {
	out := make([]Entry, 0, len(in))
	for i, oc := range in {
		start, err := parseTime(oc.Start)
		if err != nil {
			return nil, fmt.Errorf("on-call %d (user %s): start: %w", i, oc.User.ID, err)
		}
		end, err := parseTime(oc.End)
		if err != nil {
			return nil, fmt.Errorf("on-call %d (user %s): end: %w", i, oc.User.ID, err)
		}
		out = append(out, Entry{
			UserID:       oc.User.ID,
			UserName:     cmp.Or(oc.User.Name, oc.User.Summary),
			UserEmail:    oc.User.Email,
			ScheduleID:   oc.Schedule.ID,
			ScheduleName: cmp.Or(oc.Schedule.Name, oc.Schedule.Summary),
			PolicyID:     oc.EscalationPolicy.ID,
			PolicyName:   cmp.Or(oc.EscalationPolicy.Name, oc.EscalationPolicy.Summary),
			Level:        int(oc.EscalationLevel),
			Start:        start,
			End:          end,
		})
	}
	return out, nil
}

// parseTime reads an RFC 3339 timestamp; "" (PagerDuty's null) is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parsing %q: %w", s, err)
	}
	return t, nil
}

// Shift is one entry of a schedule's rendered final schedule: who is on call from Start to End.
type Shift struct {
	UserID, UserName string
	Start, End       time.Time // End zero = open-ended
}

// ShiftsFromAPI converts a schedule's rendered entries (final_schedule.rendered_schedule_entries,
// fetched with since/until and overflow=true so shifts are not cut at the range bounds).
func ShiftsFromAPI(in []pagerduty.RenderedScheduleEntry) ([]Shift, error) {
	out := make([]Shift, 0, len(in))
	for i, r := range in {
		start, err := parseTime(r.Start)
		if err != nil {
			return nil, fmt.Errorf("schedule entry %d: start: %w", i, err)
		}
		end, err := parseTime(r.End)
		if err != nil {
			return nil, fmt.Errorf("schedule entry %d: end: %w", i, err)
		}
		out = append(out, Shift{UserID: r.User.ID, UserName: r.User.Summary, Start: start, End: end})
	}
	return out, nil
}

// ScheduleInfo is what the schedule list and view show about a schedule.
type ScheduleInfo struct {
	ID, Name, Description, TimeZone, HTMLURL string
	// Members are the schedule's users (all layers), for the override forms: the person whose
	// shifts are handed over may be any member, not only whoever is on call now.
	Members []Person
}

// Person is a PagerDuty user reference.
type Person struct{ ID, Name string }

// ScheduleFromAPI converts a schedule as GET /schedules or /schedules/{id} returns it.
func ScheduleFromAPI(s pagerduty.Schedule) ScheduleInfo {
	info := ScheduleInfo{
		ID: s.ID, Name: cmp.Or(s.Name, s.Summary), Description: s.Description,
		TimeZone: s.TimeZone, HTMLURL: s.HTMLURL,
	}
	seen := map[string]bool{}
	add := func(o pagerduty.APIObject) {
		if o.ID != "" && !seen[o.ID] {
			seen[o.ID] = true
			info.Members = append(info.Members, Person{ID: o.ID, Name: o.Summary})
		}
	}
	for _, u := range s.Users {
		add(u)
	}
	for _, l := range s.ScheduleLayers {
		for _, u := range l.Users {
			add(u.User)
		}
	}
	return info
}
