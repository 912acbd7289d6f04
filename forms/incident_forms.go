package forms

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/incident"
	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
)

// Field names of the incident forms and commands. Labels (the command --flags) default to the
// name; the webapp drops fields whose label has a blank, so every label is one word.
const (
	FieldIncident    = "incident"
	FieldAction      = "action"
	FieldResolution  = "resolution"
	FieldNote        = "note"
	FieldTo          = "to"
	FieldLevel       = "level"
	FieldPriority    = "priority"
	FieldUrgency     = "urgency"
	FieldMessage     = "message"
	FieldDuration    = "duration"
	FieldService     = "service"
	FieldTitle       = "title"
	FieldDescription = "description"
	FieldAssign      = "assign"
	FieldTeam        = "team"
	FieldStatus      = "status"
	FieldTarget      = "target"
)

// Limits we choose for text sent to PagerDuty (its API documents none): they keep requests,
// notifications and cards readable and are checked before any request.
const (
	MaxTitle       = 1024
	MaxDescription = 10000
	MaxNote        = 25000
	MaxMessage     = 4000
)

// Urgencies are the two PagerDuty urgencies.
var Urgencies = []apps.SelectOption{{Label: "High", Value: "high"}, {Label: "Low", Value: "low"}}

// SnoozeDurations are the snooze choices offered in the modal; the command takes any duration.
var SnoozeDurations = []apps.SelectOption{
	{Label: "15 minutes", Value: "15m"}, {Label: "30 minutes", Value: "30m"}, {Label: "1 hour", Value: "1h"},
	{Label: "2 hours", Value: "2h"}, {Label: "4 hours", Value: "4h"}, {Label: "8 hours", Value: "8h"},
	{Label: "24 hours", Value: "24h"},
}

// incidentTitle is a modal title: the number only, since a modal title is plain text with a
// small size limit and the full (escaped) title is in the header.
func incidentTitle(verb string, inc incident.Incident) string {
	if inc.Number > 0 {
		return fmt.Sprintf("%s #%d", verb, inc.Number)
	}
	return verb + " incident"
}

// header is the line every action modal starts with: which incident it acts on.
func header(inc incident.Incident) string {
	return incident.StatusEmoji(inc.Status) + " " + incident.TitleLink(inc)
}

// IncidentActions is the incident view as a modal: the view in the header and the actions the
// incident's status allows in one select.
func IncidentActions(inc incident.Incident, view string, actions []apps.SelectOption, submit *apps.Call) apps.Form {
	return apps.Form{
		Title:  incidentTitle("Incident", inc),
		Header: view,
		Icon:   "icon.png",
		Submit: submit,
		Fields: []apps.Field{{
			Name: FieldAction, Type: apps.FieldTypeStaticSelect, IsRequired: true, ModalLabel: "Action",
			SelectStaticOptions: actions, Description: "Choose what to do; the next step asks for any details.",
		}},
	}
}

// ResolveForm asks for an optional resolution note.
func ResolveForm(inc incident.Incident, submit *apps.Call) apps.Form {
	return apps.Form{
		Title: incidentTitle("Resolve", inc), Header: header(inc), Icon: "icon.png", Submit: submit,
		Fields: []apps.Field{{
			Name: FieldResolution, Type: apps.FieldTypeText, TextSubtype: apps.TextFieldSubtypeTextarea, ModalLabel: "Resolution note",
			TextMaxLength: MaxNote, Description: "Optional: how it was fixed. Added to the incident as a note.",
		}},
	}
}

// NoteForm asks for a note.
func NoteForm(inc incident.Incident, submit *apps.Call) apps.Form {
	return apps.Form{
		Title: incidentTitle("Add a note to", inc), Header: header(inc), Icon: "icon.png", Submit: submit,
		Fields: []apps.Field{{
			Name: FieldNote, Type: apps.FieldTypeText, TextSubtype: apps.TextFieldSubtypeTextarea, ModalLabel: "Note",
			IsRequired: true, TextMaxLength: MaxNote,
		}},
	}
}

