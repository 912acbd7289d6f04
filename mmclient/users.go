package mmclient

import (
	"context"
	"net/url"

	"github.com/mattermost/mattermost-server/v6/model"
)

// GetUserByUsername reads a user by username (without the @). As the acting user, Mattermost's
// privacy rules for that user apply; an unknown name is a 404 (IsNotFound).
func (c *Client) GetUserByUsername(ctx context.Context, username string) (*model.User, error) {
	var out model.User
	if err := c.get(ctx, "GetUserByUsername", "/users/username/"+url.PathEscape(username), &out); err != nil {
		return nil, err
	}
	return &out, nil
}
