package forms

import (
	"fmt"
	"strings"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/incident"
	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
)

// Limits of the incident view: the latest notes and a short timeline, not the whole log.
const (
	MaxViewNotes       = 5
	MaxViewTimeline    = 10
	maxNoteRunes       = 500
	maxTimelineRunes   = 200
	maxDescriptionView = 2000
)

// IncidentNote is a note on an incident. Author and Content are untrusted PagerDuty text.
type IncidentNote struct {
	Author  string
	Content string
	At      time.Time
}

// TimelineEntry is one log entry. Summary and Agent are untrusted PagerDuty text.
type TimelineEntry struct {
	At      time.Time
	Summary string
	Agent   string
}

// IncidentDetail is everything the incident view shows.
type IncidentDetail struct {
	Incident incident.Incident
	Level    int            // current escalation level, 0 when unknown or directly assigned
	Notes    []IncidentNote // newest first
	Timeline []TimelineEntry
	Now      time.Time
}

// IncidentView is the full view: the shared incident card (incident.Card, so the view and the
// posted cards never disagree), then the escalation level, the description, the latest notes,
// a short timeline and links to PagerDuty.
func IncidentView(d IncidentDetail) string {
	inc := d.Incident
	description := strings.TrimSpace(inc.Description)
	// The card would put the description right after its facts; the view adds the level first.
	inc.Description = ""
	card := incident.Card(inc, d.Now)

	var b strings.Builder
	b.WriteString("#### " + card.Title + "\n")
	b.WriteString(card.Body + "\n")
	if d.Level > 0 && inc.Status != incident.StatusResolved {
		fmt.Fprintf(&b, "**Escalation level:** %d\n", d.Level)
	}
	var links []string
	if u, ok := mdsafe.SafeURL(inc.HTMLURL); ok {
		links = append(links, "[Open in PagerDuty]("+u+")")
	}
	if u, ok := mdsafe.SafeURL(inc.ConferenceURL); ok {
		links = append(links, "[Conference bridge]("+u+")")
	}
	if len(links) > 0 {
		b.WriteString("**Links:** " + strings.Join(links, " · ") + "\n")
	}
	b.WriteString("**ID:** " + mdsafe.Code(inc.ID) + "\n")
	if description != "" {
		b.WriteString("\n**Description**\n")
		b.WriteString(mdsafe.Block(mdsafe.Truncate(description, maxDescriptionView)) + "\n")
	}

	b.WriteString("\n**Latest notes**\n")
	if len(d.Notes) == 0 {
		b.WriteString("No notes yet.\n")
	}
	for i, n := range d.Notes {
		if i == MaxViewNotes {
			fmt.Fprintf(&b, "- …and %d older notes in PagerDuty\n", len(d.Notes)-MaxViewNotes)
			break
		}
		// Inline: a note's line breaks must not break the list (or start markdown blocks).
		fmt.Fprintf(&b, "- **%s** · %s: %s\n", incidentPerson(n.Author), incident.Age(d.Now.Sub(n.At)), mdsafe.InlineMax(n.Content, maxNoteRunes))
	}

	b.WriteString("\n**Timeline**\n")
	if len(d.Timeline) == 0 {
		b.WriteString("No log entries.\n")
	}
	for i, e := range d.Timeline {
		if i == MaxViewTimeline {
			break
		}
		line := "- " + incident.Age(d.Now.Sub(e.At)) + " · " + mdsafe.InlineMax(e.Summary, maxTimelineRunes)
		if e.Agent != "" {
			line += " · " + incidentPerson(e.Agent)
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

func incidentPerson(s string) string {
	if strings.TrimSpace(s) == "" {
		return "someone"
	}
	return mdsafe.InlineMax(s, incident.MaxNameRunes)
}
