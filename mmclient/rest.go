package mmclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/mattermost/mattermost-server/v6/model"
)

// CreatePost posts as the token's user (POST /api/v4/posts).
func (c *Client) CreatePost(ctx context.Context, p *model.Post) (*model.Post, error) {
	if p == nil {
		return nil, errors.New("mattermost CreatePost: nil post")
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("mattermost CreatePost: encoding post: %w", err)
	}
	var out model.Post
	if _, err := c.do(ctx, "CreatePost in "+p.ChannelId, http.MethodPost, c.apiURL("/posts"), b, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdatePost replaces a post's message and props (PUT /api/v4/posts/{id}); only the author (or
// someone with edit_others_posts) may.
func (c *Client) UpdatePost(ctx context.Context, p *model.Post) (*model.Post, error) {
	if p == nil || p.Id == "" {
		return nil, errors.New("mattermost UpdatePost: post without id")
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("mattermost UpdatePost: encoding post: %w", err)
	}
	var out model.Post
	if _, err := c.do(ctx, "UpdatePost "+p.Id, http.MethodPut, c.apiURL("/posts/"+url.PathEscape(p.Id)), b, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetPost reads a post the token's user can see.
func (c *Client) GetPost(ctx context.Context, id string) (*model.Post, error) {
	var out model.Post
	if err := c.get(ctx, "GetPost "+id, "/posts/"+url.PathEscape(id), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DM opens (or finds) the direct channel between botUserID and userID and posts p there. p's
// ChannelId is ignored; p itself is not modified.
func (c *Client) DM(ctx context.Context, botUserID, userID string, p *model.Post) (*model.Post, error) {
	if p == nil {
		return nil, errors.New("mattermost DM: nil post")
	}
	ch, err := c.CreateDirectChannel(ctx, botUserID, userID)
	if err != nil {
		return nil, fmt.Errorf("mattermost DM to %s: %w", userID, err)
	}
	cp := p.Clone()
	cp.ChannelId = ch.Id
	out, err := c.CreatePost(ctx, cp)
	if err != nil {
		return nil, fmt.Errorf("mattermost DM to %s: %w", userID, err)
	}
	return out, nil
}

// CreateDirectChannel returns the DM channel between two users, creating it if needed
// (POST /api/v4/channels/direct); the token's user must be one of them unless a sysadmin.
func (c *Client) CreateDirectChannel(ctx context.Context, userID1, userID2 string) (*model.Channel, error) {
	b, _ := json.Marshal([]string{userID1, userID2})
	var out model.Channel
	if _, err := c.do(ctx, "CreateDirectChannel", http.MethodPost, c.apiURL("/channels/direct"), b, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetUser reads a user; Mattermost blanks Email (and names) per its privacy settings unless the
// token's user is a sysadmin or the user themself.
func (c *Client) GetUser(ctx context.Context, id string) (*model.User, error) {
	var out model.User
	if err := c.get(ctx, "GetUser "+id, "/users/"+url.PathEscape(id), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetUserByEmail looks a user up by email. With ShowEmailAddress off, Mattermost answers 403 to
// anyone but a sysadmin (api4/user.go getUserByEmail): check IsForbidden as well as IsNotFound.
func (c *Client) GetUserByEmail(ctx context.Context, email string) (*model.User, error) {
	var out model.User
	if err := c.get(ctx, "GetUserByEmail", "/users/email/"+url.PathEscape(email), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetUsersByIDs reads many users at once; unknown ids are silently absent from the answer.
func (c *Client) GetUsersByIDs(ctx context.Context, ids []string) ([]*model.User, error) {
	if len(ids) == 0 {
		return nil, nil // Mattermost answers 400 to an empty list
	}
	b, _ := json.Marshal(ids)
	var out []*model.User
	if _, err := c.do(ctx, "GetUsersByIDs", http.MethodPost, c.apiURL("/users/ids"), b, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetChannel reads a channel the token's user can see.
func (c *Client) GetChannel(ctx context.Context, id string) (*model.Channel, error) {
	var out model.Channel
	if err := c.get(ctx, "GetChannel "+id, "/channels/"+url.PathEscape(id), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetChannelMember reads userID's membership (SchemeAdmin = channel admin).
func (c *Client) GetChannelMember(ctx context.Context, channelID, userID string) (*model.ChannelMember, error) {
	var out model.ChannelMember
	p := "/channels/" + url.PathEscape(channelID) + "/members/" + url.PathEscape(userID)
	if err := c.get(ctx, "GetChannelMember "+channelID+"/"+userID, p, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetTeamMember reads userID's team membership (SchemeAdmin = team admin).
func (c *Client) GetTeamMember(ctx context.Context, teamID, userID string) (*model.TeamMember, error) {
	var out model.TeamMember
	p := "/teams/" + url.PathEscape(teamID) + "/members/" + url.PathEscape(userID)
	if err := c.get(ctx, "GetTeamMember "+teamID+"/"+userID, p, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) get(ctx context.Context, op, p string, out any) error {
	_, err := c.do(ctx, op, http.MethodGet, c.apiURL(p), nil, nil, out)
	return err
}

// AddChannelMember adds userID to an open or private channel (POST /api/v4/channels/{id}/members)
// as the token's user, who needs manage_{public|private}_channel_members there (channel members
// have it by default). Mattermost first requires userID to be a member of the channel's team
// (404 app.team.get_member.missing.app_error otherwise: see AddTeamMember). Adding a member
// again is not an error: the server answers with the existing membership.
func (c *Client) AddChannelMember(ctx context.Context, channelID, userID string) (*model.ChannelMember, error) {
	b, _ := json.Marshal(map[string]string{"user_id": userID})
	var out model.ChannelMember
	p := c.apiURL("/channels/" + url.PathEscape(channelID) + "/members")
	if _, err := c.do(ctx, "AddChannelMember "+channelID+"/"+userID, http.MethodPost, p, b, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AddTeamMember adds userID to a team (POST /api/v4/teams/{id}/members) as the token's user, who
// needs add_user_to_team (team members have it by default). Bots start in no team, and a channel
// only takes members of its team.
func (c *Client) AddTeamMember(ctx context.Context, teamID, userID string) (*model.TeamMember, error) {
	b, _ := json.Marshal(map[string]string{"team_id": teamID, "user_id": userID})
	var out model.TeamMember
	p := c.apiURL("/teams/" + url.PathEscape(teamID) + "/members")
	if _, err := c.do(ctx, "AddTeamMember "+teamID+"/"+userID, http.MethodPost, p, b, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeletePost deletes a post (DELETE /api/v4/posts/{id}) as the token's user: the bot deletes its
// own posts, for instance a duplicate card it just created.
func (c *Client) DeletePost(ctx context.Context, id string) error {
	_, err := c.do(ctx, "DeletePost "+id, http.MethodDelete, c.apiURL("/posts/"+url.PathEscape(id)), nil, nil, nil)
	return err
}
