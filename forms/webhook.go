package forms

import (
	"strconv"
	"strings"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
	"github.com/mattermost/mattermost-app-pagerduty/timefmt"
)

// Ingress routes of PagerDuty webhooks (design.md §2.2).
const (
	// WebhookRouteDirect: PagerDuty → the app's own endpoint, which checks the signature.
	WebhookRouteDirect = "direct"
	// WebhookRouteMattermost: PagerDuty → the Mattermost webhook URL, authenticated by its secret.
	WebhookRouteMattermost = "mattermost"
)

// State of the webhook subscription as PagerDuty reports it.
const (
	WebhookPDActive   = "active"
	WebhookPDDisabled = "disabled" // temporarily disabled by PagerDuty after failed deliveries
	WebhookPDInactive = "inactive" // switched off by its owner
	WebhookPDMissing  = "missing"  // deleted at PagerDuty
	WebhookPDUnknown  = "unknown"  // PagerDuty could not be asked
)

// Field names of /pagerduty webhook.
const (
	WebhookFieldAction  = "action"
	WebhookFieldService = "service"
	WebhookFieldTeam    = "team"
)

// WebhookStats are the deliveries this app process has seen. Counting is in memory: a restart
// starts again from zero, and the view says since when.
type WebhookStats struct {
	Accepted   int // events processed (routed to channels)
	Duplicates int // redeliveries dropped
	Rejected   int // refused: bad or missing signature, too large, malformed, wrong route
	Failed     int // events whose posting failed in some channel
	LastType   string
	LastID     string
	LastAt     time.Time // when the last accepted event arrived
	Since      time.Time // when counting started
}

// WebhookView is what /pagerduty webhook status and the status line show. It never holds the
// signing secret or the Mattermost webhook secret: URLs are without their query.
type WebhookView struct {
	SetUp          bool
	Route          string
	URL            string // delivery URL without query
	Scope          string // account, service or team
	ScopeID        string
	ScopeName      string // PagerDuty's name (untrusted)
	SubscriptionID string
	CreatedAt      time.Time
	PDState        string // WebhookPD*
	PDProblem      string // why PDState is unknown (a plain sentence)
	// StaleURL: the subscription's URL no longer matches this installation (the app was
	// reinstalled, which changes the Mattermost webhook secret, or its public URL changed).
	StaleURL bool
	Stats    WebhookStats
	Now      time.Time
}

func routeText(route string) string {
	switch route {
	case WebhookRouteDirect:
		return "direct to the app, each delivery's signature (X-PagerDuty-Signature) checked"
	case WebhookRouteMattermost:
		return "through the Mattermost webhook URL, authenticated by its secret only: PagerDuty's signature cannot be checked on this path (set PD_APP_PUBLIC_URL and run setup again for signed delivery)"
	}
	return mdsafe.Inline(route)
}

func scopeText(v WebhookView) string {
	switch v.Scope {
	case "service", "team":
		s := v.Scope + " " + mdsafe.Code(v.ScopeID)
		if v.ScopeName != "" {
			s += " (" + mdsafe.InlineMax(v.ScopeName, 60) + ")"
		}
		return s
	}
	return "the whole account"
}

func pdStateText(v WebhookView) string {
	switch v.PDState {
	case WebhookPDActive:
		return "active"
	case WebhookPDDisabled:
		return "**temporarily disabled by PagerDuty** after failed deliveries: fix what refused them, then run `/pagerduty webhook setup` again"
	case WebhookPDInactive:
		return "**switched off** in PagerDuty: run `/pagerduty webhook setup` again"
	case WebhookPDMissing:
		return "**deleted in PagerDuty**: run `/pagerduty webhook setup` again"
	}
	if v.PDProblem != "" {
		return "unknown (" + v.PDProblem + ")"
	}
	return "unknown"
}

func statsText(s WebhookStats, now time.Time) string {
	var b strings.Builder
	b.WriteString("since the app started " + timefmt.Relative(s.Since, now) + ": ")
	b.WriteString(strconv.Itoa(s.Accepted) + " accepted, " + strconv.Itoa(s.Duplicates) + " duplicate, " + strconv.Itoa(s.Rejected) + " rejected")
	if s.Failed > 0 {
		b.WriteString(", **" + strconv.Itoa(s.Failed) + " could not be posted** (see the app log)")
	}
	if s.LastType != "" {
		b.WriteString("; last event " + mdsafe.Code(s.LastType) + " " + timefmt.Relative(s.LastAt, now))
	} else {
		b.WriteString("; no event received yet")
	}
	return b.String()
}

// WebhookStatus renders /pagerduty webhook status.
func WebhookStatus(v WebhookView) string {
	var b strings.Builder
	b.WriteString("#### PagerDuty webhooks\n")
	if !v.SetUp {
		b.WriteString("Not set up: PagerDuty sends no events to Mattermost. Run `/pagerduty webhook setup` (optionally `--service ID` or `--team ID`).\n")
		if v.Stats.Rejected > 0 {
			b.WriteString("- **Deliveries:** " + statsText(v.Stats, v.Now) + ".\n")
		}
		return b.String()
	}
	b.WriteString("- **Route:** " + routeText(v.Route) + "\n")
	b.WriteString("- **Delivery URL:** " + mdsafe.Code(v.URL) + "\n")
	b.WriteString("- **Scope:** " + scopeText(v) + "\n")
	line := "- **PagerDuty subscription:** " + mdsafe.Code(v.SubscriptionID)
	if !v.CreatedAt.IsZero() {
		line += ", set up " + timefmt.Relative(v.CreatedAt, v.Now)
	}
	b.WriteString(line + ": " + pdStateText(v) + "\n")
	if v.StaleURL {
		b.WriteString("- **Warning:** the subscription still delivers to an old URL (the app was reinstalled or its public URL changed): run `/pagerduty webhook setup` again.\n")
	}
	b.WriteString("- **Deliveries:** " + statsText(v.Stats, v.Now) + ".\n")
	return b.String()
}

// WebhookStatusLine is the one line /pagerduty status shows system admins.
func WebhookStatusLine(v WebhookView) string {
	if !v.SetUp {
		return "- **Webhooks:** not set up: run `/pagerduty webhook setup` for real-time notifications."
	}
	route := "direct, signed"
	if v.Route == WebhookRouteMattermost {
		route = "through Mattermost, unsigned"
	}
	return "- **Webhooks:** " + route + ", " + scopeText(v) + "; " + statsText(v.Stats, v.Now) + ". Details: `/pagerduty webhook status`."
}
