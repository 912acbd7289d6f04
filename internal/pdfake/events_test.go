package pdfake

import (
	"net/http"
	"strings"
	"testing"
)

func TestEventsAPI(t *testing.T) {
	f, s, _, _ := newSeeded(t)
	ev := &apiClient{t: t, base: f.URL()} // the Events API takes no Authorization
	key := f.RoutingKey(s.APIService)
	if again := f.RoutingKey(s.APIService); again != key {
		t.Fatalf("RoutingKey not stable: %s vs %s", key, again)
	}
	trigger := map[string]any{"routing_key": key, "event_action": "trigger", "dedup_key": "disk/db-1",
		"payload": map[string]any{"summary": "Disk full on db-1", "source": "db-1", "severity": "critical", "custom_details": map[string]any{"free": "0%"}}}
	r := ev.do(http.MethodPost, "/v2/enqueue", trigger).mustStatus(t, http.StatusAccepted)
	if str(r.body, "status") != "success" || str(r.body, "dedup_key") != "disk/db-1" {
		t.Fatalf("trigger reply %s", r.raw)
	}
	ev.do(http.MethodPost, "/v2/enqueue", trigger).mustStatus(t, http.StatusAccepted) // same dedup_key: no second incident
	incs := f.Incidents()
	if len(incs) != 1 || incs[0].Title != "Disk full on db-1" || incs[0].IncidentKey != "disk/db-1" || assignees(incs[0]) != s.Responder {
		t.Fatalf("incidents after two triggers: %+v", incs)
	}
	ev.do(http.MethodPost, "/v2/enqueue", map[string]any{"routing_key": key, "event_action": "acknowledge", "dedup_key": "disk/db-1"}).mustStatus(t, http.StatusAccepted)
	if inc, _ := f.Incident(incs[0].ID); inc.Status != StatusAcknowledged {
		t.Errorf("after acknowledge: %s", inc.Status)
	}
	// The REST view of an Events-acknowledged incident is spec-valid (acknowledger is the service).
	(&apiClient{t: t, base: f.URL(), auth: "Token token=key"}).do(http.MethodGet, "/incidents/"+incs[0].ID, nil).mustStatus(t, http.StatusOK)
	ev.do(http.MethodPost, "/v2/enqueue", map[string]any{"routing_key": key, "event_action": "resolve", "dedup_key": "disk/db-1"}).mustStatus(t, http.StatusAccepted)
	if inc, _ := f.Incident(incs[0].ID); inc.Status != StatusResolved {
		t.Errorf("after resolve: %s", inc.Status)
	}
	ev.do(http.MethodPost, "/v2/enqueue", trigger).mustStatus(t, http.StatusAccepted) // resolved: a new incident
	if n := len(f.Incidents()); n != 2 {
		t.Errorf("re-trigger after resolve made %d incidents, want 2", n)
	}
	r = ev.do(http.MethodPost, "/v2/enqueue", map[string]any{"routing_key": "nope", "event_action": "trigger",
		"payload": map[string]any{"summary": "x", "source": "y", "severity": "info"}}).mustStatus(t, http.StatusBadRequest)
	if !strings.Contains(string(r.raw), "routing_key") {
		t.Errorf("bad key reply %s", r.raw)
	}
	ev.do(http.MethodPost, "/v2/change/enqueue", map[string]any{"routing_key": key, "payload": map[string]any{"summary": "deployed v2", "source": "ci"}}).mustStatus(t, http.StatusAccepted)
	if ce := f.ChangeEvents(); len(ce) != 1 || ce[0].ServiceID != s.APIService {
		t.Errorf("change events %+v", ce)
	}
	if reqs := f.Requests(); reqs[0].Auth != (AuthInfo{Kind: AuthRouting, Subject: s.APIService}) {
		t.Errorf("logged auth %+v", reqs[0].Auth)
	}
}

func TestEventsAPISpecViolation(t *testing.T) {
	if _, err := loadEventsSpec(EventsSpecPath(DefaultSpecPath())); err != nil {
		t.Skipf("events spec unavailable: %v", err)
	}
	rec := &recTB{TB: t}
	var f *Fake
	t.Run("inner", func(it *testing.T) {
		rec.TB = it
		var s Seeded
		f, s, _, _ = newSeeded(rec)
		(&apiClient{t: it, base: f.URL()}).do(http.MethodPost, "/v2/enqueue", map[string]any{"routing_key": f.RoutingKey(s.APIService), "event_action": "trigger",
			"payload": map[string]any{"summary": "x", "source": "y", "severity": "catastrophic"}}).mustStatus(it, http.StatusBadRequest)
	})
	v := f.Violations()
	if len(v) != 1 || !strings.Contains(v[0], "/payload/severity") {
		t.Errorf("violations %q", v)
	}
}
