package webhook

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/mattermost/mattermost-app-pagerduty/incident"
	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
)

// Limits for text quoted in thread lines.
const (
	MaxNoteRunes    = 2000 // notes and status updates: the point of the line, keep most of it
	MaxMessageRunes = 300  // responder request messages and the like
	maxRoles        = 5
	maxFields       = 5
)

// Line is the one thread line an event adds under its incident's card: "🟡 Acknowledged by
// Alice", "👤 Reassigned to Bob", "Priority changed to P1", a note's text... Event types without
// a dedicated line (including ones PagerDuty adds later) get a generic one. All PagerDuty text in
// it is escaped; notes and status updates may span several lines.
func Line(ev Event) string {
	var b strings.Builder
	inc := ev.Incident
	switch ev.Type {
	case IncidentTriggered:
		b.WriteString("🔴 Triggered")
		by(&b, ev)
	case IncidentAcknowledged:
		b.WriteString("🟡 Acknowledged")
		by(&b, ev)
	case IncidentUnacknowledged:
		b.WriteString("🔴 Unacknowledged")
		by(&b, ev)
	case IncidentResolved:
		b.WriteString("🟢 Resolved")
		by(&b, ev)
	case IncidentReopened:
		b.WriteString("🔴 Reopened")
		by(&b, ev)
	case IncidentEscalated:
		b.WriteString("⏫ Escalated")
		toAssignees(&b, inc)
		by(&b, ev)
	case IncidentReassigned:
		b.WriteString("👤 Reassigned")
		toAssignees(&b, inc)
		by(&b, ev)
	case IncidentDelegated:
		b.WriteString("↪️ Delegated")
		if inc != nil && inc.EscalationPolicy.Summary != "" {
			b.WriteString(" to escalation policy ")
			b.WriteString(incident.RefName(inc.EscalationPolicy))
		}
		by(&b, ev)
	case IncidentPriorityUpdated:
		if inc != nil && inc.PriorityName() == "" {
			b.WriteString("Priority removed")
		} else {
			b.WriteString("Priority changed")
			if inc != nil {
				b.WriteString(" to **")
				b.WriteString(mdsafe.InlineMax(inc.PriorityName(), incident.MaxNameRunes))
				b.WriteString("**")
			}
		}
		by(&b, ev)
	case IncidentTypeChanged:
		b.WriteString("Incident type changed")
		if inc != nil && inc.IncidentType != "" {
			b.WriteString(" to ")
			b.WriteString(mdsafe.InlineMax(inc.IncidentType, incident.MaxNameRunes))
		}
		by(&b, ev)
	case IncidentServiceUpdated:
		b.WriteString("Moved")
		if inc != nil && (inc.Service.Summary != "" || inc.Service.ID != "") {
			b.WriteString(" to service ")
			b.WriteString(incident.RefName(inc.Service))
		}
		by(&b, ev)
	case IncidentResponderAdded, IncidentResponderReplied:
		responderLine(&b, ev)
	case IncidentAnnotated:
		b.WriteString("📝 Note")
		by(&b, ev)
		quote(&b, ev.Data, "content")
	case IncidentStatusUpdatePublished:
		b.WriteString("📣 Status update")
		by(&b, ev)
		quote(&b, ev.Data, "message")
	case IncidentConferenceBridge:
		conferenceLine(&b, ev)
	case IncidentCustomFieldValues, ServiceCustomFieldValues:
		customFieldsLine(&b, ev)
	case IncidentRoleAssigned:
		roleLine(&b, ev)
	case IncidentTaskCreated, IncidentTaskUpdated, IncidentTaskCompleted:
		taskLine(&b, ev)
	case IncidentActionCreated, IncidentActionUpdated, IncidentActionTerminated:
		actionLine(&b, ev)
	case IncidentWorkflowStarted, IncidentWorkflowCompleted:
		workflowLine(&b, ev)
	case ServiceCreated, ServiceUpdated, ServiceDeleted:
		b.WriteString("🛠️ Service ")
		if ev.Service != nil {
			b.WriteString(incident.RefName(*ev.Service))
			b.WriteString(" ")
		}
		b.WriteString(strings.TrimPrefix(ev.Type, "service."))
		by(&b, ev)
	default:
		b.WriteString("ℹ️ ")
		b.WriteString(mdsafe.InlineMax(ev.Type, 100))
		by(&b, ev)
	}
	return b.String()
}

