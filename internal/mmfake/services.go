package mmfake

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-plugin-apps/utils"
	"github.com/mattermost/mattermost-plugin-apps/utils/httputils"
)

// KVKey addresses one KV value: the plugin scopes every key by the token's user (the bot's for
// app-wide data).
type KVKey struct {
	UserID string
	Prefix string
	ID     string
}

// KVOp is one KV request as the plugin saw it. Status is the answer's HTTP status (0 while the
// fault hook looks at it).
type KVOp struct {
	Op     string // "get", "set" or "delete"
	UserID string // "" when the token was unknown
	Prefix string
	ID     string
	Status int
}

// Fault is what a KV fault hook injects: Delay first, then, if Status is non-zero, that status
// and body instead of the real answer.
type Fault struct {
	Status int
	Body   string
	Delay  time.Duration
}

// SetKVFault installs a hook consulted before every KV request (nil removes it).
func (s *Server) SetKVFault(f func(KVOp) *Fault) {
	s.mu.Lock()
	s.kvFault = f
	s.mu.Unlock()
}

// KVOps lists every KV request so far, in order.
func (s *Server) KVOps() []KVOp {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]KVOp(nil), s.kvOps...)
}

// ResetKVOps clears the KV request log.
func (s *Server) ResetKVOps() {
	s.mu.Lock()
	s.kvOps = nil
	s.mu.Unlock()
}

// KVDump returns a copy of every stored KV value.
func (s *Server) KVDump() map[KVKey]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[KVKey]json.RawMessage, len(s.kv))
	for k, v := range s.kv {
		out[k] = append(json.RawMessage(nil), v...)
	}
	return out
}

// KVGet returns the raw value stored for userID (the bot's id for app-wide data).
func (s *Server) KVGet(userID, prefix, id string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.kv[kvKey(userID, prefix, id)]
	return append(json.RawMessage(nil), v...), ok
}

// KVPut seeds a raw value without going through HTTP (not counted in KVOps).
func (s *Server) KVPut(userID, prefix, id string, raw json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kv[kvKey(userID, prefix, id)] = append([]byte(nil), raw...)
}

// OAuth2App is the remote OAuth2 app the app stored.
func (s *Server) OAuth2App() apps.OAuth2App {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.app == nil {
		return apps.OAuth2App{}
	}
	return s.app.RemoteOAuth2
}

// OAuth2User is the raw record the app stored for a user (nil if none).
func (s *Server) OAuth2User(userID string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(json.RawMessage(nil), s.oauth2Users[userID]...)
}

// kvKey mirrors store.Hashkey, which pads the prefix to two bytes with spaces, so "a" and
// "a " (and "" and "  ") are the same key.
func kvKey(userID, prefix, id string) KVKey {
	return KVKey{UserID: userID, Prefix: strings.TrimRight(prefix, " "), ID: id}
}

func (s *Server) mountPlugin(r *mux.Router) {
	api := r.PathPrefix("/api/v1").Subrouter()
	api.HandleFunc("/kv/{key}", s.kvHandler("delete")).Methods(http.MethodDelete)
	api.HandleFunc("/kv/{key}", s.kvHandler("get")).Methods(http.MethodGet)
	api.HandleFunc("/kv/{key}", s.kvHandler("set")).Methods(http.MethodPut, http.MethodPost)
	api.HandleFunc("/kv/{prefix}/{key}", s.kvHandler("delete")).Methods(http.MethodDelete)
	api.HandleFunc("/kv/{prefix}/{key}", s.kvHandler("get")).Methods(http.MethodGet)
	api.HandleFunc("/kv/{prefix}/{key}", s.kvHandler("set")).Methods(http.MethodPut, http.MethodPost)
	api.HandleFunc("/oauth2/app", s.handleStoreOAuth2App).Methods(http.MethodPut, http.MethodPost)
	api.HandleFunc("/oauth2/user", s.handleGetOAuth2User).Methods(http.MethodGet)
	api.HandleFunc("/oauth2/user", s.handleStoreOAuth2User).Methods(http.MethodPut, http.MethodPost)
	api.HandleFunc("/call", s.handleCall).Methods(http.MethodPost)
	api.HandleFunc("/bindings", s.handleBindings).Methods(http.MethodGet)

	app := r.PathPrefix("/apps/{appid}").Subrouter()
	app.HandleFunc("/webhook", s.handleWebhook).Methods(http.MethodPost)
	app.HandleFunc("/webhook/{path}", s.handleWebhook).Methods(http.MethodPost)
	app.HandleFunc("/webhook", s.handleWebhookHead).Methods(http.MethodHead)
	app.HandleFunc("/webhook/{path}", s.handleWebhookHead).Methods(http.MethodHead)
	app.HandleFunc("/oauth2/remote/connect", s.handleOAuth2Connect).Methods(http.MethodGet)
	app.HandleFunc("/oauth2/remote/complete", s.handleOAuth2Complete).Methods(http.MethodGet)
	r.PathPrefix("/").Handler(http.NotFoundHandler())
}

