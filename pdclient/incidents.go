package pdclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/PagerDuty/go-pagerduty"
)

// IncidentQuery filters GET /incidents. Without Since/Until PagerDuty looks
// at the last month only; AllDates lifts that (date_range=all).
type IncidentQuery struct {
	Statuses   []string // triggered, acknowledged, resolved
	ServiceIDs []string
	TeamIDs    []string
	UserIDs    []string
	Urgencies  []string // high, low
	SortBy     string   // e.g. "created_at:desc"
	Since      time.Time
	Until      time.Time
	AllDates   bool
}

// ListIncidents reads every page of matching incidents.
func (c *Client) ListIncidents(ctx context.Context, q IncidentQuery) ([]pagerduty.Incident, error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	dateRange := ""
	if q.AllDates {
		dateRange = "all"
	}
	all, err := paginate(ctx, 0, func(ctx context.Context, offset, limit int) ([]pagerduty.Incident, bool, error) {
		r, err := c.pd.ListIncidentsWithContext(ctx, pagerduty.ListIncidentsOptions{
			Limit: uint(limit), Offset: uint(offset),
			Statuses:   q.Statuses,
			ServiceIDs: q.ServiceIDs,
			TeamIDs:    q.TeamIDs,
			UserIDs:    q.UserIDs,
			Urgencies:  q.Urgencies,
			SortBy:     q.SortBy,
			Since:      pdTime(q.Since),
			Until:      pdTime(q.Until),
			DateRange:  dateRange,
		})
		if err != nil {
			return nil, false, err
		}
		return r.Incidents, r.More, nil
	})
	return all, fail(ctx, "listing PagerDuty incidents", err)
}

// GetIncident reads one incident.
func (c *Client) GetIncident(ctx context.Context, id string) (*pagerduty.Incident, error) {
	op := "getting PagerDuty incident " + id
	if err := c.readyFor(ctx, op, "incident", id); err != nil {
		return nil, err
	}
	inc, err := c.pd.GetIncidentWithContext(ctx, id)
	return inc, fail(ctx, op, err)
}

// IncidentUpdate holds the changes of one incident action; empty fields are
// not sent, so one PUT can acknowledge, reassign or re-prioritise.
type IncidentUpdate struct {
	Status             string // acknowledged, resolved
	Resolution         string // note added when resolving
	Title              string
	Urgency            string // high, low
	PriorityID         string
	EscalationLevel    int // > 0 to escalate to that level
	EscalationPolicyID string
	AssigneeIDs        []string // user IDs
}

type assignment struct {
	Assignee pagerduty.APIReference `json:"assignee"`
}

func assignments(ids []string) []assignment {
	var out []assignment
	for _, id := range ids {
		out = append(out, assignment{Assignee: pagerduty.APIReference{ID: id, Type: "user_reference"}})
	}
	return out
}

type incidentResponse struct {
	Incident pagerduty.Incident `json:"incident"`
}

// ManageIncident applies u to one incident with ONE PUT /incidents/{id}.
// go-pagerduty only has the bulk PUT /incidents and cannot set urgency.
func (c *Client) ManageIncident(ctx context.Context, from, id string, u IncidentUpdate) (*pagerduty.Incident, error) {
	op := "updating PagerDuty incident " + id
	if err := c.checkWrite(id, from); err != nil {
		return nil, fail(ctx, op, err)
	}
	if u.EscalationLevel < 0 {
		return nil, fail(ctx, op, errors.New("escalation level must be positive"))
	}
	type body struct {
		Type             string                  `json:"type"`
		Status           string                  `json:"status,omitempty"`
		Resolution       string                  `json:"resolution,omitempty"`
		Title            string                  `json:"title,omitempty"`
		Urgency          string                  `json:"urgency,omitempty"`
		Priority         *pagerduty.APIReference `json:"priority,omitempty"`
		EscalationLevel  int                     `json:"escalation_level,omitempty"`
		EscalationPolicy *pagerduty.APIReference `json:"escalation_policy,omitempty"`
		Assignments      []assignment            `json:"assignments,omitempty"`
	}
	b := body{
		Type:             "incident",
		Status:           u.Status,
		Resolution:       u.Resolution,
		Title:            u.Title,
		Urgency:          u.Urgency,
		Priority:         ref(u.PriorityID, "priority_reference"),
		EscalationLevel:  u.EscalationLevel,
		EscalationPolicy: ref(u.EscalationPolicyID, "escalation_policy_reference"),
		Assignments:      assignments(u.AssigneeIDs),
	}
	if u.Status == "" && u.Resolution == "" && u.Title == "" && u.Urgency == "" && u.PriorityID == "" &&
		u.EscalationLevel == 0 && u.EscalationPolicyID == "" && len(u.AssigneeIDs) == 0 {
		return nil, fail(ctx, op, errors.New("nothing to change"))
	}
	var reply incidentResponse
	err := c.do(ctx, http.MethodPut, "/incidents/"+id, nil, from, map[string]any{"incident": b}, &reply)
	if err != nil {
		return nil, fail(ctx, op, err)
	}
	return &reply.Incident, nil
}

