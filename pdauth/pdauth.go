// Package pdauth owns PagerDuty credentials: each user's OAuth token (kept in the framework's
// per-user OAuth2 store, refreshed here because the framework never refreshes), the pending PKCE
// verifiers of connects in progress, and the app-level credential used for background work.
package pdauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
	"github.com/mattermost/mattermost-app-pagerduty/settings"
)

// ErrNotConnected and ErrReconnect become prompts, never stack traces.
var (
	ErrNotConnected = errors.New("you have not connected your PagerDuty account yet: run /pagerduty connect")
	ErrReconnect    = errors.New("your PagerDuty authorization was revoked or has expired: run /pagerduty connect again")
)

// UserToken is what the app stores per user in the framework's OAuth2 user store (< 8 KB).
type UserToken struct {
	AccessToken  string    `json:"access_token,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitempty"`
	PDUserID     string    `json:"pd_user_id,omitempty"`
	Email        string    `json:"email,omitempty"`
	Name         string    `json:"name,omitempty"`
	TimeZone     string    `json:"time_zone,omitempty"`
	HTMLURL      string    `json:"html_url,omitempty"`
	ConnectedAt  time.Time `json:"connected_at,omitempty"`
}

// Connected reports whether the record holds a usable grant.
func (t UserToken) Connected() bool { return t.AccessToken != "" && t.PDUserID != "" }

// TokenStore is the acting user's OAuth2 user store.
type TokenStore interface {
	Load(ctx context.Context) (UserToken, bool, error)
	Save(ctx context.Context, t UserToken) error
}

// refreshMargin refreshes a little before expiry so a request never starts with a token that
// expires in flight.
const refreshMargin = time.Minute

// Refresher makes refresh single-flight per user: PagerDuty rotates the refresh token on every
// use, so two concurrent refreshes with the same token would leave one of them holding a dead one.
type Refresher struct {
	Now func() time.Time

	mu    sync.Mutex
	users map[string]*sync.Mutex
}

func (r *Refresher) userLock(userID string) *sync.Mutex {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.users == nil {
		r.users = map[string]*sync.Mutex{}
	}
	m, ok := r.users[userID]
	if !ok {
		m = &sync.Mutex{}
		r.users[userID] = m
	}
	return m
}

