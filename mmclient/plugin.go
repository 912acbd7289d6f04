package mmclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
)

// kvPath builds /kv/[{prefix}/]{id}. The plugin routes on one path segment per part
// (gorilla/mux on the decoded path), so '/' can never be part of a prefix or id.
func kvPath(prefix, id string) (string, error) {
	if len(prefix) > 2 {
		return "", fmt.Errorf("kv prefix %q longer than 2 characters", prefix)
	}
	if strings.Contains(prefix, "/") || prefix == "." {
		return "", fmt.Errorf("kv prefix %q is not one path segment", prefix)
	}
	if id == "" || id == "." || id == ".." || strings.Contains(id, "/") {
		return "", fmt.Errorf("kv id %q is not one non-empty path segment", id)
	}
	p := "/kv/"
	if prefix != "" {
		p += url.PathEscape(prefix) + "/"
	}
	return p + url.PathEscape(id), nil
}

// absent reports the plugin's answers for "nothing stored": an empty body or `{}` (KV, OAuth2
// user), and `null`, which decodes to nothing.
func absent(data []byte) bool {
	t := bytes.TrimSpace(data)
	return len(t) == 0 || string(t) == "{}" || string(t) == "null"
}

// KVGet decodes the value at prefix/id into out. The plugin answers `{}` for a missing key, so a
// stored `{}` is indistinguishable from a missing one: found is false and out is untouched.
func (c *Client) KVGet(ctx context.Context, prefix, id string, out any) (bool, error) {
	p, err := kvPath(prefix, id)
	if err != nil {
		return false, fmt.Errorf("mattermost KVGet: %w", err)
	}
	data, err := c.do(ctx, "KVGet "+prefix+"/"+id, http.MethodGet, c.pluginURL(p), nil, nil, nil)
	if err != nil {
		return false, err
	}
	if absent(data) {
		return false, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return false, fmt.Errorf("mattermost KVGet %s/%s: decoding value: %w", prefix, id, err)
	}
	return true, nil
}

// KVSet stores v as JSON at prefix/id. Values over MaxValueSize fail with ErrValueTooLarge
// before any request (the plugin would answer 500).
func (c *Client) KVSet(ctx context.Context, prefix, id string, v any) error {
	p, err := kvPath(prefix, id)
	if err != nil {
		return fmt.Errorf("mattermost KVSet: %w", err)
	}
	b, err := encodeLimited(v)
	if err != nil {
		return fmt.Errorf("mattermost KVSet %s/%s: %w", prefix, id, err)
	}
	_, err = c.do(ctx, "KVSet "+prefix+"/"+id, http.MethodPut, c.pluginURL(p), b, nil, nil)
	return err
}

// KVDelete removes prefix/id; deleting a missing key is not an error (the plugin answers 200).
func (c *Client) KVDelete(ctx context.Context, prefix, id string) error {
	p, err := kvPath(prefix, id)
	if err != nil {
		return fmt.Errorf("mattermost KVDelete: %w", err)
	}
	_, err = c.do(ctx, "KVDelete "+prefix+"/"+id, http.MethodDelete, c.pluginURL(p), nil, nil, nil)
	return err
}

func encodeLimited(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding value: %w", err)
	}
	if len(b) > MaxValueSize {
		return nil, fmt.Errorf("%w (%d bytes)", ErrValueTooLarge, len(b))
	}
	return b, nil
}

// OAuth2App mirrors apps.OAuth2App's JSON: the remote (PagerDuty) OAuth2 client the plugin keeps
// for the app and returns in context.oauth2 (expand oauth2_app: "all").
type OAuth2App struct {
	ClientID      string `json:"client_id,omitempty"`
	ClientSecret  string `json:"client_secret,omitempty"`
	RemoteRootURL string `json:"remote_root_url,omitempty"`
	Data          any    `json:"data,omitempty"`
}

// StoreOAuth2App saves the remote OAuth2 client. The plugin requires the token's user to have
// manage_system (server/appservices/oauth2.go), so use a sysadmin's acting_user_access_token: the
// bot token gets a 401.
func (c *Client) StoreOAuth2App(ctx context.Context, app OAuth2App) error {
	b, err := encodeLimited(app)
	if err != nil {
		return fmt.Errorf("mattermost StoreOAuth2App: %w", err)
	}
	_, err = c.do(ctx, "StoreOAuth2App", http.MethodPost, c.pluginURL("/oauth2/app"), b, nil, nil)
	return err
}

// StoreOAuth2User saves the acting user's remote token record (this client's token must be that
// user's; the plugin refuses bots).
func (c *Client) StoreOAuth2User(ctx context.Context, v any) error {
	b, err := encodeLimited(v)
	if err != nil {
		return fmt.Errorf("mattermost StoreOAuth2User: %w", err)
	}
	_, err = c.do(ctx, "StoreOAuth2User", http.MethodPost, c.pluginURL("/oauth2/user"), b, nil, nil)
	return err
}

// GetOAuth2User reads the token user's record; the plugin answers an empty body when none.
func (c *Client) GetOAuth2User(ctx context.Context, out any) (bool, error) {
	data, err := c.do(ctx, "GetOAuth2User", http.MethodGet, c.pluginURL("/oauth2/user"), nil, nil, nil)
	if err != nil {
		return false, err
	}
	if absent(data) {
		return false, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return false, fmt.Errorf("mattermost GetOAuth2User: decoding record: %w", err)
	}
	return true, nil
}

// WebhookURL is the app's remote-webhook URL for path (one segment, or "" for the bare
// /webhook). The plugin invokes the app's on_remote_webhook call at /webhook/{path}.
func WebhookURL(siteURL, appID, path, secret string) string {
	u := strings.TrimRight(siteURL, "/") + "/plugins/" + AppsPluginID + "/apps/" + url.PathEscape(appID) + "/webhook"
	if path != "" {
		u += "/" + url.PathEscape(path)
	}
	return u + "?secret=" + url.QueryEscape(secret)
}

// PostWebhook re-enters the framework through the app's own webhook URL, so the plugin calls the
// app back with a fresh bot context. The plugin answers 200 before calling the app, so success
// means "accepted", not "handled". No token is sent: the secret authenticates.
func (c *Client) PostWebhook(ctx context.Context, appID, path, secret string, body []byte, header http.Header) error {
	if strings.Contains(path, "/") {
		return errors.New("mattermost PostWebhook: path must be one segment (the plugin routes /webhook/{path})")
	}
	if body == nil {
		body = []byte{}
	}
	anon := &Client{siteURL: c.siteURL, hc: c.hc}
	_, err := anon.do(ctx, "PostWebhook "+path, http.MethodPost, WebhookURL(c.siteURL, appID, path, secret), body, header, nil)
	return err
}

// KV returns a kvstore.KV view of this client's KV scope.
func (c *Client) KV() kvstore.KV { return kvAdapter{c} }

type kvAdapter struct{ c *Client }

func (a kvAdapter) Get(ctx context.Context, prefix, id string, out any) (bool, error) {
	return a.c.KVGet(ctx, prefix, id, out)
}

func (a kvAdapter) Set(ctx context.Context, prefix, id string, v any) error {
	return a.c.KVSet(ctx, prefix, id, v)
}

func (a kvAdapter) Delete(ctx context.Context, prefix, id string) error {
	return a.c.KVDelete(ctx, prefix, id)
}
