package mmfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
	"github.com/mattermost/mattermost-server/v6/model"
)

// apiErr is a Mattermost AppError answer.
type apiErr struct {
	status int
	id     string
	msg    string
}

func (e *apiErr) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.id, e.msg) }

func errNotFound(what string) *apiErr {
	return &apiErr{http.StatusNotFound, "app." + what + ".missing.app_error", "Unable to find the " + what + "."}
}

func errForbidden() *apiErr {
	return &apiErr{http.StatusForbidden, "api.context.permissions.app_error", "You do not have the appropriate permissions."}
}

func errInvalid(param string) *apiErr {
	return &apiErr{http.StatusBadRequest, "api.context.invalid_param.app_error", "Invalid " + param + " parameter."}
}

func writeAPIErr(w http.ResponseWriter, e *apiErr) {
	writeJSON(w, e.status, model.AppError{Id: e.id, Message: e.msg, StatusCode: e.status, RequestId: "fake"})
}

// tokenFrom reads a session token the way the server does: Authorization "Bearer"/"Token", or
// the MMAUTHTOKEN cookie.
func tokenFrom(r *http.Request) string {
	h := r.Header.Get("Authorization")
	for _, p := range []string{"Bearer ", "bearer ", "Token ", "token "} {
		if strings.HasPrefix(h, p) {
			return strings.TrimSpace(h[len(p):])
		}
	}
	if c, err := r.Cookie(model.SessionCookieToken); err == nil {
		return c.Value
	}
	return ""
}

// sessionUser returns the token's user (locked), or nil.
func (s *Server) sessionUserLocked(r *http.Request) *model.User {
	tok := tokenFrom(r)
	if tok == "" {
		return nil
	}
	return s.users[s.tokens[tok]]
}

func (s *Server) mountAPI(r *mux.Router) {
	h := func(f func(viewer *model.User, w http.ResponseWriter, r *http.Request) (any, int, *apiErr)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			viewer := s.sessionUserLocked(r)
			if viewer == nil {
				s.mu.Unlock()
				writeAPIErr(w, &apiErr{http.StatusUnauthorized, "api.context.session_expired.app_error", "Invalid or expired session, please login again."})
				return
			}
			out, status, e := f(cloneUser(viewer), w, r)
			s.mu.Unlock()
			if e != nil {
				writeAPIErr(w, e)
				return
			}
			writeJSON(w, status, out)
		}
	}
	r.HandleFunc("/posts", h(s.apiCreatePost)).Methods(http.MethodPost)
	r.HandleFunc("/posts/{id}", h(s.apiUpdatePost)).Methods(http.MethodPut)
	r.HandleFunc("/posts/{id}", h(s.apiGetPost)).Methods(http.MethodGet)
	r.HandleFunc("/posts/{id}", h(s.apiDeletePost)).Methods(http.MethodDelete)
	r.HandleFunc("/channels/direct", h(s.apiCreateDirect)).Methods(http.MethodPost)
	r.HandleFunc("/channels/{id}", h(s.apiGetChannel)).Methods(http.MethodGet)
	r.HandleFunc("/channels/{id}/members/{user}", h(s.apiGetChannelMember)).Methods(http.MethodGet)
	r.HandleFunc("/teams/{id}", h(s.apiGetTeam)).Methods(http.MethodGet)
	r.HandleFunc("/teams/{id}/members/{user}", h(s.apiGetTeamMember)).Methods(http.MethodGet)
	r.HandleFunc("/users/ids", h(s.apiGetUsersByIDs)).Methods(http.MethodPost)
	r.HandleFunc("/users/email/{email}", h(s.apiGetUserByEmail)).Methods(http.MethodGet)
	r.HandleFunc("/users/username/{username}", h(s.apiGetUserByUsername)).Methods(http.MethodGet)
	r.HandleFunc("/users/{id}", h(s.apiGetUser)).Methods(http.MethodGet)
	s.mountMembers(r, h) // members.go
}

func decodeBody(r *http.Request, v any) error {
	return json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(v)
}

// --- permission model (the default role schemes, simplified) ---

func (s *Server) isChannelMemberLocked(channelID, userID string) bool {
	_, ok := s.channelMembers[channelID][userID]
	return ok
}