// StandaloneLine is Line for a channel that has no card for the incident (the event does not
// carry the incident, or is not about one): it names the incident, linked, before the line.
func StandaloneLine(ev Event) string {
	line := Line(ev)
	switch {
	case ev.Incident != nil:
		return incident.TitleLink(*ev.Incident) + " · " + line
	case ev.IncidentRef != nil:
		return incident.RefLink(*ev.IncidentRef) + " · " + line
	default:
		return line
	}
}

// toAssignees appends " to " and whom the incident is now assigned to, when the event says.
func toAssignees(b *strings.Builder, inc *incident.Incident) {
	if inc != nil && len(inc.Assignees) > 0 {
		b.WriteString(" to ")
		b.WriteString(incident.RefNames(inc.Assignees))
	}
}

func by(b *strings.Builder, ev Event) {
	if ev.Agent == nil {
		return
	}
	b.WriteString(" by ")
	b.WriteString(incident.RefName(*ev.Agent))
}

// quote appends the data's text field (note content, status message) as escaped lines under the
// line's first line.
func quote(b *strings.Builder, data json.RawMessage, field string) {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return
	}
	var text string
	if json.Unmarshal(m[field], &text) != nil || strings.TrimSpace(text) == "" {
		return
	}
	b.WriteString(":\n")
	b.WriteString(mdsafe.Block(mdsafe.Truncate(strings.TrimSpace(text), MaxNoteRunes)))
}

