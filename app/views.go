package app

import (
	"time"

	"github.com/PagerDuty/go-pagerduty"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/pdauth"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
	"github.com/mattermost/mattermost-app-pagerduty/timefmt"
)

// location is the acting user's Mattermost time zone: every time shown to them is in it.
func (c *Call) location() *time.Location {
	if u := c.actingUser(); u != nil {
		return timefmt.Location(u.Timezone)
	}
	return time.UTC
}

func (a *App) status(c *Call) apps.CallResponse {
	cfg, err := c.settings().Config(c.ctx)
	if err != nil {
		a.logError(c, "loading configuration", err)
		return errorText("Could not load the configuration from Mattermost; please try again.")
	}
	t := c.userToken()
	v := forms.StatusView{
		Config: cfg.Public(), Sysadmin: c.isSysadmin(), Connected: t.Connected(),
		PDName: t.Name, PDEmail: t.Email, PDUserID: t.PDUserID, PDTimeZone: t.TimeZone, PDURL: t.HTMLURL, ConnectedAt: t.ConnectedAt,
		Now: a.now(), Loc: c.location(),
	}
	if v.Sysadmin {
		v.RedirectURL = c.redirectURL()
		if cfg.Configured() {
			if l := a.webhookStatusLine(c); l != "" { // webhooks.go
				v.Extra = append(v.Extra, l)
			}
		}
	}
	return text(forms.Status(v))
}

func (a *App) onCall(c *Call) apps.CallResponse {
	scope := c.value(fieldScope)
	if scope != "" && scope != "mine" && scope != "all" {
		return errorText("scope: use `mine` for your own on-call entries, or leave it out for everyone's.")
	}
	var entries []pagerduty.OnCall
	var me string
	err := a.withPagerDuty(c, func(pd *pdclient.Client, tok pdauth.UserToken) error {
		q := pdclient.OnCallQuery{}
		if scope == "mine" {
			q.UserIDs = []string{tok.PDUserID}
		}
		me = tok.PDUserID
		var err error
		entries, err = pd.ListOnCalls(c.ctx, q)
		return err
	})
	if err != nil {
		return a.userError(c, "reading who is on call", err)
	}
	return text(forms.OnCallNow(forms.OnCallView{Entries: entries, MyUserID: me, Mine: scope == "mine", Now: a.now(), Loc: c.location()}))
}