func (s *Server) isTeamMemberLocked(teamID, userID string) bool {
	_, ok := s.teamMembers[teamID][userID]
	return ok
}

// canReadChannelLocked: sysadmins read everything, members read their channels, team members
// read the team's open channels (read_public_channel).
func (s *Server) canReadChannelLocked(viewer *model.User, ch *model.Channel) bool {
	if isSysadmin(viewer) || s.isChannelMemberLocked(ch.Id, viewer.Id) {
		return true
	}
	return ch.Type == model.ChannelTypeOpen && s.isTeamMemberLocked(ch.TeamId, viewer.Id)
}

// sanitizeUserLocked mirrors api4 getUser: self sees everything but secrets; others are
// sanitized with PrivacySettings (ShowFullName is on here), sysadmins see emails.
func (s *Server) sanitizeUserLocked(viewer, u *model.User) *model.User {
	c := cloneUser(u)
	if viewer != nil && viewer.Id == u.Id {
		c.Sanitize(map[string]bool{})
		return c
	}
	opts := map[string]bool{"fullname": true, "email": s.showEmail}
	if isSysadmin(viewer) {
		opts["email"], opts["fullname"], opts["authservice"] = true, true, true
	}
	c.SanitizeProfile(opts)
	return c
}

func (s *Server) getUserLocked(viewer *model.User, id string) (*model.User, *apiErr) {
	if id == "me" {
		id = viewer.Id
	}
	u := s.users[id]
	if u == nil {
		return nil, errNotFound("user")
	}
	return s.sanitizeUserLocked(viewer, u), nil
}

func (s *Server) getChannelLocked(viewer *model.User, id string) (*model.Channel, *apiErr) {
	ch := s.channels[id]
	if ch == nil {
		return nil, errNotFound("channel")
	}
	if !s.canReadChannelLocked(viewer, ch) {
		return nil, errForbidden()
	}
	c := *ch
	return &c, nil
}

func (s *Server) getPostLocked(viewer *model.User, id string) (*model.Post, *apiErr) {
	p := s.posts[id]
	if p == nil {
		return nil, errNotFound("post")
	}
	ch := s.channels[p.ChannelId]
	if ch == nil || !s.canReadChannelLocked(viewer, ch) {
		return nil, errForbidden()
	}
	return p.Clone(), nil
}

// getChannelMemberLocked checks read_channel first, so an unknown channel is a 403 (as api4).
func (s *Server) getChannelMemberLocked(viewer *model.User, channelID, userID string) (*model.ChannelMember, *apiErr) {
	ch := s.channels[channelID]
	if ch == nil || !s.canReadChannelLocked(viewer, ch) {
		return nil, errForbidden()
	}
	if userID == "me" {
		userID = viewer.Id
	}
	m := s.channelMembers[channelID][userID]
	if m == nil {
		return nil, errNotFound("channel member")
	}
	c := *m
	c.NotifyProps = cloneMap(m.NotifyProps)
	return &c, nil
}

func (s *Server) getTeamLocked(viewer *model.User, id string) (*model.Team, *apiErr) {
	t := s.teams[id]
	if t == nil {
		return nil, errNotFound("team")
	}
	if !isSysadmin(viewer) && !s.isTeamMemberLocked(id, viewer.Id) && !(t.AllowOpenInvite && t.Type == model.TeamOpen) {
		return nil, errForbidden()
	}
	c := *t
	return &c, nil
}

func (s *Server) getTeamMemberLocked(viewer *model.User, teamID, userID string) (*model.TeamMember, *apiErr) {
	if !isSysadmin(viewer) && !s.isTeamMemberLocked(teamID, viewer.Id) {
		return nil, errForbidden()
	}
	if userID == "me" {
		userID = viewer.Id
	}
	m := s.teamMembers[teamID][userID]
	if m == nil {
		return nil, errNotFound("team member")
	}
	c := *m
	return &c, nil
}

// --- handlers ---

