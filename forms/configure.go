package forms

import (
	"fmt"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/settings"
)

// Configure is the admin's configuration modal. Secrets are write-only: the form says whether one
// is saved and never carries its value.
func Configure(p settings.Public, redirectURL string, submit *apps.Call) apps.Form {
	region := p.Region
	if region == "" {
		region = settings.RegionUS
	}
	cred := p.CredentialKind
	if cred == "" {
		cred = settings.CredAPIKey
	}
	scopes := p.Scopes
	if scopes == "" {
		scopes = settings.DefaultScopes
	}
	regionOpts := []apps.SelectOption{
		{Label: "US (api.pagerduty.com)", Value: settings.RegionUS},
		{Label: "EU (api.eu.pagerduty.com)", Value: settings.RegionEU},
		{Label: "Custom hosts", Value: settings.RegionCustom},
	}
	credOpts := []apps.SelectOption{
		{Label: "REST API key", Value: settings.CredAPIKey},
		{Label: "OAuth app token (client credentials)", Value: settings.CredClientCredentials},
	}
	custom := func(v string) string {
		if p.Region == settings.RegionCustom {
			return v
		}
		return ""
	}
	return apps.Form{
		Title: "Configure PagerDuty",
		Header: "Register this redirect URL in your PagerDuty app's OAuth settings:\n`" + redirectURL + "`\n\n" +
			"Every change is checked against PagerDuty before it is saved.",
		Icon:   "icon.png",
		Submit: submit,
		Fields: []apps.Field{
			{Name: settings.FieldRegion, Type: apps.FieldTypeStaticSelect, IsRequired: true, ModalLabel: "Service region",
				SelectStaticOptions: regionOpts, Value: optionFor(regionOpts, region),
				Description: "Where your PagerDuty account lives. Custom hosts are for proxies and tests."},
			{Name: settings.FieldAPIHost, Type: apps.FieldTypeText, ModalLabel: "API host (custom only)", Value: custom(p.Hosts.API),
				Description: "For example https://api.pagerduty.com"},
			{Name: settings.FieldIdentityHost, Type: apps.FieldTypeText, ModalLabel: "Identity host (custom only)", Value: custom(p.Hosts.Identity),
				Description: "For example https://identity.pagerduty.com"},
			{Name: settings.FieldEventsHost, Type: apps.FieldTypeText, ModalLabel: "Events host (custom only)", Value: custom(p.Hosts.Events),
				Description: "For example https://events.pagerduty.com"},
			{Name: settings.FieldClientID, Type: apps.FieldTypeText, IsRequired: true, ModalLabel: "OAuth client ID", Value: p.ClientID,
				TextMaxLength: 200, Description: "From your PagerDuty app: Integrations → App Registration → OAuth."},
			{Name: settings.FieldClientSecret, Type: apps.FieldTypeText, TextSubtype: apps.TextFieldSubtypePassword, ModalLabel: "OAuth client secret",
				TextMaxLength: 500, Description: secretNote(p.ClientSecretSet, "client secret")},
			{Name: settings.FieldScopes, Type: apps.FieldTypeText, TextSubtype: apps.TextFieldSubtypeTextarea, ModalLabel: "OAuth scopes", Value: scopes,
				Description: "The scopes configured on your PagerDuty app, space-separated (\"write\" for Classic User OAuth)."},
			{Name: settings.FieldCredentialKind, Type: apps.FieldTypeStaticSelect, IsRequired: true, ModalLabel: "App credential for background work",
				SelectStaticOptions: credOpts, Value: optionFor(credOpts, cred),
				Description: "Used for the on-call monitor and webhook setup, never one admin's personal token."},
			{Name: settings.FieldAPIKey, Type: apps.FieldTypeText, TextSubtype: apps.TextFieldSubtypePassword, ModalLabel: "REST API key",
				TextMaxLength: 100, Description: secretNote(p.APIKeySet, "REST API key") + " Only for the REST API key credential."},
			{Name: settings.FieldSubdomain, Type: apps.FieldTypeText, ModalLabel: "Account subdomain", Value: p.Subdomain,
				TextMaxLength: 63, Description: "Only for the OAuth app token: the ACME in acme.pagerduty.com."},
		},
	}
}

func secretNote(set bool, what string) string {
	if set {
		return fmt.Sprintf("A %s is saved. Leave empty to keep it.", what)
	}
	return fmt.Sprintf("No %s is saved yet.", what)
}

func optionFor(opts []apps.SelectOption, value string) any {
	for _, o := range opts {
		if o.Value == value {
			return o
		}
	}
	return nil
}
