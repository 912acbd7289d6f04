package mmfake

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-plugin-apps/utils"
)

// JWTMode chooses the Mattermost-App-Authorization header of a call (use_jwt apps only).
type JWTMode int

const (
	JWTValid        JWTMode = iota // HS256 with the install secret, as the plugin signs
	JWTNone                        // no header
	JWTBadSignature                // signed with another secret
	JWTExpired                     // exp in the past
)

// JWTClaims is the payload the plugin signs (apps.JWTClaims: exp, acting_user_id).
type JWTClaims struct {
	jwt.RegisteredClaims
	ActingUserID string `json:"acting_user_id,omitempty"`
}

// CallError is why the plugin turned a call into an error response without the app's say:
// Stage "validate" (bad call), "expand" (context), or "upstream" (HTTP to the app; StatusCode
// is the app's status, 0 if it never answered).
type CallError struct {
	Stage      string
	StatusCode int
	Err        error
}

func (e *CallError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("mmfake %s: HTTP %d: %v", e.Stage, e.StatusCode, e.Err)
	}
	return fmt.Sprintf("mmfake %s: %v", e.Stage, e.Err)
}

func (e *CallError) Unwrap() error { return e.Err }

// AppCall is one HTTP request the plugin made to the app.
type AppCall struct {
	Path          string
	Async         bool   // webhook notifications
	Request       []byte // the JSON body sent
	Authorization string // the Mattermost-App-Authorization header sent ("" if none)
	Status        int    // the app's HTTP status (0 if no answer)
	Response      []byte
	Err           error
}

// CallRequest decodes the request body as the app received it.
func (c AppCall) CallRequest() apps.CallRequest {
	var creq apps.CallRequest
	_ = json.Unmarshal(c.Request, &creq)
	return creq
}

// AppCalls lists every request made to the app, in order.
func (s *Server) AppCalls() []AppCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AppCall(nil), s.appCalls...)
}

// App returns a copy of the installed app record (nil before InstallApp).
func (s *Server) App() *apps.App {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.app == nil {
		return nil
	}
	c := *s.app
	return &c
}

// Bot returns the app's bot user (nil before InstallApp).
func (s *Server) Bot() *model.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.app == nil {
		return nil
	}
	return cloneUser(s.users[s.app.BotUserID])
}

// WebhookSecret is the secret generated at the last install.
func (s *Server) WebhookSecret() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.app == nil {
		return ""
	}
	return s.app.WebhookSecret
}

// JWTSecret is the install secret calls are signed with.
func (s *Server) JWTSecret() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jwtSecret
}

// WebhookURL is the app's remote-webhook URL for path, with the current secret.
func (s *Server) WebhookURL(p string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.app == nil {
		return ""
	}
	u := s.appURL(s.app.AppID) + "/webhook"
	if p != "" {
		u += "/" + url.PathEscape(p)
	}
	return u + "?secret=" + url.QueryEscape(s.app.WebhookSecret)
}

// InstallOpts is the context of the /apps install command.
type InstallOpts struct {
	ActingUser *model.User // default Admin(); must be a sysadmin
	ChannelID  string
	TeamID     string
}

