// Package settings holds what a system admin configures inside Mattermost (PagerDuty region and
// hosts, the OAuth client, the app-level credential) and what the app learns at install (site
// URL, webhook secret), stored as bot-scoped KV documents. It validates every value before
// anything is stored, so a bad submission never leaves a half-changed configuration.
package settings

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
)

// KV prefixes and ids owned by this package.
const (
	prefixConfig  = "c"
	idConfig      = "config"
	prefixInstall = "i"
	idInstall     = "install"
)

// Regions.
const (
	RegionUS     = "us"
	RegionEU     = "eu"
	RegionCustom = "custom"
)

// App-level credential kinds.
const (
	CredAPIKey            = "api_key"
	CredClientCredentials = "client_credentials"
)

// DefaultScopes are the Scoped OAuth scopes the app's features use (README lists them for the
// PagerDuty app registration). Classic User OAuth apps use "write" instead.
const DefaultScopes = "abilities.read escalation_policies.read incidents.read incidents.write oncalls.read " +
	"priorities.read schedules.read schedules.write services.read teams.read users.read users:contact_methods.read"

// Hosts are the three PagerDuty hosts of a region.
type Hosts struct {
	API      string `json:"api"`
	Identity string `json:"identity"`
	Events   string `json:"events"`
}

// preset is the hosts of a named region, as the PagerDuty client knows them.
func preset(region string) Hosts {
	h := pdclient.US()
	if region == RegionEU {
		h = pdclient.EU()
	}
	return Hosts{API: h.API, Identity: h.Identity, Events: h.Events}
}

// AppConfig is the admin's configuration. Secrets live here and are never rendered: views use
// Public().
type AppConfig struct {
	Region         string    `json:"region"`
	Hosts          Hosts     `json:"hosts"`
	ClientID       string    `json:"client_id"`
	ClientSecret   string    `json:"client_secret"`
	Scopes         string    `json:"scopes"`
	CredentialKind string    `json:"credential_kind"`
	APIKey         string    `json:"api_key,omitempty"`
	Subdomain      string    `json:"subdomain,omitempty"`
	UpdatedBy      string    `json:"updated_by,omitempty"`
	UpdatedAt      time.Time `json:"updated_at,omitempty"`
}

// Configured reports whether users can connect and background work can run.
func (c AppConfig) Configured() bool {
	return c.ClientID != "" && c.ClientSecret != "" && c.Hosts.API != "" &&
		((c.CredentialKind == CredAPIKey && c.APIKey != "") || (c.CredentialKind == CredClientCredentials && c.Subdomain != ""))
}

// AccountRegion is the region part of the client-credentials scope (as_account-{us|eu}.{subdomain}).
// Custom hosts (tests, proxies) use "us" unless the identity host says EU.
func (c AppConfig) AccountRegion() string {
	if c.Region == RegionEU || strings.Contains(c.Hosts.Identity, ".eu.") {
		return RegionEU
	}
	return RegionUS
}

// Public is the configuration with every secret replaced by whether it is set.
type Public struct {
	Region          string
	Hosts           Hosts
	ClientID        string
	ClientSecretSet bool
	Scopes          string
	CredentialKind  string
	APIKeySet       bool
	Subdomain       string
	UpdatedBy       string
	UpdatedAt       time.Time
	Configured      bool
}

func (c AppConfig) Public() Public {
	return Public{
		Region: c.Region, Hosts: c.Hosts, ClientID: c.ClientID, ClientSecretSet: c.ClientSecret != "",
		Scopes: c.Scopes, CredentialKind: c.CredentialKind, APIKeySet: c.APIKey != "", Subdomain: c.Subdomain,
		UpdatedBy: c.UpdatedBy, UpdatedAt: c.UpdatedAt, Configured: c.Configured(),
	}
}

