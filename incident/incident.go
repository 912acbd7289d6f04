// Package incident is the domain view of a PagerDuty incident, shared by every renderer and by
// both ways an incident reaches the app (a V3 webhook's event data, a REST API read). It knows
// nothing about Mattermost Apps: a second front door reuses it as is.
package incident

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/PagerDuty/go-pagerduty"
)

// Statuses PagerDuty uses for an incident.
const (
	StatusTriggered    = "triggered"
	StatusAcknowledged = "acknowledged"
	StatusResolved     = "resolved"
)

// Ref is a PagerDuty resource reference (user, service, team, priority, escalation policy...).
// Summary is PagerDuty's display name and is untrusted text.
type Ref struct {
	ID      string `json:"id,omitempty"`
	Summary string `json:"summary,omitempty"`
	HTMLURL string `json:"html_url,omitempty"`
}

// Incident is what the app shows about an incident. Every string except ID is untrusted text
// from PagerDuty and must go through mdsafe before it reaches markdown.
type Incident struct {
	ID               string
	Number           int
	Title            string
	Status           string // triggered, acknowledged, resolved
	Urgency          string // high, low
	HTMLURL          string
	IncidentKey      string
	Priority         *Ref // nil when the account has no priorities or none is set
	Service          Ref
	EscalationPolicy Ref
	Teams            []Ref
	Assignees        []Ref
	CreatedAt        time.Time
	UpdatedAt        time.Time // zero when the source does not say
	ResolvedAt       time.Time // zero unless resolved and the source says when
	Description      string
	IncidentType     string // the incident type's name, when the account uses types
	ConferenceURL    string
}

// PriorityName is the priority's display name ("P1"), or "" when none is set.
func (i Incident) PriorityName() string {
	if i.Priority == nil {
		return ""
	}
	return i.Priority.Summary
}

// TeamIDs returns the ids of the incident's teams.
func (i Incident) TeamIDs() []string {
	if len(i.Teams) == 0 {
		return nil
	}
	ids := make([]string, len(i.Teams))
	for k, t := range i.Teams {
		ids[k] = t.ID
	}
	return ids
}

// WebhookIncident is the wire form of the `incident` object in a V3 webhook event's data
// (data.type == "incident"), as documented in docs/webhooks/01-Overview.md "Event Data Types".
// It is exported so a decoder can embed it and read event data in one pass; use Incident to
// convert it.
type WebhookIncident struct {
	ID               string      `json:"id"`
	Type             string      `json:"type"`
	HTMLURL          string      `json:"html_url"`
	Number           json.Number `json:"number"`
	Status           string      `json:"status"`
	IncidentKey      string      `json:"incident_key"`
	CreatedAt        string      `json:"created_at"`
	UpdatedAt        string      `json:"updated_at"`
	ResolvedAt       string      `json:"resolved_at"`
	Title            string      `json:"title"`
	Description      string      `json:"description"`
	Urgency          string      `json:"urgency"`
	Service          *Ref        `json:"service"`
	EscalationPolicy *Ref        `json:"escalation_policy"`
	Assignees        []Ref       `json:"assignees"`
	Teams            []Ref       `json:"teams"`
	Priority         *Ref        `json:"priority"`
	IncidentType     *struct {
		Name string `json:"name"`
	} `json:"incident_type"`
	ConferenceBridge *struct {
		ConferenceURL string `json:"conference_url"`
	} `json:"conference_bridge"`
}

// FromWebhook builds an Incident from a V3 webhook event's `data` when data.type is
// "incident". It accepts PagerDuty's raw bytes and the Mattermost plugin's re-encoded JSON
// (keys reordered, numbers re-printed, `<>&` escaped) alike.
func FromWebhook(data []byte) (Incident, error) {
	var w WebhookIncident
	if err := json.Unmarshal(data, &w); err != nil {
		return Incident{}, fmt.Errorf("decoding webhook incident: %w", err)
	}
	return w.Incident()
}