func (r *Refresher) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Valid returns a token that is good for at least refreshMargin, refreshing it once (per user,
// across concurrent calls) when needed and storing the rotated refresh token.
func (r *Refresher) Valid(ctx context.Context, userID string, current UserToken, store TokenStore, oc *oauth2.Config) (UserToken, error) {
	if !current.Connected() {
		return current, ErrNotConnected
	}
	if current.Expiry.IsZero() || current.Expiry.After(r.now().Add(refreshMargin)) {
		return current, nil
	}
	return r.refresh(ctx, userID, current, store, oc, "")
}

// Rejected is for a token PagerDuty refused (401) before its expiry: it refreshes once, unless
// another call already replaced the rejected token, and returns the token to retry with.
func (r *Refresher) Rejected(ctx context.Context, userID string, rejected UserToken, store TokenStore, oc *oauth2.Config) (UserToken, error) {
	if !rejected.Connected() {
		return rejected, ErrNotConnected
	}
	return r.refresh(ctx, userID, rejected, store, oc, rejected.AccessToken)
}

func (r *Refresher) refresh(ctx context.Context, userID string, current UserToken, store TokenStore, oc *oauth2.Config, rejected string) (UserToken, error) {
	mu := r.userLock(userID)
	mu.Lock()
	defer mu.Unlock()
	// Another call may have refreshed while we waited: the stored token wins if it is fresh and
	// not the one PagerDuty just refused.
	stored, found, err := store.Load(ctx)
	if err != nil {
		return current, fmt.Errorf("reloading your PagerDuty token: %w", err)
	}
	if found && stored.Connected() && stored.AccessToken != rejected && stored.AccessToken != current.AccessToken &&
		(stored.Expiry.IsZero() || stored.Expiry.After(r.now().Add(refreshMargin))) {
		return stored, nil
	}
	if found && stored.RefreshToken != "" {
		current = stored
	}
	if current.RefreshToken == "" {
		return current, ErrReconnect
	}
	// PagerDuty rotates the refresh token on use: once the refresh is sent, the new one must be
	// stored even if the user's request is cancelled meanwhile, or the grant is lost.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	tok, err := pdclient.Refresh(ctx, oc, current.RefreshToken)
	if errors.Is(err, pdclient.ErrGrantRevoked) {
		// Forget the dead grant so bindings show "connect" again.
		if serr := store.Save(ctx, UserToken{}); serr != nil {
			return current, fmt.Errorf("clearing a revoked PagerDuty grant: %w", serr)
		}
		return UserToken{}, ErrReconnect
	}
	if err != nil {
		return current, fmt.Errorf("refreshing your PagerDuty token: %w", err)
	}
	current.AccessToken = tok.AccessToken
	if tok.RefreshToken != "" {
		current.RefreshToken = tok.RefreshToken
	}
	current.Expiry = OnClock(r.now(), tok.Expiry)
	if err := store.Save(ctx, current); err != nil {
		return current, fmt.Errorf("storing your refreshed PagerDuty token: %w", err)
	}
	return current, nil
}

// OnClock re-expresses a token expiry x/oauth2 computed on the wall clock (time.Now() +
// expires_in) on the clock whose reading is now, the clock expiries are compared with (Refresher
// and AppCredential Now, which tests move). With the wall clock it changes nothing.
func OnClock(now, wallExpiry time.Time) time.Time {
	if wallExpiry.IsZero() {
		return wallExpiry
	}
	return now.Add(time.Until(wallExpiry))
}

// OAuthConfig builds the x/oauth2 configuration from the admin's settings.
func OAuthConfig(c settings.AppConfig, redirectURL string) *oauth2.Config {
	return pdclient.OAuthConfig(Hosts(c), c.ClientID, c.ClientSecret, redirectURL, splitScopes(c.Scopes))
}

// Hosts converts the stored hosts to the client's.
func Hosts(c settings.AppConfig) pdclient.Hosts {
	return pdclient.Hosts{API: c.Hosts.API, Identity: c.Hosts.Identity, Events: c.Hosts.Events}
}

func splitScopes(s string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	return out
}

// Pending connects: the PKCE verifier must survive between the connect URL and the callback. It
// is keyed by a hash of the framework's state (never the state itself) and bound to the user.
const prefixPending = "v"

// PendingTTL bounds how long a connect may take; the framework's own state expires sooner.
const PendingTTL = 15 * time.Minute

type pending struct {
	Verifier  string    `json:"verifier"`
	UserID    string    `json:"user_id"`
	CreatedAt time.Time `json:"created_at"`
}

func stateKey(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:16])
}

// ConnectError is a connect failure the user can act on; other errors are internal (KV) and are
// logged rather than shown.
type ConnectError string

func (e ConnectError) Error() string { return string(e) }

// BeginConnect stores a fresh verifier for state and returns it.
func BeginConnect(ctx context.Context, kv kvstore.KV, state, userID string, now time.Time) (string, error) {
	if state == "" {
		return "", ConnectError("the connect request has no state: start again with /pagerduty connect")
	}
	v := oauth2.GenerateVerifier()
	if err := kv.Set(ctx, prefixPending, stateKey(state), pending{Verifier: v, UserID: userID, CreatedAt: now}); err != nil {
		return "", fmt.Errorf("saving the connect request: %w", err)
	}
	return v, nil
}

// FinishConnect returns the verifier for state once, checking that the same user started it.
func FinishConnect(ctx context.Context, kv kvstore.KV, state, userID string, now time.Time) (string, error) {
	if state == "" {
		return "", ConnectError("PagerDuty sent no state back: start again with /pagerduty connect")
	}
	var p pending
	found, err := kv.Get(ctx, prefixPending, stateKey(state), &p)
	if err != nil {
		return "", fmt.Errorf("loading the connect request: %w", err)
	}
	if !found || p.Verifier == "" {
		return "", ConnectError("this connect link was already used or is unknown: start again with /pagerduty connect")
	}
	if err := kv.Delete(ctx, prefixPending, stateKey(state)); err != nil {
		return "", fmt.Errorf("closing the connect request: %w", err)
	}
	if p.UserID != userID {
		return "", ConnectError("this connect link was started by another Mattermost user: start again with /pagerduty connect")
	}
	if now.Sub(p.CreatedAt) > PendingTTL {
		return "", ConnectError("this connect link expired: start again with /pagerduty connect")
	}
	return p.Verifier, nil
}
