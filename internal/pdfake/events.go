package pdfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ChangeEvent is an Events API v2 change event the fake received.
type ChangeEvent struct {
	ServiceID string
	Summary   string
	Received  time.Time
}

// RoutingKey returns a service's Events API v2 integration key, creating it on first use.
func (f *Fake) RoutingKey(serviceID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, s := range f.routingKeys {
		if s == serviceID {
			return k
		}
	}
	k := strings.ReplaceAll(newUUID(), "-", "")
	f.routingKeys[k] = serviceID
	return k
}

// ChangeEvents returns the change events received so far.
func (f *Fake) ChangeEvents() []ChangeEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ChangeEvent(nil), f.changeEvents...)
}

func eventsError(w http.ResponseWriter, status int, msg string, errs ...string) {
	writeJSON(w, status, map[string]any{"status": "invalid event", "message": msg, "errors": errs})
}

// serveEvents implements POST /v2/enqueue (trigger, acknowledge, resolve by dedup_key) and
// POST /v2/change/enqueue, as PagerDuty's Events API v2 does for one service integration.
func (f *Fake) serveEvents(w http.ResponseWriter, r *http.Request, body []byte) AuthInfo {
	if r.Method != http.MethodPost || (r.URL.Path != "/v2/enqueue" && r.URL.Path != "/v2/change/enqueue") {
		writeJSON(w, http.StatusNotFound, map[string]any{"status": "Not found", "message": "no such Events API endpoint"})
		return AuthInfo{Kind: AuthNone}
	}
	var ev struct {
		RoutingKey  string `json:"routing_key"`
		EventAction string `json:"event_action"`
		DedupKey    string `json:"dedup_key"`
		Payload     *struct {
			Summary       string         `json:"summary"`
			Source        string         `json:"source"`
			Severity      string         `json:"severity"`
			CustomDetails map[string]any `json:"custom_details"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "Unrecognized object", "message": "Event object format is unrecognized", "errors": []string{"JSON parse error"}})
		return AuthInfo{Kind: AuthNone}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	svcID := f.routingKeys[ev.RoutingKey]
	svc := f.services[svcID]
	if svc == nil {
		eventsError(w, http.StatusBadRequest, "Event object is invalid", "'routing_key' is invalid")
		return AuthInfo{Kind: AuthInvalid}
	}
	auth := AuthInfo{Kind: AuthRouting, Subject: svc.ID}
	now := f.clock()
	f.applyDueActions(now)

	if r.URL.Path == "/v2/change/enqueue" {
		sum := ""
		if ev.Payload != nil {
			sum = ev.Payload.Summary
		}
		f.changeEvents = append(f.changeEvents, ChangeEvent{ServiceID: svc.ID, Summary: sum, Received: now})
		writeJSON(w, http.StatusAccepted, map[string]any{"status": "success", "message": "Change event processed"})
		return auth
	}

	open := func(key string) *Incident {
		for _, id := range f.incidentOrder {
			if inc := f.incidents[id]; inc.ServiceID == svc.ID && inc.IncidentKey == key && inc.Status != StatusResolved {
				return inc
			}
		}
		return nil
	}
	switch ev.EventAction {
	case "trigger":
		if ev.Payload == nil || ev.Payload.Summary == "" {
			eventsError(w, http.StatusBadRequest, "Event object is invalid", "'payload' is missing or blank")
			return auth
		}
		key := ev.DedupKey
		if key == "" {
			key = strings.ReplaceAll(newUUID(), "-", "")
		}
		if open(key) == nil {
			inc := &Incident{
				ID: f.newID("Q"), Title: ev.Payload.Summary, Status: StatusTriggered, Urgency: "high",
				ServiceID: svc.ID, EscalationPolicyID: svc.EscalationPolicyID, EscalationLevel: 1,
				AssignedVia: "escalation_policy", IncidentKey: key, Details: ev.Payload.CustomDetails,
				CreatedAt: now, UpdatedAt: now, LastStatusChangeAt: now,
			}
			if ep := f.eps[inc.EscalationPolicyID]; ep != nil && len(ep.TeamIDs) > 0 {
				inc.TeamIDs = append([]string(nil), ep.TeamIDs...)
			} else {
				inc.TeamIDs = append([]string(nil), svc.TeamIDs...)
			}
			f.assignVia(inc, f.oncallUsersAt(inc.EscalationPolicyID, 1, now), now)
			f.incidentSeq++
			inc.Number = f.incidentSeq
			f.addLog(inc, "trigger_log_entry", "", "", nil, now)
			f.incidents[inc.ID] = inc
			f.incidentOrder = append(f.incidentOrder, inc.ID)
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"status": "success", "message": "Event processed", "dedup_key": key})
	case "acknowledge", "resolve":
		if ev.DedupKey == "" {
			eventsError(w, http.StatusBadRequest, "Event object is invalid", fmt.Sprintf("'dedup_key' is required for %s", ev.EventAction))
			return auth
		}
		if inc := open(ev.DedupKey); inc != nil {
			status := StatusAcknowledged
			if ev.EventAction == "resolve" {
				status = StatusResolved
			}
			if inc.Status != status {
				_ = f.applyUpdate(inc, incidentUpdate{Status: status}, nil, now)
			}
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"status": "success", "message": "Event processed", "dedup_key": ev.DedupKey})
	default:
		eventsError(w, http.StatusBadRequest, "Event object is invalid", "'event_action' must be trigger, acknowledge or resolve")
	}
	return auth
}
