package pdauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
	"github.com/mattermost/mattermost-app-pagerduty/settings"
)

const (
	prefixAppToken = "t"
	idAppToken     = "app"
)

type appToken struct {
	AccessToken string    `json:"access_token"`
	Expiry      time.Time `json:"expiry"`
	// ClientID and Subdomain tie the cached token to the configuration that produced it, so a
	// reconfiguration never keeps using a token for the old account.
	ClientID  string `json:"client_id"`
	Subdomain string `json:"subdomain"`
}

// AppCredential yields the app-level PagerDuty credential for background work: the REST API key,
// or a client-credentials token (24 h, no refresh: asked again when it runs out), cached in KV so a
// restart does not ask PagerDuty again.
type AppCredential struct {
	Now func() time.Time

	mu sync.Mutex
}

// Auth returns the credential to use now.
func (a *AppCredential) Auth(ctx context.Context, kv kvstore.KV, c settings.AppConfig) (pdclient.Auth, error) {
	switch c.CredentialKind {
	case settings.CredAPIKey:
		if c.APIKey == "" {
			return pdclient.Auth{}, settings.ErrNotConfigured
		}
		return pdclient.Auth{Kind: pdclient.AuthAPIKey, Token: c.APIKey}, nil
	case settings.CredClientCredentials:
	default:
		return pdclient.Auth{}, settings.ErrNotConfigured
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	if a.Now != nil {
		now = a.Now()
	}
	var cached appToken
	if _, err := kv.Get(ctx, prefixAppToken, idAppToken, &cached); err != nil {
		return pdclient.Auth{}, fmt.Errorf("loading the app token: %w", err)
	}
	if cached.AccessToken != "" && cached.ClientID == c.ClientID && cached.Subdomain == c.Subdomain && cached.Expiry.After(now.Add(5*time.Minute)) {
		return pdclient.Auth{Kind: pdclient.AuthOAuth, Token: cached.AccessToken}, nil
	}
	tok, err := pdclient.ClientCredentialsToken(ctx, Hosts(c), c.ClientID, c.ClientSecret, c.AccountRegion(), c.Subdomain)
	if err != nil {
		return pdclient.Auth{}, fmt.Errorf("getting the app token from PagerDuty: %w", err)
	}
	cached = appToken{AccessToken: tok.AccessToken, Expiry: OnClock(now, tok.Expiry), ClientID: c.ClientID, Subdomain: c.Subdomain}
	if err := kv.Set(ctx, prefixAppToken, idAppToken, cached); err != nil {
		return pdclient.Auth{}, fmt.Errorf("caching the app token: %w", err)
	}
	return pdclient.Auth{Kind: pdclient.AuthOAuth, Token: tok.AccessToken}, nil
}

// Forget drops the cached app token (after a reconfiguration or a 401).
func (a *AppCredential) Forget(ctx context.Context, kv kvstore.KV) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return kv.Delete(ctx, prefixAppToken, idAppToken)
}

// ErrClientRejected means PagerDuty's token endpoint does not know this client ID and secret.
var ErrClientRejected = errors.New("PagerDuty does not accept this client ID and secret (invalid_client)")

// ProbeClient authenticates the OAuth client without needing any grant to be enabled: the token
// endpoint checks client credentials before the grant and scope, so only invalid_client (or a
// transport failure) is an error here; any other refusal proves the client is known.
func ProbeClient(ctx context.Context, h pdclient.Hosts, clientID, clientSecret string) error {
	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: strings.TrimRight(h.Identity, "/") + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}
	_, err := cc.Token(ctx)
	var re *oauth2.RetrieveError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re) && re.ErrorCode == "invalid_client":
		return ErrClientRejected
	case errors.As(err, &re):
		return nil
	default:
		return fmt.Errorf("reaching the PagerDuty identity host: %w", err)
	}
}