// Incident converts the wire form, checking what FromWebhook promises.
func (w *WebhookIncident) Incident() (Incident, error) {
	if w.Type != "" && w.Type != "incident" {
		return Incident{}, fmt.Errorf("decoding webhook incident: data.type is %q, not incident", w.Type)
	}
	if w.ID == "" {
		return Incident{}, fmt.Errorf("decoding webhook incident: no id")
	}
	inc := Incident{
		ID:          w.ID,
		Title:       w.Title,
		Status:      w.Status,
		Urgency:     w.Urgency,
		HTMLURL:     w.HTMLURL,
		IncidentKey: w.IncidentKey,
		Priority:    w.Priority,
		Teams:       w.Teams,
		Assignees:   w.Assignees,
		Description: w.Description,
	}
	if w.Number != "" {
		n, err := parseNumber(w.Number)
		if err != nil {
			return Incident{}, fmt.Errorf("decoding webhook incident %s: number: %w", w.ID, err)
		}
		inc.Number = n
	}
	if w.Service != nil {
		inc.Service = *w.Service
	}
	if w.EscalationPolicy != nil {
		inc.EscalationPolicy = *w.EscalationPolicy
	}
	if w.IncidentType != nil {
		inc.IncidentType = w.IncidentType.Name
	}
	if w.ConferenceBridge != nil {
		inc.ConferenceURL = w.ConferenceBridge.ConferenceURL
	}
	var err error
	if inc.CreatedAt, err = parseTime(w.CreatedAt); err != nil {
		return Incident{}, fmt.Errorf("decoding webhook incident %s: created_at: %w", w.ID, err)
	}
	if inc.UpdatedAt, err = parseTime(w.UpdatedAt); err != nil {
		return Incident{}, fmt.Errorf("decoding webhook incident %s: updated_at: %w", w.ID, err)
	}
	if inc.ResolvedAt, err = parseTime(w.ResolvedAt); err != nil {
		return Incident{}, fmt.Errorf("decoding webhook incident %s: resolved_at: %w", w.ID, err)
	}
	return inc, nil
}

// FromAPI converts the REST API's incident (go-pagerduty v1.8.0). Timestamps that do not parse
// are left zero rather than failing: a read for display should not break on one odd field.
func FromAPI(p *pagerduty.Incident) Incident {
	if p == nil {
		return Incident{}
	}
	inc := Incident{
		ID:               p.ID,
		Number:           int(p.IncidentNumber),
		Title:            p.Title,
		Status:           p.Status,
		Urgency:          p.Urgency,
		HTMLURL:          p.HTMLURL,
		IncidentKey:      p.IncidentKey,
		Service:          refFromAPI(p.Service),
		EscalationPolicy: refFromAPI(p.EscalationPolicy),
	}
	// The API repeats the title as the description when none was given.
	if p.Description != p.Title {
		inc.Description = p.Description
	}
	if p.Priority != nil && (p.Priority.ID != "" || p.Priority.Summary != "" || p.Priority.Name != "") {
		r := refFromAPI(p.Priority.APIObject)
		if r.Summary == "" {
			r.Summary = p.Priority.Name
		}
		inc.Priority = &r
	}
	for _, t := range p.Teams {
		inc.Teams = append(inc.Teams, refFromAPI(t))
	}
	for _, a := range p.Assignments {
		inc.Assignees = append(inc.Assignees, refFromAPI(a.Assignee))
	}
	if p.ConferenceBridge != nil {
		inc.ConferenceURL = p.ConferenceBridge.ConferenceURL
	}
	inc.CreatedAt, _ = parseTime(p.CreatedAt)
	inc.UpdatedAt, _ = parseTime(p.UpdatedAt)
	inc.ResolvedAt, _ = parseTime(p.ResolvedAt)
	return inc
}

func refFromAPI(o pagerduty.APIObject) Ref {
	return Ref{ID: o.ID, Summary: o.Summary, HTMLURL: o.HTMLURL}
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t, nil
}

// parseNumber accepts 42 and also 42.0 / 4.2e1, which a JSON round trip through float64 (the
// plugin's re-encoding) could produce for large values.
func parseNumber(n json.Number) (int, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return int(i), nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f != float64(int64(f)) {
		return 0, fmt.Errorf("not an integer: %q", string(n))
	}
	return int(f), nil
}