// ReassignForm picks users or one escalation policy through a searching select.
func ReassignForm(inc incident.Incident, lookup, submit *apps.Call) apps.Form {
	return apps.Form{
		Title: incidentTitle("Reassign", inc), Header: header(inc), Icon: "icon.png", Submit: submit,
		Fields: []apps.Field{{
			Name: FieldTo, Type: apps.FieldTypeDynamicSelect, SelectIsMulti: true, IsRequired: true, ModalLabel: "Reassign to",
			SelectDynamicLookup: lookup, Description: "Type to search. Choose one or more users, or one escalation policy.",
		}},
	}
}

// Level is one level of an escalation policy, with who it targets (untrusted names).
type Level struct {
	Number  int
	Targets []string
}

// EscalateForm picks a level of the incident's escalation policy.
func EscalateForm(inc incident.Incident, policy string, levels []Level, current int, submit *apps.Call) apps.Form {
	var opts []apps.SelectOption
	var value any
	for _, l := range levels {
		label := fmt.Sprintf("Level %d", l.Number)
		if len(l.Targets) > 0 {
			// Select labels are plain text, not markdown: no escaping, but bounded.
			label += ": " + mdsafe.Truncate(strings.Join(l.Targets, ", "), 120)
		}
		if l.Number == current {
			label += " (current)"
		}
		opts = append(opts, apps.SelectOption{Label: label, Value: strconv.Itoa(l.Number)})
	}
	if current > 0 && current < len(levels) {
		value = opts[current] // the next level is the usual choice
	}
	h := header(inc)
	if policy != "" {
		h += "\nEscalation policy: **" + mdsafe.InlineMax(policy, incident.MaxNameRunes) + "**"
	}
	return apps.Form{
		Title: incidentTitle("Escalate", inc), Header: h, Icon: "icon.png", Submit: submit,
		Fields: []apps.Field{{
			Name: FieldLevel, Type: apps.FieldTypeStaticSelect, IsRequired: true, ModalLabel: "Escalate to level",
			SelectStaticOptions: opts, Value: value,
		}},
	}
}

// PriorityForm picks one of the account's priorities.
func PriorityForm(inc incident.Incident, priorities []apps.SelectOption, submit *apps.Call) apps.Form {
	var value any
	if inc.Priority != nil {
		for _, p := range priorities {
			// Option values are "priority:ID" (the lookups' kind:ID encoding) or a bare ID.
			if _, id, _ := strings.Cut(p.Value, ":"); p.Value == inc.Priority.ID || id == inc.Priority.ID {
				value = p
			}
		}
	}
	return apps.Form{
		Title: incidentTitle("Change priority of", inc), Header: header(inc), Icon: "icon.png", Submit: submit,
		Fields: []apps.Field{{
			Name: FieldPriority, Type: apps.FieldTypeStaticSelect, IsRequired: true, ModalLabel: "Priority",
			SelectStaticOptions: priorities, Value: value,
		}},
	}
}

// UrgencyForm picks high or low.
func UrgencyForm(inc incident.Incident, submit *apps.Call) apps.Form {
	var value any
	for _, u := range Urgencies {
		if u.Value != inc.Urgency {
			value = u // the other urgency is the change the user came for
		}
	}
	return apps.Form{
		Title: incidentTitle("Change urgency of", inc), Header: header(inc), Icon: "icon.png", Submit: submit,
		Fields: []apps.Field{{
			Name: FieldUrgency, Type: apps.FieldTypeStaticSelect, IsRequired: true, ModalLabel: "Urgency",
			SelectStaticOptions: Urgencies, Value: value,
		}},
	}
}

