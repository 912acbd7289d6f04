package pdclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
	"github.com/mattermost/mattermost-app-pagerduty/pdclient"
)

// These tests run the client against the spec-checking fake: any request or
// response that does not match PagerDuty's OpenAPI document fails them.

func noSleep(ctx context.Context, d time.Duration) error { return ctx.Err() }

func fakeHosts(f *pdfake.Fake) pdclient.Hosts {
	return pdclient.Hosts{API: f.URL(), Identity: f.URL(), Events: f.URL()}
}

func apiKeyClient(t *testing.T) (*pdfake.Fake, pdfake.Seeded, *pdclient.Client) {
	t.Helper()
	f := pdfake.New(t)
	if !f.SpecChecked() {
		t.Log("pdfake runs without the spec check")
	}
	s := f.Seed()
	f.AddAPIKey("key1")
	c := pdclient.New(pdclient.Config{Hosts: fakeHosts(f), Auth: pdclient.Auth{Kind: pdclient.AuthAPIKey, Token: "key1"}, Sleep: noSleep})
	return f, s, c
}

func TestFakeDirectoryAndOnCalls(t *testing.T) {
	f, s, c := apiKeyClient(t)
	ctx := context.Background()
	if users, err := c.ListUsers(ctx, ""); err != nil || len(users) != 7 {
		t.Errorf("users %d err %v", len(users), err)
	}
	if u, err := c.GetUser(ctx, s.Responder); err != nil || u.Email != "rita@example.com" {
		t.Errorf("user %+v err %v", u, err)
	}
	if teams, err := c.ListTeams(ctx, ""); err != nil || len(teams) != 2 {
		t.Errorf("teams %d err %v", len(teams), err)
	}
	if svcs, err := c.ListServices(ctx, ""); err != nil || len(svcs) != 3 {
		t.Errorf("services %d err %v", len(svcs), err)
	}
	if eps, err := c.ListEscalationPolicies(ctx, ""); err != nil || len(eps) != 2 {
		t.Errorf("escalation policies %d err %v", len(eps), err)
	}
	if ep, err := c.GetEscalationPolicy(ctx, s.PlatformEP); err != nil || len(ep.EscalationRules) != 2 {
		t.Errorf("escalation policy %+v err %v", ep, err)
	}
	if ps, err := c.ListPriorities(ctx); err != nil || len(ps) != 5 {
		t.Errorf("priorities %d err %v", len(ps), err)
	}
	if ss, err := c.ListSchedules(ctx, ""); err != nil || len(ss) != 2 {
		t.Errorf("schedules %d err %v", len(ss), err)
	}
	now := f.Now()
	if sch, err := c.GetSchedule(ctx, s.PlatformSchedule, now, now.Add(48*time.Hour), "UTC"); err != nil || len(sch.FinalSchedule.RenderedScheduleEntries) == 0 {
		t.Errorf("schedule %+v err %v", sch, err)
	}
	if us, err := c.ListScheduleUsers(ctx, s.PlatformSchedule, now, now.Add(72*time.Hour)); err != nil || len(us) == 0 {
		t.Errorf("schedule users %d err %v", len(us), err)
	}
	oc, err := c.ListOnCalls(ctx, pdclient.OnCallQuery{EscalationPolicyIDs: []string{s.PlatformEP}})
	if err != nil || len(oc) == 0 {
		t.Fatalf("on-calls %d err %v", len(oc), err)
	}
	want := f.OnCallNow(s.PlatformEP, 1, now)
	found := false
	for _, o := range oc {
		if o.EscalationLevel == 1 && len(want) > 0 && o.User.ID == want[0] {
			found = true
		}
	}
	if !found {
		t.Errorf("level-1 on-call %v not among %+v", want, oc)
	}
	if _, err := c.GetUser(ctx, "PNOPE00"); !pdclient.IsNotFound(err) {
		t.Errorf("unknown user: %v", err)
	}
}

