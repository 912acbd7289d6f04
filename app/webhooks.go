package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"golang.org/x/oauth2"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
	"github.com/mattermost/mattermost-app-pagerduty/pdauth"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
	"github.com/mattermost/mattermost-app-pagerduty/settings"
	"github.com/mattermost/mattermost-app-pagerduty/subscription"
	"github.com/mattermost/mattermost-app-pagerduty/webhook"
)

// /pagerduty webhook setup|status|teardown: the PagerDuty V3 webhook subscription that feeds
// the channel notifications. System admins only; PagerDuty is called with the app-level
// credential, never one admin's personal token.

// KV document of the webhook setup (bot scope). It holds the signing secret PagerDuty returns
// only in its create reply.
const (
	prefixWebhook  = "w"
	idWebhookSetup = "setup"
)

const onlyAdminsWebhook = "Only system admins can manage PagerDuty webhooks. Ask a system admin to run `/pagerduty webhook setup`."

// Scopes of a webhook subscription (PagerDuty's filter types without "_reference").
const (
	scopeAccount = "account"
	scopeService = "service"
	scopeTeam    = "team"
)

// webhookSetup is the stored setup. Secret is the signing secret: never log, render or return it.
type webhookSetup struct {
	SubscriptionID string    `json:"id"`
	Secret         string    `json:"secret,omitempty"`
	Route          string    `json:"route"`
	URL            string    `json:"url"` // the delivery URL without its query (which may hold the Mattermost webhook secret)
	Scope          string    `json:"scope"`
	ScopeID        string    `json:"scope_id,omitempty"`
	ScopeName      string    `json:"scope_name,omitempty"`
	CreatedBy      string    `json:"created_by,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

func loadWebhookSetup(ctx context.Context, kv kvstore.KV) (webhookSetup, bool, error) {
	var s webhookSetup
	if _, err := kv.Get(ctx, prefixWebhook, idWebhookSetup, &s); err != nil {
		return webhookSetup{}, false, fmt.Errorf("loading the webhook setup: %w", err)
	}
	return s, s.SubscriptionID != "", nil
}

// subscribableEvents are the event types the webhook subscription asks PagerDuty for: every
// documented V3 type the router knows, without the app's own on-call event.
func subscribableEvents() []string {
	out := make([]string, 0, len(webhook.EventTypes))
	for _, e := range webhook.EventTypes {
		if e != subscription.EventOnCallChange {
			out = append(out, e)
		}
	}
	return out
}

func withoutQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

func (a *App) webhookCommand(c *Call) apps.CallResponse {
	if !c.isSysadmin() {
		return errorText(onlyAdminsWebhook)
	}
	switch strings.ToLower(c.value(forms.WebhookFieldAction)) {
	case "setup":
		return a.webhookSetup(c)
	case "status", "":
		return a.webhookStatus(c)
	case "teardown":
		return a.webhookTeardown(c)
	}
	return errorText("action: use `setup`, `status` or `teardown`, for example `/pagerduty webhook status`.")
}

// appPagerDuty is a PagerDuty client with the app-level credential.
func (a *App) appPagerDuty(c *Call) (*pdclient.Client, context.Context, error) {
	ctx := context.WithValue(c.ctx, oauth2.HTTPClient, a.hc)
	cfg, err := c.settings().Config(ctx)
	if err != nil {
		return nil, ctx, err
	}
	if !cfg.Configured() {
		return nil, ctx, settings.ErrNotConfigured
	}
	auth, err := a.appCred.Auth(ctx, c.botKV(), cfg)
	if err != nil {
		return nil, ctx, err
	}
	return pdclient.New(a.pdConfig(pdauth.Hosts(cfg), auth)), ctx, nil
}

// appPDError turns an error of the app-credential path into one sentence ending with what
// happened to the change.
func (a *App) appPDError(c *Call, doing, outcome string, err error) apps.CallResponse {
	var apiErr *pdclient.APIError
	switch {
	case errors.Is(err, settings.ErrNotConfigured):
		return errorText(err.Error())
	case pdclient.IsUnauthorized(err):
		return errorText(fmt.Sprintf("PagerDuty rejected the app credential (401) while %s: check the REST API key or OAuth client with `/pagerduty configure`. %s", doing, outcome))
	case pdclient.IsForbidden(err):
		return errorText(fmt.Sprintf("The app credential may not do this (403 Forbidden) while %s: use an account-level REST API key, or grant the OAuth app webhook_subscriptions.write. %s", doing, outcome))
	case pdclient.IsRateLimited(err):
		return errorText(fmt.Sprintf("PagerDuty is rate limiting requests right now (while %s); try again in a minute. %s", doing, outcome))
	case errors.As(err, &apiErr) && apiErr.StatusCode == 400:
		msg := apiErr.Message
		if len(apiErr.Errors) > 0 {
			msg += ": " + strings.Join(apiErr.Errors, "; ")
		}
		return errorText(fmt.Sprintf("PagerDuty refused %s (%s). %s", doing, mdsafe.InlineMax(msg, 300), outcome))
	}
	a.logError(c, doing, err)
	return errorText(fmt.Sprintf("Could not finish %s: PagerDuty did not answer in time or had an error. %s Please try again.", doing, outcome))
}

// checkScope finds id among the account's services or teams (with the app credential), so a
// typo gets the list of valid ids rather than PagerDuty's 400.
func checkScope(ctx context.Context, pd *pdclient.Client, kind, id string) (canonID, name string, err error) {
	var valid []subscription.Choice
	switch kind {
	case scopeService:
		list, err := pd.ListServices(ctx, "")
		if err != nil {
			return "", "", err
		}
		for _, s := range list {
			valid = append(valid, subscription.Choice{ID: s.ID, Name: s.Name})
		}
	case scopeTeam:
		list, err := pd.ListTeams(ctx, "")
		if err != nil {
			return "", "", err
		}
		for _, t := range list {
			valid = append(valid, subscription.Choice{ID: t.ID, Name: t.Name})
		}
	}
	listed := make([]string, 0, len(valid))
	for _, ch := range valid {
		if strings.EqualFold(ch.ID, id) {
			return ch.ID, ch.Name, nil
		}
		listed = append(listed, ch.ID+" ("+mdsafe.Truncate(ch.Name, 40)+")")
	}
	return "", "", &subscription.ArgError{Field: kind, Value: id, Valid: listed}
}

func (a *App) webhookSetup(c *Call) apps.CallResponse {
	service := strings.TrimSpace(c.value(forms.WebhookFieldService))
	team := strings.TrimSpace(c.value(forms.WebhookFieldTeam))
	if service != "" && team != "" {
		return errorText("Choose one scope: `--service ID` or `--team ID`, or neither for the whole account. Nothing was changed.")
	}
	kv := c.botKV()
	inst, found, err := c.settings().Installation(c.ctx)
	if err != nil {
		a.logError(c, "loading the installation", err)
		return errorText("Could not read the app's installation record from Mattermost; nothing was changed. Please try again.")
	}
	if !found || inst.WebhookSecret == "" {
		return errorText("The app's installation record is missing, so Mattermost's webhook URL is unknown: reinstall the app (`/apps install`), then run `/pagerduty webhook setup` again. Nothing was changed.")
	}
	old, hadOld, err := loadWebhookSetup(c.ctx, kv)
	if err != nil {
		a.logError(c, "loading the webhook setup", err)
		return errorText("Could not read the current webhook setup from Mattermost; nothing was changed. Please try again.")
	}
	pd, ctx, err := a.appPagerDuty(c)
	if err != nil {
		return a.appPDError(c, "getting the app credential", "Nothing was changed.", err)
	}

	setup := webhookSetup{Scope: scopeAccount, CreatedBy: c.actingUserID(), CreatedAt: a.now()}
	filter := pdclient.WebhookSubscription{FilterType: "account_reference"}
	if service != "" || team != "" {
		kind, id := scopeService, service
		if team != "" {
			kind, id = scopeTeam, team
		}
		canon, name, err := checkScope(ctx, pd, kind, id)
		var argErr *subscription.ArgError
		if errors.As(err, &argErr) {
			return errorText("--" + kind + ": " + argErr.Error() + ". Nothing was changed.")
		}
		if err != nil {
			return a.appPDError(c, "listing PagerDuty "+kind+"s", "Nothing was changed.", err)
		}
		setup.Scope, setup.ScopeID, setup.ScopeName = kind, canon, name
		filter = pdclient.WebhookSubscription{FilterType: kind + "_reference", FilterID: canon}
	}

	deliverTo := a.ingressURL()
	setup.Route = forms.WebhookRouteDirect
	if deliverTo == "" {
		deliverTo = inst.WebhookURL(webhookPagerDuty)
		setup.Route = forms.WebhookRouteMattermost
	}
	setup.URL = withoutQuery(deliverTo)
	filter.URL, filter.Events = deliverTo, subscribableEvents()
	filter.Description = "Mattermost PagerDuty app (" + withoutQuery(inst.SiteURL) + ")"
	created, err := pd.CreateWebhookSubscription(ctx, filter)
	if err != nil {
		return a.appPDError(c, "creating the webhook subscription", "Nothing was changed.", err)
	}
	undo := func() {
		if err := pd.DeleteWebhookSubscription(ctx, created.ID); err != nil && !pdclient.IsNotFound(err) {
			a.logError(c, "deleting the webhook subscription just created", err)
		}
	}
	if created.Secret == "" && setup.Route == forms.WebhookRouteDirect {
		undo()
		return errorText("PagerDuty created the webhook subscription but returned no signing secret, so deliveries could not be verified: it was deleted again and nothing was changed. Please try again.")
	}
	setup.SubscriptionID, setup.Secret = created.ID, created.Secret
	if err := kv.Set(c.ctx, prefixWebhook, idWebhookSetup, setup); err != nil {
		a.logError(c, "saving the webhook setup", err)
		undo()
		return errorText("Could not save the webhook setup in Mattermost's KV store: the new PagerDuty subscription was deleted again and nothing was changed. Please try again.")
	}
	a.wh.ingress.set(ingressFor(setup, true, inst))

	var b strings.Builder
	fmt.Fprintf(&b, "PagerDuty webhooks are set up: subscription %s for %s, delivered %s.\n",
		mdsafe.Code(created.ID), scopeLabel(setup), routeLabel(setup.Route))
	if hadOld && old.SubscriptionID != created.ID {
		if err := pd.DeleteWebhookSubscription(ctx, old.SubscriptionID); err != nil && !pdclient.IsNotFound(err) {
			a.logError(c, "deleting the previous webhook subscription", err)
			fmt.Fprintf(&b, "**The previous subscription %s could not be deleted in PagerDuty**: delete it there (Integrations → Generic Webhooks (v3)), or it keeps sending every event twice.\n", mdsafe.Code(old.SubscriptionID))
		} else {
			fmt.Fprintf(&b, "It replaces the previous subscription %s, which was deleted.\n", mdsafe.Code(old.SubscriptionID))
		}
	}
	b.WriteString("Next: in each channel that should get notifications, a channel admin runs `/pagerduty subscribe`. Check deliveries with `/pagerduty webhook status`.")
	return text(b.String())
}

func scopeLabel(s webhookSetup) string {
	if s.Scope == scopeService || s.Scope == scopeTeam {
		return s.Scope + " " + mdsafe.Code(s.ScopeID) + " (" + mdsafe.InlineMax(s.ScopeName, 60) + ")"
	}
	return "the whole account"
}

func routeLabel(route string) string {
	if route == forms.WebhookRouteDirect {
		return "directly to the app, which checks PagerDuty's signature on every delivery"
	}
	return "through Mattermost's webhook URL (authenticated by its secret only: set PD_APP_PUBLIC_URL for signed, direct delivery)"
}

// webhookView gathers what the status views show; askPD asks PagerDuty for the subscription's
// state (the one-line summary in /pagerduty status does not).
func (a *App) webhookView(c *Call, askPD bool) (forms.WebhookView, error) {
	v := forms.WebhookView{Stats: a.wh.statsSnapshot(), Now: a.now()}
	setup, found, err := loadWebhookSetup(c.ctx, c.botKV())
	if err != nil || !found {
		return v, err
	}
	v.SetUp = true
	v.Route, v.URL, v.SubscriptionID, v.CreatedAt = setup.Route, setup.URL, setup.SubscriptionID, setup.CreatedAt
	v.Scope, v.ScopeID, v.ScopeName = setup.Scope, setup.ScopeID, setup.ScopeName
	if !askPD {
		return v, nil
	}
	v.PDState = forms.WebhookPDUnknown
	pd, ctx, err := a.appPagerDuty(c)
	if err != nil {
		v.PDProblem = "the app credential is not usable: check `/pagerduty configure`"
		return v, nil
	}
	sub, err := pd.GetWebhookSubscription(ctx, setup.SubscriptionID)
	switch {
	case pdclient.IsNotFound(err):
		v.PDState = forms.WebhookPDMissing
		return v, nil
	case err != nil:
		a.logError(c, "reading the webhook subscription", err)
		v.PDProblem = "PagerDuty did not answer"
		return v, nil
	case sub.TemporarilyDisabled:
		v.PDState = forms.WebhookPDDisabled
	case !sub.Active:
		v.PDState = forms.WebhookPDInactive
	default:
		v.PDState = forms.WebhookPDActive
	}
	// The URL must still be this installation's: a reinstall changes the Mattermost webhook
	// secret, and the public URL may have changed. Compared, never shown.
	want := a.ingressURL()
	if setup.Route == forms.WebhookRouteMattermost {
		inst, _, ierr := c.settings().Installation(c.ctx)
		want = ""
		if ierr == nil {
			want = inst.WebhookURL(webhookPagerDuty)
		}
	}
	v.StaleURL = want != "" && sub.URL != want
	return v, nil
}

func (a *App) webhookStatus(c *Call) apps.CallResponse {
	v, err := a.webhookView(c, true)
	if err != nil {
		a.logError(c, "loading the webhook setup", err)
		return errorText("Could not read the webhook setup from Mattermost; please try again.")
	}
	return text(forms.WebhookStatus(v))
}

// webhookStatusLine is the /pagerduty status line for system admins ("" when it cannot be read).
func (a *App) webhookStatusLine(c *Call) string {
	v, err := a.webhookView(c, false)
	if err != nil {
		a.logError(c, "loading the webhook setup", err)
		return ""
	}
	return forms.WebhookStatusLine(v)
}

func (a *App) webhookTeardown(c *Call) apps.CallResponse {
	kv := c.botKV()
	setup, found, err := loadWebhookSetup(c.ctx, kv)
	if err != nil {
		a.logError(c, "loading the webhook setup", err)
		return errorText("Could not read the webhook setup from Mattermost; nothing was changed. Please try again.")
	}
	if !found {
		return text("PagerDuty webhooks are not set up: there is nothing to tear down.")
	}
	pd, ctx, err := a.appPagerDuty(c)
	if err != nil {
		return a.appPDError(c, "getting the app credential", "Nothing was changed.", err)
	}
	if err := pd.DeleteWebhookSubscription(ctx, setup.SubscriptionID); err != nil && !pdclient.IsNotFound(err) {
		return a.appPDError(c, "deleting the webhook subscription", "Nothing was changed.", err)
	}
	if err := kv.Delete(c.ctx, prefixWebhook, idWebhookSetup); err != nil {
		a.logError(c, "deleting the webhook setup", err)
		return errorText("The subscription was deleted in PagerDuty, but its record could not be removed from Mattermost: run `/pagerduty webhook teardown` again.")
	}
	inst, _, _ := c.settings().Installation(c.ctx)
	a.wh.ingress.set(ingressFor(webhookSetup{}, false, inst))
	return text(fmt.Sprintf("PagerDuty webhooks are torn down: subscription %s was deleted in PagerDuty and its signing secret removed. Channel subscriptions are kept; `/pagerduty webhook setup` resumes notifications.",
		mdsafe.Code(setup.SubscriptionID)))
}