// InstallApp installs (or re-installs) the app as proxy.InstallApp does: the manifest (fetched
// from {AppRootURL}/manifest.json when m is nil) is validated, the webhook secret regenerated,
// /ping called (404 allowed), the icon fetched, the bot created, then on_install called with its
// expand as the acting sysadmin (or, without on_install, the bindings call). It returns
// on_install's response; like the plugin, an on_install error does not fail the install.
func (s *Server) InstallApp(ctx context.Context, m *apps.Manifest, opts ...InstallOpts) (*apps.CallResponse, error) {
	var o InstallOpts
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.ActingUser == nil {
		o.ActingUser = s.Admin()
	}
	if !isSysadmin(s.User(o.ActingUser.Id)) {
		return nil, utils.NewUnauthorizedError("access to this operation is limited to system administrators, or plugins")
	}
	if m == nil {
		var err error
		if m, err = s.fetchManifest(ctx); err != nil {
			return nil, err
		}
	} else if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("invalid manifest: %w", err)
	}
	if !m.Contains(apps.DeployHTTP) {
		return nil, fmt.Errorf("app does not support %s deployment", apps.DeployHTTP)
	}

	s.mu.Lock()
	app := &apps.App{}
	if s.app != nil && s.app.AppID == m.AppID {
		c := *s.app
		app = &c
	}
	app.DeployType = apps.DeployHTTP
	app.Manifest = *m
	app.Disabled = false
	app.GrantedPermissions = m.RequestedPermissions
	app.GrantedLocations = m.RequestedLocations
	if s.jwtSecret == "" && m.HTTP.UseJWT {
		s.jwtSecret = model.NewId()
	}
	app.Secret = s.jwtSecret
	// Same operator precedence as install.go: (webhooks && secret) || "".
	if app.GrantedPermissions.Contains(apps.PermissionRemoteWebhooks) && app.RemoteWebhookAuthType == apps.SecretAuth || app.RemoteWebhookAuthType == "" {
		app.WebhookSecret = model.NewId()
	}
	snapshot := *app
	s.mu.Unlock()

	// pingApp: anything but a transport error or a non-404 failure is fine.
	pctx, cancel := context.WithTimeout(ctx, callTimeout)
	_, _, err := s.upstreamCall(pctx, &snapshot, apps.CallRequest{Call: apps.DefaultPing}, "", JWTValid, false)
	cancel()
	var ce *CallError
	if err != nil && !(errors.As(err, &ce) && ce.StatusCode == http.StatusNotFound) {
		return nil, fmt.Errorf("failed to install, /ping path is not accessible: %w", err)
	}
	if m.Icon != "" {
		if err := s.fetchIcon(ctx, &snapshot); err != nil {
			return nil, fmt.Errorf("failed to get bot icon: %w", err)
		}
	}

	s.mu.Lock()
	if err := s.ensureBotLocked(app); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	s.app = app
	snapshot = *app
	s.mu.Unlock()

	cc := apps.Context{UserAgentContext: apps.UserAgentContext{ChannelID: o.ChannelID, TeamID: o.TeamID}}
	switch {
	case app.OnInstall != nil:
		resp, err := s.callApp(ctx, &snapshot, o.ActingUser.Id, apps.CallRequest{Call: *app.OnInstall, Context: cc}, JWTValid)
		return &resp, err
	case len(app.GrantedLocations) > 0:
		resp, err := s.callApp(ctx, &snapshot, o.ActingUser.Id, apps.CallRequest{Call: app.Bindings.WithDefault(apps.DefaultBindings), Context: cc}, JWTValid)
		return &resp, err
	}
	return nil, nil
}

func (s *Server) fetchManifest(ctx context.Context) (*apps.Manifest, error) {
	if s.opts.AppRootURL == "" {
		return nil, errors.New("mmfake: no manifest and no Options.AppRootURL")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(s.opts.AppRootURL, "/")+"/manifest.json", nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching manifest: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, apps.MaxManifestSize))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching manifest: HTTP %d", resp.StatusCode)
	}
	m, err := apps.DecodeCompatibleManifest(data)
	if err != nil {
		return nil, fmt.Errorf("invalid manifest: %w", err)
	}
	return m, nil
}

func (s *Server) fetchIcon(ctx context.Context, app *apps.App) error {
	u, err := utils.CleanURL(fmt.Sprintf("%s/static/%s", s.rootURL(app), app.Icon))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("failed to download icon: %s: received status code %v", app.Icon, resp.StatusCode)
	}
	return nil
}

// ensureBotLocked: the bot is named after the app id, or {id}-app if a human owns the name.
func (s *Server) ensureBotLocked(app *apps.App) error {
	if app.BotUserID != "" && s.users[app.BotUserID] != nil {
		return nil
	}
	name := strings.ToLower(string(app.AppID))
	for _, candidate := range []string{name, name + "-app"} {
		u := s.userByUsernameLocked(candidate)
		if u != nil && !u.IsBot {
			continue
		}
		if u == nil {
			u = s.addUserLocked(candidate, AsBot(), func(u *model.User) { u.Email = ""; u.FirstName = app.DisplayName })
		}
		app.BotUserID, app.BotUsername = u.Id, u.Username
		return nil
	}
	return utils.NewAlreadyExistsError("a user already owns the bot username %s", name+"-app")
}

func (s *Server) rootURL(app *apps.App) string {
	if s.opts.ForceRootURL && s.opts.AppRootURL != "" {
		return strings.TrimRight(s.opts.AppRootURL, "/")
	}
	if app.HTTP == nil {
		return ""
	}
	return app.HTTP.RootURL
}

