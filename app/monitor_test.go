package app

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
)

// These tests drive the on-call monitor the way production does: the tick comes through the
// plugin's webhook route (mmfake) with a bot context, the app reads PagerDuty's /oncalls with
// the app-level credential from the spec-checked fake (whose on-calls follow its schedules on
// the shared test clock), and every channel post and DM is read back from mmfake.

func (e *ocEnv) notifyOn(u *model.User) {
	e.t.Helper()
	if resp := e.command(u, "notify", map[string]any{fieldNotifyMode: option("on", "on")}); resp.Type != apps.CallResponseTypeOK {
		e.t.Fatalf("notify on for %s: %s", u.Username, respText(resp))
	}
}

func wantOK(t *testing.T, what string, resp *apps.CallResponse) {
	t.Helper()
	if resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("%s: %s", what, respText(resp))
	}
}

// TestOnCallMonitorThroughWebhook walks through an override, its end, a reminder and a
// handover across midnight UTC+1, asserting every post and DM and the ones that must not happen.
func TestOnCallMonitorThroughWebhook(t *testing.T) {
	e := newOnCallEnv(t)
	platform, payments := e.seed.PlatformSchedule, e.seed.PaymentsSchedule
	// Channel 1 follows the Platform schedule only; channel 2 only Payments (where nothing
	// changes); channel 3 is subscribed to incidents only and must never get on-call posts.
	payCh := e.mm.AddChannel(e.team.Id, "payments", model.ChannelTypeOpen, e.admin.Id, e.bot.Id)
	incCh := e.mm.AddChannel(e.team.Id, "incidents-only", model.ChannelTypeOpen, e.admin.Id, e.bot.Id)
	e.subscribe(e.channel.Id, platform)
	e.subscribe(payCh.Id, payments)
	kvCtx := e.kvCtx()
	if _, err := e.app.subs.Add(kvCtx, subscriptionFor(incCh.Id, "incident.triggered")); err != nil {
		t.Fatal(err)
	}
	e.notifyOn(e.user) // Rita: connected, mapped by her PagerDuty id
	e.notifyOn(e.sam)  // Sam: not connected, mapped by email
	// Lena did not opt in: she must get no DM whatever happens to her.
	chans := []string{e.channel.Id, payCh.Id, incCh.Id}
	people := []*model.User{e.user, e.sam, e.lena}

	// 09:30 UTC Monday: Rita has the Platform day (since 09:00), Sam the Payments week. The first
	// tick is a baseline: nothing to compare with, no shift starts within 30 minutes.
	m := e.mark(chans, people...)
	wantOK(t, "baseline tick", e.tick())
	for _, ch := range chans {
		if p := e.newPosts(m, ch); len(p) > 0 {
			t.Errorf("baseline tick posted in %s:\n%s", ch, joined(p))
		}
	}
	for _, u := range people {
		if d := e.newDMs(m, u); len(d) > 0 {
			t.Errorf("baseline tick sent %s DMs:\n%s", u.Username, joined(d))
		}
	}

	// 09:31: Lena takes the next two hours of Rita's Platform shift.
	e.clock.Advance(time.Minute)
	now := e.clock.Now()
	if _, err := e.pd.AddOverride(platform, pdfake.Override{UserID: e.seed.Limited, Start: now, End: now.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	m = e.mark(chans, people...)
	wantOK(t, "override tick", e.tick())
	posts := e.newPosts(m, e.channel.Id)
	if len(posts) != 1 {
		t.Fatalf("Platform channel got %d posts, want 1:\n%s", len(posts), joined(posts))
	}
	mustContain(t, posts[0], "#### PagerDuty on-call changes", "**Platform Primary**",
		"🔁 **Lena Limited** took over a shift of **Rita Responder**", "🟢 **Lena Limited** is now on call until")
	mustNotContain(t, posts[0], "Payments", "⚪ **Rita Responder** is no longer on call")
	if p := e.newPosts(m, payCh.Id); len(p) > 0 {
		t.Errorf("the Payments channel got a Platform change:\n%s", joined(p))
	}
	if p := e.newPosts(m, incCh.Id); len(p) > 0 {
		t.Errorf("an incidents-only channel got an on-call post:\n%s", joined(p))
	}
	rita := e.newDMs(m, e.user)
	if len(rita) != 1 {
		t.Fatalf("Rita got %d DMs, want 1:\n%s", len(rita), joined(rita))
	}
	// In Rita's zone (Europe/Berlin, CET): 09:31 UTC is 10:31.
	mustContain(t, rita[0], "🔁 **Lena Limited** took over your shift on **Platform Primary**: Mon 23 Nov 10:31 CET – 12:31 CET.")
	if d := e.newDMs(m, e.lena); len(d) > 0 {
		t.Errorf("Lena did not opt in but got:\n%s", joined(d))
	}
	if d := e.newDMs(m, e.sam); len(d) > 0 {
		t.Errorf("nothing changed for Sam but he got:\n%s", joined(d))
	}

	// The same tick again (the scheduler and a manual tick in the same minute): nothing twice.
	m = e.mark(chans, people...)
	wantOK(t, "repeated tick", e.tick())
	e.clock.Advance(time.Minute)
	wantOK(t, "next tick", e.tick())
	for _, ch := range chans {
		if p := e.newPosts(m, ch); len(p) > 0 {
			t.Errorf("repeated ticks posted again in %s:\n%s", ch, joined(p))
		}
	}
	for _, u := range people {
		if d := e.newDMs(m, u); len(d) > 0 {
			t.Errorf("repeated ticks DMed %s again:\n%s", u.Username, joined(d))
		}
	}

	// 11:32: the override is over, Rita is back. Several ticks were missed: reported once.
	e.clock.Advance(2 * time.Hour)
	m = e.mark(chans, people...)
	wantOK(t, "override end tick", e.tick())
	posts = e.newPosts(m, e.channel.Id)
	if len(posts) != 1 {
		t.Fatalf("Platform channel got %d posts at the override's end:\n%s", len(posts), joined(posts))
	}
	mustContain(t, posts[0], "🟢 **Rita Responder** is now on call until Tue 24 Nov 09:00 UTC", "⚪ **Lena Limited** is no longer on call")
	rita = e.newDMs(m, e.user)
	if len(rita) != 1 {
		t.Fatalf("Rita got %d DMs at the override's end:\n%s", len(rita), joined(rita))
	}
	mustContain(t, rita[0], "🟢 You are now on call for **Platform Primary** until Tue 24 Nov 10:00 CET")
	if d := e.newDMs(m, e.lena); len(d) > 0 {
		t.Errorf("Lena did not opt in but got:\n%s", joined(d))
	}

	// Tomorrow 08:35: Sam's Platform day starts at 09:00: one reminder, in his zone (London).
	e.clock.Advance(8*time.Hour + 24*time.Hour - 11*time.Hour - 32*time.Minute + 35*time.Minute)
	if got := e.clock.Now().Format("2006-01-02 15:04"); got != "2026-11-24 08:35" {
		t.Fatalf("clock at %s", got)
	}
	m = e.mark(chans, people...)
	wantOK(t, "reminder tick", e.tick())
	sam := e.newDMs(m, e.sam)
	if len(sam) != 1 {
		t.Fatalf("Sam got %d DMs before his shift, want the reminder:\n%s", len(sam), joined(sam))
	}
	mustContain(t, sam[0], "⏰ Your on-call shift for **Platform Primary** starts in 25m: Tue 24 Nov 09:00 GMT – Wed 25 Nov 09:00 GMT.")
	if p := e.newPosts(m, e.channel.Id); len(p) > 0 {
		t.Errorf("a reminder went to the channel:\n%s", joined(p))
	}
	e.clock.Advance(5 * time.Minute)
	m = e.mark(chans, people...)
	wantOK(t, "second reminder tick", e.tick())
	if d := e.newDMs(m, e.sam); len(d) > 0 {
		t.Errorf("the reminder came twice:\n%s", joined(d))
	}

	// 09:01: the handover. Rita's day ends, Sam's starts; the channel gets both.
	e.clock.Advance(21 * time.Minute)
	m = e.mark(chans, people...)
	wantOK(t, "handover tick", e.tick())
	posts = e.newPosts(m, e.channel.Id)
	if len(posts) != 1 {
		t.Fatalf("Platform channel got %d posts at the handover:\n%s", len(posts), joined(posts))
	}
	mustContain(t, posts[0], "🟢 **Sam Second** is now on call until Wed 25 Nov 09:00 UTC", "⚪ **Rita Responder** is no longer on call")
	rita, sam = e.newDMs(m, e.user), e.newDMs(m, e.sam)
	if len(rita) != 1 || len(sam) != 1 {
		t.Fatalf("handover DMs: Rita %d, Sam %d\nRita:\n%s\nSam:\n%s", len(rita), len(sam), joined(rita), joined(sam))
	}
	mustContain(t, rita[0], "⚪ You are no longer on call for **Platform Primary**. Now on call: **Sam Second**.")
	mustContain(t, sam[0], "🟢 You are now on call for **Platform Primary** until Wed 25 Nov 09:00 GMT")
	for _, ch := range []string{payCh.Id, incCh.Id} {
		if p := e.newPosts(m, ch); len(p) > 0 {
			t.Errorf("channel %s got a Platform handover:\n%s", ch, joined(p))
		}
	}
	if d := e.newDMs(m, e.lena); len(d) > 0 {
		t.Errorf("Lena did not opt in but got:\n%s", joined(d))
	}
	if v := e.pd.Violations(); len(v) > 0 {
		t.Fatalf("PagerDuty spec violations: %v", v)
	}
}

// TestOnCallMonitorPagerDutyFault: while /oncalls fails, ticks send nothing and keep the old
// snapshot; the first good tick reports the change once.
func TestOnCallMonitorPagerDutyFault(t *testing.T) {
	e := newOnCallEnv(t)
	e.subscribe(e.channel.Id)
	e.notifyOn(e.user)
	wantOK(t, "baseline tick", e.tick())
	snapshot := e.monitorKV()

	e.clock.Advance(time.Minute)
	now := e.clock.Now()
	if _, err := e.pd.AddOverride(e.seed.PlatformSchedule, pdfake.Override{UserID: e.seed.Limited, Start: now, End: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, status := range []int{500, 503, 429} {
		e.pd.InjectFault(pdfake.Fault{Method: "GET", PathPrefix: "/oncalls", Status: status})
		m := e.mark([]string{e.channel.Id}, e.user)
		resp := e.tick()
		e.pd.ClearFaults()
		if resp.Type != apps.CallResponseTypeError || !strings.Contains(resp.Text, "the last snapshot is kept") {
			t.Errorf("tick during a %d: %s", status, respText(resp))
		}
		if p := e.newPosts(m, e.channel.Id); len(p) > 0 {
			t.Errorf("a %d from PagerDuty still posted:\n%s", status, joined(p))
		}
		if d := e.newDMs(m, e.user); len(d) > 0 {
			t.Errorf("a %d from PagerDuty still sent DMs:\n%s", status, joined(d))
		}
		if got := e.monitorKV(); got != snapshot {
			t.Errorf("a %d from PagerDuty changed the stored snapshot", status)
		}
		e.clock.Advance(time.Minute)
	}

	m := e.mark([]string{e.channel.Id}, e.user)
	wantOK(t, "tick after the fault", e.tick())
	wantOK(t, "next tick", e.tick())
	posts, dms := e.newPosts(m, e.channel.Id), e.newDMs(m, e.user)
	if len(posts) != 1 || len(dms) != 1 {
		t.Fatalf("after the fault: %d posts, %d DMs (want 1 each)\n%s\n%s", len(posts), len(dms), joined(posts), joined(dms))
	}
	mustContain(t, posts[0], "took over a shift of **Rita Responder**")
	mustContain(t, dms[0], "took over your shift on **Platform Primary**")
}

// TestOnCallMonitorRequestsPerTick: a tick costs ⌈entries/100⌉ PagerDuty requests, all GET
// /oncalls with include[]=users, and nothing else (the API key needs no token request).
func TestOnCallMonitorRequestsPerTick(t *testing.T) {
	e := newOnCallEnv(t)
	var targets []pdfake.Target
	for i := range 240 {
		id := e.pd.AddUser(pdfake.User{ID: fmt.Sprintf("PBIG%03d", i), Name: fmt.Sprintf("Big %03d", i), Email: fmt.Sprintf("big%03d@example.com", i)})
		targets = append(targets, pdfake.UserTarget(id))
	}
	e.pd.AddEscalationPolicy(pdfake.EscalationPolicy{Name: "Everyone", Rules: []pdfake.EscalationRule{{Targets: targets}}})
	for i, name := range []string{"first", "steady"} {
		e.pd.ResetRequests()
		resp := e.tick()
		wantOK(t, name+" tick", resp)
		var entries int
		if _, err := fmt.Sscanf(resp.Text, "on-call monitor: %d entries", &entries); err != nil || entries < 240 {
			t.Fatalf("tick %d: %q", i, resp.Text)
		}
		reqs := e.pd.Requests()
		want := (entries + 99) / 100
		if len(reqs) != want {
			var got []string
			for _, r := range reqs {
				got = append(got, r.Method+" "+r.Path+"?"+r.Query.Encode())
			}
			t.Fatalf("%s tick: %d PagerDuty requests for %d entries, want %d:\n%s", name, len(reqs), entries, want, strings.Join(got, "\n"))
		}
		for j, r := range reqs {
			if r.Method != "GET" || r.Path != "/oncalls" || r.Query.Get("include[]") != "users" || r.Query.Get("limit") != "100" ||
				r.Auth.Kind != pdfake.AuthAPIKey {
				t.Errorf("request %d: %s %s?%s as %s", j, r.Method, r.Path, r.Query.Encode(), r.Auth.Kind)
			}
		}
		t.Logf("%s tick: %d entries, %d requests", name, entries, len(reqs))
		e.clock.Advance(time.Minute)
	}
}

// TestOnCallMonitorEmailFallback: a PagerDuty user who never connected is found by email only
// when the server lets the bot see emails; a connected user is found by the id recorded at
// connect either way.
func TestOnCallMonitorEmailFallback(t *testing.T) {
	for _, show := range []bool{true, false} {
		t.Run(fmt.Sprintf("ShowEmailAddress=%v", show), func(t *testing.T) {
			e := newOnCallEnv(t)
			e.notifyOn(e.user)
			e.notifyOn(e.sam)
			e.mm.SetShowEmailAddress(show)
			wantOK(t, "baseline tick", e.tick())
			// Sam takes an hour of Rita's shift: Rita loses it, Sam gets it.
			e.clock.Advance(time.Minute)
			now := e.clock.Now()
			if _, err := e.pd.AddOverride(e.seed.PlatformSchedule, pdfake.Override{UserID: e.seed.Secondary, Start: now, End: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			m := e.mark(nil, e.user, e.sam)
			resp := e.tick()
			wantOK(t, "tick", resp)
			if d := e.newDMs(m, e.user); len(d) != 1 || !strings.Contains(d[0], "took over your shift") {
				t.Errorf("connected Rita: %s", joined(d))
			}
			d := e.newDMs(m, e.sam)
			if show && (len(d) != 1 || !strings.Contains(d[0], "🟢 You are now on call for **Platform Primary**")) {
				t.Errorf("Sam, found by email: %s", joined(d))
			}
			if !show && len(d) != 0 {
				t.Errorf("Sam's email is hidden from the bot, yet he got: %s", joined(d))
			}
		})
	}
}

// TestOnCallTickUnconfigured: before configuration a tick does nothing and asks PagerDuty
// nothing.
func TestOnCallTickUnconfigured(t *testing.T) {
	e := newEnv(t)
	oe := &ocEnv{env: e}
	e.pd.ResetRequests()
	resp := oe.tick()
	if resp.Type != apps.CallResponseTypeOK || !strings.Contains(resp.Text, "not configured") {
		t.Fatalf("tick before configure: %s", respText(resp))
	}
	if n := len(e.pd.Requests()); n != 0 {
		t.Errorf("%d PagerDuty requests", n)
	}
}

// TestTickRefusesForgedSecret: the tick URL is authenticated by the install's secret; a wrong
// one never reaches the app.
func TestTickRefusesForgedSecret(t *testing.T) {
	e := newOnCallEnv(t)
	before := len(e.mm.WebhookCalls())
	url := strings.Replace(e.mm.WebhookURL(tickWebhook), "secret=", "secret=x", 1)
	resp, err := httpPostJSON(url)
	if err != nil {
		t.Fatal(err)
	}
	if resp == 200 {
		t.Errorf("a wrong secret was accepted")
	}
	_ = e.mm.WaitIdle(e.ctx)
	if n := len(e.mm.WebhookCalls()); n != before {
		t.Errorf("the app was called %d times", n-before)
	}
}

func setClock(c *testClock, t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// TestOnCallAcrossDSTAndMidnight: a schedule handing over at local midnight in Europe/Berlin on
// the night summer time ends (25-hour day). The reminder, the handover at midnight, the DMs in
// each recipient's zone and the schedule view all follow the shared test clock.
func TestOnCallAcrossDSTAndMidnight(t *testing.T) {
	e := newOnCallEnv(t)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	midnight := func(d int) time.Time { return time.Date(2026, 10, d, 0, 0, 0, 0, berlin) }
	nights := e.pd.AddSchedule(pdfake.Schedule{Name: "Berlin nights", TimeZone: "Europe/Berlin", Entries: []pdfake.ScheduleEntry{
		{UserID: e.seed.Responder, Start: midnight(24), End: midnight(25)}, // 24h
		{UserID: e.seed.Secondary, Start: midnight(25), End: midnight(26)}, // 25h: clocks go back at 03:00
		{UserID: e.seed.Responder, Start: midnight(26), End: midnight(27)},
	}})
	e.pd.AddEscalationPolicy(pdfake.EscalationPolicy{Name: "Nights", Rules: []pdfake.EscalationRule{{Targets: []pdfake.Target{pdfake.ScheduleTarget(nights)}}}})
	e.subscribe(e.channel.Id, nights)
	e.notifyOn(e.user)
	e.notifyOn(e.sam)
	people := []*model.User{e.user, e.sam, e.lena}
	chans := []string{e.channel.Id}

	// Saturday 23:35 CEST: Sam's night starts in 25 minutes. The first tick is a baseline, but
	// reminders need no previous snapshot. Sam reads it in London time (BST until 02:00 BST).
	setClock(e.clock, time.Date(2026, 10, 24, 21, 35, 0, 0, time.UTC))
	m := e.mark(chans, people...)
	wantOK(t, "reminder tick", e.tick())
	sam := e.newDMs(m, e.sam)
	if len(sam) != 1 {
		t.Fatalf("Sam got %d DMs, want the reminder:\n%s", len(sam), joined(sam))
	}
	mustContain(t, sam[0], "⏰ Your on-call shift for **Berlin nights** starts in 25m: Sat 24 Oct 23:00 BST – Sun 25 Oct 23:00 GMT.")
	if p, d := e.newPosts(m, e.channel.Id), e.newDMs(m, e.user); len(p)+len(d) > 0 {
		t.Errorf("the baseline tick sent more than the reminder:\n%s\n%s", joined(p), joined(d))
	}

	// 00:01 CEST: the handover at local midnight.
	setClock(e.clock, time.Date(2026, 10, 24, 22, 1, 0, 0, time.UTC))
	m = e.mark(chans, people...)
	wantOK(t, "midnight tick", e.tick())
	posts := e.newPosts(m, e.channel.Id)
	if len(posts) != 1 {
		t.Fatalf("%d channel posts at the handover:\n%s", len(posts), joined(posts))
	}
	// The 25-hour night: 24h 59m remaining from 22:01 UTC to 23:00 UTC the next day.
	mustContain(t, posts[0], "**Berlin nights**", "🟢 **Sam Second** is now on call until Sun 25 Oct 23:00 UTC (1d remaining)",
		"⚪ **Rita Responder** is no longer on call")
	rita, sam := e.newDMs(m, e.user), e.newDMs(m, e.sam)
	if len(rita) != 1 || len(sam) != 1 {
		t.Fatalf("handover DMs: Rita %d, Sam %d\n%s\n%s", len(rita), len(sam), joined(rita), joined(sam))
	}
	mustContain(t, rita[0], "⚪ You are no longer on call for **Berlin nights**. Now on call: **Sam Second**.")
	mustContain(t, sam[0], "🟢 You are now on call for **Berlin nights** until Sun 25 Oct 23:00 GMT (1d remaining).")

	// Rita's view of the schedule, in Berlin time: the current night starts in CEST and ends in
	// CET, and its remaining time counts the extra hour.
	resp := e.command(e.user, "schedule", map[string]any{forms.FieldSchedule: typed("Berlin nights")})
	if resp.Type != apps.CallResponseTypeForm {
		t.Fatalf("view: %s", respText(resp))
	}
	mustContain(t, resp.Form.Header,
		"▶ **Sam Second · Sun 25 Oct 00:00 CEST – Mon 26 Oct 00:00 CET · 1d remaining**",
		"- Rita Responder · Mon 26 Oct 00:00 CET – Tue 27 Oct 00:00 CET · starts in 1d")
	if d := e.newDMs(m, e.lena); len(d) > 0 {
		t.Errorf("Lena did not opt in but got:\n%s", joined(d))
	}
}
