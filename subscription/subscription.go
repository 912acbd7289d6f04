// Package subscription is the channel-subscription model for PagerDuty notifications: what a
// channel asked for (event types, services, teams, urgency, priorities, schedules), parsing the
// `/pagerduty subscribe` arguments, matching events, and storing subscriptions and per-incident
// post references in the Apps KV store (no list, no compare-and-set, 8 KB values).
//
// It imports neither the Apps framework nor the webhook package: the webhook router and, later,
// the on-call monitor both describe what happened as an Event and ask which subscriptions match.
package subscription

import (
	"slices"
	"strings"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
)

// EventOnCallChange is the app's own event kind, emitted by its on-call monitor (not by
// PagerDuty) when who is on call for a schedule changes. It is filtered by ScheduleIDs.
const EventOnCallChange = "oncall.change"

// Urgencies PagerDuty knows.
const (
	UrgencyHigh = "high"
	UrgencyLow  = "low"
)

// Subscription is one filter set of one channel. Every non-empty filter must match (AND);
// within a filter any listed value matches (OR); an empty filter matches everything, except
// Events, where empty means every `incident.*` event (see Matches).
type Subscription struct {
	ID          string    `json:"id"`
	ChannelID   string    `json:"ch,omitempty"` // not stored: the channel document's key says it
	Events      []string  `json:"ev,omitempty"`
	ServiceIDs  []string  `json:"sv,omitempty"`
	TeamIDs     []string  `json:"tm,omitempty"`
	Priorities  []string  `json:"pr,omitempty"` // priority names as PagerDuty shows them ("P1")
	ScheduleIDs []string  `json:"sc,omitempty"`
	Urgency     string    `json:"ur,omitempty"` // "", high or low
	CreatedBy   string    `json:"by,omitempty"` // Mattermost user id
	CreatedAt   time.Time `json:"at"`
}

// Event is what a subscription filters on, whatever produced it: a PagerDuty webhook event
// (webhook.Event.Match) or the on-call monitor. Fields that do not apply stay empty; a filter on
// a field the event does not have does not match (a --service subscription gets no on-call
// changes).
type Event struct {
	Type        string // "incident.acknowledged", "service.updated", "oncall.change"
	ServiceID   string
	TeamIDs     []string
	Urgency     string
	Priority    string // priority name ("P1"); "" when none
	ScheduleIDs []string
}

// Matches reports whether ev is one the subscription asked for.
//
// An empty Events list means "every incident.* event", not every event: a bare
// `/pagerduty subscribe` is what people type to get incident notifications, and should not start
// posting service edits or (later) every on-call hand-over in the account. Those are opted into
// by naming them.
func Matches(s Subscription, ev Event) bool {
	if len(s.Events) == 0 {
		if !strings.HasPrefix(ev.Type, "incident.") {
			return false
		}
	} else if !slices.Contains(s.Events, ev.Type) {
		return false
	}
	if len(s.ServiceIDs) > 0 && (ev.ServiceID == "" || !slices.Contains(s.ServiceIDs, ev.ServiceID)) {
		return false
	}
	if len(s.TeamIDs) > 0 && !intersects(s.TeamIDs, ev.TeamIDs) {
		return false
	}
	if s.Urgency != "" && !strings.EqualFold(s.Urgency, ev.Urgency) {
		return false
	}
	if len(s.Priorities) > 0 && (ev.Priority == "" || !slices.ContainsFunc(s.Priorities, func(p string) bool { return strings.EqualFold(p, ev.Priority) })) {
		return false
	}
	if len(s.ScheduleIDs) > 0 && !intersects(s.ScheduleIDs, ev.ScheduleIDs) {
		return false
	}
	return true
}

func intersects(want, have []string) bool {
	for _, h := range have {
		if slices.Contains(want, h) {
			return true
		}
	}
	return false
}

// sameFilters reports whether two subscriptions ask for the same thing (order-insensitive), so
// subscribing twice with the same arguments is refused instead of doubling every post's cost.
func sameFilters(a, b Subscription) bool {
	return sameSet(a.Events, b.Events) && sameSet(a.ServiceIDs, b.ServiceIDs) && sameSet(a.TeamIDs, b.TeamIDs) &&
		sameSet(a.Priorities, b.Priorities) && sameSet(a.ScheduleIDs, b.ScheduleIDs) && a.Urgency == b.Urgency
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// Describe is a one-line markdown summary for `/pagerduty list`: "`k3x9qa` incident.triggered,
// incident.resolved · services PX1 · urgency high". Values are escaped (they were validated
// against PagerDuty's lists, but the ids still come from outside).
func (s Subscription) Describe() string {
	return "`" + strings.ReplaceAll(s.ID, "`", "") + "` " + s.filters(mdsafe.Inline)
}

// DescribePlain is Describe without markdown, for select options (shown as plain text):
// "k3x9qa: incident.triggered, incident.resolved · services PX1 · urgency high".
func (s Subscription) DescribePlain() string {
	return s.ID + ": " + s.filters(func(v string) string { return v })
}

// filters is the events and filters part of the descriptions, each list of values passed
// through value.
func (s Subscription) filters(value func(string) string) string {
	var b strings.Builder
	if len(s.Events) == 0 {
		b.WriteString("all incident events")
	} else {
		b.WriteString(value(strings.Join(s.Events, ", ")))
	}
	part := func(name string, vals []string) {
		if len(vals) > 0 {
			b.WriteString(" · ")
			b.WriteString(name)
			b.WriteString(" ")
			b.WriteString(value(strings.Join(vals, ", ")))
		}
	}
	part("services", s.ServiceIDs)
	part("teams", s.TeamIDs)
	if s.Urgency != "" {
		part("urgency", []string{s.Urgency})
	}
	part("priorities", s.Priorities)
	part("schedules", s.ScheduleIDs)
	return b.String()
}
