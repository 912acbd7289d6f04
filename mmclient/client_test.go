package mmclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mattermost/mattermost-server/v6/model"
)

const testToken = "tok-SECRET-abcdefghijklmnop"

type seen struct {
	Method, Path, RawPath, Query, Auth, UA, Body string
}

// recorder is an httptest server answering each request with the next canned answer.
type recorder struct {
	mu      sync.Mutex
	reqs    []seen
	status  int
	body    string
	handler func(w http.ResponseWriter, r *http.Request) bool
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, seen{r.Method, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("User-Agent"), string(b)})
	status, body, h := rc.status, rc.body, rc.handler
	rc.mu.Unlock()
	if h != nil && h(w, r) {
		return
	}
	if status == 0 {
		status = 200
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func newRecorder(t *testing.T, status int, body string) (*recorder, *Client) {
	t.Helper()
	rc := &recorder{status: status, body: body}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, New(srv.URL+"/", testToken, srv.Client())
}

func TestKVGet(t *testing.T) {
	type doc struct{ A int }
	for _, tc := range []struct {
		name, prefix, id, body string
		wantFound              bool
		wantA                  int
		wantPath               string
	}{
		{"found", "in", "P123", `{"A":7}`, true, 7, "/plugins/com.mattermost.apps/api/v1/kv/in/P123"},
		{"missing is {}", "in", "P123", `{}`, false, -1, "/plugins/com.mattermost.apps/api/v1/kv/in/P123"},
		{"empty body", "in", "x", ``, false, -1, "/plugins/com.mattermost.apps/api/v1/kv/in/x"},
		{"null", "in", "x", "null\n", false, -1, "/plugins/com.mattermost.apps/api/v1/kv/in/x"},
		{"no prefix", "", "cfg", `{"A":1}`, true, 1, "/plugins/com.mattermost.apps/api/v1/kv/cfg"},
		{"escaped id", "u", "a b?c", `{"A":2}`, true, 2, "/plugins/com.mattermost.apps/api/v1/kv/u/a b?c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, c := newRecorder(t, 200, tc.body)
			out := doc{A: -1}
			found, err := c.KVGet(context.Background(), tc.prefix, tc.id, &out)
			if err != nil {
				t.Fatal(err)
			}
			if found != tc.wantFound || out.A != tc.wantA {
				t.Fatalf("found=%v out=%+v, want %v %d", found, out, tc.wantFound, tc.wantA)
			}
			r := rc.reqs[0]
			if r.Method != http.MethodGet || r.Path != tc.wantPath {
				t.Fatalf("request %s %s, want GET %s", r.Method, r.Path, tc.wantPath)
			}
			if r.Auth != "Bearer "+testToken || r.UA != UserAgent {
				t.Fatalf("auth %q ua %q", r.Auth, r.UA)
			}
		})
	}
}

func TestRefusedBeforeAnyRequest(t *testing.T) {
	big := strings.Repeat("x", MaxValueSize) // marshals to MaxValueSize+2 bytes
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		call    func(c *Client) error
		tooBig  bool
		errText string
	}{
		{"kv too large", func(c *Client) error { return c.KVSet(ctx, "p", "id", big) }, true, ""},
		{"oauth2 user too large", func(c *Client) error { return c.StoreOAuth2User(ctx, map[string]string{"t": big}) }, true, ""},
		{"oauth2 app too large", func(c *Client) error { return c.StoreOAuth2App(ctx, OAuth2App{Data: big}) }, true, ""},
		{"prefix too long", func(c *Client) error { return c.KVSet(ctx, "abc", "id", 1) }, false, "prefix"},
		{"prefix too long on get", func(c *Client) error { _, err := c.KVGet(ctx, "abc", "id", new(int)); return err }, false, "prefix"},
		{"slash in id", func(c *Client) error { return c.KVDelete(ctx, "p", "a/b") }, false, "path segment"},
		{"empty id", func(c *Client) error { return c.KVSet(ctx, "p", "", 1) }, false, "path segment"},
		{"unencodable", func(c *Client) error { return c.KVSet(ctx, "p", "id", func() {}) }, false, "encoding"},
		{"multi-segment webhook", func(c *Client) error { return c.PostWebhook(ctx, "pd", "a/b", "s", nil, nil) }, false, "one segment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, c := newRecorder(t, 200, `{"changed":true}`)
			err := tc.call(c)
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, ErrValueTooLarge); got != tc.tooBig {
				t.Fatalf("errors.Is(ErrValueTooLarge)=%v: %v", got, err)
			}
			if !strings.Contains(err.Error(), tc.errText) {
				t.Fatalf("error %q lacks %q", err, tc.errText)
			}
			if len(rc.reqs) != 0 {
				t.Fatalf("%d requests sent", len(rc.reqs))
			}
		})
	}
	// Exactly at the limit is allowed.
	rc, c := newRecorder(t, 200, `{"changed":true}`)
	if err := c.KVSet(ctx, "p", "id", strings.Repeat("x", MaxValueSize-2)); err != nil {
		t.Fatal(err)
	}
	if len(rc.reqs[0].Body) != MaxValueSize || rc.reqs[0].Method != http.MethodPut {
		t.Fatalf("sent %s %d bytes", rc.reqs[0].Method, len(rc.reqs[0].Body))
	}
}

