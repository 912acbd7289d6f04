package app

import (
	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
)

// incidentArg is the first argument of every incident subcommand.
var incidentArg = apps.Field{
	Name: forms.FieldIncident, Type: apps.FieldTypeText, IsRequired: true, AutocompletePosition: 1,
	AutocompleteHint: "[incident ID]", ModalLabel: "Incident ID",
	Description: "The incident's ID: the last part of its PagerDuty link, shown on its card",
}

// rest is a free-text argument that takes the rest of the command line.
func rest(name, hint, desc string) apps.Field {
	return apps.Field{Name: name, Type: apps.FieldTypeText, AutocompletePosition: -1, AutocompleteHint: hint, Description: desc}
}

// searchFlag is a --flag whose value is searched in PagerDuty while typing. Commands use single
// selects: the webapp sends a multiselect typed in a command as an empty list.
func searchFlag(name, hint, desc string, kinds ...string) apps.Field {
	return apps.Field{Name: name, Type: apps.FieldTypeDynamicSelect, AutocompleteHint: hint, Description: desc, SelectDynamicLookup: lookupCall(kinds...)}
}

// incidentCommands are the /pagerduty subcommands for incidents (appended to commands()).
func (a *App) incidentCommands() []command {
	urgency := apps.Field{Name: forms.FieldUrgency, Type: apps.FieldTypeStaticSelect, AutocompleteHint: "high|low", SelectStaticOptions: forms.Urgencies}
	withIncident := func(more ...apps.Field) []apps.Field { return append([]apps.Field{incidentArg}, more...) }
	action := func(act incidentAction, usage, desc string, fields ...apps.Field) command {
		return command{name: act.name, usage: usage, desc: desc, show: connected, call: call(act.path, expandIncident), fields: withIncident(fields...)}
	}
	positional := func(f apps.Field, pos int, required bool) apps.Field {
		f.AutocompletePosition, f.IsRequired = pos, required
		return f
	}
	return []command{
		{name: "incidents", usage: "/pagerduty incidents [mine] [--service S] [--team T] [--urgency high|low] [--status triggered|acknowledged]",
			desc: "Incidents: the open ones, newest first", show: connected, menu: true, call: call(pathIncidents, expandUser),
			fields: []apps.Field{
				{Name: fieldScope, Type: apps.FieldTypeStaticSelect, AutocompletePosition: 1, AutocompleteHint: "[mine]",
					Description: "mine: only incidents assigned to you", SelectStaticOptions: []apps.SelectOption{{Label: "mine", Value: "mine"}, {Label: "all", Value: "all"}}},
				searchFlag(forms.FieldService, "[service]", "Only this service's incidents", kindService),
				searchFlag(forms.FieldTeam, "[team]", "Only this team's incidents", kindTeam),
				urgency,
				{Name: forms.FieldStatus, Type: apps.FieldTypeStaticSelect, AutocompleteHint: "triggered|acknowledged",
					SelectStaticOptions: []apps.SelectOption{{Label: "triggered", Value: "triggered"}, {Label: "acknowledged", Value: "acknowledged"}}},
			}},
		{name: "incident", usage: "/pagerduty incident ID", desc: "One incident: details, notes, timeline and links",
			show: connected, call: call(pathIncidentView, expandIncident), fields: withIncident()},
		{name: "trigger", usage: "/pagerduty trigger [title]", desc: "Trigger an incident", show: connected, menu: true,
			call: call(pathTrigger, expandTrigger), fields: []apps.Field{rest(forms.FieldTitle, "[title]", "Prefills the incident's title")}},
		{name: "page", usage: "/pagerduty page @user|schedule [--service S] [message]", desc: "Page a person, or whoever is on call in a schedule",
			show: connected, call: call(pathPage, expandTrigger), fields: []apps.Field{
				positional(searchFlag(forms.FieldTarget, "[@user|schedule]", "Who to page: a person or a schedule's on-call", kindUser, kindSchedule), 1, true),
				searchFlag(forms.FieldService, "[service]", "The service the page is filed under (needed when the account has several)", kindService),
				rest(forms.FieldMessage, "[message]", "What the page is about (the incident's title)"),
			}},
		action(actAck, "/pagerduty ack ID", "Acknowledge an incident"),
		action(actResolve, "/pagerduty resolve ID [resolution note]", "Resolve an incident",
			rest(forms.FieldResolution, "[resolution note]", "Optional: how it was fixed")),
		action(actReassign, "/pagerduty reassign ID --to user|policy", "Reassign an incident to users or an escalation policy",
			searchFlag(forms.FieldTo, "[users or policy]", "Users (comma-separated) or one escalation policy", kindUser, kindEP)),
		action(actEscalate, "/pagerduty escalate ID [level]", "Escalate an incident to a level of its policy",
			positional(apps.Field{Name: forms.FieldLevel, Type: apps.FieldTypeText, AutocompleteHint: "[level]", Description: "Level number; leave out to choose"}, 2, false)),
		action(actPriority, "/pagerduty priority ID [priority]", "Change an incident's priority",
			positional(apps.Field{Name: forms.FieldPriority, Type: apps.FieldTypeText, AutocompleteHint: "[P1…]", Description: "Priority name; leave out to choose"}, 2, false)),
		action(actUrgency, "/pagerduty urgency ID high|low", "Change an incident's urgency", positional(urgency, 2, false)),
		action(actRespond, "/pagerduty responders ID --to user|policy [message]", "Ask users or escalation policies to respond",
			searchFlag(forms.FieldTo, "[users or policies]", "Users or escalation policies (comma-separated)", kindUser, kindEP),
			rest(forms.FieldMessage, "[message]", "Sent with the request")),
		action(actStatus, "/pagerduty status-update ID message", "Publish a status update to an incident's subscribers",
			rest(forms.FieldMessage, "[message]", "The update")),
		action(actSnooze, "/pagerduty snooze ID 30m|2h|1d", "Snooze an acknowledged incident",
			positional(apps.Field{Name: forms.FieldDuration, Type: apps.FieldTypeText, AutocompleteHint: "[30m|2h|1d]", Description: "How long, at most 7d"}, 2, false)),
		action(actNote, "/pagerduty note ID text", "Add a note to an incident", rest(forms.FieldNote, "[text]", "The note")),
	}
}

// postMenu is the post's "…" menu, shown on every post (the framework has no per-post
// bindings): "Create PagerDuty incident" starts one from any post; the incident actions work
// on the app's incident cards and refuse elsewhere with one sentence.
func (a *App) postMenu(v viewer) []apps.Binding {
	if !v.configured {
		return nil
	}
	return []apps.Binding{
		{Location: "create-incident", Label: "Create PagerDuty incident", Icon: "icon.png", Submit: call(pathTrigger, expandTrigger)},
		{Location: "incident-actions", Label: "PagerDuty incident actions", Icon: "icon.png", Submit: call(pathIncidentActions, expandIncident)},
	}
}
