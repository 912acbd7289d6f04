package subscription

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
)

// Choice is one valid value of a filter: an id and PagerDuty's display name for it (untrusted).
type Choice struct {
	ID   string
	Name string
}

// Catalog is what the arguments are checked against. The app fills it from PagerDuty (services,
// teams, priorities, schedules) and from webhook.EventTypes. An empty list means nothing is
// valid for that filter: a subscription naming an id that cannot be checked is refused rather
// than stored unchecked.
type Catalog struct {
	EventTypes []string
	Services   []Choice
	Teams      []Choice
	Schedules  []Choice
	Priorities []string // names, as PagerDuty shows them ("P1")
}

// MaxListedChoices is how many valid values an error lists before "and N more".
const MaxListedChoices = 12

// ArgError is a refused `/pagerduty subscribe` argument. Its message names the field and lists
// the valid values (shortened when long); it is markdown-safe to show to the user as is.
type ArgError struct {
	Field string   // "event type", "service", "team", "urgency", "priority", "schedule", "option"
	Value string   // what the user typed
	Valid []string // valid values, already formatted ("PX1 (API)") but not escaped
	Msg   string   // the reason when it is not "unknown value"
}

func (e *ArgError) Error() string {
	var b strings.Builder
	if e.Msg != "" {
		b.WriteString(e.Msg)
	} else {
		fmt.Fprintf(&b, "unknown %s %q", e.Field, e.Value)
	}
	if len(e.Valid) == 0 {
		if e.Msg == "" {
			fmt.Fprintf(&b, "; no %s are available", plural(e.Field))
		}
		return mdsafe.Inline(b.String())
	}
	b.WriteString("; valid ")
	b.WriteString(plural(e.Field))
	b.WriteString(": ")
	shown := e.Valid
	if len(shown) > MaxListedChoices {
		shown = shown[:MaxListedChoices]
	}
	b.WriteString(strings.Join(shown, ", "))
	if n := len(e.Valid) - len(shown); n > 0 {
		fmt.Fprintf(&b, " and %d more", n)
	}
	return mdsafe.Inline(b.String())
}

func plural(field string) string {
	switch field {
	case "priority":
		return "priorities"
	case "urgency":
		return "urgencies"
	}
	return field + "s"
}

// flagField maps each accepted option (singular and plural) to the field it fills.
var flagField = map[string]string{
	"event": "event type", "events": "event type",
	"service": "service", "services": "service",
	"team": "team", "teams": "team",
	"urgency":  "urgency",
	"priority": "priority", "priorities": "priority",
	"schedule": "schedule", "schedules": "schedule",
}

var validFlags = []string{"--service", "--team", "--urgency", "--priority", "--schedule", "--event"}

// ParseArgs parses `[events…] [--service ID…] [--team ID…] [--urgency high|low] [--priority P1…]
// [--schedule ID…]` into a Subscription (no ID, channel or author yet). Values may also be
// comma-separated or given as --flag=value. Event types may drop the "incident." prefix
// ("acknowledged"). Ids and priority names match case-insensitively and are stored in the
// catalogue's spelling. Every value is checked against valid; the first bad one is returned as
// an *ArgError.
func ParseArgs(args []string, valid Catalog) (Subscription, error) {
	var sub Subscription
	field := "event type" // leading words are event types
	current, count := "", 0
	for _, arg := range args {
		arg = strings.TrimSpace(arg)
		if arg == "" {
			continue
		}
		if strings.HasPrefix(arg, "-") {
			name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
			f, ok := flagField[strings.ToLower(name)]
			if !ok {
				return Subscription{}, &ArgError{Field: "option", Value: arg, Valid: validFlags,
					Msg: fmt.Sprintf("unknown option %q", arg)}
			}
			if current != "" && count == 0 {
				return Subscription{}, &ArgError{Field: field, Msg: current + " needs a value", Valid: validValues(field, valid)}
			}
			field, current, count = f, "--"+strings.ToLower(name), 0
			if !hasValue {
				continue
			}
			arg = value
		}
		for _, v := range strings.Split(arg, ",") {
			if v = strings.TrimSpace(v); v == "" {
				continue
			}
			if err := addValue(&sub, field, v, valid); err != nil {
				return Subscription{}, err
			}
			count++
		}
	}
	if current != "" && count == 0 {
		return Subscription{}, &ArgError{Field: field, Msg: current + " needs a value", Valid: validValues(field, valid)}
	}
	return sub, nil
}

func addValue(sub *Subscription, field, v string, valid Catalog) error {
	switch field {
	case "event type":
		canon, ok := lookupEvent(v, valid.EventTypes)
		if !ok {
			return &ArgError{Field: field, Value: v, Valid: valid.EventTypes}
		}
		sub.Events = appendUnique(sub.Events, canon)
	case "service":
		id, err := lookupChoice(field, v, valid.Services)
		if err != nil {
			return err
		}
		sub.ServiceIDs = appendUnique(sub.ServiceIDs, id)
	case "team":
		id, err := lookupChoice(field, v, valid.Teams)
		if err != nil {
			return err
		}
		sub.TeamIDs = appendUnique(sub.TeamIDs, id)
	case "schedule":
		id, err := lookupChoice(field, v, valid.Schedules)
		if err != nil {
			return err
		}
		sub.ScheduleIDs = appendUnique(sub.ScheduleIDs, id)
	case "priority":
		i := slices.IndexFunc(valid.Priorities, func(p string) bool { return strings.EqualFold(p, v) })
		if i < 0 {
			return &ArgError{Field: field, Value: v, Valid: valid.Priorities}
		}
		sub.Priorities = appendUnique(sub.Priorities, valid.Priorities[i])
	case "urgency":
		u := strings.ToLower(v)
		if u != UrgencyHigh && u != UrgencyLow {
			return &ArgError{Field: field, Value: v, Valid: []string{UrgencyHigh, UrgencyLow}}
		}
		if sub.Urgency != "" && sub.Urgency != u {
			return &ArgError{Field: field, Value: v, Valid: []string{UrgencyHigh, UrgencyLow},
				Msg: "--urgency takes one value"}
		}
		sub.Urgency = u
	}
	return nil
}

// validValues lists a field's valid values as errors show them.
func validValues(field string, valid Catalog) []string {
	switch field {
	case "event type":
		return valid.EventTypes
	case "service":
		return choiceList(valid.Services)
	case "team":
		return choiceList(valid.Teams)
	case "schedule":
		return choiceList(valid.Schedules)
	case "priority":
		return valid.Priorities
	case "urgency":
		return []string{UrgencyHigh, UrgencyLow}
	}
	return nil
}

func choiceList(valid []Choice) []string {
	listed := make([]string, len(valid))
	for i, c := range valid {
		if c.Name != "" {
			listed[i] = c.ID + " (" + mdsafe.Truncate(c.Name, 40) + ")"
		} else {
			listed[i] = c.ID
		}
	}
	return listed
}

func lookupEvent(v string, valid []string) (string, bool) {
	v = strings.ToLower(v)
	if slices.Contains(valid, v) {
		return v, true
	}
	if slices.Contains(valid, "incident."+v) {
		return "incident." + v, true
	}
	return "", false
}

func lookupChoice(field, v string, valid []Choice) (string, error) {
	for _, c := range valid {
		if strings.EqualFold(c.ID, v) {
			return c.ID, nil
		}
	}
	return "", &ArgError{Field: field, Value: v, Valid: choiceList(valid)}
}

func appendUnique(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}
