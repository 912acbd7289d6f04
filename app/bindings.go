package app

import (
	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
)

// viewer is what decides which commands a user sees; it comes from the call itself, so bindings
// (fetched on every channel switch) never call PagerDuty or KV.
type viewer struct {
	configured bool
	connected  bool
	sysadmin   bool
}

func (c *Call) viewer() viewer {
	return viewer{
		configured: c.CallRequest.Context.OAuth2.ClientID != "",
		connected:  c.userToken().Connected(),
		sysadmin:   c.isSysadmin(),
	}
}

// command is one /pagerduty subcommand; bindings, the channel-header menu and help all come from
// the same list so they never disagree.
type command struct {
	name   string
	usage  string
	desc   string
	show   func(viewer) bool
	call   *apps.Call
	fields []apps.Field
	menu   bool // offered in the channel-header menu
}

func always(viewer) bool           { return true }
func admin(v viewer) bool          { return v.sysadmin }
func needsConnect(v viewer) bool   { return v.configured && !v.connected }
func connected(v viewer) bool      { return v.configured && v.connected }
func configuredOnly(v viewer) bool { return v.configured }

// Field names of command forms.
const (
	fieldScope = "scope"
)

func (a *App) commands() []command {
	cmds := []command{
		{name: "oncall", usage: "/pagerduty oncall [mine]", desc: "Who is on call now, by escalation policy and level", show: connected, menu: true,
			call: call(pathOnCall, expandUser),
			fields: []apps.Field{{Name: fieldScope, Type: apps.FieldTypeStaticSelect, Label: fieldScope, AutocompletePosition: 1,
				AutocompleteHint: "[mine]", Description: "mine: only your own on-call entries",
				SelectStaticOptions: []apps.SelectOption{{Label: "mine", Value: "mine"}, {Label: "all", Value: "all"}}}}},
	}
	cmds = append(cmds, a.onCallCommands()...)       // schedules_commands.go
	cmds = append(cmds, a.incidentCommands()...)     // incidents_commands.go
	cmds = append(cmds, a.notificationCommands()...) // subscriptions.go: subscribe, list, webhook...
	return append(cmds, []command{
		{name: "connect", usage: "/pagerduty connect", desc: "Link your PagerDuty account", show: needsConnect, menu: true, call: call(pathConnect, expandUser)},
		{name: "disconnect", usage: "/pagerduty disconnect", desc: "Unlink your PagerDuty account", show: connected, call: call(pathDisconnect, expandUser)},
		{name: "status", usage: "/pagerduty status", desc: "Your connection and the app's configuration", show: always, menu: true, call: call(pathStatus, expandUser)},
		{name: "configure", usage: "/pagerduty configure", desc: "Configure the PagerDuty app (system admins)", show: admin, menu: true, call: call(pathConfigure, expandUser)},
		{name: "help", usage: "/pagerduty help", desc: "This list", show: always, call: call(pathHelp, expandUser)},
	}...)
}

// visible filters the command list for a viewer.
func (a *App) visible(v viewer) []command {
	var out []command
	for _, cmd := range a.commands() {
		if cmd.show(v) {
			out = append(out, cmd)
		}
	}
	return out
}

func (a *App) bindings(c *Call) apps.CallResponse {
	v := c.viewer()
	root := apps.Binding{
		Label:       "pagerduty",
		Icon:        "icon.png",
		Description: "PagerDuty: on-call, incidents and notifications",
		Hint:        "[command]",
	}
	if !v.configured && !v.sysadmin {
		root.Description = "PagerDuty is not configured yet: a system admin must run /pagerduty configure"
	}
	for _, cmd := range a.visible(v) {
		b := apps.Binding{Label: cmd.name, Description: cmd.desc, Hint: hintOf(cmd)}
		// Command forms are embedded (never a bare source): the 9.x webapp cannot parse
		// arguments against a form it has not fetched (design.md §1).
		if len(cmd.fields) > 0 {
			b.Form = &apps.Form{Submit: cmd.call, Fields: cmd.fields}
		} else {
			b.Submit = cmd.call
		}
		root.Bindings = append(root.Bindings, b)
	}
	out := []apps.Binding{{Location: apps.LocationCommand, Bindings: []apps.Binding{root}}}
	menuButton := apps.Binding{Location: "pagerduty", Label: "PagerDuty", Icon: "icon.png", Submit: call(pathMenu, expandUser)}
	out = append(out, apps.Binding{Location: apps.LocationChannelHeader, Bindings: []apps.Binding{menuButton}})
	// postMenu (incidents_commands.go) is empty until PagerDuty is configured; an empty
	// location binding would only be dropped by the plugin as invalid.
	if pm := a.postMenu(v); len(pm) > 0 {
		out = append(out, apps.Binding{Location: apps.LocationPostMenu, Bindings: pm})
	}
	return apps.NewDataResponse(out)
}

func hintOf(cmd command) string {
	for _, f := range cmd.fields {
		if f.AutocompleteHint != "" {
			return f.AutocompleteHint
		}
	}
	return ""
}

// menu opens the channel-header modal with the actions this user can take now.
func (a *App) menu(c *Call) apps.CallResponse {
	var opts []apps.SelectOption
	for _, cmd := range a.visible(c.viewer()) {
		if cmd.menu {
			opts = append(opts, apps.SelectOption{Label: cmd.desc, Value: cmd.name})
		}
	}
	if len(opts) == 0 {
		return text("PagerDuty is not configured yet: a system admin must run `/pagerduty configure`.")
	}
	return formResponse(forms.Menu(opts, call(pathMenuSubmit, expandUser)))
}

// menuSubmit runs the chosen action as if its command had been typed, re-checking visibility:
// the menu's choices are not trusted.
func (a *App) menuSubmit(c *Call) apps.CallResponse {
	choice := c.value(forms.MenuField)
	v := c.viewer()
	for _, cmd := range a.visible(v) {
		if cmd.menu && cmd.name == choice {
			h := a.callHandlers()[cmd.call.Path]
			return h(c)
		}
	}
	return fieldErrors("Choose one of the listed actions.", map[string]string{forms.MenuField: "choose one of the listed actions"})
}

func (a *App) help(c *Call) apps.CallResponse {
	v := c.viewer()
	var lines []forms.Command
	for _, cmd := range a.visible(v) {
		lines = append(lines, forms.Command{Usage: cmd.usage, What: cmd.desc})
	}
	note := ""
	switch {
	case !v.configured && v.sysadmin:
		note = "PagerDuty is not configured yet. Start with `/pagerduty configure`."
	case !v.configured:
		note = "PagerDuty is not configured yet: a system admin must run `/pagerduty configure`."
	case !v.connected:
		note = "Connect your PagerDuty account with `/pagerduty connect` to see more commands."
	}
	return text(forms.Help(lines, note))
}
