package forms

import (
	"strconv"
	"strings"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
)

// Field names of /pagerduty subscribe and of the channel notifications modal. They are also the
// command's flag labels (the webapp matches --flag against a field's label), so they are the
// words people type: --service, --team, --urgency, --priority.
const (
	SubFieldEvents   = "events"
	SubFieldService  = "service"
	SubFieldTeam     = "team"
	SubFieldUrgency  = "urgency"
	SubFieldPriority = "priority"
	SubFieldSchedule = "schedule" // oncall.change only: the schedules to report
	SubFieldIDs      = "ids"      // /pagerduty unsubscribe ID|all
	SubFieldAction   = "action"   // the modal: add, remove or remove all
	SubFieldRemove   = "remove"   // the modal: subscriptions to remove
)

// Actions of the channel notifications modal.
const (
	SubActionAdd       = "add"
	SubActionRemove    = "remove"
	SubActionRemoveAll = "remove_all"
)

// SubUrgencies are the choices of the urgency filter. A typed command value must be an option's
// value, so the values are the words people type.
var SubUrgencies = []apps.SelectOption{{Label: "high", Value: "high"}, {Label: "low", Value: "low"}}

// SubscriptionLine is one subscription as lists show it.
type SubscriptionLine struct {
	ID       string
	Markdown string // subscription.Subscription.Describe(): escaped markdown
	Plain    string // the same in plain text, for select options (not rendered as markdown)
}

// SubscriptionListView is what /pagerduty list shows.
type SubscriptionListView struct {
	Channel      string // the channel's display name (untrusted)
	Subs         []SubscriptionLine
	CanManage    bool // the viewer may change them
	WebhookReady bool // PagerDuty webhooks are set up, so events arrive at all
}

// SubscriptionList renders the channel's subscriptions.
func SubscriptionList(v SubscriptionListView) string {
	var b strings.Builder
	b.WriteString("#### PagerDuty notifications in ")
	b.WriteString(mdsafe.InlineMax(v.Channel, 64))
	b.WriteString("\n")
	if len(v.Subs) == 0 {
		b.WriteString("This channel has no subscriptions.\n")
	}
	for _, s := range v.Subs {
		b.WriteString("- ")
		b.WriteString(s.Markdown)
		b.WriteString("\n")
	}
	if v.CanManage {
		b.WriteString("\nAdd one with `/pagerduty subscribe [events] [--service ID] [--team ID] [--urgency high|low] [--priority P1] [--schedule ID]`, remove with `/pagerduty unsubscribe ID|all`.\n")
	} else {
		b.WriteString("\nChannel admins, team admins and system admins can change them.\n")
	}
	if !v.WebhookReady {
		b.WriteString(webhookNotReady)
	}
	return b.String()
}

const webhookNotReady = "\n**Note:** PagerDuty webhooks are not set up yet, so nothing is posted: a system admin must run `/pagerduty webhook setup`.\n"

// SubscribedText confirms a new subscription.
func SubscribedText(channel string, line SubscriptionLine, webhookReady bool) string {
	s := "This channel (" + mdsafe.InlineMax(channel, 64) + ") is now subscribed: " + line.Markdown +
		".\nRemove it with `/pagerduty unsubscribe " + strings.ReplaceAll(line.ID, "`", "") + "`.\n"
	if !webhookReady {
		s += webhookNotReady
	}
	return s
}

// UnsubscribedText confirms removals.
func UnsubscribedText(channel string, removed []SubscriptionLine) string {
	if len(removed) == 0 {
		return "This channel (" + mdsafe.InlineMax(channel, 64) + ") had no subscriptions to remove."
	}
	var b strings.Builder
	b.WriteString("Removed ")
	b.WriteString(strconv.Itoa(len(removed)))
	if len(removed) == 1 {
		b.WriteString(" subscription from ")
	} else {
		b.WriteString(" subscriptions from ")
	}
	b.WriteString(mdsafe.InlineMax(channel, 64))
	b.WriteString(":\n")
	for _, s := range removed {
		b.WriteString("- ")
		b.WriteString(s.Markdown)
		b.WriteString("\n")
	}
	return b.String()
}

// SubscriptionSettingsView is the channel notifications modal's content.
type SubscriptionSettingsView struct {
	Channel      string
	Subs         []SubscriptionLine
	EventTypes   []string
	WebhookReady bool
}

