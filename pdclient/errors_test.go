package pdclient

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestErrorsMapped(t *testing.T) {
	type check struct {
		name string
		is   func(error) bool
	}
	checks := []check{{"IsUnauthorized", IsUnauthorized}, {"IsForbidden", IsForbidden}, {"IsNotFound", IsNotFound}, {"IsRateLimited", IsRateLimited}}
	cases := []struct {
		status  int
		body    string
		ctype   string
		want    string // which Is* must be true; the others false
		code    int
		message string
	}{
		{401, `{"error":{"message":"Authentication failed","code":2006}}`, "application/json", "IsUnauthorized", 2006, "Authentication failed"},
		{403, `{"error":{"message":"Access Denied","code":2010,"errors":["missing scope incidents.write"]}}`, "application/json", "IsForbidden", 2010, "Access Denied"},
		{404, `{"error":{"message":"Not Found","code":2100}}`, "application/json", "IsNotFound", 2100, "Not Found"},
		{429, `{"error":{"message":"Rate Limit Exceeded","code":2020}}`, "application/json", "IsRateLimited", 2020, "Rate Limit Exceeded"},
		{404, `<html>nope</html>`, "text/html", "IsNotFound", 0, ""},
		{400, `{"error":{"message":"Invalid Input Provided","code":2001,"errors":"one string"}}`, "application/json", "", 2001, "Invalid Input Provided"},
	}
	for _, tc := range cases {
		handler := func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Content-Type", tc.ctype)
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(tc.body))
		}
		// One call through go-pagerduty, one through our own requests.
		calls := map[string]func(c *Client) error{
			"go-pagerduty": func(c *Client) error { _, err := c.GetIncident(context.Background(), "PINC"); return err },
			"own":          func(c *Client) error { _, err := c.GetWebhookSubscription(context.Background(), "PWH"); return err },
		}
		for path, call := range calls {
			t.Run(http.StatusText(tc.status)+"/"+tc.ctype+"/"+path, func(t *testing.T) {
				rec := newRecorder(t, handler)
				c, _ := testClient(t, rec, func(cfg *Config) { cfg.MaxAttempts = 1 })
				err := call(c)
				var ae *APIError
				if !errors.As(err, &ae) {
					t.Fatalf("err %T %v is not *APIError", err, err)
				}
				if ae.StatusCode != tc.status || ae.Code != tc.code || ae.Message != tc.message || ae.Op == "" {
					t.Errorf("APIError %+v", ae)
				}
				for _, ch := range checks {
					if got := ch.is(err); got != (ch.name == tc.want) {
						t.Errorf("%s = %v", ch.name, got)
					}
				}
				msg := err.Error()
				if !strings.Contains(msg, ae.Op) || !strings.Contains(msg, http.StatusText(tc.status)) {
					t.Errorf("message %q lacks op or status", msg)
				}
				if tc.message != "" && !strings.Contains(msg, tc.message) {
					t.Errorf("message %q lacks PagerDuty's message", msg)
				}
				if strings.Contains(msg, testToken) {
					t.Errorf("message leaks the token: %q", msg)
				}
			})
		}
	}
}

func TestErrorDetailsKept(t *testing.T) {
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"message": "Invalid Input Provided", "code": 2001, "errors": []string{"Title is required", "Service is invalid"}}})
	})
	c, _ := testClient(t, rec)
	_, err := c.CreateIncident(context.Background(), from, NewIncident{Title: "t", ServiceID: "PS"})
	var ae *APIError
	if !errors.As(err, &ae) || len(ae.Errors) != 2 || !strings.Contains(err.Error(), "Title is required; Service is invalid") {
		t.Fatalf("err %v", err)
	}
	if !strings.HasPrefix(err.Error(), "creating a PagerDuty incident: PagerDuty answered 400 Bad Request: Invalid Input Provided (code 2001)") {
		t.Errorf("message %q", err.Error())
	}
}

func TestTokenNeverInErrors(t *testing.T) {
	// A server that drops connections: transport errors carry URLs, never headers.
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	})
	for _, kind := range []AuthKind{AuthAPIKey, AuthOAuth} {
		c, _ := testClient(t, rec, func(cfg *Config) { cfg.Auth.Kind = kind })
		ctx := context.Background()
		errs := []error{}
		_, err := c.GetIncident(ctx, "PINC")
		errs = append(errs, err)
		_, err = c.CreateIncident(ctx, from, NewIncident{Title: "t", ServiceID: "S"})
		errs = append(errs, err)
		_, err = c.ListOnCalls(ctx, OnCallQuery{})
		errs = append(errs, err)
		for i, err := range errs {
			if err == nil {
				t.Fatalf("call %d succeeded against a dead server", i)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks the token: %v", err)
			}
		}
	}
}

func TestConfigErrors(t *testing.T) {
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, map[string]any{}) })
	cases := []struct {
		name string
		mod  func(*Config)
	}{
		{"no token", func(c *Config) { c.Auth.Token = "" }},
		{"no kind", func(c *Config) { c.Auth.Kind = 0 }},
		{"bad API host", func(c *Config) { c.Hosts.API = "api.pagerduty.com" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := testClient(t, rec, tc.mod)
			_, err1 := c.GetIncident(context.Background(), "PINC")
			_, err2 := c.Snooze(context.Background(), from, "PINC", 60e9)
			if err1 == nil || err2 == nil {
				t.Fatalf("errors %v, %v", err1, err2)
			}
		})
	}
	var he *HostError
	c, _ := testClient(t, rec, func(cfg *Config) { cfg.Hosts.Identity = "ftp://x" })
	if _, err := c.ListPriorities(context.Background()); !errors.As(err, &he) || he.Field != "Identity" {
		t.Errorf("err %v, want a HostError on Identity", err)
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("%d requests with a broken configuration", n)
	}
}
