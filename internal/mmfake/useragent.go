package mmfake

import (
	"net/http"

	"github.com/gorilla/mux"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-plugin-apps/utils"
	"github.com/mattermost/mattermost-plugin-apps/utils/httputils"
)

// HTTP front of the user-agent paths, for tests that drive the fake over HTTP with a user's
// token (Authorization header or MMAUTHTOKEN cookie) like a browser would.

func (s *Server) requestUser(r *http.Request) (*model.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.appUserLocked(r, false)
	return cloneUser(u), err
}

// handleCall is httpin.Call: the CallRequest as the webapp sends it, answered with
// app_metadata.
func (s *Server) handleCall(w http.ResponseWriter, r *http.Request) {
	creq, err := apps.CallRequestFromJSONReader(r.Body)
	if err != nil {
		httputils.WriteErrorIfNeeded(w, utils.NewInvalidError(err))
		return
	}
	if creq.Context.AppID == "" {
		httputils.WriteErrorIfNeeded(w, utils.NewInvalidError("app ID is not set in Call request"))
		return
	}
	u, _ := s.requestUser(r)
	type appMetadata struct {
		BotUserID   string `json:"bot_user_id,omitempty"`
		BotUsername string `json:"bot_username,omitempty"`
	}
	out := struct {
		apps.CallResponse
		AppMetadata appMetadata `json:"app_metadata"`
	}{}
	app := s.App()
	switch {
	case app == nil || app.AppID != creq.Context.AppID:
		out.CallResponse = apps.NewErrorResponse(utils.NewNotFoundError("app %s", creq.Context.AppID))
	default:
		ua := creq.Context.UserAgentContext
		resp, _ := s.Call(r.Context(), CallOpts{
			Path: creq.Path, Expand: creq.Expand, State: creq.State, Values: creq.Values, ActingUser: u,
			ChannelID: ua.ChannelID, TeamID: ua.TeamID, PostID: ua.PostID, RootPostID: ua.RootPostID,
			Location: ua.Location, UserAgent: ua.UserAgent, TrackAsSubmit: ua.TrackAsSubmit,
			RawCommand: creq.RawCommand, Query: creq.Query, SelectedField: creq.SelectedField,
		})
		out.CallResponse = *resp
		out.AppMetadata = appMetadata{app.BotUserID, app.BotUsername}
	}
	_ = httputils.WriteJSON(w, out)
}

func (s *Server) handleBindings(w http.ResponseWriter, r *http.Request) {
	u, err := s.requestUser(r)
	if err != nil {
		httputils.WriteErrorIfNeeded(w, err)
		return
	}
	q := r.URL.Query()
	bb, err := s.bindings(r.Context(), u, q.Get("channel_id"), q.Get("team_id"), q.Get("user_agent_type"))
	if q.Get("test") != "" {
		out := map[string]any{"bindings": bb}
		if err != nil {
			out["error"] = err.Error()
		}
		_ = httputils.WriteJSON(w, out)
		return
	}
	_ = httputils.WriteJSON(w, bb)
}

func (s *Server) handleOAuth2Connect(w http.ResponseWriter, r *http.Request) {
	u, err := s.requestUser(r)
	if err == nil {
		_, err = s.enabledApp(mux.Vars(r)["appid"])
	}
	var connectURL string
	if err == nil {
		connectURL, err = s.OAuth2Connect(r.Context(), u)
	}
	if err != nil {
		httputils.WriteErrorIfNeeded(w, err)
		return
	}
	http.Redirect(w, r, connectURL, http.StatusTemporaryRedirect)
}

func (s *Server) handleOAuth2Complete(w http.ResponseWriter, r *http.Request) {
	u, err := s.requestUser(r)
	if err == nil {
		_, err = s.enabledApp(mux.Vars(r)["appid"])
	}
	if err == nil {
		err = s.OAuth2Complete(r.Context(), u, r.URL.Query())
	}
	if err != nil {
		httputils.WriteErrorIfNeeded(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html")
	_, _ = w.Write([]byte(`<!DOCTYPE html><html><head><script>window.close();</script></head><body><p>Completed connecting your account. Please close this window.</p></body></html>`))
}