// NewIncident is an incident to create by hand.
type NewIncident struct {
	Title              string // required
	ServiceID          string // required
	Urgency            string // high, low; "" for the service's rule
	PriorityID         string
	Body               string // details shown on the incident
	EscalationPolicyID string // either this or AssigneeIDs, not both
	AssigneeIDs        []string
	IncidentKey        string // de-duplication key
}

// CreateIncident creates an incident. Our own JSON: go-pagerduty's
// CreateIncidentOptions sends "priority": null when no priority is chosen.
func (c *Client) CreateIncident(ctx context.Context, from string, n NewIncident) (*pagerduty.Incident, error) {
	const op = "creating a PagerDuty incident"
	if err := c.checkFrom(from); err != nil {
		return nil, fail(ctx, op, err)
	}
	switch {
	case n.Title == "":
		return nil, fail(ctx, op, errors.New("a title is required"))
	case n.ServiceID == "":
		return nil, fail(ctx, op, errors.New("a service is required"))
	case n.EscalationPolicyID != "" && len(n.AssigneeIDs) > 0:
		return nil, fail(ctx, op, errors.New("choose an escalation policy or assignees, not both"))
	}
	type incidentBody struct {
		Type    string `json:"type"`
		Details string `json:"details"`
	}
	type body struct {
		Type             string                  `json:"type"`
		Title            string                  `json:"title"`
		Service          *pagerduty.APIReference `json:"service"`
		Urgency          string                  `json:"urgency,omitempty"`
		Priority         *pagerduty.APIReference `json:"priority,omitempty"`
		Body             *incidentBody           `json:"body,omitempty"`
		EscalationPolicy *pagerduty.APIReference `json:"escalation_policy,omitempty"`
		Assignments      []assignment            `json:"assignments,omitempty"`
		IncidentKey      string                  `json:"incident_key,omitempty"`
	}
	b := body{
		Type:             "incident",
		Title:            n.Title,
		Service:          ref(n.ServiceID, "service_reference"),
		Urgency:          n.Urgency,
		Priority:         ref(n.PriorityID, "priority_reference"),
		EscalationPolicy: ref(n.EscalationPolicyID, "escalation_policy_reference"),
		Assignments:      assignments(n.AssigneeIDs),
		IncidentKey:      n.IncidentKey,
	}
	if n.Body != "" {
		b.Body = &incidentBody{Type: "incident_body", Details: n.Body}
	}
	var reply incidentResponse
	if err := c.do(ctx, http.MethodPost, "/incidents", nil, from, map[string]any{"incident": b}, &reply); err != nil {
		return nil, fail(ctx, op, err)
	}
	return &reply.Incident, nil
}

// ListNotes lists an incident's notes (one request; not paginated).
func (c *Client) ListNotes(ctx context.Context, id string) ([]pagerduty.IncidentNote, error) {
	op := "listing notes of PagerDuty incident " + id
	if err := c.readyFor(ctx, op, "incident", id); err != nil {
		return nil, err
	}
	notes, err := c.pd.ListIncidentNotesWithContext(ctx, id)
	return notes, fail(ctx, op, err)
}

// CreateNote adds a note as the acting user. Our own request: go-pagerduty
// takes From from note.User.Summary and would send that user object too.
func (c *Client) CreateNote(ctx context.Context, from, id, content string) (*pagerduty.IncidentNote, error) {
	op := "adding a note to PagerDuty incident " + id
	if err := c.checkWrite(id, from); err != nil {
		return nil, fail(ctx, op, err)
	}
	if content == "" {
		return nil, fail(ctx, op, errors.New("the note is empty"))
	}
	in := map[string]any{"note": map[string]string{"content": content}}
	var reply struct {
		Note pagerduty.IncidentNote `json:"note"`
	}
	if err := c.do(ctx, http.MethodPost, "/incidents/"+id+"/notes", nil, from, in, &reply); err != nil {
		return nil, fail(ctx, op, err)
	}
	return &reply.Note, nil
}

