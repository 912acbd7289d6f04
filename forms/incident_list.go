package forms

import (
	"fmt"
	"strings"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/incident"
	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
)

// MaxIncidentLines bounds the list so the message stays far below Mattermost's post limit
// (16 383 runes) however many incidents PagerDuty returns: every page is read (for the count and
// the order), the rest is summarised.
const MaxIncidentLines = 40

// ListFilter is one filter the list was asked with, shown in its header. Value is untrusted
// (a service or team name from PagerDuty) and is escaped here.
type ListFilter struct {
	Name  string
	Value string
}

// IncidentListView is the open-incident list as the acting user asked for it.
type IncidentListView struct {
	Incidents []incident.Incident // newest first
	Filters   []ListFilter
	Statuses  []string // the statuses listed (triggered, acknowledged)
	Now       time.Time
}

// IncidentList renders one line per incident: number and title (linked), status, urgency,
// priority, service, assignees and age.
func IncidentList(v IncidentListView) string {
	var b strings.Builder
	what := "Open incidents"
	if len(v.Statuses) == 1 {
		what = statusLabel(v.Statuses[0]) + " incidents"
	}
	fmt.Fprintf(&b, "#### %s (%d)\n", what, len(v.Incidents))
	if len(v.Filters) > 0 {
		parts := make([]string, 0, len(v.Filters))
		for _, f := range v.Filters {
			if f.Value == "" {
				parts = append(parts, f.Name)
				continue
			}
			parts = append(parts, f.Name+" **"+mdsafe.InlineMax(f.Value, incident.MaxNameRunes)+"**")
		}
		b.WriteString("Filtered by " + strings.Join(parts, ", ") + ".\n")
	}
	if len(v.Incidents) == 0 {
		b.WriteString("No incidents match. :tada:\n")
		return b.String()
	}
	b.WriteString("\n")
	for i, inc := range v.Incidents {
		if i == MaxIncidentLines {
			fmt.Fprintf(&b, "\n…and %d more. Narrow the list with filters, for example `/pagerduty incidents mine --urgency high`.\n", len(v.Incidents)-MaxIncidentLines)
			break
		}
		b.WriteString("- " + IncidentLine(inc, v.Now) + "\n")
	}
	b.WriteString("\nAct on one with `/pagerduty incident ID` (the ID is the last part of its link).\n")
	return b.String()
}

// IncidentLine is one incident on one line; every PagerDuty text in it is escaped.
func IncidentLine(inc incident.Incident, now time.Time) string {
	parts := []string{
		incident.StatusEmoji(inc.Status) + " " + incident.TitleLink(inc),
		"**" + statusLabel(inc.Status) + "**",
	}
	if inc.Urgency != "" {
		parts = append(parts, statusLabel(inc.Urgency)+" urgency")
	}
	if p := inc.PriorityName(); p != "" {
		parts = append(parts, mdsafe.InlineMax(p, incident.MaxNameRunes))
	}
	if inc.Service.ID != "" || inc.Service.Summary != "" {
		parts = append(parts, incident.RefNames([]incident.Ref{inc.Service}))
	}
	if len(inc.Assignees) > 0 {
		parts = append(parts, incident.RefNames(inc.Assignees))
	} else if inc.Status != incident.StatusResolved {
		parts = append(parts, "unassigned")
	}
	if !inc.CreatedAt.IsZero() {
		parts = append(parts, "opened "+incident.Age(now.Sub(inc.CreatedAt)))
	}
	// The card's ID is what every action takes; showing it saves a click to PagerDuty.
	parts = append(parts, mdsafe.Code(inc.ID))
	return strings.Join(parts, " · ")
}

// statusLabel capitalises a PagerDuty keyword; anything unexpected is escaped untrusted text.
func statusLabel(s string) string {
	switch s {
	case incident.StatusTriggered:
		return "Triggered"
	case incident.StatusAcknowledged:
		return "Acknowledged"
	case incident.StatusResolved:
		return "Resolved"
	case "high":
		return "High"
	case "low":
		return "Low"
	case "":
		return "Unknown"
	}
	return mdsafe.InlineMax(s, incident.MaxNameRunes)
}