// signJWT is uphttp.createJWT, with the test-only failure modes.
func (s *Server) signJWT(secret, actingUserID string, mode JWTMode) (string, error) {
	exp := time.Now().Add(15 * time.Minute)
	if mode == JWTExpired {
		exp = time.Now().Add(-time.Minute)
	}
	if mode == JWTBadSignature {
		secret = "not-" + secret
	}
	claims := JWTClaims{RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(exp)}, ActingUserID: actingUserID}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}

// upstreamCall is uphttp.Upstream.invoke + upstream.Call: POST {root}/{path} (cleaned), the
// JWT when the manifest asks for it, 404 and non-200 as errors, the body decoded as a
// CallResponse.
func (s *Server) upstreamCall(ctx context.Context, app *apps.App, creq apps.CallRequest, jwtUserID string, mode JWTMode, async bool) (_ apps.CallResponse, rec AppCall, _ error) {
	rec = AppCall{Path: creq.Path, Async: async}
	defer func() {
		s.mu.Lock()
		s.appCalls = append(s.appCalls, rec)
		s.mu.Unlock()
	}()
	fail := func(status int, err error) (apps.CallResponse, AppCall, error) {
		rec.Err = err
		return apps.CallResponse{}, rec, &CallError{Stage: "upstream", StatusCode: status, Err: err}
	}
	root := s.rootURL(app)
	if root == "" {
		return fail(0, errors.New("failed to get root URL: no http section in manifest.json"))
	}
	callURL, err := utils.CleanURL(root + "/" + creq.Path)
	if err != nil {
		return fail(0, err)
	}
	data, err := json.Marshal(creq)
	if err != nil {
		return fail(0, err)
	}
	rec.Request = data
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, callURL, bytes.NewReader(data))
	if err != nil {
		return fail(0, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if app.HTTP != nil && app.HTTP.UseJWT && mode != JWTNone {
		tok, err := s.signJWT(app.Secret, jwtUserID, mode)
		if err != nil {
			return fail(0, err)
		}
		rec.Authorization = "Bearer " + tok
		req.Header.Set(apps.OutgoingAuthHeader, rec.Authorization)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return fail(0, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	rec.Status, rec.Response = resp.StatusCode, body
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return fail(resp.StatusCode, utils.NewNotFoundError(callURL))
	case resp.StatusCode != http.StatusOK:
		return fail(resp.StatusCode, errors.New(string(body)))
	}
	var cresp apps.CallResponse
	if err := json.Unmarshal(body, &cresp); err != nil {
		return fail(resp.StatusCode, err)
	}
	return cresp, rec, nil
}

// callApp is proxy.callAppImpl for synchronous calls: expand, call, default the type to "ok",
// clean a returned form. Failures come back as the error response the user would see, plus a
// *CallError.
func (s *Server) callApp(ctx context.Context, app *apps.App, actingUserID string, creq apps.CallRequest, mode JWTMode) (apps.CallResponse, error) {
	s.mu.Lock()
	expanded, err := s.expandLocked(app, actingUserID, creq.Context, creq.Expand)
	s.mu.Unlock()
	if err != nil {
		err = fmt.Errorf("failed to expand context: %w", err)
		return apps.NewErrorResponse(err), &CallError{Stage: "expand", Err: err}
	}
	creq.Context = *expanded
	var jwtUser string
	if creq.Context.ActingUser != nil {
		jwtUser = creq.Context.ActingUser.Id // only when acting_user was expanded
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	cresp, _, err := s.upstreamCall(ctx, app, creq, jwtUser, mode, false)
	if err != nil {
		return apps.NewErrorResponse(fmt.Errorf("upstream call failed: %w", err)), err
	}
	if cresp.Type == "" {
		cresp.Type = apps.CallResponseTypeOK
	}
	if cresp.Form != nil {
		clean, problems := s.cleanForm(*cresp.Form, app.AppID)
		s.addProblems(problems)
		cresp.Form = &clean
	}
	return cresp, nil
}

// CallOpts is what a user agent sends to /api/v1/call, plus test knobs.
type CallOpts struct {
	Path          string
	Expand        *apps.Expand
	State         any
	Values        map[string]any
	ActingUser    *model.User
	ChannelID     string
	TeamID        string
	PostID        string
	RootPostID    string
	Location      apps.Location
	RawCommand    string
	Query         string
	SelectedField string
	UserAgent     string
	TrackAsSubmit bool
	JWT           JWTMode
}

// Call invokes the app as a user agent's /api/v1/call would (proxy.InvokeCall). The error is
// non-nil only when the plugin, not the app, produced the answer (then resp is the error
// response the user would see, and the error a *CallError).
func (s *Server) Call(ctx context.Context, o CallOpts) (*apps.CallResponse, error) {
	app := s.App()
	invalid := func(err error) (*apps.CallResponse, error) {
		resp := apps.NewErrorResponse(err)
		return &resp, &CallError{Stage: "validate", Err: err}
	}
	if o.ActingUser == nil {
		return invalid(utils.NewUnauthorizedError("user ID is required"))
	}
	if app == nil {
		return invalid(utils.NewNotFoundError("app not installed"))
	}
	if o.Path == "" || o.Path[0] != '/' {
		return invalid(utils.NewInvalidError("call path must start with a %q: %q", "/", o.Path))
	}
	clean, err := utils.CleanPath(o.Path)
	if err != nil {
		return invalid(fmt.Errorf("failed to clean call path: %w", err))
	}
	if err := forbiddenPath(app, clean); err != nil {
		return invalid(fmt.Errorf("forbidden call path: %w", err))
	}
	creq := apps.CallRequest{
		Call:   apps.Call{Path: clean, Expand: o.Expand, State: o.State},
		Values: o.Values,
		Context: apps.Context{UserAgentContext: apps.UserAgentContext{
			AppID: app.AppID, ChannelID: o.ChannelID, TeamID: o.TeamID, PostID: o.PostID, RootPostID: o.RootPostID,
			Location: o.Location, UserAgent: o.UserAgent, TrackAsSubmit: o.TrackAsSubmit,
		}},
		RawCommand:    o.RawCommand,
		Query:         o.Query,
		SelectedField: o.SelectedField,
	}
	resp, err := s.callApp(ctx, app, o.ActingUser.Id, creq, o.JWT)
	return &resp, err
}

// forbiddenPath is proxy.checkForForbiddenPath: user agents may not call lifecycle paths.
func forbiddenPath(app *apps.App, p string) error {
	m := app.Manifest
	check := []struct {
		name string
		call *apps.Call
		def  *apps.Call
	}{
		{"/ping", nil, &apps.DefaultPing},
		{"on_install.path", m.OnInstall, nil},
		{"on_uninstall.path", m.OnUninstall, nil},
		{"on_version_changed.path", m.OnVersionChanged, nil},
		{"on_enable.path", m.OnEnable, nil},
		{"on_disable.path", m.OnDisable, nil},
		{"get_oauth2_connect_url.path", m.GetOAuth2ConnectURL, &apps.DefaultGetOAuth2ConnectURL},
		{"on_oauth2_complete.path", m.OnOAuth2Complete, &apps.DefaultOnOAuth2Complete},
		{"on_remote_webhook.path", m.OnRemoteWebhook, &apps.DefaultOnRemoteWebhook},
	}
	for _, c := range check {
		matched := false
		if c.call != nil {
			matched = c.call.Path == p
		} else if c.def != nil {
			matched = c.def.Path == p
		}
		if matched {
			return fmt.Errorf("path %s defined as %s", p, c.name)
		}
	}
	return nil
}

// Bindings fetches the app's bindings as GET /api/v1/bindings does for a webapp user, and
// cleans them as the plugin does. The error lists the cleanup problems (the plugin only logs
// them, and drops the offending bindings) or the call's failure.
func (s *Server) Bindings(ctx context.Context, user *model.User, channelID, teamID string) ([]apps.Binding, error) {
	return s.bindings(ctx, user, channelID, teamID, "webapp")
}

func (s *Server) bindings(ctx context.Context, user *model.User, channelID, teamID, userAgent string) ([]apps.Binding, error) {
	if user == nil {
		return nil, utils.NewUnauthorizedError("user ID is required")
	}
	app := s.App()
	if app == nil || app.Disabled {
		return []apps.Binding{}, nil
	}
	if len(app.GrantedLocations) == 0 {
		return []apps.Binding{}, utils.NewForbiddenError("no location granted to bind to")
	}
	cc := apps.Context{UserAgentContext: apps.UserAgentContext{TeamID: teamID, ChannelID: channelID, UserAgent: userAgent}}
	resp, _ := s.callApp(ctx, app, user.Id, apps.CallRequest{Call: app.Bindings.WithDefault(apps.DefaultBindings), Context: cc}, JWTValid)
	switch resp.Type {
	case apps.CallResponseTypeOK:
		var bb []apps.Binding
		b, _ := json.Marshal(resp.Data)
		if err := json.Unmarshal(b, &bb); err != nil {
			return []apps.Binding{}, fmt.Errorf("failed to decode bindings: %w", err)
		}
		clean, problems := s.cleanAppBindings(app, bb, "", userAgent)
		s.addProblems(problems)
		return sortTopBindings(mergeBindings(nil, clean)), problems
	case apps.CallResponseTypeError:
		return []apps.Binding{}, fmt.Errorf("received app error: %s", resp.Text)
	default:
		return []apps.Binding{}, fmt.Errorf("unexpected response type %q", resp.Type)
	}
}

// OAuth2Connect does what GET .../oauth2/remote/connect does for user: create a one-time state,
// call get_oauth2_connect_url with values.state, and return the URL the app answers.
func (s *Server) OAuth2Connect(ctx context.Context, user *model.User) (string, error) {
	app := s.App()
	if app == nil {
		return "", utils.NewNotFoundError("app not installed")
	}
	if !app.GrantedPermissions.Contains(apps.PermissionRemoteOAuth2) {
		return "", fmt.Errorf("%s is not authorized to use OAuth2", app.AppID)
	}
	buf := make([]byte, 15)
	_, _ = rand.Read(buf)
	state := base64.RawURLEncoding.EncodeToString(buf) + "." + user.Id
	s.mu.Lock()
	s.states[state] = user.Id
	s.mu.Unlock()

	call := app.GetOAuth2ConnectURL.WithDefault(apps.DefaultGetOAuth2ConnectURL)
	resp, err := s.callApp(ctx, app, user.Id, apps.CallRequest{Call: call, Values: map[string]any{"state": state}}, JWTValid)
	if err != nil {
		return "", err
	}
	if resp.Type == apps.CallResponseTypeError {
		return "", resp
	}
	if resp.Type != apps.CallResponseTypeOK {
		return "", fmt.Errorf("oauth2: unexpected response type from the app: %q", resp.Type)
	}
	u, ok := resp.Data.(string)
	if !ok {
		return "", fmt.Errorf("oauth2: unexpected data type from the app: %T, expected string (connect URL)", resp.Data)
	}
	return u, nil
}

// OAuth2Complete does what GET .../oauth2/remote/complete does: check the state (one use, bound
// to the user), then call on_oauth2_complete with the query's first values as values.
func (s *Server) OAuth2Complete(ctx context.Context, user *model.User, query url.Values) error {
	app := s.App()
	if app == nil {
		return utils.NewNotFoundError("app not installed")
	}
	if !app.GrantedPermissions.Contains(apps.PermissionRemoteOAuth2) {
		return utils.NewUnauthorizedError("%s is not authorized to use remote OAuth2", app.AppID)
	}
	values := map[string]any{}
	for k := range query {
		values[k] = query.Get(k)
	}
	state, _ := values["state"].(string)
	if state == "" {
		return utils.NewUnauthorizedError("no state arg in the URL")
	}
	parts := strings.Split(state, ".")
	if len(parts) != 2 || parts[1] != user.Id {
		return utils.ErrForbidden
	}
	s.mu.Lock()
	_, ok := s.states[state]
	delete(s.states, state)
	s.mu.Unlock()
	if !ok {
		return utils.NewForbiddenError("state mismatch")
	}
	call := app.OnOAuth2Complete.WithDefault(apps.DefaultOnOAuth2Complete)
	resp, err := s.callApp(ctx, app, user.Id, apps.CallRequest{Call: call, Values: values}, JWTValid)
	if err != nil {
		return err
	}
	if resp.Type == apps.CallResponseTypeError {
		return resp
	}
	if resp.Type != apps.CallResponseTypeOK {
		return fmt.Errorf("oauth2: unexpected response type from the app: %q", resp.Type)
	}
	return nil
}
