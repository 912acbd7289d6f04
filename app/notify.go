package app

import (
	"fmt"
	"strings"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
	"github.com/mattermost/mattermost-app-pagerduty/monitor"
)

// fieldNotifyMode is /pagerduty notify's argument: on, off or status (none: the modal).
const fieldNotifyMode = "mode"

// notifyModes are the typed values the argument accepts (a typed static select must be a value).
var notifyModes = []apps.SelectOption{{Label: "on", Value: "on"}, {Label: "off", Value: "off"}, {Label: "status", Value: "status"}}

// prefs is the acting user's on-call DM preferences store (bot KV, n/{userID}).
func (a *App) prefs(c *Call) *monitor.KVPrefs {
	return &monitor.KVPrefs{KV: c.botKV(), Locks: a.locks}
}

// notConnectedNote says how the monitor finds a user who has not connected their account.
const notConnectedNote = "\nYou have not connected your PagerDuty account: the app can only find you if your PagerDuty email is your Mattermost email and this server lets the app see emails. Run `/pagerduty connect` to be sure to get them."

// notify answers /pagerduty notify [on|off|status] and the menu entry; without an argument it
// opens the modal with one switch per DM kind.
func (a *App) notify(c *Call) apps.CallResponse {
	uid := c.actingUserID()
	if uid == "" {
		return errorText(errSignInFirst)
	}
	mode := strings.ToLower(c.value(fieldNotifyMode))
	store := a.prefs(c)
	note := ""
	if !c.userToken().Connected() {
		note = notConnectedNote
	}
	switch mode {
	case "":
		p, err := store.Get(c.ctx, uid)
		if err != nil {
			a.logError(c, "reading DM preferences", err)
			return errorText("Could not read your notification settings from Mattermost; please try again.")
		}
		switches := make([]forms.NotifySwitch, 0, len(monitor.Kinds()))
		for _, k := range monitor.Kinds() {
			switches = append(switches, forms.NotifySwitch{Name: string(k.Kind), Label: k.Label, Help: k.Help, On: p.Wants(k.Kind)})
		}
		return formResponse(forms.NotifyForm(switches, c.userToken().Connected(), call(pathNotifySubmit, expandUser)))
	case "on", "off":
		p, err := store.SetAll(c.ctx, uid, mode == "on")
		if err != nil {
			a.logError(c, "saving DM preferences", err)
			return errorText("Could not save your notification settings in Mattermost; nothing changed. Please try again.")
		}
		return text(monitor.RenderPrefs(p) + note)
	case "status":
		p, err := store.Get(c.ctx, uid)
		if err != nil {
			a.logError(c, "reading DM preferences", err)
			return errorText("Could not read your notification settings from Mattermost; please try again.")
		}
		return text(monitor.RenderPrefs(p) + "\nChange them with `/pagerduty notify on`, `off`, or `/pagerduty notify` to choose kinds." + note)
	}
	msg := fmt.Sprintf("mode: use `on`, `off` or `status`, or leave it out to choose kinds (not %s).", mdsafe.Code(mdsafe.Truncate(mode, 20)))
	return fieldErrors(msg, map[string]string{fieldNotifyMode: msg})
}

// notifySubmit saves the modal's switches; a value that is not a switch's true/false is refused
// before anything is saved.
func (a *App) notifySubmit(c *Call) apps.CallResponse {
	uid := c.actingUserID()
	if uid == "" {
		return errorText(errSignInFirst)
	}
	var p monitor.Prefs
	fe := map[string]string{}
	for _, k := range monitor.Kinds() {
		switch v := c.Values[string(k.Kind)].(type) {
		case bool:
			p = p.With(k.Kind, v)
		case nil:
		default:
			fe[string(k.Kind)] = fmt.Sprintf("%s: on or off", k.Label)
		}
	}
	if len(fe) > 0 {
		return fieldErrors("Some switches have invalid values; nothing was saved.", fe)
	}
	if err := a.prefs(c).Set(c.ctx, uid, p); err != nil {
		a.logError(c, "saving DM preferences", err)
		return errorText("Could not save your notification settings in Mattermost; nothing changed. Please try again.")
	}
	note := ""
	if p.Any() && !c.userToken().Connected() {
		note = notConnectedNote
	}
	return text("Saved. " + monitor.RenderPrefs(p) + note)
}