// Input is what the configure form submits. Empty secret fields mean "keep the stored one".
type Input struct {
	Region         string
	APIHost        string
	IdentityHost   string
	EventsHost     string
	ClientID       string
	ClientSecret   string
	Scopes         string
	CredentialKind string
	APIKey         string
	Subdomain      string
}

// FieldErrors maps a form field name to what is wrong with it and what is allowed.
type FieldErrors map[string]string

func (fe FieldErrors) Error() string {
	keys := make([]string, 0, len(fe))
	for k := range fe {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+fe[k])
	}
	return strings.Join(parts, "; ")
}

// Field names shared with the configure form.
const (
	FieldRegion         = "region"
	FieldAPIHost        = "api_host"
	FieldIdentityHost   = "identity_host"
	FieldEventsHost     = "events_host"
	FieldClientID       = "client_id"
	FieldClientSecret   = "client_secret"
	FieldScopes         = "scopes"
	FieldCredentialKind = "credential"
	FieldAPIKey         = "api_key"
	FieldSubdomain      = "subdomain"
)

var (
	tokenish   = regexp.MustCompile(`^[A-Za-z0-9_\-+.~=/]+$`)
	subdomain  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	scopeToken = regexp.MustCompile(`^[a-z_]+(:[a-z_]+)?(\.(read|write))?$|^(read|write|openid)$`)
)

// Apply validates in against the stored configuration and returns the new configuration. Nothing
// is changed when any field is wrong; every wrong field is reported.
func Apply(old AppConfig, in Input) (AppConfig, error) {
	fe := FieldErrors{}
	c := old
	c.Region = strings.ToLower(strings.TrimSpace(in.Region))
	switch c.Region {
	case RegionUS, RegionEU:
		c.Hosts = preset(c.Region)
	case RegionCustom:
		c.Hosts = Hosts{API: trimURL(in.APIHost), Identity: trimURL(in.IdentityHost), Events: trimURL(in.EventsHost)}
		for field, v := range map[string]string{FieldAPIHost: c.Hosts.API, FieldIdentityHost: c.Hosts.Identity, FieldEventsHost: c.Hosts.Events} {
			if msg := checkHost(v); msg != "" {
				fe[field] = msg
			}
		}
	default:
		fe[FieldRegion] = `choose "us", "eu" or "custom"`
	}

	c.ClientID = strings.TrimSpace(in.ClientID)
	switch {
	case c.ClientID == "":
		fe[FieldClientID] = "required: the client ID of your PagerDuty app's OAuth functionality"
	case len(c.ClientID) > 200 || !tokenish.MatchString(c.ClientID):
		fe[FieldClientID] = "must be the client ID as PagerDuty shows it: letters, digits and -_+.~=/ only, at most 200 characters"
	}
	if s := strings.TrimSpace(in.ClientSecret); s != "" {
		if len(s) > 500 || !tokenish.MatchString(s) {
			fe[FieldClientSecret] = "must be the client secret as PagerDuty shows it: letters, digits and -_+.~=/ only"
		}
		c.ClientSecret = s
	} else if old.ClientSecret == "" || old.ClientID != c.ClientID {
		// A secret belongs to one client: a new client ID needs its own secret.
		fe[FieldClientSecret] = "required: the client secret of your PagerDuty app (leave empty only to keep the one already saved for this client ID)"
	}

	c.Scopes = strings.Join(strings.Fields(in.Scopes), " ")
	if c.Scopes == "" {
		c.Scopes = DefaultScopes
	}
	for _, s := range strings.Fields(c.Scopes) {
		if !scopeToken.MatchString(s) {
			fe[FieldScopes] = fmt.Sprintf("%q is not a PagerDuty scope: use space-separated scopes such as incidents.write, or \"write\" for Classic User OAuth", s)
			break
		}
	}

	c.CredentialKind = strings.TrimSpace(in.CredentialKind)
	switch c.CredentialKind {
	case CredAPIKey:
		if k := strings.TrimSpace(in.APIKey); k != "" {
			if len(k) < 16 || len(k) > 100 || !tokenish.MatchString(k) {
				fe[FieldAPIKey] = "must be a PagerDuty REST API key (Integrations → API Access Keys): 16 to 100 letters, digits or -_+"
			}
			c.APIKey = k
		} else if old.APIKey == "" {
			fe[FieldAPIKey] = "required for the REST API key credential (leave empty only to keep the one already saved)"
		}
		c.Subdomain = ""
	case CredClientCredentials:
		c.Subdomain = strings.ToLower(strings.TrimSpace(in.Subdomain))
		if !subdomain.MatchString(c.Subdomain) {
			fe[FieldSubdomain] = "required for the app token: your account subdomain, the ACME in acme.pagerduty.com (lowercase letters, digits, -)"
		}
		c.APIKey = ""
	default:
		fe[FieldCredentialKind] = `choose "api_key" (a REST API key) or "client_credentials" (the OAuth app token)`
	}
	if len(fe) > 0 {
		return old, fe
	}
	return c, nil
}

