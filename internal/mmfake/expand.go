package mmfake

import (
	"encoding/json"
	"fmt"
	"path"

	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-plugin-apps/utils"
)

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// appURL is config.AppURL: {site}/plugins/com.mattermost.apps/apps/{app_id}.
func (s *Server) appURL(appID apps.AppID) string {
	return s.siteURL + PluginPath + path.Join("/apps", string(appID))
}

// expandLocked is proxy.expandContext + expander.expand (server/proxy/expand.go), step for step:
// the same order, levels, required ("+") handling, getters (the acting user's session if the app
// may act as user, else the bot's), consistency check, and the final stripping of the whole user
// agent context.
func (s *Server) expandLocked(app *apps.App, actingUserID string, cc apps.Context, expand *apps.Expand) (*apps.Context, error) {
	e := &expander{s: s, app: app, actingUserID: actingUserID, Context: cc}
	e.ExpandedContext = apps.ExpandedContext{
		AppPath:           path.Join(PluginPath, "/apps", string(app.AppID)),
		BotUserID:         app.BotUserID,
		MattermostSiteURL: s.siteURL,
	}
	// Always, whatever the expand says (expandContext).
	if app.GrantedPermissions.Contains(apps.PermissionActAsBot) && app.BotUserID != "" {
		e.ExpandedContext.BotAccessToken = s.userTokens[app.BotUserID]
	}
	return e.expand(expand)
}

type expander struct {
	apps.Context
	s            *Server
	app          *apps.App
	actingUserID string
	viewer       *model.User // whose token the getter uses
}

type expandStep struct {
	name         string
	level        apps.ExpandLevel
	f            func(apps.ExpandLevel) error
	expandableAs []apps.ExpandLevel
}

func (e *expander) expand(expand *apps.Expand) (*apps.Context, error) {
	if expand == nil {
		expand = &apps.Expand{}
	}
	all := []apps.ExpandLevel{apps.ExpandID, apps.ExpandSummary, apps.ExpandAll}
	steps := []expandStep{
		{"acting_user_access_token", expand.ActingUserAccessToken, e.actingUserAccessToken, []apps.ExpandLevel{apps.ExpandAll}},
		{"acting_user", expand.ActingUser, e.user(&e.ExpandedContext.ActingUser, e.actingUserID), all},
		{"app", expand.App, e.expandApp, []apps.ExpandLevel{apps.ExpandSummary, apps.ExpandAll}},
		{"channel_member", expand.ChannelMember, e.channelMember, all},
		{"channel", expand.Channel, e.channel, all},
		{"locale", expand.Locale, e.locale, all},
		{"oauth2_app", expand.OAuth2App, e.oauth2App, []apps.ExpandLevel{apps.ExpandAll}},
		{"oauth2_user", expand.OAuth2User, e.oauth2User, []apps.ExpandLevel{apps.ExpandAll}},
		{"post", expand.Post, e.post(&e.ExpandedContext.Post, e.UserAgentContext.PostID), all},
		{"root_post", expand.RootPost, e.post(&e.ExpandedContext.RootPost, e.UserAgentContext.RootPostID), all},
		{"team_member", expand.TeamMember, e.teamMember, all},
		{"team", expand.Team, e.team, all},
		{"user", expand.User, e.user(&e.ExpandedContext.User, e.UserID), all},
	}
	for _, step := range steps {
		required, level, err := apps.ParseExpandLevel(step.level)
		if err != nil {
			return nil, err
		}
		do := false
		for _, l := range step.expandableAs {
			if level == l {
				do = true
			}
		}
		if !do {
			continue
		}
		if err := e.ensureGetter(); err != nil {
			return nil, err
		}
		if err := step.f(level); err != nil && required {
			return nil, fmt.Errorf("failed to expand required %s: %w", step.name, err)
		}
	}
	if err := e.consistencyCheck(); err != nil {
		return nil, fmt.Errorf("failed post-expand consistency check: %w", err)
	}
	// Everything the user agent sent is dropped, app_id, location and user_agent included.
	e.Context.UserAgentContext = apps.UserAgentContext{}
	e.Context.UserID = ""
	return &e.Context, nil
}