// ListLogEntries reads up to limit log entries of an incident, in
// PagerDuty's order, across pages (limit ≤ 0: all of them).
func (c *Client) ListLogEntries(ctx context.Context, id string, limit int) ([]pagerduty.LogEntry, error) {
	op := "listing log entries of PagerDuty incident " + id
	if err := c.readyFor(ctx, op, "incident", id); err != nil {
		return nil, err
	}
	all, err := paginate(ctx, limit, func(ctx context.Context, offset, limit int) ([]pagerduty.LogEntry, bool, error) {
		r, err := c.pd.ListIncidentLogEntriesWithContext(ctx, id, pagerduty.ListIncidentLogEntriesOptions{Limit: uint(limit), Offset: uint(offset)})
		if err != nil {
			return nil, false, err
		}
		return r.LogEntries, r.More, nil
	})
	return all, fail(ctx, op, err)
}

// Snooze snoozes an acknowledged incident. Our own request: go-pagerduty
// sends no From header, which API-key writes need.
func (c *Client) Snooze(ctx context.Context, from, id string, d time.Duration) (*pagerduty.Incident, error) {
	op := "snoozing PagerDuty incident " + id
	if err := c.checkWrite(id, from); err != nil {
		return nil, fail(ctx, op, err)
	}
	secs := int64(d / time.Second)
	if secs < 1 || secs > 7*24*3600 {
		return nil, fail(ctx, op, fmt.Errorf("snooze duration %v is outside 1 s to 7 days", d))
	}
	var reply incidentResponse
	if err := c.do(ctx, http.MethodPost, "/incidents/"+id+"/snooze", nil, from, map[string]int64{"duration": secs}, &reply); err != nil {
		return nil, fail(ctx, op, err)
	}
	return &reply.Incident, nil
}

// ResponderTarget is whom a responder request goes to.
type ResponderTarget struct {
	Type string // "user_reference" or "escalation_policy_reference"
	ID   string
}

// CreateResponderRequest asks users or escalation policies to join an
// incident; requesterID is the acting user's PagerDuty ID.
func (c *Client) CreateResponderRequest(ctx context.Context, from, id, requesterID, message string, targets []ResponderTarget) (*pagerduty.ResponderRequest, error) {
	op := "requesting responders for PagerDuty incident " + id
	if err := c.ready(); err != nil {
		return nil, err
	}
	if err := c.checkWrite(id, from); err != nil {
		return nil, fail(ctx, op, err)
	}
	if requesterID == "" || message == "" || len(targets) == 0 {
		return nil, fail(ctx, op, errors.New("a requester, a message and at least one target are required"))
	}
	o := pagerduty.ResponderRequestOptions{From: from, Message: message, RequesterID: requesterID}
	for _, t := range targets {
		if t.Type != "user_reference" && t.Type != "escalation_policy_reference" {
			return nil, fail(ctx, op, fmt.Errorf("unknown responder target type %q", t.Type))
		}
		if t.ID == "" {
			return nil, fail(ctx, op, errors.New("a responder target has no ID"))
		}
		o.Targets = append(o.Targets, pagerduty.ResponderRequestTargetWrapper{
			Target: pagerduty.ResponderRequestTarget{APIObject: pagerduty.APIObject{ID: t.ID, Type: t.Type}},
		})
	}
	r, err := c.pd.ResponderRequestWithContext(ctx, id, o)
	if err != nil {
		return nil, fail(ctx, op, err)
	}
	return &r.ResponderRequest, nil
}

// CreateStatusUpdate posts a status update to an incident's subscribers.
func (c *Client) CreateStatusUpdate(ctx context.Context, from, id, message string) (*pagerduty.IncidentStatusUpdate, error) {
	op := "posting a status update to PagerDuty incident " + id
	if err := c.ready(); err != nil {
		return nil, err
	}
	if err := c.checkWrite(id, from); err != nil {
		return nil, fail(ctx, op, err)
	}
	if message == "" {
		return nil, fail(ctx, op, errors.New("the status update is empty"))
	}
	u, err := c.pd.CreateIncidentStatusUpdate(ctx, id, from, message)
	if err != nil {
		return nil, fail(ctx, op, err)
	}
	return &u, nil
}