func trimURL(s string) string { return strings.TrimRight(strings.TrimSpace(s), "/") }

// checkHost allows https anywhere and plain http only on loopback (tests, a local proxy), so a
// typo cannot send tokens over the network in clear text.
func checkHost(v string) string {
	if v == "" {
		return "required for custom hosts: an absolute URL such as https://api.pagerduty.com"
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || (u.Path != "" && u.Path != "/") {
		return "must be an absolute URL with only scheme and host, such as https://api.pagerduty.com"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
			return ""
		}
		return "must use https (plain http is allowed only for 127.0.0.1 or localhost)"
	default:
		return "must use https"
	}
}

// Installation is what on_install captured.
type Installation struct {
	SiteURL       string    `json:"site_url"`
	AppPath       string    `json:"app_path"`
	WebhookSecret string    `json:"webhook_secret"`
	BotUserID     string    `json:"bot_user_id"`
	InstalledBy   string    `json:"installed_by"`
	InstalledAt   time.Time `json:"installed_at"`
}

// WebhookURL is the Mattermost URL that re-enters the app as a webhook call (design.md §2.3).
func (in Installation) WebhookURL(name string) string {
	return strings.TrimRight(in.SiteURL, "/") + in.AppPath + "/webhook/" + url.PathEscape(name) + "?secret=" + url.QueryEscape(in.WebhookSecret)
}

// Store reads and writes the two documents as the bot.
type Store struct {
	KV    kvstore.KV
	Locks *kvstore.Locks
}

// ErrNotConfigured is returned when an admin has not configured the app yet.
var ErrNotConfigured = errors.New("PagerDuty is not configured yet: a system admin must run /pagerduty configure")

func (s Store) Config(ctx context.Context) (AppConfig, error) {
	var c AppConfig
	if _, err := s.KV.Get(ctx, prefixConfig, idConfig, &c); err != nil {
		return c, fmt.Errorf("loading the app configuration: %w", err)
	}
	return c, nil
}

// SaveConfig stores the configuration as a whole, so readers never see half of an update.
func (s Store) SaveConfig(ctx context.Context, c AppConfig) error {
	if err := s.KV.Set(ctx, prefixConfig, idConfig, c); err != nil {
		return fmt.Errorf("saving the app configuration: %w", err)
	}
	return nil
}

func (s Store) Installation(ctx context.Context) (Installation, bool, error) {
	var in Installation
	found, err := s.KV.Get(ctx, prefixInstall, idInstall, &in)
	if err != nil {
		return in, false, fmt.Errorf("loading the installation record: %w", err)
	}
	return in, found && in.SiteURL != "", nil
}

func (s Store) SaveInstallation(ctx context.Context, in Installation) error {
	if err := s.KV.Set(ctx, prefixInstall, idInstall, in); err != nil {
		return fmt.Errorf("saving the installation record: %w", err)
	}
	return nil
}