func (e *expander) ensureGetter() error {
	if e.viewer != nil {
		return nil
	}
	s := e.s
	switch {
	case e.app.GrantedPermissions.Contains(apps.PermissionActAsUser) && e.actingUserID != "":
		e.viewer = s.users[e.actingUserID]
		if e.viewer == nil {
			return errorf("failed to get the current user's access token: no user %s", e.actingUserID)
		}
	case e.app.GrantedPermissions.Contains(apps.PermissionActAsBot):
		e.viewer = s.users[e.app.BotUserID]
		if e.viewer == nil {
			return errorf("failed to get the bot's access token")
		}
	default:
		return utils.NewUnauthorizedError("apps without any ActAs* permission can't expand")
	}
	return nil
}

func (e *expander) actingUserAccessToken(apps.ExpandLevel) error {
	if !e.app.GrantedPermissions.Contains(apps.PermissionActAsUser) {
		return utils.NewForbiddenError("%s does not have permission to %s", e.app.AppID, apps.PermissionActAsUser)
	}
	tok := e.s.userTokens[e.actingUserID]
	if e.actingUserID == "" || tok == "" {
		return errorf("failed to get session")
	}
	e.ExpandedContext.ActingUserAccessToken = tok
	return nil
}

func (e *expander) user(ptr **model.User, userID string) func(apps.ExpandLevel) error {
	return func(level apps.ExpandLevel) error {
		if userID == "" {
			return errorf("no user ID to expand")
		}
		u, aerr := e.s.getUserLocked(e.viewer, userID)
		if aerr != nil {
			return fmt.Errorf("id: %s: %w", userID, aerr)
		}
		*ptr = apps.StripUser(u, level)
		return nil
	}
}

// expandApp: the webhook secret only at "all" and only for a sysadmin acting user.
func (e *expander) expandApp(level apps.ExpandLevel) error {
	e.ExpandedContext.App = e.app.Strip(level)
	e.ExpandedContext.App.WebhookSecret = ""
	if level == apps.ExpandAll && isSysadmin(e.s.users[e.actingUserID]) {
		e.ExpandedContext.App.WebhookSecret = e.app.WebhookSecret
	}
	return nil
}

func (e *expander) channelMember(level apps.ExpandLevel) error {
	channelID := e.UserAgentContext.ChannelID
	userID := e.UserID
	if userID == "" {
		userID = e.actingUserID
	}
	if userID == "" || channelID == "" {
		return errorf("no user ID or channel ID to expand")
	}
	cm, aerr := e.s.getChannelMemberLocked(e.viewer, channelID, userID)
	if aerr != nil {
		return fmt.Errorf("failed to get channel membership: %w", aerr)
	}
	e.ExpandedContext.ChannelMember = apps.StripChannelMember(cm, level)
	return nil
}

func (e *expander) channel(level apps.ExpandLevel) error {
	channelID := e.UserAgentContext.ChannelID
	if channelID == "" {
		return errorf("no channel ID to expand")
	}
	ch, aerr := e.s.getChannelLocked(e.viewer, channelID)
	if aerr != nil {
		if level == apps.ExpandID {
			// The plugin fakes the channel from the user agent's ids at level "id".
			e.ExpandedContext.Channel = &model.Channel{Id: channelID, TeamId: e.UserAgentContext.TeamID}
			return nil
		}
		return fmt.Errorf("id: %s: %w", channelID, aerr)
	}
	e.ExpandedContext.Channel = apps.StripChannel(ch, level)
	return nil
}

func (e *expander) team(level apps.ExpandLevel) error {
	teamID := e.UserAgentContext.TeamID
	if teamID == "" {
		return errorf("no team ID to expand")
	}
	t, aerr := e.s.getTeamLocked(e.viewer, teamID)
	if aerr != nil {
		if level == apps.ExpandID {
			e.ExpandedContext.Team = &model.Team{Id: teamID}
			return nil
		}
		return fmt.Errorf("failed to get team %s: %w", teamID, aerr)
	}
	e.ExpandedContext.Team = apps.StripTeam(t, level)
	return nil
}

func (e *expander) teamMember(level apps.ExpandLevel) error {
	teamID := e.UserAgentContext.TeamID
	userID := e.UserID
	if userID == "" {
		userID = e.actingUserID
	}
	if userID == "" || teamID == "" {
		return errorf("no user ID or channel ID to expand")
	}
	tm, aerr := e.s.getTeamMemberLocked(e.viewer, teamID, userID)
	if aerr != nil {
		return fmt.Errorf("failed to get team membership: %w", aerr)
	}
	e.ExpandedContext.TeamMember = apps.StripTeamMember(tm, level)
	return nil
}

