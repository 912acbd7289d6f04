package app

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
	"github.com/mattermost/mattermost-app-pagerduty/mmclient"
	"github.com/mattermost/mattermost-app-pagerduty/pdauth"
	"github.com/mattermost/mattermost-app-pagerduty/settings"
)

// maxCallBody bounds what a call may carry; the plugin's own webhook limit is smaller.
const maxCallBody = 1 << 20

// Call is one verified call from the Apps plugin.
type Call struct {
	*apps.CallRequest
	ctx context.Context
	app *App
}

// handler answers one call path.
type handler func(c *Call) apps.CallResponse

type jwtClaims struct {
	jwt.RegisteredClaims
	ActingUserID string `json:"acting_user_id,omitempty"`
}

// verifyJWT checks the plugin's HS256 token; without it anyone who can reach the app could
// forge a context (a sysadmin acting user, a bot token).
func (a *App) verifyJWT(r *http.Request) (jwtClaims, error) {
	var claims jwtClaims
	h := r.Header.Get(apps.OutgoingAuthHeader)
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return claims, errors.New("missing " + apps.OutgoingAuthHeader + " bearer token")
	}
	_, err := jwt.ParseWithClaims(tok, &claims, func(*jwt.Token) (any, error) {
		return []byte(a.opts.JWTSecret), nil
	}, jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithLeeway(time.Minute))
	// Expiry is checked against the real clock: the plugin signs with it, whatever clock the
	// domain runs on.
	if err != nil {
		return claims, fmt.Errorf("invalid JWT: %w", err)
	}
	return claims, nil
}

// serveCall verifies, decodes and dispatches one call, and logs it without values (they may
// hold secrets typed into forms).
func (a *App) serveCall(path string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		claims, err := a.verifyJWT(r)
		if err != nil {
			a.log.Warn("refused an unauthenticated call", "path", path, "remote", r.RemoteAddr, "reason", err.Error())
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var creq apps.CallRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxCallBody)).Decode(&creq); err != nil {
			http.Error(w, "bad call request: "+err.Error(), http.StatusBadRequest)
			return
		}
		// The token names the user the plugin acts for; a context claiming another user is forged.
		if u := creq.Context.ActingUser; u != nil && u.Id != claims.ActingUserID {
			a.log.Warn("refused a call whose acting user does not match its JWT", "path", path)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		c := &Call{CallRequest: &creq, ctx: r.Context(), app: a}
		resp := a.safeHandle(c, path, h)
		a.armTimer(c)
		a.log.Debug("call", "path", path, "acting_user_id", claims.ActingUserID, "response", string(resp.Type), "duration", time.Since(start))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	}
}

// safeHandle turns a panic into a plain error reply: users never see a stack trace.
func (a *App) safeHandle(c *Call, path string, h handler) (resp apps.CallResponse) {
	defer func() {
		if p := recover(); p != nil {
			a.log.Error("call handler panicked", "path", path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp = errorText("Something went wrong in the PagerDuty app. The error was logged; please try again.")
		}
	}()
	return h(c)
}

// --- context helpers ------------------------------------------------------------------------

func (c *Call) Context() context.Context { return c.ctx }

func (c *Call) actingUser() *model.User { return c.CallRequest.Context.ActingUser }

func (c *Call) actingUserID() string {
	if u := c.actingUser(); u != nil {
		return u.Id
	}
	return ""
}

// isSysadmin reads the acting user's roles (expand acting_user: summary carries them).
func (c *Call) isSysadmin() bool {
	u := c.actingUser()
	return u != nil && hasRole(u.Roles, model.SystemAdminRoleId)
}

func hasRole(roles, role string) bool {
	for _, r := range strings.Fields(roles) {
		if r == role {
			return true
		}
	}
	return false
}

func (c *Call) siteURL() string { return c.CallRequest.Context.MattermostSiteURL }

// bot is a Mattermost client acting as the app's bot (app-wide KV, posts).
func (c *Call) bot() *mmclient.Client {
	return mmclient.New(c.siteURL(), c.CallRequest.Context.BotAccessToken, c.app.hc)
}

// asUser is a Mattermost client acting as the acting user (their OAuth2 store).
func (c *Call) asUser() *mmclient.Client {
	return mmclient.New(c.siteURL(), c.CallRequest.Context.ActingUserAccessToken, c.app.hc)
}

func (c *Call) botKV() kvstore.KV { return c.bot().KV() }

func (c *Call) settings() settings.Store {
	return settings.Store{KV: c.botKV(), Locks: c.app.locks}
}

// value reads a form or command value: plain strings and {label,value} options alike.
func (c *Call) value(name string) string {
	return strings.TrimSpace(c.CallRequest.GetValue(name, ""))
}

// userToken decodes the connected user's token from context.oauth2.user.
func (c *Call) userToken() pdauth.UserToken {
	var t pdauth.UserToken
	if c.CallRequest.Context.OAuth2.User == nil {
		return t
	}
	b, err := json.Marshal(c.CallRequest.Context.OAuth2.User)
	if err == nil {
		_ = json.Unmarshal(b, &t)
	}
	return t
}

// userTokenStore is the acting user's framework OAuth2 store.
type userTokenStore struct{ c *mmclient.Client }

func (s userTokenStore) Load(ctx context.Context) (pdauth.UserToken, bool, error) {
	var t pdauth.UserToken
	found, err := s.c.GetOAuth2User(ctx, &t)
	return t, found && t.Connected(), err
}

func (s userTokenStore) Save(ctx context.Context, t pdauth.UserToken) error {
	return s.c.StoreOAuth2User(ctx, t)
}

// --- responses ------------------------------------------------------------------------------

func text(md string) apps.CallResponse {
	return apps.CallResponse{Type: apps.CallResponseTypeOK, Text: md}
}

func errorText(msg string) apps.CallResponse {
	return apps.CallResponse{Type: apps.CallResponseTypeError, Text: msg}
}

func formResponse(f apps.Form) apps.CallResponse { return apps.NewFormResponse(f) }

// fieldErrors is the webapp's per-field form error reply: the modal stays open and each
// message shows under its field.
func fieldErrors(summary string, fe map[string]string) apps.CallResponse {
	return apps.CallResponse{Type: apps.CallResponseTypeError, Text: summary, Data: map[string]any{"errors": fe}}
}

func (a *App) logError(c *Call, what string, err error) {
	a.log.LogAttrs(c.ctx, slog.LevelError, what, slog.String("path", c.Path), slog.String("acting_user_id", c.actingUserID()), slog.String("error", err.Error()))
}

// fromWebhookRoute runs h only for calls the plugin made for its remote-webhook route, which
// carry this installation's ?secret= in values.rawQuery. The plugin forbids users to call only
// the manifest's exact /webhook path, so any user could otherwise reach /webhook/{name} through
// /call, with a bot context, and post forged incident cards or fire monitor ticks.
func (a *App) fromWebhookRoute(h handler) handler {
	return func(c *Call) apps.CallResponse {
		raw, _ := c.Values["rawQuery"].(string)
		q, _ := url.ParseQuery(raw)
		got := q.Get("secret")
		// The installation's webhook secret as the ingress keeps it in memory (read from KV once
		// per process and again at every install), so a burst of deliveries costs no KV reads.
		cfg, err := a.ingressConfigFor(c)
		if err != nil || cfg.WebhookSecret == "" || got == "" ||
			subtle.ConstantTimeCompare([]byte(got), []byte(cfg.WebhookSecret)) != 1 {
			a.log.Warn("refused a webhook call without this installation's webhook secret", "path", c.Path)
			return errorText("Not a webhook call.")
		}
		return h(c)
	}
}