// SubscriptionSettings is the channel notifications modal: the channel's subscriptions, and one
// submission that adds a subscription or removes some. Filters are text fields of IDs (the same
// values /pagerduty subscribe takes) so the command and the modal accept exactly the same input.
func SubscriptionSettings(v SubscriptionSettingsView, submit *apps.Call) apps.Form {
	var h strings.Builder
	if len(v.Subs) == 0 {
		h.WriteString("This channel has no PagerDuty subscriptions yet.")
	} else {
		h.WriteString("This channel's subscriptions:\n")
		for _, s := range v.Subs {
			h.WriteString("- ")
			h.WriteString(s.Markdown)
			h.WriteString("\n")
		}
	}
	if !v.WebhookReady {
		h.WriteString(webhookNotReady)
	}
	actions := []apps.SelectOption{{Label: "Add a subscription", Value: SubActionAdd}}
	if len(v.Subs) > 0 {
		actions = append(actions,
			apps.SelectOption{Label: "Remove the selected subscriptions", Value: SubActionRemove},
			apps.SelectOption{Label: "Remove all subscriptions", Value: SubActionRemoveAll})
	}
	events := make([]apps.SelectOption, 0, len(v.EventTypes))
	for _, e := range v.EventTypes {
		events = append(events, apps.SelectOption{Label: e, Value: e})
	}
	fields := []apps.Field{
		{Name: SubFieldAction, Label: SubFieldAction, Type: apps.FieldTypeStaticSelect, IsRequired: true, ModalLabel: "What to do",
			SelectStaticOptions: actions, Value: actions[0]},
		{Name: SubFieldEvents, Label: SubFieldEvents, Type: apps.FieldTypeStaticSelect, SelectIsMulti: true, ModalLabel: "Events",
			Description: "Adding: the event types to post. Leave empty for every incident event.", SelectStaticOptions: events},
		{Name: SubFieldService, Label: SubFieldService, Type: apps.FieldTypeText, ModalLabel: "Services", AutocompleteHint: "PABC123, PDEF456",
			Description: "Adding: only these services (IDs, comma-separated: the last part of the service's PagerDuty URL). Empty: every service."},
		{Name: SubFieldTeam, Label: SubFieldTeam, Type: apps.FieldTypeText, ModalLabel: "Teams", AutocompleteHint: "PTEAM12",
			Description: "Adding: only incidents of these teams (IDs, comma-separated). Empty: every team."},
		{Name: SubFieldUrgency, Label: SubFieldUrgency, Type: apps.FieldTypeStaticSelect, ModalLabel: "Urgency",
			Description: "Adding: only this urgency. Empty: both.", SelectStaticOptions: SubUrgencies},
		{Name: SubFieldPriority, Label: SubFieldPriority, Type: apps.FieldTypeText, ModalLabel: "Priorities", AutocompleteHint: "P1, P2",
			Description: "Adding: only these priorities (names, comma-separated). Empty: any priority, or none."},
		{Name: SubFieldSchedule, Label: SubFieldSchedule, Type: apps.FieldTypeText, ModalLabel: "Schedules (on-call changes)", AutocompleteHint: "PSCHED1",
			Description: "Adding oncall.change: only these schedules (IDs, comma-separated). Empty: every schedule."},
	}
	if len(v.Subs) > 0 {
		opts := make([]apps.SelectOption, 0, len(v.Subs))
		for _, s := range v.Subs {
			opts = append(opts, apps.SelectOption{Label: mdsafe.Truncate(s.Plain, 120), Value: s.ID})
		}
		fields = append(fields, apps.Field{Name: SubFieldRemove, Label: SubFieldRemove, Type: apps.FieldTypeStaticSelect, SelectIsMulti: true,
			ModalLabel: "Subscriptions to remove", Description: "Removing: choose the subscriptions to remove.", SelectStaticOptions: opts})
	}
	return apps.Form{
		Title:  "Channel notifications: " + mdsafe.Truncate(v.Channel, 40),
		Header: h.String(),
		Icon:   "icon.png",
		Submit: submit,
		Fields: fields,
	}
}

// NotificationsContinue is the first step of the modal when it is opened from the channel-header
// menu: the menu's call does not carry the channel, so one more submission (whose call asks for
// it) opens the real modal.
func NotificationsContinue(submit *apps.Call) apps.Form {
	return apps.Form{
		Title:  "Channel notifications",
		Header: "See and change which PagerDuty events are posted in this channel. Submit to open this channel's settings.",
		Icon:   "icon.png",
		Submit: submit,
		Fields: []apps.Field{},
	}
}