func TestErrorTyping(t *testing.T) {
	appErr := func(status int, msg string) string {
		b, _ := json.Marshal(model.AppError{Id: "x", Message: msg, StatusCode: status})
		return string(b)
	}
	for _, tc := range []struct {
		name        string
		status      int
		body        string
		notFound    bool
		forbidden   bool
		unauthz     bool
		wantMessage string
	}{
		{"mattermost 404", 404, appErr(404, "Unable to find the user."), true, false, false, "Unable to find the user."},
		{"mattermost 403", 403, appErr(403, "You do not have the appropriate permissions."), false, true, false, "appropriate permissions"},
		{"plugin 401 text", 401, "user ID is required\n", false, false, true, "user ID is required"},
		{"plugin 500 text", 500, "size limit of 8Kb exceeded\n", false, false, false, "size limit"},
		{"token echoed", 400, "bad token " + testToken, false, false, false, "[token]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := newRecorder(t, tc.status, tc.body)
			_, err := c.GetUser(context.Background(), "uid")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("not *Error: %v", err)
			}
			if e.StatusCode != tc.status || e.Op != "GetUser uid" || !strings.Contains(e.Message, tc.wantMessage) {
				t.Fatalf("got %+v", e)
			}
			if IsNotFound(err) != tc.notFound || IsForbidden(err) != tc.forbidden || IsUnauthorized(err) != tc.unauthz {
				t.Fatalf("helpers wrong for %v", err)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Fatalf("token in error: %v", err)
			}
		})
	}
}

func TestNoSecretsInTransportErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close() // connection refused from now on
	c := New(u, testToken, nil)
	err := c.PostWebhook(context.Background(), "pagerduty", "tick", "WEBHOOKSECRET123", []byte(`{}`), nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{"WEBHOOKSECRET123", testToken} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("secret leaked: %v", err)
		}
	}
	if _, err := c.GetPost(context.Background(), "p1"); err == nil || strings.Contains(err.Error(), testToken) {
		t.Fatalf("GetPost error %v", err)
	}
}

