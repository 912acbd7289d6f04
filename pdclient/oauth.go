package pdclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// The helpers below use the *http.Client stored under oauth2.HTTPClient in
// ctx when there is one (put NewHTTPClient(cfg) there to share settings),
// else a retrying client with defaults.

// OAuthConfig is the Scoped OAuth client of the app. PagerDuty takes the
// client secret in the form body (AuthStyleInParams).
func OAuthConfig(h Hosts, clientID, clientSecret, redirectURL string, scopes []string) *oauth2.Config {
	id := orUS(h).trimmed().Identity
	return &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		RedirectURL:  redirectURL,
		Scopes:       scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   id + "/oauth/authorize",
			TokenURL:  id + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// AuthCodeURL starts the authorization code flow with PKCE S256, which
// Scoped OAuth requires. Keep verifier (server side, with state) for Exchange.
func AuthCodeURL(cfg *oauth2.Config, state string) (authURL, verifier string) {
	verifier = oauth2.GenerateVerifier()
	return cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), verifier
}

// Exchange trades the code (valid 30 s) and the PKCE verifier for a user token.
func Exchange(ctx context.Context, cfg *oauth2.Config, code, verifier string) (*oauth2.Token, error) {
	const op = "exchanging the PagerDuty authorization code"
	if code == "" || verifier == "" {
		return nil, fmt.Errorf("%s: code and PKCE verifier are required", op)
	}
	tok, err := cfg.Exchange(withHTTPClient(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, oauthFail(op, err, false)
	}
	return tok, nil
}

// Refresh gets a new user token. PagerDuty rotates refresh tokens: store the
// returned token's RefreshToken, the old one is spent. A refused grant is
// ErrGrantRevoked.
func Refresh(ctx context.Context, cfg *oauth2.Config, refreshToken string) (*oauth2.Token, error) {
	const op = "refreshing the PagerDuty token"
	if refreshToken == "" {
		return nil, fmt.Errorf("%s: %w", op, ErrGrantRevoked)
	}
	// An empty access token is expired, so the source refreshes at once.
	tok, err := cfg.TokenSource(withHTTPClient(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		return nil, oauthFail(op, err, true)
	}
	return tok, nil
}

// ClientCredentialsToken gets an app token (24 h, no refresh: ask again) for
// the account subdomain in region "us" or "eu". The required
// as_account-{region}.{subdomain} scope comes first, then scopes (e.g.
// "incidents.read"), space separated as PagerDuty's docs show.
func ClientCredentialsToken(ctx context.Context, h Hosts, clientID, clientSecret, region, subdomain string, scopes ...string) (*oauth2.Token, error) {
	const op = "getting a PagerDuty app token"
	region = strings.ToLower(strings.TrimSpace(region))
	if region != "us" && region != "eu" {
		return nil, fmt.Errorf("%s: region must be us or eu, not %q", op, region)
	}
	subdomain = strings.TrimSpace(subdomain)
	if subdomain == "" || strings.ContainsAny(subdomain, " ./:") {
		return nil, fmt.Errorf("%s: invalid account subdomain %q (the NAME in NAME.pagerduty.com)", op, subdomain)
	}
	cc := clientcredentials.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		TokenURL:     orUS(h).trimmed().Identity + "/oauth/token",
		Scopes:       append([]string{"as_account-" + region + "." + subdomain}, scopes...),
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	tok, err := cc.Token(withHTTPClient(ctx))
	if err != nil {
		return nil, oauthFail(op, err, false)
	}
	return tok, nil
}

// OAuthError is a refusal from the token endpoint. It keeps PagerDuty's error
// code and description but not the raw body.
type OAuthError struct {
	Op          string
	StatusCode  int
	Code        string // RFC 6749 "error", e.g. invalid_grant
	Description string
}

func (e *OAuthError) Error() string {
	s := fmt.Sprintf("%s: PagerDuty identity answered %d %s", e.Op, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Description != "" {
		s += " (" + e.Description + ")"
	}
	return s
}

// oauthFail maps oauth2 errors; on refresh, invalid_grant becomes
// ErrGrantRevoked so the app can ask the user to reconnect.
func oauthFail(op string, err error, refresh bool) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return fmt.Errorf("%s: %w", op, err)
	}
	e := &OAuthError{Op: op, Code: re.ErrorCode, Description: re.ErrorDescription}
	if re.Response != nil {
		e.StatusCode = re.Response.StatusCode
	}
	if refresh && re.ErrorCode == "invalid_grant" {
		return fmt.Errorf("%w: %w", e, ErrGrantRevoked)
	}
	return e
}

func withHTTPClient(ctx context.Context) context.Context {
	if _, ok := ctx.Value(oauth2.HTTPClient).(*http.Client); ok {
		return ctx
	}
	return context.WithValue(ctx, oauth2.HTTPClient, NewHTTPClient(Config{}))
}
