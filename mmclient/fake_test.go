package mmclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/internal/mmfake"
	"github.com/mattermost/mattermost-app-pagerduty/mmclient"
)

// fakeWithBot installs a manifest-only app (no HTTP calls answered) to get a bot and its token.
func fakeWithBot(t *testing.T) (*mmfake.Server, *mmclient.Client) {
	t.Helper()
	f := mmfake.New(t, mmfake.Options{})
	m := &apps.Manifest{
		AppID: "pdclient", Version: "v1.0.0", DisplayName: "PD", HomepageURL: "https://example.com",
		RequestedPermissions: apps.Permissions{apps.PermissionActAsBot, apps.PermissionActAsUser, apps.PermissionRemoteOAuth2, apps.PermissionRemoteWebhooks},
		Deploy:               apps.Deploy{HTTP: &apps.HTTP{RootURL: f.URL() + "/nowhere"}}, // /ping answers 404: fine
	}
	if _, err := f.InstallApp(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return f, mmclient.New(f.URL(), f.Token(f.Bot().Id), nil)
}

func TestKVAgainstFake(t *testing.T) {
	f, c := fakeWithBot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type doc struct {
		IDs []string `json:"ids"`
	}
	f.KVPut(f.Bot().Id, "ix", "empty", json.RawMessage(`{}`))
	for _, tc := range []struct {
		name      string
		prefix    string
		id        string
		set       any
		wantFound bool
		wantIDs   int
	}{
		{"missing", "ix", "none", nil, false, 0},
		{"stored {} reads as missing", "ix", "empty", nil, false, 0},
		{"round trip", "ix", "P1", doc{IDs: []string{"a", "b"}}, true, 2},
		{"no prefix", "", "cfg", doc{IDs: []string{"a"}}, true, 1},
		{"odd id", "u", "user@example.com #1", doc{IDs: []string{}}, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.set != nil {
				if err := c.KVSet(ctx, tc.prefix, tc.id, tc.set); err != nil {
					t.Fatal(err)
				}
			}
			out := doc{IDs: []string{"untouched"}}
			found, err := c.KVGet(ctx, tc.prefix, tc.id, &out)
			if err != nil || found != tc.wantFound {
				t.Fatalf("found=%v err=%v", found, err)
			}
			if !found && (len(out.IDs) != 1 || out.IDs[0] != "untouched") {
				t.Fatalf("out touched: %+v", out)
			}
			if found && len(out.IDs) != tc.wantIDs {
				t.Fatalf("out %+v", out)
			}
		})
	}
	if _, ok := f.KVGet(f.Bot().Id, "u", "user@example.com #1"); !ok {
		t.Fatal("odd id not stored under its exact name")
	}
	if err := c.KVDelete(ctx, "ix", "P1"); err != nil {
		t.Fatal(err)
	}
	if found, _ := c.KV().Get(ctx, "ix", "P1", new(doc)); found {
		t.Fatal("deleted key found")
	}

	// Refusals happen before any request: the fake sees no KV operation.
	f.ResetKVOps()
	for _, err := range []error{
		c.KVSet(ctx, "ix", "big", strings.Repeat("x", mmclient.MaxValueSize)),
		c.KVSet(ctx, "abc", "id", 1),
		c.StoreOAuth2User(ctx, strings.Repeat("x", mmclient.MaxValueSize)),
	} {
		if err == nil {
			t.Fatal("not refused")
		}
	}
	if n := len(f.KVOps()); n != 0 {
		t.Fatalf("%d KV requests reached the plugin", n)
	}
	if !errors.Is(c.KVSet(ctx, "ix", "big", strings.Repeat("x", mmclient.MaxValueSize)), mmclient.ErrValueTooLarge) {
		t.Fatal("not ErrValueTooLarge")
	}
}

func TestErrorsAgainstFake(t *testing.T) {
	f, c := fakeWithBot(t)
	ctx := context.Background()
	alice := f.AddUser("alice")
	f.SetShowEmailAddress(false)
	f.SetKVFault(func(op mmfake.KVOp) *mmfake.Fault {
		if op.ID == "broken" {
			return &mmfake.Fault{Status: 500, Body: "db down"}
		}
		return nil
	})
	expired := mmclient.New(f.URL(), f.Token(alice.Id), nil)
	f.ExpireSessions()
	c = mmclient.New(f.URL(), f.Token(f.Bot().Id), nil) // a fresh call context
	for _, tc := range []struct {
		name   string
		err    error
		status int
		check  func(error) bool
	}{
		{"not found", func() error { _, err := c.GetUser(ctx, "nosuchuser0000000000000000"); return err }(), 404, mmclient.IsNotFound},
		{"email hidden", func() error { _, err := c.GetUserByEmail(ctx, alice.Email); return err }(), 403, mmclient.IsForbidden},
		{"kv fault", func() error { _, err := c.KVGet(ctx, "p", "broken", new(any)); return err }(), 500, func(error) bool { return true }},
		{"expired session", func() error { _, err := expired.GetUser(ctx, alice.Id); return err }(), 401, mmclient.IsUnauthorized},
		{"bot stores oauth2 app", c.StoreOAuth2App(ctx, mmclient.OAuth2App{ClientID: "x"}), 401, mmclient.IsUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e *mmclient.Error
			if !errors.As(tc.err, &e) || e.StatusCode != tc.status || !tc.check(tc.err) || e.Message == "" {
				t.Fatalf("got %#v", tc.err)
			}
			for _, tok := range []string{f.Token(alice.Id), f.Token(f.Bot().Id), f.WebhookSecret()} {
				if strings.Contains(tc.err.Error(), tok) {
					t.Fatalf("secret in error %q", tc.err)
				}
			}
		})
	}
}

func TestPostWebhookAgainstFake(t *testing.T) {
	f, c := fakeWithBot(t)
	ctx := context.Background()
	if err := c.PostWebhook(ctx, "pdclient", "tick", f.WebhookSecret(), []byte(`{}`), nil); err != nil {
		t.Fatal(err)
	}
	err := c.PostWebhook(ctx, "pdclient", "tick", "wrong-secret", []byte(`{}`), nil)
	if mmclient.StatusCode(err) != 400 || strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("%v", err)
	}
	_ = f.WaitIdle(ctx)
	if calls := f.WebhookCalls(); len(calls) != 1 || calls[0].Path != "/webhook/tick" {
		t.Fatalf("%+v", calls)
	}
}
