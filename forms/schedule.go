package forms

import (
	"strings"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
)

// Field names of the schedule view and the override forms. Labels (the command --flags) default
// to the name: one word each, as the webapp drops labels with a blank.
const (
	FieldSchedule = "schedule"
	FieldUser     = "user"
	FieldStart    = "start"
	FieldEnd      = "end"
	FieldFrom     = "from"
	// FieldButton is the schedule view's submit buttons (SubmitButtons): which one was clicked.
	FieldButton = "button"
)

// The schedule view's buttons.
const (
	ButtonPage     = "page"
	ButtonOverride = "override"
	ButtonBulk     = "bulk"
)

// maxTitleRunes keeps modal titles on one line; the full, escaped name is in the header.
const maxTitleRunes = 60

// plainTitle is a modal title from PagerDuty text: titles are plain text, so the name is only
// bounded and flattened to one line, never markdown-escaped (escapes would show as backslashes).
func plainTitle(prefix, name string) string {
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		return strings.TrimSuffix(prefix, ": ")
	}
	return prefix + mdsafe.Truncate(name, maxTitleRunes)
}

// ScheduleView is the schedule view as a modal: the rendered schedule (who is on call now, the
// next 48 hours) in the header and its actions as buttons. canPage is false when nobody is on
// call now: a page would have nobody to go to.
func ScheduleView(name, view string, canPage bool, submit *apps.Call) apps.Form {
	var buttons []apps.SelectOption
	if canPage {
		buttons = append(buttons, apps.SelectOption{Label: "Page the on-call", Value: ButtonPage})
	}
	buttons = append(buttons,
		apps.SelectOption{Label: "Override", Value: ButtonOverride},
		apps.SelectOption{Label: "Bulk override", Value: ButtonBulk})
	return apps.Form{
		Title: plainTitle("Schedule: ", name), Header: view, Icon: "icon.png", Submit: submit,
		SubmitButtons: FieldButton,
		Fields: []apps.Field{{
			Name: FieldButton, Type: apps.FieldTypeStaticSelect, ModalLabel: "Action", SelectStaticOptions: buttons,
		}},
	}
}

// SchedulePick asks which schedule to open (/pagerduty schedule without a name, the menu).
func SchedulePick(lookup, submit *apps.Call) apps.Form {
	return apps.Form{
		Title: "Open a PagerDuty schedule", Icon: "icon.png", Submit: submit,
		Fields: []apps.Field{{
			Name: FieldSchedule, Type: apps.FieldTypeDynamicSelect, IsRequired: true, ModalLabel: "Schedule",
			SelectDynamicLookup: lookup, Description: "Type to search your PagerDuty schedules.",
		}},
	}
}

// PageOnCall is the page form opened from a schedule view: its target is the schedule's current
// on-call (the incidents' page call resolves "schedule:ID" to whoever is on call when it runs).
// onCall names who that is now, for the header; targets and services are the searching lookups.
func PageOnCall(scheduleID, scheduleName string, onCall []string, targets, services, submit *apps.Call) apps.Form {
	who := "nobody"
	if len(onCall) > 0 {
		names := make([]string, len(onCall))
		for i, n := range onCall {
			names[i] = "**" + mdsafe.InlineMax(n, 100) + "**"
		}
		who = strings.Join(names, ", ")
	}
	header := "Pages whoever is on call in **" + mdsafe.InlineMax(scheduleName, 100) + "** (now: " + who +
		") with a new high-urgency incident assigned to them."
	return apps.Form{
		Title: plainTitle("Page the on-call: ", scheduleName), Header: header, Icon: "icon.png", Submit: submit,
		Fields: []apps.Field{
			{Name: FieldTarget, Type: apps.FieldTypeDynamicSelect, IsRequired: true, ModalLabel: "Who",
				Value:               apps.SelectOption{Label: mdsafe.Truncate(strings.Join(strings.Fields(scheduleName), " "), 80), Value: "schedule:" + scheduleID},
				SelectDynamicLookup: targets, Description: "Prefilled with this schedule's on-call; type to page someone else.",
			},
			{Name: FieldService, Type: apps.FieldTypeDynamicSelect, ModalLabel: "Service", SelectDynamicLookup: services,
				Description: "The service the page is filed under; needed when your account has several."},
			{Name: FieldMessage, Type: apps.FieldTypeText, ModalLabel: "Message", TextMaxLength: MaxTitle,
				Description: "What the page is about (the incident's title)."},
		},
	}
}
