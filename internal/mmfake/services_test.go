package mmfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mattermost/mattermost-app-pagerduty/internal/mmfake"
	"github.com/mattermost/mattermost-app-pagerduty/mmclient"
)

func rawRequest(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctxT(t), method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestKVWire(t *testing.T) {
	f, _ := setup(t)
	bot := f.Token(f.Bot().Id)
	kv := f.URL() + "/plugins/com.mattermost.apps/api/v1/kv"
	for _, tc := range []struct {
		name, method, path, token, body string
		wantStatus                      int
		wantBody                        string
	}{
		{"missing is {}", "GET", "/p/nothing", bot, "", 200, "{}"},
		{"set answers changed", "PUT", "/p/k", bot, `{"a":1}`, 200, `{"changed":true}`},
		{"post works too", "POST", "/k2", bot, `[1]`, 200, `{"changed":true}`},
		{"get stored bytes", "GET", "/p/k", bot, "", 200, `{"a":1}`},
		{"no prefix is another key", "GET", "/k", bot, "", 200, "{}"},
		{"invalid json", "PUT", "/p/k", bot, `{nope`, 400, "payload is not valid json"},
		{"empty body", "PUT", "/p/k", bot, ``, 400, "payload is not valid json"},
		{"too large is a 500", "PUT", "/p/k", bot, `"` + strings.Repeat("x", 8191) + `"`, 500, "size limit of 8Kb exceeded"},
		{"exactly 8192", "PUT", "/p/big", bot, `"` + strings.Repeat("x", 8190) + `"`, 200, `{"changed":true}`},
		{"prefix too long is a 500", "GET", "/abc/k", bot, "", 500, "longer than the limit of 2"},
		{"three segments", "GET", "/a/b/c", bot, "", 404, "404 page not found"},
		{"no token", "GET", "/p/k", "", "", 401, "user ID is required"},
		{"unknown token", "GET", "/p/k", "bogus", "", 401, "user ID is required"},
		{"delete", "DELETE", "/p/k", bot, "", 200, ""},
		{"delete missing", "DELETE", "/p/k", bot, "", 200, ""},
		{"deleted", "GET", "/p/k", bot, "", 200, "{}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := rawRequest(t, tc.method, kv+tc.path, tc.token, tc.body)
			if status != tc.wantStatus || !strings.Contains(body, tc.wantBody) || (tc.wantBody == "" && body != "") {
				t.Fatalf("%d %q, want %d %q", status, body, tc.wantStatus, tc.wantBody)
			}
		})
	}
	ops := f.KVOps()
	if len(ops) != 15 { // the 404 never reaches the KV handler
		t.Fatalf("%d ops: %+v", len(ops), ops)
	}
	if ops[0] != (mmfake.KVOp{Op: "get", UserID: f.Bot().Id, Prefix: "p", ID: "nothing", Status: 200}) {
		t.Fatalf("%+v", ops[0])
	}
}

func TestKVScopesAndFaults(t *testing.T) {
	f, _ := setup(t)
	ctx := ctxT(t)
	alice := f.AddUser("alice")
	botC := mmclient.New(f.URL(), f.Token(f.Bot().Id), nil)
	aliceC := mmclient.New(f.URL(), f.Token(alice.Id), nil)
	if err := botC.KVSet(ctx, "s", "x", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	if err := aliceC.KVSet(ctx, "s", "x", map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	var got struct{ N int }
	if found, err := botC.KVGet(ctx, "s", "x", &got); err != nil || !found || got.N != 1 {
		t.Fatalf("bot scope: %v %v %+v", found, err, got)
	}
	if found, err := aliceC.KVGet(ctx, "s", "x", &got); err != nil || !found || got.N != 2 {
		t.Fatalf("user scope: %v %v %+v", found, err, got)
	}
	dump := f.KVDump()
	if string(dump[mmfake.KVKey{UserID: f.Bot().Id, Prefix: "s", ID: "x"}]) != `{"n":1}` || len(dump) != 2 {
		t.Fatalf("dump %v", dump)
	}

	f.SetKVFault(func(op mmfake.KVOp) *mmfake.Fault {
		if op.Op == "set" && op.ID == "flaky" {
			return &mmfake.Fault{Status: 503, Body: "down"}
		}
		return nil
	})
	err := botC.KVSet(ctx, "s", "flaky", 1)
	if mmclient.StatusCode(err) != 503 {
		t.Fatalf("fault not injected: %v", err)
	}
	if _, ok := f.KVGet(f.Bot().Id, "s", "flaky"); ok {
		t.Fatal("faulted write was stored")
	}

	// Sessions expire: a kept token stops working.
	f.ExpireSessions()
	if _, err := botC.KVGet(ctx, "s", "x", &got); !mmclient.IsUnauthorized(err) {
		t.Fatalf("old token still works: %v", err)
	}
}

func TestOAuth2Store(t *testing.T) {
	f, _ := setup(t)
	ctx := ctxT(t)
	alice := f.AddUser("alice")
	botC := mmclient.New(f.URL(), f.Token(f.Bot().Id), nil)
	adminC := mmclient.New(f.URL(), f.Token(f.Admin().Id), nil)
	aliceC := mmclient.New(f.URL(), f.Token(alice.Id), nil)
	app := mmclient.OAuth2App{ClientID: "id", ClientSecret: "sec", RemoteRootURL: "https://pd", Data: map[string]any{"region": "eu"}}

	// The plugin wants manage_system for the acting user: the bot is refused.
	if err := botC.StoreOAuth2App(ctx, app); !mmclient.IsUnauthorized(err) || !strings.Contains(err.Error(), "manage_system") {
		t.Fatalf("bot stored the oauth2 app: %v", err)
	}
	if err := aliceC.StoreOAuth2App(ctx, app); !mmclient.IsUnauthorized(err) {
		t.Fatalf("user stored the oauth2 app: %v", err)
	}
	if err := adminC.StoreOAuth2App(ctx, app); err != nil {
		t.Fatal(err)
	}
	if got := f.OAuth2App(); got.ClientID != "id" || got.RemoteRootURL != "https://pd" {
		t.Fatalf("%+v", got)
	}

	var rec map[string]any
	if found, err := aliceC.GetOAuth2User(ctx, &rec); err != nil || found {
		t.Fatalf("empty record: %v %v", found, err)
	}
	if err := aliceC.StoreOAuth2User(ctx, map[string]string{"access_token": "a"}); err != nil {
		t.Fatal(err)
	}
	if found, err := aliceC.GetOAuth2User(ctx, &rec); err != nil || !found || rec["access_token"] != "a" {
		t.Fatalf("%v %v %v", found, err, rec)
	}
	if err := botC.StoreOAuth2User(ctx, map[string]string{"x": "y"}); !mmclient.IsUnauthorized(err) {
		t.Fatalf("bot stored an oauth2 user: %v", err)
	}
	status, body := rawRequest(t, "POST", f.URL()+"/plugins/com.mattermost.apps/api/v1/oauth2/user", f.Token(alice.Id), `"`+strings.Repeat("x", 8200)+`"`)
	if status != 500 || !strings.Contains(body, "size limit") {
		t.Fatalf("%d %s", status, body)
	}
	if string(f.OAuth2User(alice.Id)) != `{"access_token":"a"}` {
		t.Fatalf("%s", f.OAuth2User(alice.Id))
	}
	var v json.RawMessage
	if _, err := aliceC.KVGet(ctx, "", "x", &v); err != nil {
		t.Fatal(err)
	}
}