func responderLine(b *strings.Builder, ev Event) {
	var d struct {
		User    *incident.Ref `json:"user"`
		Message string        `json:"message"`
		State   string        `json:"state"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	who := "a responder"
	if d.User != nil {
		who = incident.RefName(*d.User)
	}
	if ev.Type == IncidentResponderAdded {
		b.WriteString("🙋 ")
		b.WriteString(who)
		b.WriteString(" was asked to respond")
		by(b, ev)
		if m := strings.TrimSpace(d.Message); m != "" {
			b.WriteString(": “")
			b.WriteString(mdsafe.InlineMax(m, MaxMessageRunes))
			b.WriteString("”")
		}
		return
	}
	b.WriteString("🙋 ")
	b.WriteString(who)
	switch d.State {
	case "joined", "accepted":
		b.WriteString(" joined as a responder")
	case "declined":
		b.WriteString(" declined to respond")
	default:
		b.WriteString(" replied to the responder request")
		if d.State != "" {
			b.WriteString(" (")
			b.WriteString(mdsafe.InlineMax(d.State, 40))
			b.WriteString(")")
		}
	}
}

func conferenceLine(b *strings.Builder, ev Event) {
	var d struct {
		URL     string `json:"conference_url"`
		Numbers []struct {
			Label  string `json:"label"`
			Number string `json:"number"`
		} `json:"conference_numbers"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	b.WriteString("📞 Conference bridge updated")
	by(b, ev)
	sep := ": "
	if u, ok := mdsafe.SafeURL(d.URL); ok {
		b.WriteString(sep)
		b.WriteString(mdsafe.Link("join", u))
		sep = " · "
	}
	for i, n := range d.Numbers {
		if i == 3 || n.Number == "" {
			break
		}
		b.WriteString(sep)
		b.WriteString(mdsafe.InlineMax(n.Number, 60))
		sep = ", "
	}
}

func customFieldsLine(b *strings.Builder, ev Event) {
	type field struct {
		Name  string          `json:"name"`
		Value json.RawMessage `json:"value"`
	}
	var d struct {
		Fields  []field `json:"custom_fields"`
		Changed []field `json:"changed_custom_fields"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	b.WriteString("Custom fields updated")
	if ev.Type == ServiceCustomFieldValues && ev.Service != nil {
		b.WriteString(" on service ")
		b.WriteString(incident.RefName(*ev.Service))
	}
	by(b, ev)
	// The changed list names the fields; their current values are in custom_fields.
	for i, c := range d.Changed {
		if i == maxFields {
			b.WriteString(", …")
			break
		}
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString(", ")
		}
		value := c.Value
		for _, f := range d.Fields {
			if f.Name == c.Name {
				value = f.Value
			}
		}
		b.WriteString(mdsafe.InlineMax(c.Name, 60))
		b.WriteString(" = ")
		b.WriteString(mdsafe.InlineMax(jsonText(value), 100))
	}
}

// jsonText shows a JSON value compactly: strings without quotes, others as JSON.
func jsonText(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, v) != nil {
		return ""
	}
	return buf.String()
}

func roleLine(b *strings.Builder, ev Event) {
	var d struct {
		Assignments []struct {
			Assignee *incident.Ref `json:"assignee"`
			Role     *incident.Ref `json:"role"`
		} `json:"incident_role_assignments"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	b.WriteString("🎭 ")
	if len(d.Assignments) == 0 {
		b.WriteString("Incident roles changed")
		by(b, ev)
		return
	}
	for i, a := range d.Assignments {
		if i == maxRoles {
			b.WriteString("; …")
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		role := "A role"
		if a.Role != nil {
			role = "Role " + incident.RefName(*a.Role)
		}
		b.WriteString(role)
		if a.Assignee != nil {
			b.WriteString(" assigned to ")
			b.WriteString(incident.RefName(*a.Assignee))
		} else {
			b.WriteString(" unassigned")
		}
	}
	by(b, ev)
}

func taskLine(b *strings.Builder, ev Event) {
	var d struct {
		Name    string `json:"name"`
		Summary string `json:"summary"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	b.WriteString("☑️ Task ")
	if n := mdsafe.FirstNonBlank(d.Name, d.Summary); n != "" {
		b.WriteString("“")
		b.WriteString(mdsafe.InlineMax(n, 200))
		b.WriteString("” ")
	}
	b.WriteString(strings.TrimPrefix(ev.Type, "incident.task."))
	by(b, ev)
}

func actionLine(b *strings.Builder, ev Event) {
	var d struct {
		Action *incident.Ref `json:"action"`
		State  string        `json:"state"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	b.WriteString("⚙️ Automation action ")
	if d.Action != nil {
		b.WriteString(incident.RefName(*d.Action))
		b.WriteString(" ")
	}
	verb := strings.TrimPrefix(ev.Type, "incident.action_invocation.")
	b.WriteString(verb)
	if d.State != "" && d.State != verb {
		b.WriteString(" (")
		b.WriteString(mdsafe.InlineMax(d.State, 40))
		b.WriteString(")")
	}
	by(b, ev)
}

func workflowLine(b *strings.Builder, ev Event) {
	var d struct {
		Workflow *incident.Ref `json:"incident_workflow"`
		Summary  string        `json:"summary"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	b.WriteString("⚙️ Workflow ")
	switch {
	case d.Workflow != nil && d.Workflow.Summary != "":
		b.WriteString(incident.RefName(*d.Workflow))
		b.WriteString(" ")
	case d.Summary != "":
		b.WriteString(mdsafe.InlineMax(d.Summary, incident.MaxNameRunes))
		b.WriteString(" ")
	}
	b.WriteString(strings.TrimPrefix(ev.Type, "incident.workflow."))
	by(b, ev)
}
