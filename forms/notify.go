package forms

import (
	"github.com/mattermost/mattermost-plugin-apps/apps"
)

// NotifySwitch is one DM kind in the preferences modal.
type NotifySwitch struct {
	Name, Label, Help string
	On                bool
}

// NotifyForm is the on-call DM preferences modal: one switch per kind, set to the user's current
// choice. connected says whether the user linked their PagerDuty account: without it the app can
// only find them by email, which the server may hide.
func NotifyForm(switches []NotifySwitch, connected bool, submit *apps.Call) apps.Form {
	header := "Direct messages from the PagerDuty bot about **your own** on-call shifts. Channel posts follow channel subscriptions (`/pagerduty subscribe oncall.change`)."
	if !connected {
		header += "\n\nYou have not connected your PagerDuty account: the app finds you only if your PagerDuty email is your Mattermost email and this server lets the app see emails. Run `/pagerduty connect` to be sure."
	}
	fields := make([]apps.Field, 0, len(switches))
	for _, s := range switches {
		fields = append(fields, apps.Field{Name: s.Name, Type: apps.FieldTypeBool, ModalLabel: s.Label, Description: s.Help, Value: s.On})
	}
	return apps.Form{Title: "On-call DMs", Header: header, Icon: "icon.png", Submit: submit, Fields: fields}
}
