package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/incident"
	"github.com/mattermost/mattermost-app-pagerduty/subscription"
)

// Event types of PagerDuty V3 webhooks, as listed in docs/webhooks/01-Overview.md "Event
// Types". The incident.* ones that change the incident carry the whole incident in data.
const (
	IncidentAcknowledged          = "incident.acknowledged"
	IncidentAnnotated             = "incident.annotated"
	IncidentConferenceBridge      = "incident.conference_bridge.updated"
	IncidentCustomFieldValues     = "incident.custom_field_values.updated"
	IncidentDelegated             = "incident.delegated"
	IncidentEscalated             = "incident.escalated"
	IncidentTypeChanged           = "incident.incident_type.changed"
	IncidentPriorityUpdated       = "incident.priority_updated"
	IncidentReassigned            = "incident.reassigned"
	IncidentReopened              = "incident.reopened"
	IncidentResolved              = "incident.resolved"
	IncidentResponderAdded        = "incident.responder.added"
	IncidentResponderReplied      = "incident.responder.replied"
	IncidentRoleAssigned          = "incident.role.assigned"
	IncidentServiceUpdated        = "incident.service_updated"
	IncidentStatusUpdatePublished = "incident.status_update_published"
	IncidentTaskCompleted         = "incident.task.completed"
	IncidentTaskCreated           = "incident.task.created"
	IncidentTaskUpdated           = "incident.task.updated"
	IncidentTriggered             = "incident.triggered"
	IncidentUnacknowledged        = "incident.unacknowledged"
	IncidentActionCreated         = "incident.action_invocation.created"
	IncidentActionTerminated      = "incident.action_invocation.terminated"
	IncidentActionUpdated         = "incident.action_invocation.updated"
	IncidentWorkflowStarted       = "incident.workflow.started"
	IncidentWorkflowCompleted     = "incident.workflow.completed"
	ServiceCreated                = "service.created"
	ServiceCustomFieldValues      = "service.custom_field_values.updated"
	ServiceDeleted                = "service.deleted"
	ServiceUpdated                = "service.updated"
)

// EventTypes is the catalogue a channel can subscribe to: PagerDuty's documented V3 event types
// (most useful first) and the app's own subscription.EventOnCallChange. Event types PagerDuty
// adds later still decode and render as a generic line; they become subscribable by name once
// listed here. Callers must not modify it.
var EventTypes = []string{
	IncidentTriggered,
	IncidentAcknowledged,
	IncidentUnacknowledged,
	IncidentResolved,
	IncidentReopened,
	IncidentEscalated,
	IncidentReassigned,
	IncidentDelegated,
	IncidentPriorityUpdated,
	IncidentResponderAdded,
	IncidentResponderReplied,
	IncidentAnnotated,
	IncidentStatusUpdatePublished,
	IncidentServiceUpdated,
	IncidentTypeChanged,
	IncidentConferenceBridge,
	IncidentCustomFieldValues,
	IncidentRoleAssigned,
	IncidentTaskCreated,
	IncidentTaskUpdated,
	IncidentTaskCompleted,
	IncidentActionCreated,
	IncidentActionUpdated,
	IncidentActionTerminated,
	IncidentWorkflowStarted,
	IncidentWorkflowCompleted,
	ServiceCreated,
	ServiceUpdated,
	ServiceDeleted,
	ServiceCustomFieldValues,
	subscription.EventOnCallChange,
}

// ErrMalformedEvent wraps every Decode failure: the body is not a V3 webhook event.
var ErrMalformedEvent = errors.New("malformed PagerDuty webhook event")

// Event is one decoded V3 webhook event. All text in it is untrusted.
type Event struct {
	ID           string
	Type         string // event_type, e.g. incident.acknowledged
	ResourceType string // incident or service
	OccurredAt   time.Time
	Agent        *incident.Ref // who did it; nil for automation

	// Incident is the whole incident when data is one (data.type "incident": triggered,
	// acknowledged, resolved, ...); nil for events about part of an incident (a note, a
	// responder request, a status update, ...), which only reference it in IncidentRef.
	Incident *incident.Incident
	// IncidentRef is the incident the event is about (Summary = title when known); nil for
	// service events.
	IncidentRef *incident.Ref
	// Service and Teams are set from data when the event names them outside a full incident
	// (service.* events, incident workflow instances).
	Service *incident.Ref
	Teams   []incident.Ref

	// Data is event.data as received (note content, status update message, responder, ...), for
	// renderers that need more than the fields above.
	Data json.RawMessage
}

// IncidentID is the id of the incident the event is about, "" for non-incident events.
func (e Event) IncidentID() string {
	if e.IncidentRef != nil {
		return e.IncidentRef.ID
	}
	return ""
}

