package app

import (
	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/settings"
)

// onInstall keeps what later background work needs: the site URL and the webhook secret (which
// the plugin regenerates on every install and reveals only here, to the installing sysadmin).
func (a *App) onInstall(c *Call) apps.CallResponse {
	app := c.CallRequest.Context.App
	if app == nil || app.WebhookSecret == "" {
		return errorText("Install the PagerDuty app as a system admin: the webhook secret was not provided to the app.")
	}
	in := settings.Installation{
		SiteURL:       c.siteURL(),
		AppPath:       c.CallRequest.Context.AppPath,
		WebhookSecret: app.WebhookSecret,
		BotUserID:     c.CallRequest.Context.BotUserID,
		InstalledBy:   c.actingUserID(),
		InstalledAt:   a.now(),
	}
	if err := c.settings().SaveInstallation(c.ctx, in); err != nil {
		a.logError(c, "saving the installation", err)
		return errorText("Could not save the installation record in Mattermost's KV store; please try installing again.")
	}
	if a.opts.Timer != nil {
		// A reinstall regenerates the webhook secret: the timer must follow it.
		if err := a.opts.Timer.Arm(in.WebhookURL(tickWebhook)); err != nil {
			a.logError(c, "arming the scheduler", err)
		}
	}
	return text("PagerDuty is installed. Next: `/pagerduty configure` (system admins).")
}
