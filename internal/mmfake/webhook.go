package mmfake

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"path"

	"github.com/gorilla/mux"
	"github.com/pkg/errors"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-plugin-apps/utils"
	"github.com/mattermost/mattermost-plugin-apps/utils/httputils"
)

// WebhookCall is one remote webhook the plugin accepted and passed on to the app.
type WebhookCall struct {
	Path     string         // the call path, e.g. "/webhook/tick"
	Values   map[string]any // values as the app received them (decoded from Request)
	Request  []byte         // the CallRequest JSON sent to the app
	Status   int            // the app's HTTP status (0 if no answer)
	Response *apps.CallResponse
	Err      error
}

// WebhookCalls lists the webhook notifications that have completed, in completion order.
func (s *Server) WebhookCalls() []WebhookCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]WebhookCall(nil), s.webhooks...)
}

// WaitIdle blocks until no webhook notification is in flight (the plugin answers the sender
// at once and calls the app in the background).
func (s *Server) WaitIdle(ctx context.Context) error {
	s.mu.Lock()
	if s.inflight == 0 {
		s.mu.Unlock()
		return nil
	}
	ch := s.idle
	s.mu.Unlock()
	select {
	case <-ch:
		return s.WaitIdle(ctx) // a notification may have started meanwhile
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) startAsyncLocked() {
	if s.inflight == 0 {
		s.idle = make(chan struct{})
	}
	s.inflight++
}

func (s *Server) doneAsync() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	if s.inflight == 0 {
		close(s.idle)
	}
}

func newHTTPCallRequest(r *http.Request) (*apps.HTTPCallRequest, error) {
	data, err := httputils.LimitReadAll(r.Body, maxWebhookSize)
	if err != nil {
		return nil, err
	}
	sreq := &apps.HTTPCallRequest{
		HTTPMethod: r.Method,
		Path:       mux.Vars(r)["path"],
		RawQuery:   r.URL.RawQuery,
		Body:       string(data),
		Headers:    map[string]string{},
	}
	for k := range r.Header {
		sreq.Headers[k] = r.Header.Get(k)
	}
	return sreq, nil
}

// handleWebhook is httpin.Webhook + proxy.InvokeRemoteWebhook: authenticate, expand a bot
// context (no acting user), answer 200 with an empty body, and notify the app asynchronously.
func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	sreq, err := newHTTPCallRequest(r)
	if err == nil {
		err = s.invokeRemoteWebhook(mux.Vars(r)["appid"], *sreq)
	}
	if err != nil {
		s.log.Warn("mmfake: failed to process remote webhook", "error", err)
	}
	httputils.WriteErrorIfNeeded(w, err)
}

func (s *Server) handleWebhookHead(w http.ResponseWriter, r *http.Request) {
	sreq, err := newHTTPCallRequest(r)
	if err == nil {
		var app *apps.App
		if app, err = s.enabledApp(mux.Vars(r)["appid"]); err == nil {
			err = validateWebhookAuthentication(app, *sreq)
		}
	}
	httputils.WriteErrorIfNeeded(w, err)
}

func (s *Server) enabledApp(appID string) (*apps.App, error) {
	app := s.App()
	if app == nil || string(app.AppID) != appID {
		return nil, utils.NewNotFoundError("app %s", appID)
	}
	if app.Disabled {
		return nil, utils.NewForbiddenError("app %s is disabled", appID)
	}
	return app, nil
}

func validateWebhookAuthentication(app *apps.App, sreq apps.HTTPCallRequest) error {
	if !app.GrantedPermissions.Contains(apps.PermissionRemoteWebhooks) {
		return utils.NewForbiddenError("%s does not have permission %s", app.AppID, apps.PermissionRemoteWebhooks)
	}
	if !app.GrantedPermissions.Contains(apps.PermissionActAsBot) {
		return utils.NewForbiddenError("%s does not have permission %s", app.AppID, apps.PermissionActAsBot)
	}
	switch app.RemoteWebhookAuthType {
	case apps.NoAuth:
	case "", apps.SecretAuth:
		q, err := url.ParseQuery(sreq.RawQuery)
		if err != nil {
			return utils.NewForbiddenError(err)
		}
		secret := q.Get("secret")
		if secret == "" {
			return utils.NewInvalidError("webhook secret was not provided")
		}
		if subtle.ConstantTimeCompare([]byte(secret), []byte(app.WebhookSecret)) != 1 {
			return utils.NewInvalidError("webhook secret mismatched")
		}
	default:
		return errorf("%s is not a known webhook authentication type", app.RemoteWebhookAuthType)
	}
	return nil
}

func (s *Server) invokeRemoteWebhook(appID string, sreq apps.HTTPCallRequest) error {
	app, err := s.enabledApp(appID)
	if err != nil {
		return err
	}
	if err := validateWebhookAuthentication(app, sreq); err != nil {
		return errors.Wrap(err, "failed to validate webhook authentication") // keeps the 400
	}
	// The body is decoded into interface{} and re-encoded with the request: keys sorted, <>&
	// escaped, numbers through float64. A body that is not JSON goes as a string.
	var datav any
	if err := json.Unmarshal([]byte(sreq.Body), &datav); err != nil {
		datav = sreq.Body
	}
	call := app.OnRemoteWebhook.WithDefault(apps.DefaultOnRemoteWebhook)
	call.Path = path.Join(call.Path, sreq.Path)

	s.mu.Lock()
	cc, err := s.expandLocked(app, "", apps.Context{}, call.Expand)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	s.startAsyncLocked()
	s.mu.Unlock()

	creq := apps.CallRequest{
		Call:    call,
		Context: *cc,
		Values: map[string]any{
			"headers":    sreq.Headers,
			"data":       datav,
			"httpMethod": sreq.HTTPMethod,
			"rawQuery":   sreq.RawQuery,
		},
	}
	go func() {
		defer s.doneAsync()
		// uphttp.Roundtrip(async): background context, JWT acting_user_id = the bot.
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		cresp, sentCall, err := s.upstreamCall(ctx, app, creq, cc.BotUserID, JWTValid, true)
		rec := WebhookCall{Path: call.Path, Err: err, Request: sentCall.Request, Status: sentCall.Status}
		var sent apps.CallRequest
		if json.Unmarshal(rec.Request, &sent) == nil {
			rec.Values = sent.Values
		}
		if err == nil {
			rec.Response = &cresp
		}
		s.mu.Lock()
		s.webhooks = append(s.webhooks, rec)
		s.mu.Unlock()
	}()
	return nil
}