func (s *Server) apiCreatePost(viewer *model.User, _ http.ResponseWriter, r *http.Request) (any, int, *apiErr) {
	var p model.Post
	if err := decodeBody(r, &p); err != nil {
		return nil, 0, errInvalid("post")
	}
	// api4 createPost: create_post in the channel (channel members; sysadmins have everything).
	ch := s.channels[p.ChannelId]
	if ch == nil || !(isSysadmin(viewer) || s.isChannelMemberLocked(ch.Id, viewer.Id)) {
		return nil, 0, errForbidden()
	}
	if p.Id != "" {
		return nil, 0, &apiErr{http.StatusBadRequest, "app.post.save.existing.app_error", "You cannot update an existing post."}
	}
	if p.RootId != "" {
		root := s.posts[p.RootId]
		if root == nil || root.ChannelId != p.ChannelId || root.RootId != "" {
			return nil, 0, errInvalid("root_id")
		}
	}
	now := s.millis()
	p.Id = s.newID("po")
	p.UserId = viewer.Id
	p.CreateAt, p.UpdateAt, p.EditAt, p.DeleteAt = now, now, 0, 0
	p.SanitizeProps()
	if viewer.IsBot {
		p.AddProp("from_bot", "true")
	}
	if appErr := p.IsValid(model.PostMessageMaxRunesV2); appErr != nil {
		return nil, 0, &apiErr{appErr.StatusCode, appErr.Id, appErr.Message}
	}
	stored := p.Clone()
	s.posts[p.Id] = stored
	s.postOrder = append(s.postOrder, p.Id)
	s.postEvents = append(s.postEvents, PostEvent{Kind: "create", ActorID: viewer.Id, Post: stored.Clone()})
	return stored.Clone(), http.StatusCreated, nil
}

func (s *Server) apiUpdatePost(viewer *model.User, _ http.ResponseWriter, r *http.Request) (any, int, *apiErr) {
	id := mux.Vars(r)["id"]
	var in model.Post
	if err := decodeBody(r, &in); err != nil {
		return nil, 0, errInvalid("post")
	}
	if in.Id != id {
		return nil, 0, errInvalid("id")
	}
	old := s.posts[id]
	// edit_post is checked through the post's channel, so a missing post is a 403 (api4).
	if old == nil || !(isSysadmin(viewer) || s.isChannelMemberLocked(old.ChannelId, viewer.Id)) {
		return nil, 0, errForbidden()
	}
	if old.UserId != viewer.Id && !isSysadmin(viewer) {
		ch := s.channels[old.ChannelId]
		if tm := s.teamMembers[ch.TeamId][viewer.Id]; tm == nil || !tm.SchemeAdmin {
			return nil, 0, errForbidden()
		}
	}
	// app.UpdatePost with safeUpdate=false: message, props, pinned; edit_at on message change.
	in.SanitizeProps()
	np := old.Clone()
	now := s.millis()
	if np.Message != in.Message {
		np.Message = in.Message
		np.EditAt = now
	}
	np.IsPinned = in.IsPinned
	np.SetProps(in.GetProps())
	np.UpdateAt = now
	if appErr := np.IsValid(model.PostMessageMaxRunesV2); appErr != nil {
		return nil, 0, &apiErr{appErr.StatusCode, appErr.Id, appErr.Message}
	}
	s.posts[id] = np
	s.postEvents = append(s.postEvents, PostEvent{Kind: "update", ActorID: viewer.Id, Post: np.Clone()})
	return np.Clone(), http.StatusOK, nil
}

// apiDeletePost soft-deletes as the server does: the author or a sysadmin (delete_post /
// delete_others_posts); the post leaves channel listings.
func (s *Server) apiDeletePost(viewer *model.User, _ http.ResponseWriter, r *http.Request) (any, int, *apiErr) {
	id := mux.Vars(r)["id"]
	old := s.posts[id]
	if old == nil || old.DeleteAt != 0 || !(isSysadmin(viewer) || s.isChannelMemberLocked(old.ChannelId, viewer.Id)) {
		return nil, 0, errForbidden()
	}
	if old.UserId != viewer.Id && !isSysadmin(viewer) {
		return nil, 0, errForbidden()
	}
	np := old.Clone()
	np.DeleteAt = s.millis()
	s.posts[id] = np
	s.postEvents = append(s.postEvents, PostEvent{Kind: "delete", ActorID: viewer.Id, Post: np.Clone()})
	return map[string]string{"status": "OK"}, http.StatusOK, nil
}

func (s *Server) apiGetPost(viewer *model.User, _ http.ResponseWriter, r *http.Request) (any, int, *apiErr) {
	p, e := s.getPostLocked(viewer, mux.Vars(r)["id"])
	return p, http.StatusOK, e
}