func TestFakeIncidentLifecycle(t *testing.T) {
	f, s, c := apiKeyClient(t)
	ctx := context.Background()
	rita := "rita@example.com"
	// The body's details go out as a string, as PagerDuty takes them (the fake patches the spec's
	// object-only declaration, which contradicts its own example).
	inc, err := c.CreateIncident(ctx, rita, pdclient.NewIncident{Title: "Disk full", ServiceID: s.APIService, Urgency: "high", Body: "Disk /var at 98%"})
	if err != nil {
		t.Fatal(err)
	}
	if inc, err = c.CreateIncident(ctx, rita, pdclient.NewIncident{Title: "DB slow", ServiceID: s.APIService, PriorityID: s.Priorities[0], AssigneeIDs: []string{s.Responder}}); err != nil {
		t.Fatal(err)
	}
	if inc.Priority == nil || inc.Priority.ID != s.Priorities[0] {
		t.Errorf("priority not set: %+v", inc.Priority)
	}
	id := inc.ID
	if inc, err = c.ManageIncident(ctx, rita, id, pdclient.IncidentUpdate{Status: "acknowledged"}); err != nil || inc.Status != "acknowledged" {
		t.Fatalf("ack: %+v %v", inc, err)
	}
	if _, err = c.ManageIncident(ctx, rita, id, pdclient.IncidentUpdate{Urgency: "low", PriorityID: s.Priorities[1]}); err != nil {
		t.Fatalf("urgency/priority: %v", err)
	}
	if _, err = c.CreateNote(ctx, rita, id, "looking"); err != nil {
		t.Fatal(err)
	}
	if notes, err := c.ListNotes(ctx, id); err != nil || len(notes) != 1 {
		t.Errorf("notes %+v err %v", notes, err)
	}
	if _, err = c.Snooze(ctx, rita, id, time.Hour); err != nil {
		t.Errorf("snooze: %v", err)
	}
	if _, err = c.CreateStatusUpdate(ctx, rita, id, "mitigating"); err != nil {
		t.Errorf("status update: %v", err)
	}
	if _, err = c.CreateResponderRequest(ctx, rita, id, s.Responder, "join please", []pdclient.ResponderTarget{{Type: "user_reference", ID: s.Admin}}); err != nil {
		t.Errorf("responder request: %v", err)
	}
	if _, err = c.ManageIncident(ctx, rita, id, pdclient.IncidentUpdate{Status: "resolved", Resolution: "freed space"}); err != nil {
		t.Fatalf("resolve: %v", err)
	}
	open, err := c.ListIncidents(ctx, pdclient.IncidentQuery{Statuses: []string{"triggered", "acknowledged"}, ServiceIDs: []string{s.APIService}})
	if err != nil || len(open) != 1 {
		t.Errorf("open incidents %d err %v", len(open), err)
	}
	if got, ok := f.Incident(id); !ok || got.Status != "resolved" {
		t.Errorf("fake has %+v", got)
	}
	f.DenyUser(s.Responder, "PUT /incidents/{id}")
	if _, err = c.ManageIncident(ctx, rita, open[0].ID, pdclient.IncidentUpdate{Status: "acknowledged"}); !pdclient.IsForbidden(err) {
		t.Errorf("denied user: %v", err)
	}
}

