//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
)

// tickLines counts the on-call monitor ticks the app has finished (its debug log line per tick
// that read PagerDuty); a tick that failed or was skipped logs another message.
func tickLines() int { return strings.Count(s.app.Logs(0), `msg="on-call monitor tick" `) }

// waitTick waits until the app logged more finished ticks than before.
func waitTick(t *testing.T, ctx context.Context, before int) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for tickLines() <= before {
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("no on-call monitor tick finished within 45s; app log tail:\n%s", s.app.Logs(3000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// adminConnected: the admin linked PagerDuty's Adam Admin (subscribing with --schedule checks
// the schedule against PagerDuty as the acting user).
var adminConnected bool

func ensureAdminConnected(t *testing.T, ctx context.Context) {
	t.Helper()
	ensureConfigured(t, ctx)
	if adminConnected {
		return
	}
	s.pd.SetAuthorizingUser(s.seed.Admin)
	res, err := s.stack.ConnectOAuth(ctx, s.stack.AdminToken, appID)
	if err != nil || res.Status != 200 || !strings.Contains(res.Text, "Completed connecting your account") {
		t.Fatalf("admin OAuth connect: %v %+v", err, res)
	}
	adminConnected = true
}

// TestOnCallMonitorE2E: the tick goes through Mattermost's webhook route (the plugin checks the
// install's secret and calls the app with a bot context); after the PagerDuty fake's schedule
// changes, the next tick posts in the channel subscribed with `/pagerduty subscribe
// oncall.change --schedule ID` and DMs the connected user who ran `/pagerduty notify on`.
func TestOnCallMonitorE2E(t *testing.T) {
	ctx := testCtx(t)
	ensureConnected(t, ctx) // alice is PagerDuty's Rita Responder
	ensureAdminConnected(t, ctx)
	app, err := s.stack.GetApp(ctx, appID)
	if err != nil || app.WebhookSecret == "" || app.BotUserID == "" {
		t.Fatalf("reading the installed app as the admin: %v", err)
	}
	platform := s.seed.PlatformSchedule

	if resp := command(t, ctx, s.stack.UserToken, "/pagerduty notify on"); resp.Type != apps.CallResponseTypeOK ||
		!strings.Contains(resp.Text, "On-call DMs are **on** for every kind.") {
		t.Fatalf("/pagerduty notify on: %s %q", resp.Type, resp.Text)
	}
	t.Cleanup(func() { command(t, context.Background(), s.stack.UserToken, "/pagerduty notify off") })
	resp := command(t, ctx, s.stack.AdminToken, "/pagerduty subscribe oncall.change --schedule "+platform)
	if resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("/pagerduty subscribe oncall.change --schedule %s: %s %q", platform, resp.Type, resp.Text)
	}
	t.Logf("subscribe answered: %s", resp.Text)
	t.Cleanup(func() { command(t, context.Background(), s.stack.AdminToken, "/pagerduty unsubscribe all") })

	tick := func() {
		t.Helper()
		status, err := s.stack.PostWebhook(ctx, appID, "tick", app.WebhookSecret, []byte(`{"tick":"e2e"}`), nil)
		if err != nil || status != 200 {
			t.Fatalf("POST the tick webhook: %d %v", status, err)
		}
	}
	// The baseline: a tick must have read PagerDuty before the schedule changes, or the change
	// would be part of the first snapshot and never announced.
	before := tickLines()
	tick()
	waitTick(t, ctx, before)

	// Change the fake's schedule: whoever is not Rita takes Rita's hour, or Rita takes the
	// current on-call's hour. Either way alice's DMs and the channel get a change.
	now := time.Now().UTC().Truncate(time.Second)
	onCall := s.pd.OnCallNow(s.seed.PlatformEP, 1, now)
	ritaOnCall := len(onCall) == 1 && onCall[0] == s.seed.Responder
	taker, wantPost, wantDM := s.seed.Responder, "🟢 **Rita Responder** is now on call", "🟢 You are now on call for **Platform Primary**"
	if ritaOnCall {
		taker, wantPost, wantDM = s.seed.Limited, "🔁 **Lena Limited** took over a shift of **Rita Responder**", "🔁 **Lena Limited** took over your shift on **Platform Primary**"
	}
	overrideID, err := s.pd.AddOverride(platform, pdfake.Override{UserID: taker, Start: now, End: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// End the override so later scenarios see the seeded rotation again.
		pd := pdclient.New(pdclient.Config{Hosts: pdclient.Hosts{API: s.pd.URL(), Identity: s.pd.URL(), Events: s.pd.URL()},
			Auth: pdclient.Auth{Kind: pdclient.AuthAPIKey, Token: apiKey}})
		if _, err := pd.DeleteOverride(context.Background(), platform, overrideID); err != nil {
			t.Logf("ending the test's override: %v", err)
		}
	})
	since := time.Now().Add(-time.Second)
	start := time.Now()
	tick()
	fromBot := func(want string) func(*model.Post) bool {
		return func(p *model.Post) bool { return p.UserId == app.BotUserID && strings.Contains(p.Message, want) }
	}
	post, err := s.stack.WaitForPostSince(ctx, s.stack.AdminToken, s.stack.ChannelID, since, fromBot(wantPost), 60*time.Second)
	if err != nil {
		t.Fatalf("channel post: %v\napp log tail:\n%s", err, s.app.Logs(3000))
	}
	t.Logf("e2e: channel post %s after the tick:\n%s", time.Since(start).Round(time.Millisecond), post.Message)
	if !strings.Contains(post.Message, "#### PagerDuty on-call changes") || !strings.Contains(post.Message, "**Platform Primary**") {
		t.Errorf("channel post:\n%s", post.Message)
	}
	dm, err := s.stack.WaitForDM(ctx, s.stack.UserToken, app.BotUserID, s.stack.UserID, since, fromBot(wantDM), 60*time.Second)
	if err != nil {
		t.Fatalf("DM to alice: %v\napp log tail:\n%s", err, s.app.Logs(3000))
	}
	t.Logf("e2e: DM to alice:\n%s", dm.Message)

	// Another tick finds nothing new: no second post, no second DM.
	before = tickLines()
	tick()
	waitTick(t, ctx, before)
	posts, err := s.stack.GetPosts(ctx, s.stack.AdminToken, s.stack.ChannelID, since)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range posts {
		if fromBot("PagerDuty on-call changes")(p) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d on-call posts in the channel after a repeated tick, want 1", n)
	}
	if v := s.pd.Violations(); len(v) > 0 {
		t.Fatalf("PagerDuty spec violations: %v", v)
	}
}
