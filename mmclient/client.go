// Package mmclient is the app's REST client for the Mattermost server and the Apps plugin's
// app services (KV, OAuth2 store, webhook re-entry). It deliberately does not import the Apps
// framework so that a non-Apps front door can reuse the domain code built on it.
//
// A Client is bound to one token: the bot token for app-wide data, a user token for that user's
// scope. Tokens handed to the app in a call context are 10-minute sessions, so build a Client per
// call and never keep one for later.
package mmclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/kvstore"
)

// UserAgent identifies the app in Mattermost's access logs; main may append a version.
var UserAgent = "mattermost-app-pagerduty"

const (
	// AppsPluginID is the Apps plugin's id, i.e. its URL segment under /plugins.
	AppsPluginID = "com.mattermost.apps"
	// MaxValueSize is the plugin's limit on one KV value or OAuth2 user record (server/httpin/kv.go).
	MaxValueSize = 8192

	defaultTimeout = 15 * time.Second
	maxBody        = 4 << 20 // answers we decode; Mattermost objects are far smaller
	maxMessage     = 512
)

// ErrValueTooLarge is returned, before any request, for a value whose JSON exceeds MaxValueSize.
// It is kvstore's sentinel so callers can test one error across KV implementations.
var ErrValueTooLarge = kvstore.ErrValueTooLarge

// Client talks to one Mattermost site with one token. Safe for concurrent use.
type Client struct {
	siteURL string
	token   string
	hc      *http.Client
}

// New returns a client for siteURL. hc nil means a client with a 15 s timeout; callers should
// still pass a context with their own deadline.
func New(siteURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	return &Client{siteURL: strings.TrimRight(siteURL, "/"), token: token, hc: hc}
}

// SiteURL is the site this client talks to (without trailing slash).
func (c *Client) SiteURL() string { return c.siteURL }

// Error is a non-2xx answer from Mattermost or the Apps plugin.
type Error struct {
	StatusCode int
	Op         string // what the client was doing, e.g. "KVGet"
	Message    string // the server's message (Mattermost AppError message or plugin text)
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("mattermost %s: HTTP %d", e.Op, e.StatusCode)
	}
	return fmt.Sprintf("mattermost %s: HTTP %d: %s", e.Op, e.StatusCode, e.Message)
}

// StatusCode returns the HTTP status of the *Error in err's chain, or 0.
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// IsNotFound reports a 404 from the server.
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// IsForbidden reports a 403 from the server (e.g. email lookups hidden by privacy settings).
func IsForbidden(err error) bool { return StatusCode(err) == http.StatusForbidden }

// IsUnauthorized reports a 401: an expired or unknown token, or an operation the token's user
// may not do in the Apps plugin (which answers 401 for most permission failures).
func IsUnauthorized(err error) bool { return StatusCode(err) == http.StatusUnauthorized }

func (c *Client) pluginURL(p string) string {
	return c.siteURL + "/plugins/" + AppsPluginID + "/api/v1" + p
}

func (c *Client) apiURL(p string) string { return c.siteURL + "/api/v4" + p }

// do sends one request and decodes a 2xx JSON answer into out (if out is non-nil). It returns the
// raw body too for callers that must look at it (KV's `{}`).
func (c *Client) do(ctx context.Context, op, method, u string, body []byte, header http.Header, out any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("mattermost %s: %w", op, c.redact(err))
	}
	for k, vv := range header {
		for _, v := range vv {
			req.Header.Add(k, v)
		}
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mattermost %s: %w", op, c.redact(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("mattermost %s: reading answer: %w", op, c.redact(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &Error{StatusCode: resp.StatusCode, Op: op, Message: c.message(data)}
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return data, fmt.Errorf("mattermost %s: decoding answer: %w", op, err)
		}
	}
	return data, nil
}

// message extracts a Mattermost AppError's message, or the plugin's plain-text error.
func (c *Client) message(data []byte) string {
	var appErr struct {
		Message       string `json:"message"`
		DetailedError string `json:"detailed_error"`
	}
	msg := strings.TrimSpace(string(data))
	if json.Unmarshal(data, &appErr) == nil && appErr.Message != "" {
		msg = appErr.Message
		if appErr.DetailedError != "" {
			msg += " (" + appErr.DetailedError + ")"
		}
	}
	if len(msg) > maxMessage {
		msg = msg[:maxMessage] + "…"
	}
	return c.scrub(msg)
}

// scrub removes the token should a server ever echo it.
func (c *Client) scrub(s string) string {
	if c.token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.token, "[token]")
}

// redact strips query strings (webhook secrets) from URL errors and scrubs the token.
func (c *Client) redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		clean := *ue
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery = ""
			clean.URL = u.String()
		} else {
			clean.URL = "(url)"
		}
		return &clean
	}
	if c.token != "" && strings.Contains(err.Error(), c.token) {
		return errors.New(c.scrub(err.Error()))
	}
	return err
}