// appUserLocked resolves the request's acting user as the plugin does: the server authenticates
// the token and passes the user id; an unknown token simply yields no user (401 "user ID is
// required"). requireApp adds RequireSourceApp: the token must be an app session.
func (s *Server) appUserLocked(r *http.Request, requireApp bool) (*model.User, error) {
	u := s.sessionUserLocked(r)
	if u == nil {
		return nil, utils.NewUnauthorizedError("user ID is required")
	}
	if requireApp && s.app == nil {
		return nil, utils.NewUnauthorizedError("not an app session")
	}
	return u, nil
}

func (s *Server) kvHandler(op string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		vars := mux.Vars(r)
		prefix, id := vars["prefix"], vars["key"]
		var data []byte
		var readErr error
		if op == "set" {
			// httpin.KVPut reads (with the limit) before any check.
			data, readErr = httputils.LimitReadAll(r.Body, MaxKVValueSize)
		}

		s.mu.Lock()
		kop := KVOp{Op: op, Prefix: prefix, ID: id}
		if u := s.sessionUserLocked(r); u != nil {
			kop.UserID = u.Id
		}
		hook := s.kvFault
		s.mu.Unlock()

		if hook != nil {
			if f := hook(kop); f != nil {
				if f.Delay > 0 {
					select {
					case <-time.After(f.Delay):
					case <-r.Context().Done():
					}
				}
				if f.Status != 0 {
					s.recordKV(kop, f.Status)
					http.Error(w, f.Body, f.Status)
					return
				}
			}
		}

		s.mu.Lock()
		out, err := s.kvLocked(r, op, prefix, id, data, readErr)
		s.mu.Unlock()
		if err != nil {
			s.recordKV(kop, httputils.ErrorToStatus(err))
			httputils.WriteErrorIfNeeded(w, err)
			return
		}
		s.recordKV(kop, http.StatusOK)
		switch op {
		case "get":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(out)
		case "set":
			_ = httputils.WriteJSON(w, map[string]any{"changed": true}) // non-atomic KVSet always writes
		}
	}
}

func (s *Server) recordKV(op KVOp, status int) {
	op.Status = status
	s.mu.Lock()
	s.kvOps = append(s.kvOps, op)
	s.mu.Unlock()
}

// kvLocked follows appservices KVSet/KVGet/KVDelete and store.Hashkey, error for error.
func (s *Server) kvLocked(r *http.Request, op, prefix, id string, data []byte, readErr error) ([]byte, error) {
	if readErr != nil {
		return nil, readErr // "size limit of 8Kb exceeded": a 500, not a 413
	}
	u, err := s.appUserLocked(r, true)
	if err != nil {
		return nil, err
	}
	if op == "set" && !json.Valid(data) {
		return nil, utils.NewInvalidError("payload is not valid json")
	}
	if len(prefix) > 2 {
		return nil, errorf("prefix %q is longer than the limit of 2 ASCII characters", prefix)
	}
	key := kvKey(u.Id, prefix, id)
	switch op {
	case "get":
		v := s.kv[key]
		if len(v) == 0 {
			return []byte("{}"), nil
		}
		return append([]byte(nil), v...), nil
	case "set":
		s.kv[key] = append([]byte(nil), data...)
	case "delete":
		delete(s.kv, key)
	}
	return nil, nil
}

