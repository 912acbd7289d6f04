//go:build e2e

package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"
)

func TestSpine(t *testing.T) {
	ctx := testCtx(t)

	t.Run("unsigned calls to the app are refused", func(t *testing.T) {
		for _, path := range []string{"/bindings", "/configure/submit", "/oncall"} {
			resp, err := http.Post(s.appURL+path, "application/json", bytes.NewReader([]byte(`{"context":{"acting_user":{"id":"x","roles":"system_admin"}}}`)))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("POST %s without a JWT: %d, want 401", path, resp.StatusCode)
			}
		}
	})

	t.Run("the plain user cannot configure", func(t *testing.T) {
		// The webapp does not offer the command to a plain user...
		if _, err := s.stack.ExecuteCommand(ctx, s.stack.UserToken, s.stack.ChannelID, s.stack.TeamID, "/pagerduty configure"); err == nil {
			t.Fatal("a plain user's bindings offer /pagerduty configure")
		}
		// ...and the app refuses the call even when sent by hand.
		resp, err := s.stack.Call(ctx, s.stack.UserToken, apps.CallRequest{
			Call:    apps.Call{Path: "/configure/submit", Expand: &apps.Expand{ActingUser: apps.ExpandSummary, ActingUserAccessToken: apps.ExpandAll, OAuth2App: apps.ExpandAll}},
			Context: commandContext("/command/pagerduty/configure"),
			Values:  map[string]any{"client_id": "evil", "client_secret": "evil-secret", "region": "us", "credential": "api_key", "api_key": "evil-key-0123456789"},
		}, true)
		if err == nil && resp.Type != apps.CallResponseTypeError {
			t.Fatalf("a plain user's configure call answered %s %q", resp.Type, resp.Text)
		}
		if resp != nil && !strings.Contains(resp.Text, "Only system admins") {
			t.Fatalf("refusal text %q", resp.Text)
		}
	})

	t.Run("admin configures through the modal", func(t *testing.T) {
		ensureConfigured(t, ctx)
		resp := command(t, ctx, s.stack.AdminToken, "/pagerduty status")
		for _, want := range []string{"configured for region **custom**", "/oauth2/remote/complete"} {
			if !strings.Contains(resp.Text, want) {
				t.Errorf("status missing %q:\n%s", want, resp.Text)
			}
		}
		if strings.Contains(resp.Text, clientSecret) || strings.Contains(resp.Text, apiKey) {
			t.Fatal("status shows a secret")
		}
	})

	t.Run("plain user connects through the real OAuth redirect path", func(t *testing.T) {
		ensureConnected(t, ctx)
		resp := command(t, ctx, s.stack.UserToken, "/pagerduty status")
		if !strings.Contains(resp.Text, "connected as [Rita Responder]") {
			t.Fatalf("status after connect:\n%s", resp.Text)
		}
	})

	t.Run("oncall as the webapp sends it", func(t *testing.T) {
		ensureConnected(t, ctx)
		start := time.Now()
		resp := command(t, ctx, s.stack.UserToken, "/pagerduty oncall")
		t.Logf("e2e: /pagerduty oncall round trip %s", time.Since(start))
		if resp.Type != apps.CallResponseTypeOK || !strings.Contains(resp.Text, "#### On call now") {
			t.Fatalf("/pagerduty oncall: %s %q", resp.Type, resp.Text)
		}
		for _, ep := range []string{s.seed.PlatformEP, s.seed.PaymentsEP} {
			for _, uid := range s.pd.OnCallNow(ep, 1, time.Now()) {
				u, _ := s.pd.User(uid)
				if !strings.Contains(resp.Text, u.Name) {
					t.Errorf("on-call %s missing:\n%s", u.Name, resp.Text)
				}
			}
		}
		mine := command(t, ctx, s.stack.UserToken, "/pagerduty oncall mine")
		if !strings.Contains(mine.Text, "Your on-call shifts now") {
			t.Fatalf("/pagerduty oncall mine: %q", mine.Text)
		}
		if rss, err := s.app.RSS(); err == nil {
			t.Logf("e2e: app RSS after the spine scenario: %d KiB", rss)
		}
	})
}