// Match describes the event for subscription filtering. For events without the whole incident
// only what the data itself says is filled; the router adds the incident's last known facts.
func (e Event) Match() subscription.Event {
	m := subscription.Event{Type: e.Type}
	switch {
	case e.Incident != nil:
		m.ServiceID = e.Incident.Service.ID
		m.TeamIDs = e.Incident.TeamIDs()
		m.Urgency = e.Incident.Urgency
		m.Priority = e.Incident.PriorityName()
	default:
		if e.Service != nil {
			m.ServiceID = e.Service.ID
		}
		for _, t := range e.Teams {
			m.TeamIDs = append(m.TeamIDs, t.ID)
		}
	}
	return m
}

type envelope struct {
	Event *struct {
		ID           string          `json:"id"`
		EventType    string          `json:"event_type"`
		ResourceType string          `json:"resource_type"`
		OccurredAt   string          `json:"occurred_at"`
		Agent        *incident.Ref   `json:"agent"`
		Data         json.RawMessage `json:"data"`
	} `json:"event"`
}

// eventData reads event.data in one pass, whatever its data.type: the incident's fields (when
// it is one) and the references that locate other kinds of data. The embedded incident's id,
// type, html_url, service and teams double as those of a service.
type eventData struct {
	incident.WebhookIncident
	Summary  string        `json:"summary"`
	Incident *incident.Ref `json:"incident"`
	// incident_role_assignment data has no top-level incident, only one per assignment.
	RoleAssignments []struct {
		Incident *incident.Ref `json:"incident"`
	} `json:"incident_role_assignments"`
}

// Decode parses a V3 webhook body ({"event": {...}}). It accepts PagerDuty's raw bytes and the
// Mattermost plugin's re-encoding of them (keys reordered, `<>&` escaped as \u003c etc.), since
// it only depends on JSON values. Unknown event types decode like any other; the id, type and
// occurred_at are required because dedupe and ordering depend on them.
func Decode(body []byte) (Event, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrMalformedEvent, err)
	}
	in := env.Event
	switch {
	case in == nil:
		return Event{}, fmt.Errorf("%w: no event object", ErrMalformedEvent)
	case in.ID == "":
		return Event{}, fmt.Errorf("%w: no event id", ErrMalformedEvent)
	case in.EventType == "":
		return Event{}, fmt.Errorf("%w: no event_type (event %s)", ErrMalformedEvent, in.ID)
	}
	occurred, err := time.Parse(time.RFC3339Nano, in.OccurredAt)
	if err != nil {
		return Event{}, fmt.Errorf("%w: occurred_at of event %s: %w", ErrMalformedEvent, in.ID, err)
	}
	ev := Event{
		ID:           in.ID,
		Type:         in.EventType,
		ResourceType: in.ResourceType,
		OccurredAt:   occurred,
		Data:         in.Data,
	}
	if in.Agent != nil && (in.Agent.ID != "" || in.Agent.Summary != "") {
		ev.Agent = in.Agent
	}
	data := bytes.TrimSpace(in.Data)
	if len(data) == 0 || data[0] != '{' {
		return ev, nil // null or missing data: nothing more to locate
	}
	var d eventData
	if err := json.Unmarshal(data, &d); err != nil {
		// Data that is not an incident may use an incident field name with another type (a
		// future "number" that is a string...): it must still route, by its references.
		var min struct {
			Type     string        `json:"type"`
			Incident *incident.Ref `json:"incident"`
			Service  *incident.Ref `json:"service"`
		}
		if json.Unmarshal(data, &min) != nil || min.Type == "incident" {
			return Event{}, fmt.Errorf("%w: data of event %s: %w", ErrMalformedEvent, in.ID, err)
		}
		d = eventData{Incident: min.Incident}
		d.Type, d.Service = min.Type, min.Service
	}
	switch {
	case d.Type == "incident":
		inc, err := d.WebhookIncident.Incident()
		if err != nil {
			return Event{}, fmt.Errorf("%w: event %s: %w", ErrMalformedEvent, in.ID, err)
		}
		ev.Incident = &inc
		ev.IncidentRef = &incident.Ref{ID: inc.ID, Summary: inc.Title, HTMLURL: inc.HTMLURL}
	case d.Incident != nil && d.Incident.ID != "":
		ev.IncidentRef = d.Incident
		ev.Service = d.Service
	case len(d.RoleAssignments) > 0 && d.RoleAssignments[0].Incident != nil:
		ev.IncidentRef = d.RoleAssignments[0].Incident
	case d.Type == "service":
		ev.Service = &incident.Ref{ID: d.ID, Summary: d.Summary, HTMLURL: d.HTMLURL}
		ev.Teams = d.Teams
	default:
		ev.Service = d.Service // service_field_values and future shapes
	}
	return ev, nil
}
