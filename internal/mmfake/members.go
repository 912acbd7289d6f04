package mmfake

import (
	"net/http"

	"github.com/gorilla/mux"
	"github.com/mattermost/mattermost-server/v6/model"
)

// Membership writes the app makes (api4 addChannelMember, addTeamMember), with the default
// role scheme's permissions: channel members may add members to their channel
// (manage_{public,private}_channel_members are channel_user permissions), team members may add
// users to their team (add_user_to_team is a team_user permission), team admins and sysadmins
// may do both. As on the server, a channel only takes members of its team, and adding an
// existing member answers 201 with the existing membership.

func (s *Server) mountMembers(r *mux.Router, h func(func(*model.User, http.ResponseWriter, *http.Request) (any, int, *apiErr)) http.HandlerFunc) {
	r.HandleFunc("/channels/{id}/members", h(s.apiAddChannelMember)).Methods(http.MethodPost)
	r.HandleFunc("/teams/{id}/members", h(s.apiAddTeamMember)).Methods(http.MethodPost)
}

// apiAddChannelMember is POST /api/v4/channels/{id}/members {"user_id"}.
func (s *Server) apiAddChannelMember(viewer *model.User, _ http.ResponseWriter, r *http.Request) (any, int, *apiErr) {
	var body struct {
		UserID string `json:"user_id"`
	}
	if err := decodeBody(r, &body); err != nil || body.UserID == "" {
		return nil, 0, errInvalid("user_id")
	}
	ch := s.channels[mux.Vars(r)["id"]]
	if ch == nil {
		return nil, 0, errNotFound("channel")
	}
	if ch.Type != model.ChannelTypeOpen && ch.Type != model.ChannelTypePrivate {
		return nil, 0, &apiErr{http.StatusBadRequest, "api.channel.add_user_to_channel.type.app_error", "Can not add user to this channel type."}
	}
	teamAdmin := false
	if tm := s.teamMembers[ch.TeamId][viewer.Id]; tm != nil && tm.SchemeAdmin {
		teamAdmin = true
	}
	// Joining an open channel yourself needs only team membership (join_public_channels).
	selfJoin := body.UserID == viewer.Id && ch.Type == model.ChannelTypeOpen && s.isTeamMemberLocked(ch.TeamId, viewer.Id)
	if !isSysadmin(viewer) && !teamAdmin && !selfJoin && !s.isChannelMemberLocked(ch.Id, viewer.Id) {
		return nil, 0, errForbidden()
	}
	if s.users[body.UserID] == nil {
		return nil, 0, errNotFound("user")
	}
	if m := s.channelMembers[ch.Id][body.UserID]; m != nil {
		c := *m
		return &c, http.StatusCreated, nil
	}
	if !s.isTeamMemberLocked(ch.TeamId, body.UserID) {
		return nil, 0, &apiErr{http.StatusNotFound, "app.team.get_member.missing.app_error", "No team member found for that user ID and team ID."}
	}
	s.addChannelMemberLocked(ch.Id, body.UserID, false)
	c := *s.channelMembers[ch.Id][body.UserID]
	return &c, http.StatusCreated, nil
}

// apiAddTeamMember is POST /api/v4/teams/{id}/members {"team_id", "user_id"}.
func (s *Server) apiAddTeamMember(viewer *model.User, _ http.ResponseWriter, r *http.Request) (any, int, *apiErr) {
	var body struct {
		TeamID string `json:"team_id"`
		UserID string `json:"user_id"`
	}
	teamID := mux.Vars(r)["id"]
	if err := decodeBody(r, &body); err != nil || body.UserID == "" {
		return nil, 0, errInvalid("user_id")
	}
	if body.TeamID != teamID {
		return nil, 0, errInvalid("team_id")
	}
	if s.teams[teamID] == nil {
		return nil, 0, errNotFound("team")
	}
	if !isSysadmin(viewer) && !s.isTeamMemberLocked(teamID, viewer.Id) {
		return nil, 0, errForbidden()
	}
	if s.users[body.UserID] == nil {
		return nil, 0, errNotFound("user")
	}
	if m := s.teamMembers[teamID][body.UserID]; m == nil {
		s.addTeamMemberLocked(teamID, body.UserID, false)
	}
	c := *s.teamMembers[teamID][body.UserID]
	return &c, http.StatusCreated, nil
}

// IsChannelMember reports whether userID is a member of channelID.
func (s *Server) IsChannelMember(channelID, userID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.isChannelMemberLocked(channelID, userID)
}

// IsTeamMember reports whether userID is a member of teamID.
func (s *Server) IsTeamMember(teamID, userID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.isTeamMemberLocked(teamID, userID)
}
