package forms

import (
	"fmt"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
)

// ButtonConfirm is the bulk override preview's only button.
const ButtonConfirm = "confirm"

// OverrideValues are a quick override's values so far, echoed back into the form (a command
// with missing values opens the modal with what was typed).
type OverrideValues struct {
	Schedule, User *apps.SelectOption
	Start, End     string
}

// BulkValues are a bulk override's values so far.
type BulkValues struct {
	Schedule, From, To *apps.SelectOption
	Start, End         string
}

func optionValue(o *apps.SelectOption) any {
	if o == nil || o.Value == "" {
		return nil
	}
	return *o
}

func textValue(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// zoneNote says in which zone typed times are read: the user's own Mattermost time zone.
func zoneNote(zone string) string {
	return "Times are in your Mattermost time zone, **" + mdsafe.Inline(zone) + "**."
}

// QuickOverrideForm: one person takes one time window of one schedule.
func QuickOverrideForm(v OverrideValues, zone string, schedules, users, submit *apps.Call) apps.Form {
	start := v.Start
	if start == "" {
		start = "now"
	}
	return apps.Form{
		Title:  "Override a schedule",
		Header: "Someone takes a time window of one schedule (at most 30 days). " + zoneNote(zone),
		Icon:   "icon.png", Submit: submit,
		Fields: []apps.Field{
			{Name: FieldSchedule, Type: apps.FieldTypeDynamicSelect, IsRequired: true, ModalLabel: "Schedule",
				Value: optionValue(v.Schedule), SelectDynamicLookup: schedules, Description: "Type to search your PagerDuty schedules."},
			{Name: FieldUser, Type: apps.FieldTypeDynamicSelect, IsRequired: true, ModalLabel: "Who takes over",
				Value: optionValue(v.User), SelectDynamicLookup: users, Description: "Type a name or email to search PagerDuty users."},
			{Name: FieldStart, Type: apps.FieldTypeText, IsRequired: true, ModalLabel: "Start", Value: start, TextMaxLength: 40,
				Description: "`now`, or a date and time such as 2026-11-23 14:00."},
			{Name: FieldEnd, Type: apps.FieldTypeText, IsRequired: true, ModalLabel: "End", Value: textValue(v.End), TextMaxLength: 40,
				Description: "A date and time such as 2026-11-23 18:00, or a length after the start: 4h, 90m, 2d."},
		},
	}
}

// BulkOverrideForm: every shift of one person in a date range handed to another.
func BulkOverrideForm(v BulkValues, zone string, schedules, members, users, submit *apps.Call) apps.Form {
	return apps.Form{
		Title: "Bulk override",
		Header: "Hands every shift of one person in a date range (at most 30 days) to someone else, in one request. " +
			"You see the shifts before anything changes. " + zoneNote(zone),
		Icon: "icon.png", Submit: submit,
		Fields: []apps.Field{
			{Name: FieldSchedule, Type: apps.FieldTypeDynamicSelect, IsRequired: true, ModalLabel: "Schedule",
				Value: optionValue(v.Schedule), SelectDynamicLookup: schedules, Description: "Type to search your PagerDuty schedules."},
			{Name: FieldFrom, Type: apps.FieldTypeDynamicSelect, IsRequired: true, ModalLabel: "Whose shifts",
				Value: optionValue(v.From), SelectDynamicLookup: members, Description: "A member of the schedule (choose the schedule first), on call now or not."},
			{Name: FieldTo, Type: apps.FieldTypeDynamicSelect, IsRequired: true, ModalLabel: "Hand them to",
				Value: optionValue(v.To), SelectDynamicLookup: users, Description: "Type a name or email to search PagerDuty users."},
			{Name: FieldStart, Type: apps.FieldTypeText, IsRequired: true, ModalLabel: "From day", Value: textValue(v.Start), TextMaxLength: 40,
				Description: "First day, such as 2026-11-23 (or a date and time)."},
			{Name: FieldEnd, Type: apps.FieldTypeText, IsRequired: true, ModalLabel: "To day", Value: textValue(v.End), TextMaxLength: 40,
				Description: "Last day, included, such as 2026-11-30 (or a date and time); at most 30 days after the start."},
		},
	}
}

// BulkPreview is the bulk override's confirmation step: the shifts that will be handed over
// (preview comes from oncall.PlanBulkOverride, already escaped) and one button to send them.
// warning (markdown, may be empty) comes first: the schedule changed since the last preview.
func BulkPreview(scheduleName, toName, preview, warning string, count int, submit *apps.Call) apps.Form {
	header := ""
	if warning != "" {
		header = warning + "\n\n"
	}
	header += "**Schedule:** " + mdsafe.InlineMax(scheduleName, 100) + "\n\n" + preview +
		"\nThey go to **" + mdsafe.InlineMax(toName, 100) + "**, in one request to PagerDuty. Nothing has changed yet."
	return apps.Form{
		Title: "Confirm bulk override", Header: header, Icon: "icon.png", Submit: submit,
		SubmitButtons: FieldButton,
		Fields: []apps.Field{{
			Name: FieldButton, Type: apps.FieldTypeStaticSelect, ModalLabel: "Confirm",
			SelectStaticOptions: []apps.SelectOption{{Label: fmt.Sprintf("Create %d override(s)", count), Value: ButtonConfirm}},
		}},
	}
}
