package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"
	"golang.org/x/oauth2"

	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
	"github.com/mattermost/mattermost-app-pagerduty/pdauth"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
	"github.com/mattermost/mattermost-app-pagerduty/settings"
)

// KV index of connected users, bot scope: PagerDuty user id → Mattermost user id. Background work
// (the monitor's DMs) maps people by this first, by email only as a fallback (design.md §2.4).
const prefixUserByPD = "u"

const errSignInFirst = "Sign in to Mattermost first, then run /pagerduty connect."

type userLink struct {
	MattermostUserID string `json:"mm_user_id"`
	Email            string `json:"email,omitempty"`
}

func (a *App) connect(c *Call) apps.CallResponse {
	if !c.viewer().configured {
		return errorText(settings.ErrNotConfigured.Error())
	}
	if t := c.userToken(); t.Connected() {
		return text(fmt.Sprintf("You are already connected as %s. Run `/pagerduty disconnect` first to link another account.", mdsafe.Inline(t.Name)))
	}
	return text(fmt.Sprintf("[Connect your PagerDuty account](%s) — you will sign in at PagerDuty and come back here.", c.CallRequest.Context.OAuth2.ConnectURL))
}

// oauth2ConnectURL answers the plugin's get_oauth2_connect_url with PagerDuty's authorize URL,
// using PKCE (S256) as Scoped OAuth requires.
func (a *App) oauth2ConnectURL(c *Call) apps.CallResponse {
	if c.actingUserID() == "" {
		return errorText(errSignInFirst)
	}
	cfg, err := c.settings().Config(c.ctx)
	if err != nil || !cfg.Configured() {
		return errorText(settings.ErrNotConfigured.Error())
	}
	state, _ := c.Values["state"].(string)
	verifier, err := pdauth.BeginConnect(c.ctx, c.botKV(), state, c.actingUserID(), a.now())
	if err != nil {
		a.logError(c, "starting a connect", err)
		return errorText("Could not start connecting to PagerDuty; please run /pagerduty connect again.")
	}
	oc := pdauth.OAuthConfig(cfg, c.redirectURL())
	return apps.NewDataResponse(oc.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
}

// oauth2Complete exchanges the code, learns who the user is at PagerDuty and stores the token in
// the framework's per-user store.
func (a *App) oauth2Complete(c *Call) apps.CallResponse {
	// The plugin lets an anonymous browser complete a connect (its state check passes with an
	// empty user); without an acting user there is nobody to connect, so stop before the exchange.
	if c.actingUserID() == "" {
		return errorText(errSignInFirst)
	}
	if e, _ := c.Values["error"].(string); e != "" {
		desc, _ := c.Values["error_description"].(string)
		return errorText(fmt.Sprintf("PagerDuty did not authorize the connection (%s): %s", mdsafe.InlineMax(e, 80), mdsafe.InlineMax(desc, 300)))
	}
	code, _ := c.Values["code"].(string)
	state, _ := c.Values["state"].(string)
	if code == "" {
		return errorText("PagerDuty sent no authorization code back: run /pagerduty connect again.")
	}
	cfg, err := c.settings().Config(c.ctx)
	if err != nil || !cfg.Configured() {
		return errorText(settings.ErrNotConfigured.Error())
	}
	verifier, err := pdauth.FinishConnect(c.ctx, c.botKV(), state, c.actingUserID(), a.now())
	var ce pdauth.ConnectError
	switch {
	case errors.As(err, &ce):
		return errorText(ce.Error())
	case err != nil:
		a.logError(c, "finishing a connect", err)
		return errorText("Could not finish connecting to PagerDuty; please run /pagerduty connect again.")
	}
	ctx := context.WithValue(c.ctx, oauth2.HTTPClient, a.hc)
	tok, err := pdclient.Exchange(ctx, pdauth.OAuthConfig(cfg, c.redirectURL()), code, verifier)
	if err != nil {
		a.logError(c, "exchanging the authorization code", err)
		return errorText("PagerDuty did not accept the authorization (the code may have expired): run /pagerduty connect again.")
	}
	me, err := pdclient.New(a.pdConfig(pdauth.Hosts(cfg), pdclient.Auth{Kind: pdclient.AuthOAuth, Token: tok.AccessToken})).CurrentUser(ctx)
	if err != nil {
		a.logError(c, "reading the connected PagerDuty user", err)
		return errorText("Connected, but PagerDuty would not tell who you are (GET /users/me failed): check that the app's scopes include users.read, then run /pagerduty connect again.")
	}
	ut := pdauth.UserToken{
		AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: pdauth.OnClock(a.now(), tok.Expiry),
		PDUserID: me.ID, Email: me.Email, Name: me.Name, TimeZone: me.Timezone, HTMLURL: me.HTMLURL, ConnectedAt: a.now(),
	}
	var previous pdauth.UserToken
	if _, err := c.asUser().GetOAuth2User(c.ctx, &previous); err != nil {
		a.logError(c, "reading the previous PagerDuty connection", err)
	}
	if err := c.asUser().StoreOAuth2User(c.ctx, ut); err != nil {
		a.logError(c, "storing the user token", err)
		return errorText("Could not store your PagerDuty token in Mattermost; please run /pagerduty connect again.")
	}
	if err := c.botKV().Set(c.ctx, prefixUserByPD, me.ID, userLink{MattermostUserID: c.actingUserID(), Email: me.Email}); err != nil {
		a.logError(c, "indexing the connected user", err)
	}
	if previous.PDUserID != "" && previous.PDUserID != me.ID {
		// Reconnected as another PagerDuty user: the old account's shifts are no longer theirs.
		a.unlinkPagerDutyUser(c, previous.PDUserID)
	}
	a.dm(c, c.actingUserID(), fmt.Sprintf("You are connected to PagerDuty as %s.", mdsafe.Link(me.Name, me.HTMLURL)))
	return text("Connected.")
}

func (a *App) disconnect(c *Call) apps.CallResponse {
	t := c.userToken()
	if !t.Connected() {
		return text("You are not connected to PagerDuty.")
	}
	if err := c.asUser().StoreOAuth2User(c.ctx, pdauth.UserToken{}); err != nil {
		a.logError(c, "clearing the user token", err)
		return errorText("Could not remove your PagerDuty token from Mattermost; please try again.")
	}
	a.unlinkPagerDutyUser(c, t.PDUserID)
	resp := text(fmt.Sprintf("Disconnected from PagerDuty (%s). Your token was removed from Mattermost.", mdsafe.Inline(t.Name)))
	resp.RefreshBindings = true
	return resp
}

// withPagerDuty runs fn with the acting user's PagerDuty client and a fresh token. A 401 before
// the token's expiry (PagerDuty revoked or expired it early) refreshes once and retries fn once.
func (a *App) withPagerDuty(c *Call, fn func(pd *pdclient.Client, tok pdauth.UserToken) error) error {
	cfg, err := c.settings().Config(c.ctx)
	if err != nil {
		return fmt.Errorf("loading the app configuration: %w", err)
	}
	if !cfg.Configured() {
		return settings.ErrNotConfigured
	}
	ctx := context.WithValue(c.ctx, oauth2.HTTPClient, a.hc)
	store, oc := userTokenStore{c.asUser()}, pdauth.OAuthConfig(cfg, c.redirectURL())
	tok, err := a.refresh.Valid(ctx, c.actingUserID(), c.userToken(), store, oc)
	if err != nil {
		return err
	}
	client := func(t pdauth.UserToken) *pdclient.Client {
		return pdclient.New(a.pdConfig(pdauth.Hosts(cfg), pdclient.Auth{Kind: pdclient.AuthOAuth, Token: t.AccessToken}))
	}
	err = fn(client(tok), tok)
	if !pdclient.IsUnauthorized(err) || tok.RefreshToken == "" {
		return err
	}
	if tok, err = a.refresh.Rejected(ctx, c.actingUserID(), tok, store, oc); err != nil {
		return err
	}
	return fn(client(tok), tok)
}

// userError turns any error from the PagerDuty path into one plain sentence for the user.
func (a *App) userError(c *Call, doing string, err error) apps.CallResponse {
	switch {
	case errors.Is(err, pdauth.ErrNotConnected), errors.Is(err, pdauth.ErrReconnect), errors.Is(err, settings.ErrNotConfigured):
		return errorText(err.Error())
	case pdclient.IsUnauthorized(err):
		return errorText("PagerDuty no longer accepts your authorization: run /pagerduty connect again.")
	case pdclient.IsForbidden(err):
		return errorText(fmt.Sprintf("Your PagerDuty role does not allow %s.", doing))
	case pdclient.IsNotFound(err):
		return errorText(fmt.Sprintf("PagerDuty could not find what is needed for %s: it may have been deleted.", doing))
	case pdclient.IsRateLimited(err):
		return errorText("PagerDuty is rate limiting requests right now; please try again in a minute.")
	}
	a.logError(c, doing, err)
	return errorText(fmt.Sprintf("Could not complete %s: PagerDuty did not answer in time or had an error. Please try again.", doing))
}

// dm sends a direct message from the bot; failures are logged, never shown.
func (a *App) dm(c *Call, userID, message string) {
	if userID == "" || c.CallRequest.Context.BotUserID == "" {
		return
	}
	if _, err := c.bot().DM(c.ctx, c.CallRequest.Context.BotUserID, userID, &model.Post{Message: message}); err != nil {
		a.logError(c, "sending a direct message", err)
	}
}

// unlinkPagerDutyUser removes the PagerDuty → Mattermost index entry of pdUserID when it still
// points at the acting user (another Mattermost user may have connected that account since).
func (a *App) unlinkPagerDutyUser(c *Call, pdUserID string) {
	var link userLink
	found, err := c.botKV().Get(c.ctx, prefixUserByPD, pdUserID, &link)
	if err != nil || !found || link.MattermostUserID != c.actingUserID() {
		return
	}
	if err := c.botKV().Delete(c.ctx, prefixUserByPD, pdUserID); err != nil {
		a.logError(c, "removing the user index", err)
	}
}