// RespondersForm asks users or escalation policies to join, with a message.
func RespondersForm(inc incident.Incident, lookup, submit *apps.Call) apps.Form {
	msg := "Please help with this incident."
	if inc.Number > 0 {
		msg = fmt.Sprintf("Please help with incident #%d.", inc.Number)
	}
	return apps.Form{
		Title: incidentTitle("Add responders to", inc), Header: header(inc), Icon: "icon.png", Submit: submit,
		Fields: []apps.Field{
			{Name: FieldTo, Type: apps.FieldTypeDynamicSelect, SelectIsMulti: true, IsRequired: true, ModalLabel: "Responders",
				SelectDynamicLookup: lookup, Description: "Type to search users and escalation policies."},
			{Name: FieldMessage, Type: apps.FieldTypeText, TextSubtype: apps.TextFieldSubtypeTextarea, IsRequired: true, ModalLabel: "Message",
				Value: msg, TextMaxLength: MaxMessage},
		},
	}
}

// StatusUpdateForm asks for a status update for the incident's subscribers.
func StatusUpdateForm(inc incident.Incident, submit *apps.Call) apps.Form {
	return apps.Form{
		Title: incidentTitle("Status update for", inc), Header: header(inc), Icon: "icon.png", Submit: submit,
		Fields: []apps.Field{{
			Name: FieldMessage, Type: apps.FieldTypeText, TextSubtype: apps.TextFieldSubtypeTextarea, IsRequired: true,
			ModalLabel: "Status update", TextMaxLength: MaxMessage, Description: "Sent to the incident's subscribers.",
		}},
	}
}

// SnoozeForm picks how long to snooze an acknowledged incident.
func SnoozeForm(inc incident.Incident, submit *apps.Call) apps.Form {
	return apps.Form{
		Title: incidentTitle("Snooze", inc), Header: header(inc), Icon: "icon.png", Submit: submit,
		Fields: []apps.Field{{
			Name: FieldDuration, Type: apps.FieldTypeStaticSelect, IsRequired: true, ModalLabel: "Snooze for",
			SelectStaticOptions: SnoozeDurations, Value: SnoozeDurations[2],
			Description: "The incident returns to triggered when the time is up.",
		}},
	}
}

// TriggerDefaults prefills the trigger modal (from a post, or from the command's title).
type TriggerDefaults struct {
	Title       string
	Description string
}

// TriggerForm is the modal that creates an incident. Priority is offered only when the account
// has priorities.
func TriggerForm(d TriggerDefaults, priorities []apps.SelectOption, services, assignees, submit *apps.Call) apps.Form {
	fields := []apps.Field{
		{Name: FieldService, Type: apps.FieldTypeDynamicSelect, IsRequired: true, ModalLabel: "Service",
			SelectDynamicLookup: services, Description: "Type to search your PagerDuty services."},
		{Name: FieldTitle, Type: apps.FieldTypeText, IsRequired: true, ModalLabel: "Title", Value: mdsafe.Truncate(d.Title, MaxTitle),
			TextMaxLength: MaxTitle},
		{Name: FieldDescription, Type: apps.FieldTypeText, TextSubtype: apps.TextFieldSubtypeTextarea, ModalLabel: "Description",
			Value: mdsafe.Truncate(d.Description, MaxDescription), TextMaxLength: MaxDescription},
		{Name: FieldUrgency, Type: apps.FieldTypeStaticSelect, ModalLabel: "Urgency", SelectStaticOptions: Urgencies,
			Description: "Leave empty to follow the service's urgency rules."},
	}
	if len(priorities) > 0 {
		fields = append(fields, apps.Field{Name: FieldPriority, Type: apps.FieldTypeStaticSelect, ModalLabel: "Priority", SelectStaticOptions: priorities})
	}
	fields = append(fields, apps.Field{Name: FieldAssign, Type: apps.FieldTypeDynamicSelect, SelectIsMulti: true, ModalLabel: "Assign to",
		SelectDynamicLookup: assignees,
		Description:         "Optional: users, one escalation policy, or the current on-call of one schedule. Empty: the service's escalation policy."})
	return apps.Form{Title: "Trigger a PagerDuty incident", Icon: "icon.png", Submit: submit, Fields: fields}
}