func TestRESTRoutes(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, method, path, body string
		call                     func(c *Client) error
	}{
		{"CreatePost", "POST", "/api/v4/posts", `"channel_id":"c1"`, func(c *Client) error {
			_, err := c.CreatePost(ctx, &model.Post{ChannelId: "c1", Message: "hi"})
			return err
		}},
		{"UpdatePost", "PUT", "/api/v4/posts/p1", `"id":"p1"`, func(c *Client) error {
			_, err := c.UpdatePost(ctx, &model.Post{Id: "p1", Message: "hi"})
			return err
		}},
		{"GetPost", "GET", "/api/v4/posts/p1", "", func(c *Client) error { _, err := c.GetPost(ctx, "p1"); return err }},
		{"GetUser", "GET", "/api/v4/users/u1", "", func(c *Client) error { _, err := c.GetUser(ctx, "u1"); return err }},
		{"GetUserByEmail", "GET", "/api/v4/users/email/a+b@x.io", "", func(c *Client) error {
			_, err := c.GetUserByEmail(ctx, "a+b@x.io")
			return err
		}},
		{"DeletePost", "DELETE", "/api/v4/posts/p1", "", func(c *Client) error { return c.DeletePost(ctx, "p1") }},
		{"GetUserByUsername", "GET", "/api/v4/users/username/alice", "", func(c *Client) error {
			_, err := c.GetUserByUsername(ctx, "alice")
			return err
		}},
		{"GetUsersByIDs", "POST", "/api/v4/users/ids", `["u1","u2"]`, func(c *Client) error {
			_, err := c.GetUsersByIDs(ctx, []string{"u1", "u2"})
			return err
		}},
		{"GetChannel", "GET", "/api/v4/channels/c1", "", func(c *Client) error { _, err := c.GetChannel(ctx, "c1"); return err }},
		{"GetChannelMember", "GET", "/api/v4/channels/c1/members/u1", "", func(c *Client) error {
			_, err := c.GetChannelMember(ctx, "c1", "u1")
			return err
		}},
		{"GetTeamMember", "GET", "/api/v4/teams/t1/members/u1", "", func(c *Client) error {
			_, err := c.GetTeamMember(ctx, "t1", "u1")
			return err
		}},
		{"AddChannelMember", "POST", "/api/v4/channels/c1/members", `{"user_id":"u1"}`, func(c *Client) error {
			_, err := c.AddChannelMember(ctx, "c1", "u1")
			return err
		}},
		{"AddTeamMember", "POST", "/api/v4/teams/t1/members", `{"team_id":"t1","user_id":"u1"}`, func(c *Client) error {
			_, err := c.AddTeamMember(ctx, "t1", "u1")
			return err
		}},
		{"CreateDirectChannel", "POST", "/api/v4/channels/direct", `["b1","u1"]`, func(c *Client) error {
			_, err := c.CreateDirectChannel(ctx, "b1", "u1")
			return err
		}},
		{"KVSet", "PUT", "/plugins/com.mattermost.apps/api/v1/kv/s/abc", `{"a":1}`, func(c *Client) error {
			return c.KVSet(ctx, "s", "abc", map[string]int{"a": 1})
		}},
		{"KVDelete", "DELETE", "/plugins/com.mattermost.apps/api/v1/kv/s/abc", "", func(c *Client) error { return c.KVDelete(ctx, "s", "abc") }},
		{"StoreOAuth2App", "POST", "/plugins/com.mattermost.apps/api/v1/oauth2/app", `{"client_id":"cid","client_secret":"cs","remote_root_url":"https://x"}`, func(c *Client) error {
			return c.StoreOAuth2App(ctx, OAuth2App{ClientID: "cid", ClientSecret: "cs", RemoteRootURL: "https://x"})
		}},
		{"StoreOAuth2User", "POST", "/plugins/com.mattermost.apps/api/v1/oauth2/user", `{"t":1}`, func(c *Client) error {
			return c.StoreOAuth2User(ctx, map[string]int{"t": 1})
		}},
		{"GetOAuth2User", "GET", "/plugins/com.mattermost.apps/api/v1/oauth2/user", "", func(c *Client) error {
			_, err := c.GetOAuth2User(ctx, new(any))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer := `{}`
			if tc.name == "GetUsersByIDs" {
				answer = `[]`
			}
			rc, c := newRecorder(t, 200, answer)
			if err := tc.call(c); err != nil {
				t.Fatal(err)
			}
			r := rc.reqs[0]
			if r.Method != tc.method || r.Path != tc.path || !strings.Contains(r.Body, tc.body) {
				t.Fatalf("sent %s %s %s", r.Method, r.Path, r.Body)
			}
		})
	}
}

func TestDMAndWebhook(t *testing.T) {
	rc := &recorder{}
	rc.handler = func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/api/v4/channels/direct":
			w.WriteHeader(201)
			_, _ = io.WriteString(w, `{"id":"dm1","type":"D"}`)
		case "/api/v4/posts":
			w.WriteHeader(201)
			_, _ = io.WriteString(w, `{"id":"p9","channel_id":"dm1","message":"hi"}`)
		default:
			return false
		}
		return true
	}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	c := New(srv.URL, testToken, nil)
	in := &model.Post{ChannelId: "ignored", Message: "hi"}
	p, err := c.DM(context.Background(), "bot", "u1", in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Id != "p9" || in.ChannelId != "ignored" || !strings.Contains(rc.reqs[1].Body, `"channel_id":"dm1"`) {
		t.Fatalf("post %+v, input %+v, sent %s", p, in, rc.reqs[1].Body)
	}

	h := http.Header{"X-Webhook-Id": {"w1"}}
	if err := c.PostWebhook(context.Background(), "pagerduty", "tick", "s e/c", []byte(`{"a":1}`), h); err != nil {
		t.Fatal(err)
	}
	r := rc.reqs[2]
	if r.Path != "/plugins/com.mattermost.apps/apps/pagerduty/webhook/tick" || r.Query != "secret=s+e%2Fc" || r.Auth != "" || r.Body != `{"a":1}` {
		t.Fatalf("webhook sent %+v", r)
	}
}
