package forms

import (
	"strings"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
	"github.com/mattermost/mattermost-app-pagerduty/settings"
	"github.com/mattermost/mattermost-app-pagerduty/timefmt"
)

// StatusView is what /pagerduty status shows. No secret reaches it: only settings.Public.
type StatusView struct {
	Config      settings.Public
	Sysadmin    bool
	Connected   bool
	PDName      string
	PDEmail     string
	PDUserID    string
	PDTimeZone  string
	PDURL       string
	ConnectedAt time.Time
	RedirectURL string
	Now         time.Time
	Loc         *time.Location
	Extra       []string // lines from other capabilities (webhooks, monitor)
}

func Status(v StatusView) string {
	var b strings.Builder
	b.WriteString("#### PagerDuty status\n")
	if v.Connected {
		line := "- **You:** connected as " + mdsafe.Link(v.PDName, v.PDURL)
		if v.PDEmail != "" {
			line += " (" + mdsafe.Inline(v.PDEmail) + ")"
		}
		line += ", PagerDuty user " + mdsafe.Code(v.PDUserID)
		if v.PDTimeZone != "" {
			line += ", time zone " + mdsafe.Inline(v.PDTimeZone)
		}
		if !v.ConnectedAt.IsZero() {
			line += ", since " + timefmt.Clock(v.ConnectedAt, v.Now, locOrUTC(v.Loc))
		}
		b.WriteString(line + ".\n")
	} else if v.Config.Configured {
		b.WriteString("- **You:** not connected. Run `/pagerduty connect` to link your PagerDuty account.\n")
	}
	if !v.Config.Configured {
		if v.Sysadmin {
			b.WriteString("- **App:** not configured. Run `/pagerduty configure`.\n")
		} else {
			b.WriteString("- **App:** not configured yet. A system admin must run `/pagerduty configure`.\n")
		}
		return b.String()
	}
	b.WriteString("- **App:** configured for region **" + mdsafe.Inline(v.Config.Region) + "**")
	if !v.Config.UpdatedAt.IsZero() {
		b.WriteString(", last changed " + timefmt.Relative(v.Config.UpdatedAt, v.Now))
	}
	b.WriteString(".\n")
	if v.Sysadmin {
		b.WriteString("- **Hosts:** API " + mdsafe.Inline(v.Config.Hosts.API) + ", identity " + mdsafe.Inline(v.Config.Hosts.Identity) + ", events " + mdsafe.Inline(v.Config.Hosts.Events) + "\n")
		b.WriteString("- **OAuth client:** " + mdsafe.Code(v.Config.ClientID) + ", secret " + setOrNot(v.Config.ClientSecretSet) + "\n")
		switch v.Config.CredentialKind {
		case settings.CredAPIKey:
			b.WriteString("- **App credential:** REST API key, " + setOrNot(v.Config.APIKeySet) + "\n")
		case settings.CredClientCredentials:
			b.WriteString("- **App credential:** OAuth app token for account " + mdsafe.Code(v.Config.Subdomain) + "\n")
		}
		if v.RedirectURL != "" {
			b.WriteString("- **Redirect URL to register at PagerDuty:** " + mdsafe.Code(v.RedirectURL) + "\n")
		}
	}
	for _, l := range v.Extra {
		b.WriteString(l + "\n")
	}
	return b.String()
}

func setOrNot(set bool) string {
	if set {
		return "saved"
	}
	return "**not saved**"
}

func locOrUTC(l *time.Location) *time.Location {
	if l == nil {
		return time.UTC
	}
	return l
}
