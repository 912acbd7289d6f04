package app

import (
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/internal/mmfake"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
)

// meter measures where a call's time goes: in the app's handler (inbound), and in the app's
// own requests to PagerDuty and Mattermost (outbound, split by host). The app's own time is
// inbound minus outbound: what the app adds to PagerDuty's and Mattermost's latency.
type meter struct {
	base       http.RoundTripper
	pdHost     string
	inboundNs  atomic.Int64
	outboundNs atomic.Int64
	pdReqs     atomic.Int64
	mmReqs     atomic.Int64
}

func (m *meter) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := m.base.RoundTrip(r)
	if err == nil {
		// Count the body's transfer too: the caller reads it right away.
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		err = rerr
	}
	m.outboundNs.Add(int64(time.Since(start)))
	if r.URL.Host == m.pdHost {
		m.pdReqs.Add(1)
	} else {
		m.mmReqs.Add(1)
	}
	return resp, err
}

func (m *meter) inbound(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		m.inboundNs.Add(int64(time.Since(start)))
	})
}

func (m *meter) reset() {
	m.inboundNs.Store(0)
	m.outboundNs.Store(0)
	m.pdReqs.Store(0)
	m.mmReqs.Store(0)
}

func (m *meter) report(b *testing.B) {
	n := float64(b.N)
	b.ReportMetric(float64(m.inboundNs.Load()-m.outboundNs.Load())/n, "app-ns/op")
	b.ReportMetric(float64(m.pdReqs.Load())/n, "pd-req/op")
	b.ReportMetric(float64(m.mmReqs.Load())/n, "mm-req/op")
}

// BenchmarkIncidentAction measures incident actions end to end on loopback (fake plugin →
// app → spec-checked PagerDuty fake and fake Mattermost) and reports the app's own time per
// action (app-ns/op) apart from the time spent waiting for PagerDuty and Mattermost, with the
// requests each action sends.
//
//	go test ./app/ -run '^$' -bench BenchmarkIncidentAction -benchmem
func BenchmarkIncidentAction(b *testing.B) {
	var m *meter
	e := newEnvWith(b, envOptions{
		responder: true, wallClock: true, logger: slog.New(slog.DiscardHandler),
		httpClient: func(pd *pdfake.Fake) *http.Client {
			pdURL, _ := url.Parse(pd.URL())
			m = &meter{base: http.DefaultTransport.(*http.Transport).Clone(), pdHost: pdURL.Host}
			return &http.Client{Transport: m, Timeout: 20 * time.Second}
		},
		serve: func(h http.Handler) http.Handler { return m.inbound(h) },
	})
	ctx, mm, seed, user, team, ch := e.ctx, e.mm, e.seed, e.user, e.team, e.channel
	do := func(u *model.User, c *apps.Call, postID string, values map[string]any) *apps.CallResponse {
		resp, err := mm.Call(ctx, mmfake.CallOpts{Path: c.Path, Expand: c.Expand, State: c.State, Values: values, ActingUser: u,
			ChannelID: ch.Id, TeamID: team.Id, PostID: postID, UserAgent: "webapp"})
		if err != nil || resp.Type == apps.CallResponseTypeError {
			b.Fatalf("call %s: %v %s", c.Path, err, resp.Text)
		}
		return resp
	}

	// One incident with its card; every action below works on it.
	created := do(user, call(pathTriggerSubmit, expandTrigger), "", map[string]any{
		forms.FieldService: option("API", kindService+":"+seed.APIService), forms.FieldTitle: "Benchmark incident",
	})
	_ = created
	var card *model.Post
	for _, p := range mm.Posts(ch.Id) {
		if p.GetProp(propIncidentID) != nil {
			card = p
		}
	}
	if card == nil {
		b.Fatal("no card")
	}
	id := card.GetProp(propIncidentID).(string)
	ackButton := &apps.Call{Path: pathIncidentAck, Expand: expandIncident, State: incidentState{IncidentID: id}}

	run := func(name string, fn func()) {
		b.Run(name, func(b *testing.B) {
			m.reset()
			b.ResetTimer()
			for range b.N {
				fn()
			}
			b.StopTimer()
			m.report(b)
		})
	}
	run("acknowledge-from-card", func() { do(user, ackButton, card.Id, nil) })
	run("reassign-command", func() {
		do(user, call(pathIncidentReassign, expandIncident), "", map[string]any{
			forms.FieldIncident: id, forms.FieldTo: option("Sam Second", kindUser+":"+seed.Secondary)})
	})
	run("note-command", func() {
		do(user, call(pathIncidentNote, expandIncident), "", map[string]any{forms.FieldIncident: id, forms.FieldNote: "benchmark note"})
	})
	run("urgency-command", func() {
		do(user, call(pathIncidentUrgency, expandIncident), "", map[string]any{forms.FieldIncident: id, forms.FieldUrgency: option("low", "low")})
	})
}