func (s *Server) apiCreateDirect(viewer *model.User, _ http.ResponseWriter, r *http.Request) (any, int, *apiErr) {
	var ids []string
	if err := decodeBody(r, &ids); err != nil || len(ids) != 2 {
		return nil, 0, errInvalid("user_ids")
	}
	allowed := false
	for _, id := range ids {
		if !model.IsValidId(id) {
			return nil, 0, errInvalid("user_id")
		}
		if id == viewer.Id {
			allowed = true
		}
	}
	if !allowed && !isSysadmin(viewer) {
		return nil, 0, errForbidden()
	}
	for _, id := range ids {
		if s.users[id] == nil {
			return nil, 0, errNotFound("user")
		}
	}
	c := *s.directChannelLocked(ids[0], ids[1])
	return &c, http.StatusCreated, nil
}

func (s *Server) apiGetChannel(viewer *model.User, _ http.ResponseWriter, r *http.Request) (any, int, *apiErr) {
	ch, e := s.getChannelLocked(viewer, mux.Vars(r)["id"])
	return ch, http.StatusOK, e
}

func (s *Server) apiGetChannelMember(viewer *model.User, _ http.ResponseWriter, r *http.Request) (any, int, *apiErr) {
	v := mux.Vars(r)
	m, e := s.getChannelMemberLocked(viewer, v["id"], v["user"])
	return m, http.StatusOK, e
}

func (s *Server) apiGetTeam(viewer *model.User, _ http.ResponseWriter, r *http.Request) (any, int, *apiErr) {
	t, e := s.getTeamLocked(viewer, mux.Vars(r)["id"])
	return t, http.StatusOK, e
}

func (s *Server) apiGetTeamMember(viewer *model.User, _ http.ResponseWriter, r *http.Request) (any, int, *apiErr) {
	v := mux.Vars(r)
	m, e := s.getTeamMemberLocked(viewer, v["id"], v["user"])
	return m, http.StatusOK, e
}

func (s *Server) apiGetUser(viewer *model.User, _ http.ResponseWriter, r *http.Request) (any, int, *apiErr) {
	u, e := s.getUserLocked(viewer, mux.Vars(r)["id"])
	return u, http.StatusOK, e
}

func (s *Server) apiGetUserByUsername(viewer *model.User, _ http.ResponseWriter, r *http.Request) (any, int, *apiErr) {
	u := s.userByUsernameLocked(mux.Vars(r)["username"])
	if u == nil {
		return nil, 0, errNotFound("user")
	}
	return s.sanitizeUserLocked(viewer, u), http.StatusOK, nil
}

// apiGetUserByEmail mirrors api4 getUserByEmail: without ShowEmailAddress, anyone but a
// sysadmin gets 403 before the lookup; an unknown email is a 404.
func (s *Server) apiGetUserByEmail(viewer *model.User, _ http.ResponseWriter, r *http.Request) (any, int, *apiErr) {
	email := strings.ToLower(mux.Vars(r)["email"])
	if !model.IsValidEmail(email) {
		return nil, 0, errInvalid("email")
	}
	if !s.showEmail && !isSysadmin(viewer) {
		return nil, 0, &apiErr{http.StatusForbidden, "api.user.get_user_by_email.permissions.app_error", "Unable to get user by email."}
	}
	for _, u := range s.users {
		if strings.EqualFold(u.Email, email) {
			return s.sanitizeUserLocked(viewer, u), http.StatusOK, nil
		}
	}
	return nil, 0, errNotFound("user")
}

// apiGetUsersByIDs: unknown ids are left out; an empty list is a 400.
func (s *Server) apiGetUsersByIDs(viewer *model.User, _ http.ResponseWriter, r *http.Request) (any, int, *apiErr) {
	var ids []string
	if err := decodeBody(r, &ids); err != nil || len(ids) == 0 {
		return nil, 0, errInvalid("user_ids")
	}
	out := []*model.User{}
	seen := map[string]bool{}
	for _, id := range ids {
		if u := s.users[id]; u != nil && !seen[id] {
			seen[id] = true
			out = append(out, s.sanitizeUserLocked(viewer, u))
		}
	}
	return out, http.StatusOK, nil
}