func TestFakeOverrides(t *testing.T) {
	f, s, c := apiKeyClient(t)
	ctx := context.Background()
	start := f.Now().Add(24 * time.Hour).Truncate(time.Hour)
	f.ResetRequests()
	res, err := c.CreateOverrides(ctx, s.PlatformSchedule, []pdclient.Override{
		{Start: start, End: start.Add(4 * time.Hour), UserID: s.Admin},
		{Start: start.Add(24 * time.Hour), End: start.Add(28 * time.Hour), UserID: s.Secondary},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.CountRequests("POST", "/schedules/"); n != 1 {
		t.Errorf("%d POSTs, want 1", n)
	}
	if len(res) != 2 || res[0].Status != 201 || res[0].ID == "" || res[1].Status != 201 {
		t.Fatalf("results %+v", res)
	}
	ovs, err := c.ListOverrides(ctx, s.PlatformSchedule, start.Add(-time.Hour), start.Add(48*time.Hour))
	if err != nil || len(ovs) != 2 {
		t.Fatalf("overrides %+v err %v", ovs, err)
	}
	if tr, err := c.DeleteOverride(ctx, s.PlatformSchedule, res[0].ID); err != nil || tr {
		t.Errorf("delete future override: truncated=%v err=%v", tr, err)
	}
}

func TestFakeWebhookSubscriptions(t *testing.T) {
	f, s, c := apiKeyClient(t)
	ctx := context.Background()
	sub, err := c.CreateWebhookSubscription(ctx, pdclient.WebhookSubscription{
		URL: "https://mm.example.com/plugins/com.mattermost.apps/apps/pagerduty/webhook/pd", Description: "Mattermost",
		Events: []string{"incident.triggered", "incident.acknowledged"}, FilterType: "service_reference", FilterID: s.APIService,
	})
	if err != nil || sub.Secret == "" || sub.ID == "" {
		t.Fatalf("sub %+v err %v", sub, err)
	}
	if err := f.DisableWebhookSubscription(sub.ID); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetWebhookSubscription(ctx, sub.ID)
	if err != nil || !got.TemporarilyDisabled || got.Secret != "" {
		t.Errorf("after disable: %+v err %v", got, err)
	}
	if got, err = c.EnableWebhookSubscription(ctx, sub.ID); err != nil || got.TemporarilyDisabled {
		t.Errorf("after enable: %+v err %v", got, err)
	}
	if list, err := c.ListWebhookSubscriptions(ctx); err != nil || len(list) != 1 {
		t.Errorf("list %+v err %v", list, err)
	}
	if err := c.DeleteWebhookSubscription(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetWebhookSubscription(ctx, sub.ID); !pdclient.IsNotFound(err) {
		t.Errorf("after delete: %v", err)
	}
}

func TestFakeRateLimitRetried(t *testing.T) {
	f, _, c := apiKeyClient(t)
	f.InjectFault(pdfake.Fault{Method: "GET", PathPrefix: "/priorities", Status: 429, RateLimitHeaders: true, Times: 2})
	f.ResetRequests()
	if ps, err := c.ListPriorities(context.Background()); err != nil || len(ps) != 5 {
		t.Fatalf("priorities %d err %v", len(ps), err)
	}
	if n := f.CountRequests("GET", "/priorities"); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestFakeOAuth(t *testing.T) {
	f := pdfake.New(t, pdfake.WithSubdomain("acme"), pdfake.WithRegion("eu"))
	s := f.Seed()
	f.RegisterOAuthClient("cid", "csecret")
	f.SetAuthorizingUser(s.Responder)
	h := fakeHosts(f)
	hc := pdclient.NewHTTPClient(pdclient.Config{Sleep: noSleep})
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)

	cfg := pdclient.OAuthConfig(h, "cid", "csecret", "https://mm.example.com/oauth2/complete", []string{"incidents.write"})
	authURL, verifier := pdclient.AuthCodeURL(cfg, "state1")
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != "state1" {
		t.Fatalf("authorize answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	tok, err := pdclient.Exchange(ctx, cfg, loc.Query().Get("code"), verifier)
	if err != nil {
		t.Fatal(err)
	}
	user := pdclient.New(pdclient.Config{Hosts: h, Auth: pdclient.Auth{Kind: pdclient.AuthOAuth, Token: tok.AccessToken}, Sleep: noSleep})
	if me, err := user.CurrentUser(ctx); err != nil || me.ID != s.Responder {
		t.Errorf("me %+v err %v", me, err)
	}
	tok2, err := pdclient.Refresh(ctx, cfg, tok.RefreshToken)
	if err != nil || tok2.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh %+v err %v", tok2, err)
	}
	if _, err := pdclient.Refresh(ctx, cfg, tok.RefreshToken); !errors.Is(err, pdclient.ErrGrantRevoked) {
		t.Errorf("reusing a rotated refresh token: %v", err)
	}
	f.RevokeUserGrants(s.Responder)
	if _, err := pdclient.Refresh(ctx, cfg, tok2.RefreshToken); !errors.Is(err, pdclient.ErrGrantRevoked) {
		t.Errorf("after revoke: %v", err)
	}
	if _, err := user.CurrentUser(ctx); !pdclient.IsUnauthorized(err) {
		t.Errorf("revoked access token: %v", err)
	}

	app, err := pdclient.ClientCredentialsToken(ctx, h, "cid", "csecret", "eu", "acme", "incidents.read")
	if err != nil || app.AccessToken == "" {
		t.Fatalf("app token %+v err %v", app, err)
	}
	bot := pdclient.New(pdclient.Config{Hosts: h, Auth: pdclient.Auth{Kind: pdclient.AuthOAuth, Token: app.AccessToken}, Sleep: noSleep})
	if _, err := bot.ListOnCalls(ctx, pdclient.OnCallQuery{}); err != nil {
		t.Errorf("on-calls with the app token: %v", err)
	}
}