func (s *Server) handleStoreOAuth2App(w http.ResponseWriter, r *http.Request) {
	data, err := httputils.LimitReadAll(r.Body, MaxKVValueSize)
	if err == nil {
		s.mu.Lock()
		err = s.storeOAuth2AppLocked(r, data)
		s.mu.Unlock()
	}
	httputils.WriteErrorIfNeeded(w, err)
}

// storeOAuth2AppLocked: appservices.StoreOAuth2App requires manage_system of the acting user
// (so a sysadmin's token, not the bot's) and the remote_oauth2 permission.
func (s *Server) storeOAuth2AppLocked(r *http.Request, data []byte) error {
	u, err := s.appUserLocked(r, false)
	if err != nil {
		return err
	}
	if !isSysadmin(u) {
		return utils.NewUnauthorizedError("access to this operation is limited to users with permission: %s", model.PermissionManageSystem.Id)
	}
	if s.app == nil {
		return utils.NewUnauthorizedError("not an app session")
	}
	var oapp apps.OAuth2App
	if err := json.Unmarshal(data, &oapp); err != nil {
		return utils.NewInvalidError(errorf("OAuth2App is not valid JSON: %v", err))
	}
	if !s.app.GrantedPermissions.Contains(apps.PermissionRemoteOAuth2) {
		return utils.NewUnauthorizedError("%s is not authorized to use remote OAuth2", s.app.AppID)
	}
	s.app.RemoteOAuth2 = oapp
	return nil
}

func (s *Server) handleStoreOAuth2User(w http.ResponseWriter, r *http.Request) {
	data, err := httputils.LimitReadAll(r.Body, MaxKVValueSize)
	if err == nil {
		s.mu.Lock()
		var u *model.User
		u, err = s.oauth2UserChecksLocked(r)
		if err == nil && !json.Valid(data) {
			err = utils.NewInvalidError("payload is not valid JSON")
		}
		if err == nil {
			err = s.requireRemoteOAuth2Locked()
		}
		if err == nil {
			s.oauth2Users[u.Id] = append([]byte(nil), data...)
		}
		s.mu.Unlock()
	}
	httputils.WriteErrorIfNeeded(w, err)
}

// handleGetOAuth2User answers the stored bytes, or an empty 200 body when there are none.
func (s *Server) handleGetOAuth2User(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	u, err := s.oauth2UserChecksLocked(r)
	if err == nil {
		err = s.requireRemoteOAuth2Locked()
	}
	var data []byte
	if err == nil {
		data = append([]byte(nil), s.oauth2Users[u.Id]...)
	}
	s.mu.Unlock()
	if err != nil {
		httputils.WriteErrorIfNeeded(w, err)
		return
	}
	_, _ = w.Write(data)
}

func (s *Server) oauth2UserChecksLocked(r *http.Request) (*model.User, error) {
	u, err := s.appUserLocked(r, true)
	if err != nil {
		return nil, err
	}
	if u.IsBot {
		return nil, utils.NewUnauthorizedError("@%s: is a bot", u.Username)
	}
	return u, nil
}

func (s *Server) requireRemoteOAuth2Locked() error {
	if !s.app.GrantedPermissions.Contains(apps.PermissionRemoteOAuth2) {
		return utils.NewUnauthorizedError("%s is not authorized to use remote OAuth2", s.app.AppID)
	}
	return nil
}

// oauth2UserDataLocked is appservices.GetOAuth2User for the expander.
func (s *Server) oauth2UserDataLocked(userID string) ([]byte, error) {
	u := s.users[userID]
	if u == nil {
		return nil, utils.NewNotFoundError("user")
	}
	if u.IsBot {
		return nil, utils.NewUnauthorizedError("@%s: is a bot", u.Username)
	}
	if err := s.requireRemoteOAuth2Locked(); err != nil {
		return nil, err
	}
	return bytes.Clone(s.oauth2Users[userID]), nil
}
