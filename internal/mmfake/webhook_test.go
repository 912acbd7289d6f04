package mmfake_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"
)

func TestWebhook(t *testing.T) {
	f, a := setup(t)
	release := make(chan struct{})
	a.handle("/webhook/tick", func(received) (int, any) {
		<-release // the sender must get its answer before the app is done
		return 200, apps.NewTextResponse("handled")
	})

	body := `{"z":1,"a":{"y":"<b>&amp;</b>","b":[3,1]},"big":12345678901234567890}`
	req, _ := http.NewRequestWithContext(ctxT(t), http.MethodPost, f.WebhookURL("tick")+"&x=1", strings.NewReader(body))
	req.Header.Add("x-pagerduty-signature", "v1=aaa")
	req.Header.Add("X-PagerDuty-Signature", "v1=bbb")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || time.Since(start) > 2*time.Second {
		t.Fatalf("status %d after %v", resp.StatusCode, time.Since(start))
	}
	if len(f.WebhookCalls()) != 0 {
		t.Fatal("webhook finished before the app answered")
	}
	close(release)
	if err := f.WaitIdle(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	calls := f.WebhookCalls()
	if len(calls) != 1 || calls[0].Path != "/webhook/tick" || calls[0].Status != 200 || calls[0].Response.Text != "handled" {
		t.Fatalf("%+v", calls)
	}

	rc := a.last(t, "/webhook/tick")
	var wire struct {
		Values struct {
			Data       json.RawMessage   `json:"data"`
			Headers    map[string]string `json:"headers"`
			HTTPMethod string            `json:"httpMethod"`
			RawQuery   string            `json:"rawQuery"`
		} `json:"values"`
	}
	if err := json.Unmarshal(rc.Raw, &wire); err != nil {
		t.Fatal(err)
	}
	// Keys sorted, <>& escaped, big numbers through float64.
	want := `{"a":{"b":[3,1],"y":"\u003cb\u003e\u0026amp;\u003c/b\u003e"},"big":12345678901234567000,"z":1}`
	if string(wire.Values.Data) != want {
		t.Fatalf("data\n got %s\nwant %s", wire.Values.Data, want)
	}
	if wire.Values.Headers["X-Pagerduty-Signature"] != "v1=aaa" || wire.Values.HTTPMethod != "POST" ||
		wire.Values.RawQuery != "secret="+f.WebhookSecret()+"&x=1" {
		t.Fatalf("%+v", wire.Values)
	}
	// A bot context: no acting user, the bot's token, and the bot as the JWT's acting user.
	c := rc.Req.Context
	if c.ActingUser != nil || c.ActingUserAccessToken != "" || c.BotAccessToken != f.Token(f.Bot().Id) {
		t.Fatalf("%+v", c.ExpandedContext)
	}
	if jwtPayload(t, rc.Auth)["acting_user_id"] != f.Bot().Id {
		t.Fatalf("jwt %v", jwtPayload(t, rc.Auth))
	}
	if !bytes.Equal(calls[0].Request, rc.Raw) {
		t.Fatal("recorded request differs from the one sent")
	}

	// A body that is not JSON goes as a string.
	if status, _ := rawRequest(t, "POST", f.WebhookURL("raw"), "", "not json <"); status != 200 {
		t.Fatal(status)
	}
	_ = f.WaitIdle(ctxT(t))
	if d := f.WebhookCalls()[1].Values["data"]; d != "not json <" {
		t.Fatalf("%#v", d)
	}
}

func TestWebhookRefused(t *testing.T) {
	f, _ := setup(t)
	base := f.URL() + "/plugins/com.mattermost.apps/apps/pdtest/webhook"
	for _, tc := range []struct {
		name, method, url string
		want              int
		wantBody          string
	}{
		{"wrong secret", "POST", base + "/tick?secret=nope", 400, "webhook secret mismatched"},
		{"no secret", "POST", base + "/tick", 400, "webhook secret was not provided"},
		{"secret of the right length", "POST", base + "/tick?secret=" + strings.Repeat("a", len(f.WebhookSecret())), 400, "mismatched"},
		{"two segments", "POST", base + "/a/b?secret=" + f.WebhookSecret(), 404, ""},
		{"unknown app", "POST", strings.Replace(base, "pdtest", "other", 1) + "/tick?secret=" + f.WebhookSecret(), 404, ""},
		{"HEAD checks the secret", "HEAD", base + "/tick?secret=nope", 400, ""},
		{"HEAD ok", "HEAD", base + "/tick?secret=" + f.WebhookSecret(), 200, ""},
		{"bare /webhook", "POST", base + "?secret=" + f.WebhookSecret(), 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := rawRequest(t, tc.method, tc.url, "", "{}")
			if status != tc.want || !strings.Contains(body, tc.wantBody) {
				t.Fatalf("%d %q", status, body)
			}
		})
	}
	_ = f.WaitIdle(ctxT(t))
	if n := len(f.WebhookCalls()); n != 1 || f.WebhookCalls()[0].Path != "/webhook" {
		t.Fatalf("%d webhook calls: %+v", n, f.WebhookCalls())
	}
}
