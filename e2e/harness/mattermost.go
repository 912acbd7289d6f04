package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"
)

// ------------------------------------------------------------------ users, channels

// User is GET /api/v4/users/{id}.
func (s *Stack) User(ctx context.Context, token, userID string) (*model.User, error) {
	var u model.User
	if err := s.getJSON(ctx, s.URL+"/api/v4/users/"+pathEscape(userID), token, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// UserByUsername is GET /api/v4/users/username/{name}.
func (s *Stack) UserByUsername(ctx context.Context, token, username string) (*model.User, error) {
	var u model.User
	if err := s.getJSON(ctx, s.URL+"/api/v4/users/username/"+pathEscape(username), token, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// Channel is GET /api/v4/channels/{id}.
func (s *Stack) Channel(ctx context.Context, token, channelID string) (*model.Channel, error) {
	var ch model.Channel
	if err := s.getJSON(ctx, s.URL+"/api/v4/channels/"+pathEscape(channelID), token, &ch); err != nil {
		return nil, err
	}
	return &ch, nil
}

// ChannelByName is GET /api/v4/teams/{team}/channels/name/{name}.
func (s *Stack) ChannelByName(ctx context.Context, token, teamID, name string) (*model.Channel, error) {
	var ch model.Channel
	u := s.URL + "/api/v4/teams/" + pathEscape(teamID) + "/channels/name/" + pathEscape(name)
	if err := s.getJSON(ctx, u, token, &ch); err != nil {
		return nil, err
	}
	return &ch, nil
}

// DirectChannel returns (creating it when needed) the DM channel of userA and userB
// (POST /api/v4/channels/direct). The token must be one of them or an admin.
func (s *Stack) DirectChannel(ctx context.Context, token, userA, userB string) (*model.Channel, error) {
	var ch model.Channel
	if err := s.sendJSON(ctx, http.MethodPost, s.URL+"/api/v4/channels/direct", token, []string{userA, userB}, &ch); err != nil {
		return nil, err
	}
	return &ch, nil
}

// CreateChannel creates an open channel in teamID as the token's user (who becomes a member).
func (s *Stack) CreateChannel(ctx context.Context, token, teamID, name string) (*model.Channel, error) {
	in := map[string]string{"team_id": teamID, "name": name, "display_name": name, "type": "O"}
	var ch model.Channel
	if err := s.sendJSON(ctx, http.MethodPost, s.URL+"/api/v4/channels", token, in, &ch); err != nil {
		return nil, err
	}
	return &ch, nil
}

// AddChannelMember adds userID to channelID.
func (s *Stack) AddChannelMember(ctx context.Context, token, channelID, userID string) error {
	return s.sendJSON(ctx, http.MethodPost, s.URL+"/api/v4/channels/"+pathEscape(channelID)+"/members", token,
		map[string]string{"user_id": userID}, nil)
}

// TestUser is a user created for a test.
type TestUser struct {
	ID, Username, Password, Email, Token string
}

// CreateUser creates (or reuses) username through the local-mode socket (MM_SOCKET, no auth,
// as mm-stack.sh does), adds it to the stack's team, logs it in and returns its session
// token. A user that exists already keeps its password only if it is the same.
func (s *Stack) CreateUser(ctx context.Context, username string) (*TestUser, error) {
	u := &TestUser{Username: username, Password: "Passw0rd-" + username + "!", Email: username + "@example.com"}
	var existing model.User
	err := s.local(ctx, http.MethodGet, "/api/v4/users/username/"+pathEscape(username), nil, &existing)
	if err != nil {
		in := map[string]string{"username": username, "email": u.Email, "password": u.Password}
		if err := s.local(ctx, http.MethodPost, "/api/v4/users", in, &existing); err != nil {
			return nil, fmt.Errorf("create user %s: %w", username, err)
		}
	}
	u.ID = existing.Id
	member := map[string]string{"team_id": s.TeamID, "user_id": u.ID}
	if err := s.local(ctx, http.MethodPost, "/api/v4/teams/"+s.TeamID+"/members", member, nil); err != nil {
		return nil, fmt.Errorf("add %s to team: %w", username, err)
	}
	if u.Token, err = s.Login(ctx, username, u.Password); err != nil {
		return nil, err
	}
	return u, nil
}

// Login is POST /api/v4/users/login; it returns the session token (header Token).
func (s *Stack) Login(ctx context.Context, loginID, password string) (string, error) {
	b, _ := json.Marshal(map[string]string{"login_id": loginID, "password": password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/api/v4/users/login", bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", &HTTPError{Method: http.MethodPost, URL: s.URL + "/api/v4/users/login", Status: resp.StatusCode, Body: excerpt(data)}
	}
	return resp.Header.Get("Token"), nil
}

// local sends a request through the local-mode unix socket (implicit system admin).
func (s *Stack) local(ctx context.Context, method, p string, in, out any) error {
	if s.Socket == "" {
		return fmt.Errorf("no MM_SOCKET in session.env")
	}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", s.Socket)
		},
	}}
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://localhost"+p, body)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s via %s: %w", method, p, s.Socket, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return &HTTPError{Method: method, URL: "local:" + p, Status: resp.StatusCode, Body: excerpt(data)}
	}
	return decode(method, p, data, out)
}

// ------------------------------------------------------------------ posts

// CreatePost posts message in channelID as the token's user.
func (s *Stack) CreatePost(ctx context.Context, token, channelID, message string) (*model.Post, error) {
	var p model.Post
	in := map[string]string{"channel_id": channelID, "message": message}
	if err := s.sendJSON(ctx, http.MethodPost, s.URL+"/api/v4/posts", token, in, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// GetPost is GET /api/v4/posts/{id}.
func (s *Stack) GetPost(ctx context.Context, token, postID string) (*model.Post, error) {
	var p model.Post
	if err := s.getJSON(ctx, s.URL+"/api/v4/posts/"+pathEscape(postID), token, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// GetPosts returns the channel's posts, oldest first: those created or changed since `since`
// when it is not zero (GET /channels/{id}/posts?since=ms), else the last 200.
func (s *Stack) GetPosts(ctx context.Context, token, channelID string, since time.Time) ([]*model.Post, error) {
	q := url.Values{}
	if since.IsZero() {
		q.Set("per_page", "200")
	} else {
		q.Set("since", fmt.Sprint(since.UnixMilli()))
	}
	var pl model.PostList
	if err := s.getJSON(ctx, s.URL+"/api/v4/channels/"+pathEscape(channelID)+"/posts?"+q.Encode(), token, &pl); err != nil {
		return nil, err
	}
	posts := make([]*model.Post, 0, len(pl.Posts))
	for _, p := range pl.Posts {
		if p.DeleteAt == 0 && (since.IsZero() || p.CreateAt >= since.UnixMilli()) {
			posts = append(posts, p)
		}
	}
	sort.Slice(posts, func(i, j int) bool { return posts[i].CreateAt < posts[j].CreateAt })
	return posts, nil
}

// WaitForPost polls (every 100 ms, at most timeout) the channel's last 200 posts and returns
// the newest one match accepts. Old posts count too: match on something unique to the test,
// or use WaitForPostSince.
func (s *Stack) WaitForPost(ctx context.Context, token, channelID string, match func(*model.Post) bool, timeout time.Duration) (*model.Post, error) {
	return s.WaitForPostSince(ctx, token, channelID, time.Time{}, match, timeout)
}

// WaitForPostSince is WaitForPost among the posts created at or after since.
func (s *Stack) WaitForPostSince(ctx context.Context, token, channelID string, since time.Time, match func(*model.Post) bool, timeout time.Duration) (*model.Post, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last []*model.Post
	var lastErr error
	for {
		posts, err := s.GetPosts(ctx, token, channelID, since)
		if err == nil {
			last = posts
			for i := len(posts) - 1; i >= 0; i-- {
				if match(posts[i]) {
					return posts[i], nil
				}
			}
		} else if ctx.Err() == nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no matching post in channel %s after %s (last error: %v); last posts:\n%s",
				channelID, timeout, lastErr, describePosts(last, 10))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// WaitForDM waits for a post matching match in the DM channel of userA and userB (for
// example the app's bot and a user), created at or after since (zero: any).
func (s *Stack) WaitForDM(ctx context.Context, token, userA, userB string, since time.Time, match func(*model.Post) bool, timeout time.Duration) (*model.Post, error) {
	ch, err := s.DirectChannel(ctx, token, userA, userB)
	if err != nil {
		return nil, err
	}
	return s.WaitForPostSince(ctx, token, ch.Id, since, match, timeout)
}

func describePosts(posts []*model.Post, n int) string {
	if len(posts) > n {
		posts = posts[len(posts)-n:]
	}
	var b strings.Builder
	for _, p := range posts {
		msg := p.Message
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		fmt.Fprintf(&b, "  %s by %s type=%q: %q\n", time.UnixMilli(p.CreateAt).Format("15:04:05.000"), p.UserId, p.Type, msg)
	}
	if b.Len() == 0 {
		return "  (none)\n"
	}
	return b.String()
}

// InPostBindings returns the buttons/selects an app put in a post's "app_bindings" prop,
// cleaned as the webapp's EmbeddedBinding.fillBindings does, with Location set to what the
// webapp sends as context.location when one is clicked: "/in_post/" + embed location + "/" +
// binding location. An embed without a location yields "/in_post/undefined/<loc>" (JS
// concatenation of undefined), as in the real webapp. Click them with ClickInPostBinding.
func InPostBindings(post *model.Post) ([]apps.Binding, error) {
	raw, ok := post.GetProps()["app_bindings"]
	if !ok {
		return nil, fmt.Errorf("post %s has no app_bindings prop", post.Id)
	}
	data, _ := json.Marshal(raw)
	var embeds []apps.Binding
	if err := json.Unmarshal(data, &embeds); err != nil {
		return nil, fmt.Errorf("post %s app_bindings: %w: %s", post.Id, err, data)
	}
	var out []apps.Binding
	for _, e := range embeds {
		if e.AppID == "" || len(e.Bindings) == 0 {
			continue
		}
		e = copyBinding(e)
		if e.Location == "" {
			e.Location = "undefined"
		}
		cleanBinding(&e, apps.LocationInPost, 0)
		prefixLocations(e.Bindings, string(apps.LocationInPost)+"/")
		out = append(out, e.Bindings...)
	}
	return out, nil
}

func prefixLocations(bb []apps.Binding, prefix string) {
	for i := range bb {
		bb[i].Location = apps.Location(prefix + string(bb[i].Location))
		prefixLocations(bb[i].Bindings, prefix)
	}
}

// ClickInPostBinding clicks a binding of InPostBindings(post) as the webapp's ButtonBinding:
// the team is the channel's team_id (fetched), post_id/root_id are the post's.
func (s *Stack) ClickInPostBinding(ctx context.Context, userToken string, post *model.Post, b apps.Binding) (*apps.CallResponse, error) {
	where := Where{ChannelID: post.ChannelId, PostID: post.Id, RootID: post.RootId}
	if ch, err := s.Channel(ctx, userToken, post.ChannelId); err == nil {
		where.TeamID = ch.TeamId
	}
	return s.ClickBinding(ctx, userToken, where, b)
}

// ------------------------------------------------------------------ webhooks

// WebhookURL is {URL}/plugins/com.mattermost.apps/apps/{appID}/webhook/{path}?secret=...
func (s *Stack) WebhookURL(appID apps.AppID, path, secret string) string {
	u := s.URL + "/plugins/com.mattermost.apps/apps/" + pathEscape(string(appID)) + "/webhook"
	if path != "" {
		u += "/" + strings.TrimPrefix(path, "/")
	}
	if secret != "" {
		u += "?secret=" + url.QueryEscape(secret)
	}
	return u
}

// PostWebhook POSTs body to the app's Mattermost webhook URL as a remote system would (no
// Mattermost auth). It returns the status; a non-2xx status also returns an *HTTPError with
// the body. The plugin answers once the secret is checked and calls the app asynchronously:
// a 200 does not mean the app handled it.
func (s *Stack) PostWebhook(ctx context.Context, appID apps.AppID, path, secret string, body []byte, headers http.Header) (int, error) {
	hdr := headers.Clone()
	if hdr == nil {
		hdr = http.Header{}
	}
	if hdr.Get("Content-Type") == "" {
		hdr.Set("Content-Type", "application/json")
	}
	if body == nil {
		body = []byte{}
	}
	_, status, err := s.doStatus(ctx, http.MethodPost, s.WebhookURL(appID, path, secret), "", body, hdr)
	return status, err
}