func (e *expander) post(ptr **model.Post, postID string) func(apps.ExpandLevel) error {
	return func(level apps.ExpandLevel) error {
		if postID == "" {
			return errorf("no post ID to expand")
		}
		p, aerr := e.s.getPostLocked(e.viewer, postID)
		if aerr != nil {
			return fmt.Errorf("failed to get post %s: %w", postID, aerr)
		}
		*ptr = apps.StripPost(p, level)
		return nil
	}
}

// locale: the expanded acting user's locale, else the stored user's, else the default.
func (e *expander) locale(apps.ExpandLevel) error {
	u := e.ExpandedContext.ActingUser
	if u == nil {
		u = e.s.users[e.actingUserID]
	}
	switch {
	case u != nil && u.Locale != "":
		e.ExpandedContext.Locale = u.Locale
	case e.s.opts.DefaultLocale != "":
		e.ExpandedContext.Locale = e.s.opts.DefaultLocale
	default:
		e.ExpandedContext.Locale = "en"
	}
	return nil
}

func (e *expander) oauth2App(apps.ExpandLevel) error {
	if !e.app.GrantedPermissions.Contains(apps.PermissionRemoteOAuth2) {
		return utils.NewForbiddenError("%s does not have permission to %s", e.app.AppID, apps.PermissionRemoteOAuth2)
	}
	e.ExpandedContext.OAuth2.OAuth2App = e.app.RemoteOAuth2
	e.ExpandedContext.OAuth2.ConnectURL = e.s.appURL(e.app.AppID) + "/oauth2/remote/connect"
	e.ExpandedContext.OAuth2.CompleteURL = e.s.appURL(e.app.AppID) + "/oauth2/remote/complete"
	return nil
}

// oauth2User: a missing record is no error, even at "+all" (the plugin wraps a nil error).
func (e *expander) oauth2User(apps.ExpandLevel) error {
	if e.actingUserID == "" {
		return errorf("no acting user id to expand")
	}
	if !e.app.GrantedPermissions.Contains(apps.PermissionRemoteOAuth2) {
		return utils.NewForbiddenError("%s does not have permission to %s", e.app.AppID, apps.PermissionRemoteOAuth2)
	}
	data, err := e.s.oauth2UserDataLocked(e.actingUserID)
	if err != nil {
		return fmt.Errorf("user_id: %s: %w", e.actingUserID, err)
	}
	if len(data) == 0 || string(data) == "{}" {
		return nil
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("user_id: %s: %w", e.actingUserID, err)
	}
	e.ExpandedContext.OAuth2.User = v
	return nil
}

func (e *expander) consistencyCheck() error {
	ua, x := e.UserAgentContext, e.ExpandedContext
	if x.Post != nil && ua.ChannelID != "" && x.Post.ChannelId != ua.ChannelID {
		return errorf("expanded post's channel ID %s is different from user agent context %s", x.Post.ChannelId, ua.ChannelID)
	}
	// Only type D is exempt, and at level "id" the type is not even known: a DM with the
	// webapp's current team fails at "id", a group message fails at every level.
	if x.Channel != nil && ua.TeamID != "" && x.Channel.Type != model.ChannelTypeDirect && x.Channel.TeamId != ua.TeamID {
		return errorf("expanded channel's team ID %s is different from user agent context %s", x.Channel.TeamId, ua.TeamID)
	}
	if x.ChannelMember != nil {
		if ua.ChannelID != "" && x.ChannelMember.ChannelId != ua.ChannelID {
			return errorf("expanded channel member's channel ID %s is different from user agent context %s", x.ChannelMember.ChannelId, ua.ChannelID)
		}
		if e.UserID != "" && x.ChannelMember.UserId != e.actingUserID && x.ChannelMember.UserId != e.UserID {
			return errorf("expanded channel member's user ID %s is different from user agent context", x.ChannelMember.UserId)
		}
	}
	if x.TeamMember != nil {
		if ua.TeamID != "" && x.TeamMember.TeamId != ua.TeamID {
			return errorf("expanded team member's team ID %s is different from user agent context %s", x.TeamMember.TeamId, ua.TeamID)
		}
		if e.UserID != "" && x.TeamMember.UserId != e.actingUserID && x.TeamMember.UserId != e.UserID {
			return errorf("expanded team member's user ID %s is different from user agent context", x.TeamMember.UserId)
		}
	}
	return nil
}
