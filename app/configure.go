package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"golang.org/x/oauth2"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/mmclient"
	"github.com/mattermost/mattermost-app-pagerduty/pdauth"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
	"github.com/mattermost/mattermost-app-pagerduty/settings"
)

const onlyAdmins = "Only system admins can configure PagerDuty. Ask a system admin to run `/pagerduty configure`."

// redirectURL is what admins register at PagerDuty: the plugin's OAuth2 completion URL.
func (c *Call) redirectURL() string {
	if u := c.CallRequest.Context.OAuth2.CompleteURL; u != "" {
		return u
	}
	return strings.TrimRight(c.siteURL(), "/") + "/plugins/com.mattermost.apps/apps/" + AppID + "/oauth2/remote/complete"
}

func (a *App) configureForm(c *Call) apps.CallResponse {
	if !c.isSysadmin() {
		return errorText(onlyAdmins)
	}
	cfg, err := c.settings().Config(c.ctx)
	if err != nil {
		a.logError(c, "loading configuration", err)
		return errorText("Could not load the current configuration from Mattermost; please try again.")
	}
	return formResponse(forms.Configure(cfg.Public(), c.redirectURL(), call(pathConfigureSubmit, expandUser)))
}

func (a *App) configureSubmit(c *Call) apps.CallResponse {
	if !c.isSysadmin() {
		return errorText(onlyAdmins)
	}
	store := c.settings()
	old, err := store.Config(c.ctx)
	if err != nil {
		a.logError(c, "loading configuration", err)
		return errorText("Could not load the current configuration from Mattermost; nothing was changed.")
	}
	cfg, err := settings.Apply(old, settings.Input{
		Region:         c.value(settings.FieldRegion),
		APIHost:        c.value(settings.FieldAPIHost),
		IdentityHost:   c.value(settings.FieldIdentityHost),
		EventsHost:     c.value(settings.FieldEventsHost),
		ClientID:       c.value(settings.FieldClientID),
		ClientSecret:   c.value(settings.FieldClientSecret),
		Scopes:         c.value(settings.FieldScopes),
		CredentialKind: c.value(settings.FieldCredentialKind),
		APIKey:         c.value(settings.FieldAPIKey),
		Subdomain:      c.value(settings.FieldSubdomain),
	})
	var fe settings.FieldErrors
	if errors.As(err, &fe) {
		return fieldErrors("Some values are not valid; nothing was saved.", fe)
	}
	if fe := a.checkPagerDuty(c.ctx, cfg); len(fe) > 0 {
		return fieldErrors("PagerDuty did not accept these settings; nothing was saved.", fe)
	}
	cfg.UpdatedBy, cfg.UpdatedAt = c.actingUserID(), a.now()
	// The framework's copy of the OAuth2 client first: if it fails, our own record is unchanged.
	if err := c.asUser().StoreOAuth2App(c.ctx, mmclient.OAuth2App{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RemoteRootURL: cfg.Hosts.Identity}); err != nil {
		a.logError(c, "storing the OAuth2 app", err)
		return errorText("Mattermost refused to store the OAuth client; nothing was saved. Check that the app has the remote_oauth2 permission.")
	}
	if err := store.SaveConfig(c.ctx, cfg); err != nil {
		a.logError(c, "saving configuration", err)
		return errorText("Could not save the configuration in Mattermost's KV store; please submit again.")
	}
	if err := a.appCred.Forget(c.ctx, c.botKV()); err != nil {
		a.logError(c, "forgetting the cached app token", err)
	}
	resp := text(fmt.Sprintf("PagerDuty is configured for region **%s**. Users can now run `/pagerduty connect`.\nRedirect URL to register at PagerDuty: %s",
		cfg.Region, "`"+c.redirectURL()+"`"))
	resp.RefreshBindings = true
	return resp
}

// checkPagerDuty tries the settings against PagerDuty and says which field PagerDuty refused.
func (a *App) checkPagerDuty(ctx context.Context, cfg settings.AppConfig) settings.FieldErrors {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, a.hc)
	hosts := pdauth.Hosts(cfg)
	hostField := settings.FieldRegion
	identityField := settings.FieldRegion
	if cfg.Region == settings.RegionCustom {
		hostField, identityField = settings.FieldAPIHost, settings.FieldIdentityHost
	}

	// The client: with the client-credentials credential, getting the app token proves client and
	// account at once; otherwise a scope-less probe proves just the client.
	var tok *oauth2.Token
	if cfg.CredentialKind == settings.CredClientCredentials {
		var err error
		tok, err = pdclient.ClientCredentialsToken(ctx, hosts, cfg.ClientID, cfg.ClientSecret, cfg.AccountRegion(), cfg.Subdomain)
		var oe *pdclient.OAuthError
		switch {
		case errors.As(err, &oe) && oe.Code == "invalid_client":
			return settings.FieldErrors{settings.FieldClientSecret: pdauth.ErrClientRejected.Error() + ": copy both again from your PagerDuty app"}
		case errors.As(err, &oe):
			msg := fmt.Sprintf("PagerDuty refused an app token for account %q (%s)", cfg.Subdomain, oe.Code)
			if oe.Code == "invalid_scope" {
				msg += ": check the subdomain and the region"
			}
			return settings.FieldErrors{settings.FieldSubdomain: msg}
		case err != nil:
			return settings.FieldErrors{identityField: unreachable(hosts.Identity, err)}
		}
	} else {
		switch err := pdauth.ProbeClient(ctx, hosts, cfg.ClientID, cfg.ClientSecret); {
		case errors.Is(err, pdauth.ErrClientRejected):
			return settings.FieldErrors{settings.FieldClientSecret: err.Error() + ": copy both again from your PagerDuty app"}
		case err != nil:
			return settings.FieldErrors{identityField: unreachable(hosts.Identity, err)}
		}
	}

	auth := pdclient.Auth{Kind: pdclient.AuthAPIKey, Token: cfg.APIKey}
	credField := settings.FieldAPIKey
	if cfg.CredentialKind == settings.CredClientCredentials {
		auth = pdclient.Auth{Kind: pdclient.AuthOAuth, Token: tok.AccessToken}
		credField = settings.FieldSubdomain
	}
	_, err := pdclient.New(a.pdConfig(hosts, auth)).ListPriorities(ctx)
	switch {
	case err == nil:
		return nil
	case pdclient.IsUnauthorized(err):
		return settings.FieldErrors{credField: "PagerDuty rejected this credential (401 Unauthorized)"}
	case pdclient.IsForbidden(err):
		return settings.FieldErrors{credField: "this credential may not read the account (403 Forbidden): use an account-level key or grant priorities.read"}
	default:
		var apiErr *pdclient.APIError
		if errors.As(err, &apiErr) {
			return settings.FieldErrors{hostField: fmt.Sprintf("PagerDuty answered %d at %s: check the host", apiErr.StatusCode, hosts.API)}
		}
		return settings.FieldErrors{hostField: unreachable(hosts.API, err)}
	}
}

// unreachable describes a transport failure without echoing anything but the host.
func unreachable(host string, err error) string {
	var ne net.Error
	var ue *url.Error
	reason := "no answer"
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		reason = "timed out"
	case errors.As(err, &ue):
		reason = "connection failed"
	}
	return fmt.Sprintf("could not reach %s (%s): check the host and the network", host, reason)
}
