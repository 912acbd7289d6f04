package forms

import "github.com/mattermost/mattermost-plugin-apps/apps"

// MenuField is the name of the main menu's only field.
const MenuField = "action"

// Menu is the channel-header modal: one choice, submitted to the action's own handler.
func Menu(options []apps.SelectOption, submit *apps.Call) apps.Form {
	return apps.Form{
		Title:  "PagerDuty",
		Icon:   "icon.png",
		Submit: submit,
		Fields: []apps.Field{{
			Name: MenuField, Type: apps.FieldTypeStaticSelect, IsRequired: true,
			ModalLabel: "What do you want to do?", SelectStaticOptions: options,
		}},
	}
}
