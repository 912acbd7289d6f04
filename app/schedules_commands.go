package app

import (
	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
)

// onCallCommands are the /pagerduty subcommands for schedules, overrides and on-call DMs
// (appended to commands()). Their fields are never required in the command: a command with
// missing values answers its modal with what was typed (the webapp refuses a command with
// missing required fields instead of opening the modal). Flags match labels, which default to
// the field names (one word each). Usages have no '|': help renders them in a markdown table.
func (a *App) onCallCommands() []command {
	schedule := apps.Field{Name: forms.FieldSchedule, Type: apps.FieldTypeDynamicSelect, AutocompletePosition: 1,
		AutocompleteHint: "[schedule]", Description: "A schedule's name (type to search); quote names with spaces",
		SelectDynamicLookup: scheduleLookupCall()}
	person := func(name, hint, desc string, lookup *apps.Call) apps.Field {
		return apps.Field{Name: name, Type: apps.FieldTypeDynamicSelect, AutocompleteHint: hint, Description: desc, SelectDynamicLookup: lookup}
	}
	when := func(name, hint, desc string) apps.Field {
		return apps.Field{Name: name, Type: apps.FieldTypeText, AutocompleteHint: hint, Description: desc}
	}
	return []command{
		{name: "schedules", usage: "/pagerduty schedules [mine]", desc: "Schedules: all of them, or yours with a shift in the next 48 hours",
			show: connected, menu: true, call: call(pathSchedules, expandUser),
			fields: []apps.Field{{Name: fieldScope, Type: apps.FieldTypeStaticSelect, AutocompletePosition: 1, AutocompleteHint: "[mine]",
				Description: "mine: only schedules where you have a shift in the next 48 hours", SelectStaticOptions: []apps.SelectOption{{Label: "mine", Value: "mine"}, {Label: "all", Value: "all"}}}}},
		{name: "schedule", usage: "/pagerduty schedule NAME", desc: "A schedule: who is on call now and the next 48 hours, with page and override buttons",
			show: connected, menu: true, call: call(pathSchedule, expandUser), fields: []apps.Field{schedule}},
		{name: "override", usage: "/pagerduty override SCHEDULE --user USER --start TIME --end TIME", desc: "Override a schedule: someone takes a time window",
			show: connected, menu: true, call: call(pathOverride, expandUser), fields: []apps.Field{
				schedule,
				person(forms.FieldUser, "[who takes over]", "The person who takes the window (type to search)", lookupCall(kindUser)),
				when(forms.FieldStart, "[now|2026-11-23T14:00]", "now, or a date and time in your time zone"),
				when(forms.FieldEnd, "[2026-11-23T18:00|4h]", "A date and time in your time zone, or a length after the start: 4h, 90m, 2d"),
			}},
		{name: "bulk-override", usage: "/pagerduty bulk-override SCHEDULE --from USER --to USER --start DAY --end DAY",
			desc: "Hand every shift of one person in a date range (up to 30 days) to another, with a preview",
			show: connected, menu: true, call: call(pathBulkOverride, expandUser), fields: []apps.Field{
				schedule,
				person(forms.FieldFrom, "[whose shifts]", "A member of the schedule whose shifts are handed over", call(pathMemberLookup, expandUser)),
				person(forms.FieldTo, "[who takes them]", "The person who takes the shifts (type to search)", lookupCall(kindUser)),
				when(forms.FieldStart, "[2026-11-23]", "First day (or a date and time) in your time zone"),
				when(forms.FieldEnd, "[2026-11-30]", "Last day, included (or a date and time); at most 30 days after the start"),
			}},
		{name: "notify", usage: "/pagerduty notify [on/off/status]", desc: "Your on-call DMs: shift start and end, 30-minute reminders, overrides",
			show: configuredOnly, menu: true, call: call(pathNotify, expandUser),
			fields: []apps.Field{{Name: fieldNotifyMode, Type: apps.FieldTypeStaticSelect, AutocompletePosition: 1, AutocompleteHint: "[on|off|status]",
				Description: "on or off for every kind, status to see them; leave out to choose kinds", SelectStaticOptions: notifyModes}}},
	}
}
