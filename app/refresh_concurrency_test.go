package app

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/internal/mmfake"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
	"github.com/mattermost/mattermost-app-pagerduty/pdauth"
)

// refreshStored decodes the token the app stored for Rita in the framework's OAuth2 user store.
func refreshStored(t *testing.T, e *env) pdauth.UserToken {
	t.Helper()
	var tok pdauth.UserToken
	if err := json.Unmarshal(e.mm.OAuth2User(e.user.Id), &tok); err != nil {
		t.Fatalf("stored token: %v", err)
	}
	return tok
}

// refreshGrants counts POST /oauth/token requests with grant refresh_token (the fake logs the
// form with the token itself redacted).
func refreshGrants(pd *pdfake.Fake) (total, ok int) {
	for _, r := range pd.Requests() {
		if r.Method != http.MethodPost || r.Path != "/oauth/token" {
			continue
		}
		if q, err := url.ParseQuery(string(r.Body)); err == nil && q.Get("grant_type") == "refresh_token" {
			total++
			if r.Status == http.StatusOK {
				ok++
			}
		}
	}
	return total, ok
}

// refreshOnCallStatuses counts GET /oncalls answers by status.
func refreshOnCallStatuses(pd *pdfake.Fake) map[int]int {
	out := map[int]int{}
	for _, r := range pd.Requests() {
		if r.Method == http.MethodGet && r.Path == "/oncalls" {
			out[r.Status]++
		}
	}
	return out
}

// refreshConcurrentOnCall makes n /oncall calls as Rita at once, through the fake plugin, and
// returns every answer (the goroutines only collect; the test asserts after they are done).
func refreshConcurrentOnCall(e *env, n int) ([]*apps.CallResponse, []error) {
	resps, errs := make([]*apps.CallResponse, n), make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resps[i], errs[i] = e.mm.Call(e.ctx, mmfake.CallOpts{
				Path: pathOnCall, Expand: expandUser, ActingUser: e.user,
				ChannelID: e.channel.Id, TeamID: e.team.Id, Location: apps.LocationCommand, UserAgent: "webapp",
			})
		}()
	}
	close(start)
	wg.Wait()
	return resps, errs
}

func refreshAllSucceeded(t *testing.T, resps []*apps.CallResponse, errs []error) {
	t.Helper()
	for i := range resps {
		if errs[i] != nil || resps[i] == nil || resps[i].Type != apps.CallResponseTypeOK {
			t.Errorf("call %d: %v %s", i, errs[i], respText(resps[i]))
		}
	}
}

// refreshStillWorks proves the stored refresh token is the live, rotated one: PagerDuty spends
// each refresh token once, so had the app kept a spent one, this refresh would be refused and
// Rita asked to reconnect.
func refreshStillWorks(t *testing.T, e *env) {
	t.Helper()
	e.pd.ExpireAccessTokens()
	e.pd.ResetRequests()
	resp := e.call(e.user, call(pathOnCall, expandUser), nil)
	if resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("oncall with the stored refresh token: %s", respText(resp))
	}
	if total, ok := refreshGrants(e.pd); total != 1 || ok != 1 {
		t.Fatalf("%d refresh requests (%d accepted) with the stored refresh token, want 1 accepted", total, ok)
	}
}

// PagerDuty refuses the access token (401) long before its own expiry: ten concurrent calls
// all succeed on a single refresh.
func TestRefreshConcurrentCallsAfter401RefreshOnce(t *testing.T) {
	e := newEnv(t)
	e.configure()
	e.connect(e.user, e.seed.Responder)
	before := refreshStored(t, e)
	if !before.Connected() || before.RefreshToken == "" {
		t.Fatalf("connect stored %+v", before)
	}
	if before.Expiry.Before(e.clock.Now().Add(time.Hour)) {
		t.Fatalf("the token's own expiry %s is near the clock %s: the test would not be about a 401", before.Expiry, e.clock.Now())
	}

	e.pd.ExpireAccessTokens()
	e.pd.ResetRequests()
	resps, errs := refreshConcurrentOnCall(e, 10)
	refreshAllSucceeded(t, resps, errs)

	if total, ok := refreshGrants(e.pd); total != 1 || ok != 1 {
		t.Fatalf("%d refresh requests reached PagerDuty (%d accepted), want exactly 1", total, ok)
	}
	st := refreshOnCallStatuses(e.pd)
	if st[http.StatusUnauthorized] == 0 {
		t.Fatal("no /oncalls read was refused: the test did not exercise the 401 path")
	}
	if st[http.StatusOK] != 10 {
		t.Fatalf("/oncalls answers %v, want 10 successful reads", st)
	}
	after := refreshStored(t, e)
	if after.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken || after.RefreshToken == "" {
		t.Fatal("the rotated token was not stored")
	}
	if after.PDUserID != before.PDUserID || after.Email != before.Email {
		t.Fatalf("refreshing lost who Rita is: %+v", after)
	}
	refreshStillWorks(t, e)
}

// The token's own expiry has passed on the app's clock: ten concurrent calls refresh it once,
// before using it (PagerDuty never sees the expired token).
func TestRefreshConcurrentCallsWithExpiredTokenRefreshOnce(t *testing.T) {
	e := newEnv(t)
	e.configure()
	e.connect(e.user, e.seed.Responder)
	before := refreshStored(t, e)
	// The expiry is on the app's clock (the env's, ahead of the wall clock): PagerDuty's 24 h
	// from now, as the app and the fake both count it.
	if d := before.Expiry.Sub(e.clock.Now()); d < 23*time.Hour || d > 24*time.Hour+time.Minute {
		t.Fatalf("connect stored an expiry %s after the app's clock, want about 24h (expiry %s, clock %s)", d, before.Expiry, e.clock.Now())
	}
	e.clock.Advance(before.Expiry.Sub(e.clock.Now()) + time.Minute)

	e.pd.ResetRequests()
	resps, errs := refreshConcurrentOnCall(e, 10)
	refreshAllSucceeded(t, resps, errs)

	if total, ok := refreshGrants(e.pd); total != 1 || ok != 1 {
		t.Fatalf("%d refresh requests reached PagerDuty (%d accepted), want exactly 1", total, ok)
	}
	if st := refreshOnCallStatuses(e.pd); st[http.StatusOK] != 10 || len(st) != 1 {
		t.Fatalf("/oncalls answers %v, want 10 successful reads and no refusal (refresh before use)", st)
	}
	after := refreshStored(t, e)
	if after.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken {
		t.Fatal("the rotated token was not stored")
	}
	if !after.Expiry.After(e.clock.Now().Add(time.Hour)) {
		t.Fatalf("the refreshed token expires %s, not after the app's clock %s", after.Expiry, e.clock.Now())
	}
	refreshStillWorks(t, e)
}
