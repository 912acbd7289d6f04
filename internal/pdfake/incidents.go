package pdfake

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// ---- rendering ----

func (f *Fake) incidentRef(inc *Incident) map[string]any {
	return f.ref("incident", inc.ID, incidentSummary(inc))
}

func incidentSummary(inc *Incident) string { return fmt.Sprintf("[#%d] %s", inc.Number, inc.Title) }

// agentRef is the user who acted, or the incident's service when nobody did.
func (f *Fake) agentRef(userID, serviceID string) map[string]any {
	if userID != "" {
		return f.userRef(userID)
	}
	name := serviceID
	if s := f.services[serviceID]; s != nil {
		name = s.Name
	}
	return f.ref("service", serviceID, name)
}

func (c *rctx) renderIncident(inc *Incident, include []string) map[string]any {
	f := c.f
	inc2 := func(what ...string) bool {
		for _, w := range what {
			if contains(include, w) {
				return true
			}
		}
		return false
	}
	userObj := func(id string, expand bool) map[string]any {
		if u := f.users[id]; u != nil && expand {
			return f.renderUser(c, u)
		}
		return f.userRef(id)
	}
	assignments := []any{}
	for _, a := range inc.Assignments {
		assignments = append(assignments, map[string]any{"at": c.ts(a.At), "assignee": userObj(a.UserID, inc2("assignees", "users"))})
	}
	acks := []any{}
	for _, a := range inc.Acknowledgements {
		who := f.agentRef("", inc.ServiceID) // acknowledged through the Events API
		if a.UserID != "" {
			who = userObj(a.UserID, inc2("acknowledgers", "users"))
		}
		acks = append(acks, map[string]any{"at": c.ts(a.At), "acknowledger": who})
	}
	pending := []any{}
	if !inc.SnoozedUntil.IsZero() && inc.Status == StatusAcknowledged {
		pending = append(pending, map[string]any{"type": "unacknowledge", "at": c.ts(inc.SnoozedUntil)})
	}
	m := map[string]any{
		"id":                    inc.ID,
		"type":                  "incident",
		"summary":               incidentSummary(inc),
		"self":                  f.selfURL("incident", inc.ID),
		"html_url":              f.htmlURL("incident", inc.ID),
		"incident_number":       inc.Number,
		"title":                 inc.Title,
		"description":           inc.Title,
		"created_at":            c.ts(inc.CreatedAt),
		"updated_at":            c.ts(inc.UpdatedAt),
		"status":                inc.Status,
		"incident_key":          inc.IncidentKey,
		"urgency":               inc.Urgency,
		"assignments":           assignments,
		"assigned_via":          inc.AssignedVia,
		"acknowledgements":      acks,
		"last_status_change_at": c.ts(inc.LastStatusChangeAt),
		"last_status_change_by": f.agentRef(inc.LastStatusChangeBy, inc.ServiceID),
		"alert_counts":          map[string]any{"all": 0, "triggered": 0, "resolved": 0},
		"is_mergeable":          true,
		"incident_type":         map[string]any{"name": "incident_default"},
		"pending_actions":       pending,
		"teams":                 []any{},
		"incidents_responders":  c.renderResponders(inc),
		"responder_requests":    c.renderResponderRequests(inc),
	}
	if s := f.services[inc.ServiceID]; s != nil {
		if inc2("services") {
			m["service"] = f.renderService(c, s)
		} else {
			m["service"] = f.ref("service", s.ID, s.Name)
		}
	}
	if ep := f.eps[inc.EscalationPolicyID]; ep != nil {
		if inc2("escalation_policies") {
			m["escalation_policy"] = f.renderEP(c, ep)
		} else {
			m["escalation_policy"] = f.ref("escalation_policy", ep.ID, ep.Name)
		}
	}
	teams := []any{}
	for _, id := range inc.TeamIDs {
		if t := f.teams[id]; t != nil {
			if inc2("teams") {
				teams = append(teams, f.renderTeam(t))
			} else {
				teams = append(teams, f.ref("team", t.ID, t.Name))
			}
		}
	}
	m["teams"] = teams
	if p := f.priorities[inc.PriorityID]; p != nil {
		m["priority"] = f.renderPriority(p)
	}
	if !inc.ResolvedAt.IsZero() {
		m["resolved_at"] = c.ts(inc.ResolvedAt)
	}
	if len(inc.LogEntries) > 0 {
		first := inc.LogEntries[0]
		if inc2("first_trigger_log_entries") {
			m["first_trigger_log_entry"] = c.renderLogEntry(inc, first)
		} else {
			m["first_trigger_log_entry"] = f.ref("log_entry", first.ID, first.Summary)
			m["first_trigger_log_entry"].(map[string]any)["type"] = first.Type + "_reference"
		}
	}
	if inc.DetailsText != "" {
		m["body"] = map[string]any{"type": "incident_body", "details": inc.DetailsText}
	} else if inc.Details != nil {
		m["body"] = map[string]any{"type": "incident_body", "details": inc.Details}
	}
	return m
}

func (c *rctx) renderLogEntry(inc *Incident, le LogEntry) map[string]any {
	f := c.f
	m := map[string]any{
		"id":            le.ID,
		"type":          le.Type,
		"summary":       le.Summary,
		"self":          f.selfURL("log_entry", le.ID),
		"html_url":      f.htmlURL("incident", inc.ID) + "/log_entries/" + le.ID,
		"created_at":    c.ts(le.CreatedAt),
		"agent":         f.agentRef(le.AgentID, inc.ServiceID),
		"channel":       map[string]any{"type": logChannel(le)},
		"service":       f.ref("service", inc.ServiceID, serviceName(f, inc.ServiceID)),
		"incident":      f.incidentRef(inc),
		"teams":         f.teamRefs(inc.TeamIDs),
		"contexts":      []any{},
		"event_details": map[string]any{},
	}
	if le.Note != "" {
		m["note"] = le.Note
	}
	if le.Type == "assign_log_entry" || le.Type == "escalate_log_entry" || le.Type == "delegate_log_entry" {
		as := []any{}
		for _, id := range le.AssigneeIDs {
			as = append(as, f.userRef(id))
		}
		m["assignees"] = as
	}
	return m
}

func logChannel(le LogEntry) string {
	switch {
	case le.Type == "unacknowledge_log_entry" && le.AgentID == "":
		return "timeout"
	case le.Type == "annotate_log_entry":
		return "note"
	case le.AgentID == "":
		return "auto"
	}
	return "api"
}

func serviceName(f *Fake, id string) string {
	if s := f.services[id]; s != nil {
		return s.Name
	}
	return id
}

func (c *rctx) renderResponders(inc *Incident) []any {
	out := []any{}
	for _, rr := range inc.ResponderRequests {
		for _, t := range rr.Targets {
			for _, uid := range t.UserIDs {
				out = append(out, map[string]any{
					"state":        t.State,
					"user":         c.f.userRef(uid),
					"incident":     c.f.incidentRef(inc),
					"updated_at":   c.ts(rr.RequestedAt),
					"message":      rr.Message,
					"requester":    c.f.userRef(rr.RequesterID),
					"requested_at": c.ts(rr.RequestedAt),
				})
			}
		}
	}
	return out
}

func (c *rctx) renderResponderRequest(inc *Incident, rr ResponderRequest) map[string]any {
	targets := []any{}
	for _, t := range rr.Targets {
		responders := []any{}
		for _, uid := range t.UserIDs {
			responders = append(responders, map[string]any{
				"state":        t.State,
				"user":         c.f.userRef(uid),
				"incident":     c.f.incidentRef(inc),
				"updated_at":   c.ts(rr.RequestedAt),
				"message":      rr.Message,
				"requester":    c.f.userRef(rr.RequesterID),
				"requested_at": c.ts(rr.RequestedAt),
			})
		}
		summary := t.ID
		kind := strings.TrimSuffix(t.Type, "_reference")
		switch kind {
		case "user":
			if u := c.f.users[t.ID]; u != nil {
				summary = u.Name
			}
		case "escalation_policy":
			if ep := c.f.eps[t.ID]; ep != nil {
				summary = ep.Name
			}
		}
		targets = append(targets, map[string]any{"responder_request_target": map[string]any{
			"type": kind, "id": t.ID, "summary": summary, "incident_responders": responders,
		}})
	}
	return map[string]any{
		"id":                        rr.ID,
		"incident":                  c.f.incidentRef(inc),
		"requester":                 c.f.userRef(rr.RequesterID),
		"requested_at":              c.ts(rr.RequestedAt),
		"message":                   rr.Message,
		"responder_request_targets": targets,
	}
}

func (c *rctx) renderResponderRequests(inc *Incident) []any {
	out := []any{}
	for _, rr := range inc.ResponderRequests {
		out = append(out, c.renderResponderRequest(inc, rr))
	}
	return out
}

// ---- state changes ----

func (f *Fake) addLog(inc *Incident, typ, agentID, note string, assignees []string, at time.Time) {
	summaries := map[string]string{
		"trigger_log_entry":        "Triggered through the API",
		"acknowledge_log_entry":    "Acknowledged",
		"unacknowledge_log_entry":  "Unacknowledged",
		"resolve_log_entry":        "Resolved",
		"assign_log_entry":         "Reassigned",
		"escalate_log_entry":       "Escalated",
		"delegate_log_entry":       "Reassigned to another escalation policy",
		"annotate_log_entry":       "Note added",
		"snooze_log_entry":         "Snoozed",
		"urgency_change_log_entry": "Urgency changed",
	}
	sum := summaries[typ]
	if agentID != "" {
		if u := f.users[agentID]; u != nil {
			sum += " by " + u.Name
		}
	}
	inc.LogEntries = append(inc.LogEntries, LogEntry{
		ID: f.newID("R"), Type: typ, CreatedAt: at, AgentID: agentID, Note: note,
		AssigneeIDs: append([]string(nil), assignees...), Summary: sum,
	})
	inc.UpdatedAt = at
}

// applyDueActions ends snoozes whose time has come (the fake has no background timers).
func (f *Fake) applyDueActions(now time.Time) {
	for _, id := range f.incidentOrder {
		inc := f.incidents[id]
		if inc.Status == StatusAcknowledged && !inc.SnoozedUntil.IsZero() && !now.Before(inc.SnoozedUntil) {
			at := inc.SnoozedUntil
			inc.Status = StatusTriggered
			inc.Acknowledgements = nil
			inc.SnoozedUntil = time.Time{}
			inc.LastStatusChangeAt = at
			inc.LastStatusChangeBy = ""
			f.addLog(inc, "unacknowledge_log_entry", "", "", nil, at)
		}
	}
}

// oncallUsersAt lists who is on call at an escalation level (1-based) at t, in target order.
func (f *Fake) oncallUsersAt(epID string, level int, t time.Time) []string {
	var out []string
	for _, o := range f.computeOncalls(t, t, []string{epID}, nil, nil) {
		if o.level == level && !contains(out, o.userID) {
			out = append(out, o.userID)
		}
	}
	return out
}

func (f *Fake) assignVia(inc *Incident, users []string, at time.Time) {
	inc.Assignments = nil
	for _, u := range users {
		inc.Assignments = append(inc.Assignments, Assignment{UserID: u, At: at})
	}
}

func (f *Fake) retrigger(inc *Incident, by string, at time.Time) {
	if inc.Status != StatusTriggered {
		inc.Status = StatusTriggered
		inc.LastStatusChangeAt = at
		inc.LastStatusChangeBy = by
	}
	inc.Acknowledgements = nil
	inc.SnoozedUntil = time.Time{}
}

func alreadyResolved(inc *Incident) *apiError {
	return &apiError{status: http.StatusBadRequest, code: 1001, message: "Incident Already Resolved",
		errors: []string{fmt.Sprintf("incident %s is resolved", inc.ID)}}
}

type refIn struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type incidentUpdate struct {
	ID               string          `json:"id"`
	Type             string          `json:"type"`
	Status           string          `json:"status"`
	Resolution       string          `json:"resolution"`
	Title            *string         `json:"title"`
	Priority         json.RawMessage `json:"priority"`
	Urgency          string          `json:"urgency"`
	EscalationLevel  *int            `json:"escalation_level"`
	EscalationPolicy *refIn          `json:"escalation_policy"`
	Service          *refIn          `json:"service"`
	Assignments      []struct {
		Assignee refIn `json:"assignee"`
	} `json:"assignments"`
}

// applyUpdate performs one incident PUT as PagerDuty would: field changes first, then a
// reassignment (assignments / escalation_policy / escalation_level), then the status change.
func (f *Fake) applyUpdate(inc *Incident, u incidentUpdate, actor *User, now time.Time) *apiError {
	resolved := inc.Status == StatusResolved
	changesRouting := len(u.Assignments) > 0 || u.EscalationPolicy != nil || u.EscalationLevel != nil
	if resolved && (changesRouting || u.Status != "") {
		return alreadyResolved(inc)
	}
	// Validate everything before changing anything.
	var prioID *string
	if len(u.Priority) > 0 && string(u.Priority) != "null" {
		var p refIn
		if err := json.Unmarshal(u.Priority, &p); err != nil {
			var s string
			if err2 := json.Unmarshal(u.Priority, &s); err2 != nil {
				return badRequest("priority must be a priority reference")
			}
			p.ID = s
		}
		if p.ID != "" && f.priorities[p.ID] == nil {
			return &apiError{status: http.StatusBadRequest, code: 1020, message: "Invalid Priority", errors: []string{fmt.Sprintf("priority %q not found", p.ID)}}
		}
		prioID = &p.ID
	}
	for _, a := range u.Assignments {
		if f.users[a.Assignee.ID] == nil {
			return &apiError{status: http.StatusBadRequest, code: 1007, message: "Assigned To User Not Found", errors: []string{fmt.Sprintf("user %q not found", a.Assignee.ID)}}
		}
	}
	if u.EscalationPolicy != nil && f.eps[u.EscalationPolicy.ID] == nil {
		return &apiError{status: http.StatusBadRequest, code: 1014, message: "Escalation Policy Not Found", errors: []string{fmt.Sprintf("escalation policy %q not found", u.EscalationPolicy.ID)}}
	}
	if u.Service != nil && f.services[u.Service.ID] == nil {
		return badRequest(fmt.Sprintf("service %q not found", u.Service.ID))
	}
	if u.EscalationLevel != nil {
		epID := inc.EscalationPolicyID
		if u.EscalationPolicy != nil {
			epID = u.EscalationPolicy.ID
		}
		ep := f.eps[epID]
		if ep == nil || *u.EscalationLevel < 1 || *u.EscalationLevel > len(ep.Rules) {
			return &apiError{status: http.StatusBadRequest, code: 1006, message: "Cannot Escalate", errors: []string{fmt.Sprintf("escalation level %d does not exist on the incident's escalation policy", *u.EscalationLevel)}}
		}
	}
	switch u.Status {
	case "", StatusAcknowledged, StatusResolved:
	case StatusTriggered:
		if inc.Status == StatusTriggered {
			break
		}
	default:
		return &apiError{status: http.StatusBadRequest, code: 1003, message: "Invalid Status Provided", errors: []string{u.Status}}
	}

	by := ""
	if actor != nil {
		by = actor.ID
	}
	if u.Title != nil && *u.Title != "" {
		inc.Title = *u.Title
		inc.UpdatedAt = now
	}
	if prioID != nil {
		inc.PriorityID = *prioID
		inc.UpdatedAt = now
	} else if string(u.Priority) == "null" {
		inc.PriorityID = ""
		inc.UpdatedAt = now
	}
	if u.Urgency != "" && u.Urgency != inc.Urgency {
		inc.Urgency = u.Urgency
		f.addLog(inc, "urgency_change_log_entry", by, "", nil, now)
	}
	if u.Service != nil {
		inc.ServiceID = u.Service.ID
		inc.UpdatedAt = now
	}
	switch {
	case len(u.Assignments) > 0:
		var ids []string
		for _, a := range u.Assignments {
			if !contains(ids, a.Assignee.ID) {
				ids = append(ids, a.Assignee.ID)
			}
		}
		f.assignVia(inc, ids, now)
		inc.AssignedVia = "direct_assignment"
		f.retrigger(inc, by, now)
		f.addLog(inc, "assign_log_entry", by, "", ids, now)
	case u.EscalationPolicy != nil:
		inc.EscalationPolicyID = u.EscalationPolicy.ID
		level := 1
		if u.EscalationLevel != nil {
			level = *u.EscalationLevel
		}
		inc.EscalationLevel = level
		ids := f.oncallUsersAt(inc.EscalationPolicyID, level, now)
		f.assignVia(inc, ids, now)
		inc.AssignedVia = "escalation_policy"
		if ep := f.eps[inc.EscalationPolicyID]; ep != nil && len(ep.TeamIDs) > 0 {
			inc.TeamIDs = append([]string(nil), ep.TeamIDs...)
		}
		f.retrigger(inc, by, now)
		f.addLog(inc, "delegate_log_entry", by, "", ids, now)
	case u.EscalationLevel != nil:
		inc.EscalationLevel = *u.EscalationLevel
		ids := f.oncallUsersAt(inc.EscalationPolicyID, inc.EscalationLevel, now)
		f.assignVia(inc, ids, now)
		inc.AssignedVia = "escalation_policy"
		f.retrigger(inc, by, now)
		f.addLog(inc, "escalate_log_entry", by, "", ids, now)
	}
	switch u.Status {
	case StatusAcknowledged:
		found := false
		for i := range inc.Acknowledgements {
			if inc.Acknowledgements[i].UserID == by {
				inc.Acknowledgements[i].At = now
				found = true
			}
		}
		if !found {
			inc.Acknowledgements = append(inc.Acknowledgements, Acknowledgement{UserID: by, At: now})
		}
		if inc.Status != StatusAcknowledged {
			inc.Status = StatusAcknowledged
			inc.LastStatusChangeAt = now
			inc.LastStatusChangeBy = by
		}
		inc.SnoozedUntil = time.Time{}
		f.addLog(inc, "acknowledge_log_entry", by, "", nil, now)
	case StatusResolved:
		inc.Status = StatusResolved
		inc.ResolvedAt = now
		inc.LastStatusChangeAt = now
		inc.LastStatusChangeBy = by
		inc.Assignments = nil
		inc.SnoozedUntil = time.Time{}
		if u.Resolution != "" {
			inc.Notes = append(inc.Notes, Note{ID: f.newID("P"), UserID: by, Content: u.Resolution, CreatedAt: now})
		}
		f.addLog(inc, "resolve_log_entry", by, u.Resolution, nil, now)
	case StatusTriggered:
		if inc.Status == StatusAcknowledged {
			f.retrigger(inc, by, now)
			f.addLog(inc, "unacknowledge_log_entry", by, "", nil, now)
		}
	}
	inc.UpdatedAt = now
	return nil
}

// ---- handlers ----

func (f *Fake) incidentOr404(c *rctx) (*Incident, *apiError) {
	inc := f.incidents[c.path("id")]
	if inc == nil {
		return nil, &apiError{status: http.StatusNotFound, code: 5001, message: "Incident Not Found", errors: []string{"Incident " + c.path("id") + " not found"}}
	}
	return inc, nil
}

func (f *Fake) hGetIncident(c *rctx) (int, any, *apiError) {
	inc, aerr := f.incidentOr404(c)
	if aerr != nil {
		return 0, nil, aerr
	}
	return http.StatusOK, map[string]any{"incident": c.renderIncident(inc, c.qs("include[]"))}, nil
}

func (f *Fake) hListIncidents(c *rctx) (int, any, *apiError) {
	statuses := c.qs("statuses[]")
	services := c.qs("service_ids[]")
	teams := c.qs("team_ids[]")
	users := c.qs("user_ids[]")
	urgencies := c.qs("urgencies[]")
	key := c.q("incident_key")
	all := c.q("date_range") == "all"
	var since, until time.Time
	if !all {
		var hasSince, hasUntil bool
		var aerr *apiError
		if since, hasSince, aerr = c.qtime("since"); aerr != nil {
			return 0, nil, aerr
		}
		if until, hasUntil, aerr = c.qtime("until"); aerr != nil {
			return 0, nil, aerr
		}
		switch {
		case !hasSince && !hasUntil:
			until = c.now
			since = until.Add(-defaultIncidentListRange)
		case !hasSince:
			since = until.Add(-defaultIncidentListRange)
		case !hasUntil:
			until = since.Add(defaultIncidentListRange)
		}
		if until.Before(since) || until.Sub(since) > 183*24*time.Hour {
			return 0, nil, &apiError{status: http.StatusBadRequest, code: 2005, message: "Invalid Query Date Range", errors: []string{"the range must be positive and at most 6 months"}}
		}
	}
	var list []*Incident
	for _, id := range f.incidentOrder {
		inc := f.incidents[id]
		if len(statuses) > 0 && !contains(statuses, inc.Status) {
			continue
		}
		if len(services) > 0 && !contains(services, inc.ServiceID) {
			continue
		}
		if len(teams) > 0 && !intersects(inc.TeamIDs, teams) {
			continue
		}
		if len(urgencies) > 0 && !contains(urgencies, inc.Urgency) {
			continue
		}
		if key != "" && inc.IncidentKey != key {
			continue
		}
		if len(users) > 0 {
			hit := false
			for _, a := range inc.Assignments {
				hit = hit || contains(users, a.UserID)
			}
			if !hit {
				continue
			}
		}
		if !all && (inc.CreatedAt.Before(since) || inc.CreatedAt.After(until)) {
			continue
		}
		list = append(list, inc)
	}
	if aerr := sortIncidents(list, c.qs("sort_by")); aerr != nil {
		return 0, nil, aerr
	}
	include := c.qs("include[]")
	items := []any{}
	for _, inc := range list {
		items = append(items, c.renderIncident(inc, include))
	}
	out, aerr := c.page("incidents", items)
	return http.StatusOK, out, aerr
}

func sortIncidents(list []*Incident, sortBy []string) *apiError {
	var keys []string
	for _, s := range sortBy {
		for _, k := range strings.Split(s, ",") {
			if k = strings.TrimSpace(k); k != "" {
				keys = append(keys, k)
			}
		}
	}
	if len(keys) > 2 {
		return badRequest("sort_by takes at most two fields")
	}
	type cmp func(a, b *Incident) int
	var cmps []cmp
	for _, k := range keys {
		field, dir, _ := strings.Cut(k, ":")
		sign := 1
		switch dir {
		case "", "asc":
		case "desc":
			sign = -1
		default:
			return badRequest(fmt.Sprintf("sort_by %q: direction must be asc or desc", k))
		}
		var fn cmp
		switch field {
		case "incident_number":
			fn = func(a, b *Incident) int { return a.Number - b.Number }
		case "created_at":
			fn = func(a, b *Incident) int { return a.CreatedAt.Compare(b.CreatedAt) }
		case "resolved_at":
			fn = func(a, b *Incident) int { return a.ResolvedAt.Compare(b.ResolvedAt) }
		case "urgency":
			fn = func(a, b *Incident) int { return strings.Compare(a.Urgency, b.Urgency) }
		default:
			return badRequest(fmt.Sprintf("sort_by %q: unknown field", k))
		}
		cmps = append(cmps, func(a, b *Incident) int { return sign * fn(a, b) })
	}
	cmps = append(cmps, func(a, b *Incident) int { return a.Number - b.Number })
	sort.SliceStable(list, func(i, j int) bool {
		for _, fn := range cmps {
			if d := fn(list[i], list[j]); d != 0 {
				return d < 0
			}
		}
		return false
	})
	return nil
}

func (f *Fake) hCreateIncident(c *rctx) (int, any, *apiError) {
	actor, aerr := c.actor()
	if aerr != nil {
		return 0, nil, aerr
	}
	var body struct {
		Incident struct {
			Title            string `json:"title"`
			Service          refIn  `json:"service"`
			Priority         *refIn `json:"priority"`
			Urgency          string `json:"urgency"`
			IncidentKey      string `json:"incident_key"`
			EscalationPolicy *refIn `json:"escalation_policy"`
			Body             *struct {
				Details any `json:"details"`
			} `json:"body"`
			Assignments []struct {
				Assignee refIn `json:"assignee"`
			} `json:"assignments"`
		} `json:"incident"`
	}
	if aerr := c.decode(&body); aerr != nil {
		return 0, nil, aerr
	}
	in := body.Incident
	svc := f.services[in.Service.ID]
	if svc == nil {
		return 0, nil, &apiError{status: http.StatusBadRequest, code: 5002, message: "Service Not Found", errors: []string{fmt.Sprintf("service %q not found", in.Service.ID)}}
	}
	if in.Title == "" {
		return 0, nil, badRequest("title is required")
	}
	if len(in.Assignments) > 0 && in.EscalationPolicy != nil {
		return 0, nil, badRequest("Specify either assignments or an escalation_policy, not both")
	}
	inc := &Incident{
		ID:                 f.newID("Q"),
		Title:              in.Title,
		Status:             StatusTriggered,
		Urgency:            in.Urgency,
		ServiceID:          svc.ID,
		EscalationPolicyID: svc.EscalationPolicyID,
		IncidentKey:        in.IncidentKey,
		CreatedAt:          c.now,
		UpdatedAt:          c.now,
		LastStatusChangeAt: c.now,
		LastStatusChangeBy: actor.ID,
	}
	if inc.Urgency == "" {
		inc.Urgency = "high"
	}
	if in.Priority != nil && in.Priority.ID != "" {
		if f.priorities[in.Priority.ID] == nil {
			return 0, nil, &apiError{status: http.StatusBadRequest, code: 1020, message: "Invalid Priority", errors: []string{fmt.Sprintf("priority %q not found", in.Priority.ID)}}
		}
		inc.PriorityID = in.Priority.ID
	}
	if in.EscalationPolicy != nil {
		if f.eps[in.EscalationPolicy.ID] == nil {
			return 0, nil, &apiError{status: http.StatusBadRequest, code: 1014, message: "Escalation Policy Not Found", errors: []string{fmt.Sprintf("escalation policy %q not found", in.EscalationPolicy.ID)}}
		}
		inc.EscalationPolicyID = in.EscalationPolicy.ID
	}
	var assignees []string
	for _, a := range in.Assignments {
		if f.users[a.Assignee.ID] == nil {
			return 0, nil, &apiError{status: http.StatusBadRequest, code: 1007, message: "Assigned To User Not Found", errors: []string{fmt.Sprintf("user %q not found", a.Assignee.ID)}}
		}
		if !contains(assignees, a.Assignee.ID) {
			assignees = append(assignees, a.Assignee.ID)
		}
	}
	if in.Body != nil && in.Body.Details != nil {
		switch d := in.Body.Details.(type) {
		case map[string]any:
			inc.Details = d
		case string:
			// PagerDuty echoes a string body as a string; the map form keeps assertions simple.
			inc.Details = map[string]any{"details": d}
			inc.DetailsText = d
		default:
			inc.Details = map[string]any{"details": d}
		}
	}
	if inc.IncidentKey == "" {
		h := sha1.Sum([]byte(inc.ID))
		inc.IncidentKey = hex.EncodeToString(h[:16])
	}
	if ep := f.eps[inc.EscalationPolicyID]; ep != nil && len(ep.TeamIDs) > 0 {
		inc.TeamIDs = append([]string(nil), ep.TeamIDs...)
	} else {
		inc.TeamIDs = append([]string(nil), svc.TeamIDs...)
	}
	if len(assignees) > 0 {
		inc.AssignedVia = "direct_assignment"
	} else {
		inc.AssignedVia = "escalation_policy"
		inc.EscalationLevel = 1
		assignees = f.oncallUsersAt(inc.EscalationPolicyID, 1, c.now)
	}
	f.assignVia(inc, assignees, c.now)
	f.incidentSeq++
	inc.Number = f.incidentSeq
	f.addLog(inc, "trigger_log_entry", actor.ID, "", nil, c.now)
	f.incidents[inc.ID] = inc
	f.incidentOrder = append(f.incidentOrder, inc.ID)
	return http.StatusCreated, map[string]any{"incident": c.renderIncident(inc, nil)}, nil
}

func (f *Fake) hUpdateIncident(c *rctx) (int, any, *apiError) {
	inc, aerr := f.incidentOr404(c)
	if aerr != nil {
		return 0, nil, aerr
	}
	actor, aerr := c.actor()
	if aerr != nil {
		return 0, nil, aerr
	}
	var body struct {
		Incident incidentUpdate `json:"incident"`
	}
	if aerr := c.decode(&body); aerr != nil {
		return 0, nil, aerr
	}
	if aerr := f.applyUpdate(inc, body.Incident, actor, c.now); aerr != nil {
		return 0, nil, aerr
	}
	return http.StatusOK, map[string]any{"incident": c.renderIncident(inc, nil)}, nil
}

func (f *Fake) hBulkUpdateIncidents(c *rctx) (int, any, *apiError) {
	actor, aerr := c.actor()
	if aerr != nil {
		return 0, nil, aerr
	}
	var body struct {
		Incidents []incidentUpdate `json:"incidents"`
	}
	if aerr := c.decode(&body); aerr != nil {
		return 0, nil, aerr
	}
	if len(body.Incidents) > 250 {
		return 0, nil, &apiError{status: http.StatusRequestEntityTooLarge, code: 2001, message: "Too many incidents", errors: []string{"at most 250 incidents per request"}}
	}
	for _, u := range body.Incidents {
		if f.incidents[u.ID] == nil {
			return 0, nil, &apiError{status: http.StatusNotFound, code: 5001, message: "Incident Not Found", errors: []string{"Incident " + u.ID + " not found"}}
		}
	}
	items := []any{}
	for _, u := range body.Incidents {
		inc := f.incidents[u.ID]
		if aerr := f.applyUpdate(inc, u, actor, c.now); aerr != nil {
			return 0, nil, aerr
		}
		items = append(items, c.renderIncident(inc, nil))
	}
	return http.StatusOK, map[string]any{"incidents": items, "limit": len(items), "offset": 0, "more": false, "total": nil}, nil
}

func (c *rctx) renderNote(n Note) map[string]any {
	return map[string]any{
		"id":         n.ID,
		"user":       c.f.userRef(n.UserID),
		"channel":    map[string]any{"summary": "The PagerDuty website or APIs"},
		"content":    n.Content,
		"created_at": c.ts(n.CreatedAt),
	}
}

func (f *Fake) hListNotes(c *rctx) (int, any, *apiError) {
	inc, aerr := f.incidentOr404(c)
	if aerr != nil {
		return 0, nil, aerr
	}
	notes := []any{}
	for _, n := range inc.Notes {
		notes = append(notes, c.renderNote(n))
	}
	return http.StatusOK, map[string]any{"notes": notes}, nil
}

func (f *Fake) hCreateNote(c *rctx) (int, any, *apiError) {
	inc, aerr := f.incidentOr404(c)
	if aerr != nil {
		return 0, nil, aerr
	}
	actor, aerr := c.actor()
	if aerr != nil {
		return 0, nil, aerr
	}
	var body struct {
		Note struct {
			Content string `json:"content"`
		} `json:"note"`
	}
	if aerr := c.decode(&body); aerr != nil {
		return 0, nil, aerr
	}
	if strings.TrimSpace(body.Note.Content) == "" {
		return 0, nil, badRequest("note content must not be empty")
	}
	n := Note{ID: f.newID("P"), UserID: actor.ID, Content: body.Note.Content, CreatedAt: c.now}
	inc.Notes = append(inc.Notes, n)
	f.addLog(inc, "annotate_log_entry", actor.ID, n.Content, nil, c.now)
	return http.StatusOK, map[string]any{"note": c.renderNote(n)}, nil
}

func (f *Fake) hListLogEntries(c *rctx) (int, any, *apiError) {
	inc, aerr := f.incidentOr404(c)
	if aerr != nil {
		return 0, nil, aerr
	}
	since, hasSince, aerr := c.qtime("since")
	if aerr != nil {
		return 0, nil, aerr
	}
	until, hasUntil, aerr := c.qtime("until")
	if aerr != nil {
		return 0, nil, aerr
	}
	items := []any{}
	for i := len(inc.LogEntries) - 1; i >= 0; i-- { // newest first, as PagerDuty lists them
		le := inc.LogEntries[i]
		if hasSince && le.CreatedAt.Before(since) || hasUntil && le.CreatedAt.After(until) {
			continue
		}
		items = append(items, c.renderLogEntry(inc, le))
	}
	out, aerr := c.page("log_entries", items)
	return http.StatusOK, out, aerr
}

func (f *Fake) hSnooze(c *rctx) (int, any, *apiError) {
	inc, aerr := f.incidentOr404(c)
	if aerr != nil {
		return 0, nil, aerr
	}
	actor, aerr := c.actor()
	if aerr != nil {
		return 0, nil, aerr
	}
	var body struct {
		Duration int `json:"duration"`
	}
	if aerr := c.decode(&body); aerr != nil {
		return 0, nil, aerr
	}
	if inc.Status != StatusAcknowledged {
		return 0, nil, &apiError{status: http.StatusBadRequest, code: 1012, message: "Incident is not Acknowledged", errors: []string{"only an acknowledged incident can be snoozed"}}
	}
	if body.Duration < 1 || body.Duration > 604800 {
		return 0, nil, &apiError{status: http.StatusBadRequest, code: 1013, message: "Snooze Duration is Invalid", errors: []string{"duration must be 1..604800 seconds"}}
	}
	inc.SnoozedUntil = c.now.Add(time.Duration(body.Duration) * time.Second)
	f.addLog(inc, "snooze_log_entry", actor.ID, "", nil, c.now)
	return http.StatusCreated, map[string]any{"incident": c.renderIncident(inc, nil)}, nil
}

func (f *Fake) hResponderRequest(c *rctx) (int, any, *apiError) {
	inc, aerr := f.incidentOr404(c)
	if aerr != nil {
		return 0, nil, aerr
	}
	var body struct {
		RequesterID string `json:"requester_id"`
		Message     string `json:"message"`
		Targets     []struct {
			Target refIn `json:"responder_request_target"`
		} `json:"responder_request_targets"`
	}
	if aerr := c.decode(&body); aerr != nil {
		return 0, nil, aerr
	}
	if f.users[body.RequesterID] == nil {
		return 0, nil, &apiError{status: http.StatusBadRequest, code: 1008, message: "Requester User Not Found", errors: []string{fmt.Sprintf("user %q not found", body.RequesterID)}}
	}
	if c.auth.kind == AuthUserToken && c.auth.userID != body.RequesterID {
		return 0, nil, forbidden("requester_id must be the token's user")
	}
	if len(body.Targets) == 0 {
		return 0, nil, badRequest("responder_request_targets must not be empty")
	}
	if inc.Status == StatusResolved {
		return 0, nil, alreadyResolved(inc)
	}
	rr := ResponderRequest{ID: f.newID("P"), RequesterID: body.RequesterID, Message: body.Message, RequestedAt: c.now}
	for _, t := range body.Targets {
		rt := ResponderTarget{Type: t.Target.Type, ID: t.Target.ID, State: "pending"}
		switch t.Target.Type {
		case "user_reference", "user":
			if f.users[t.Target.ID] == nil {
				return 0, nil, badRequest(fmt.Sprintf("user %q not found", t.Target.ID))
			}
			rt.Type = "user_reference"
			rt.UserIDs = []string{t.Target.ID}
		case "escalation_policy_reference", "escalation_policy":
			if f.eps[t.Target.ID] == nil {
				return 0, nil, badRequest(fmt.Sprintf("escalation policy %q not found", t.Target.ID))
			}
			rt.Type = "escalation_policy_reference"
			rt.UserIDs = f.oncallUsersAt(t.Target.ID, 1, c.now)
		default:
			return 0, nil, badRequest(fmt.Sprintf("responder_request_target type %q must be user_reference or escalation_policy_reference", t.Target.Type))
		}
		rr.Targets = append(rr.Targets, rt)
	}
	inc.ResponderRequests = append(inc.ResponderRequests, rr)
	inc.UpdatedAt = c.now
	return http.StatusOK, map[string]any{"responder_request": c.renderResponderRequest(inc, rr)}, nil
}

func (f *Fake) hStatusUpdate(c *rctx) (int, any, *apiError) {
	inc, aerr := f.incidentOr404(c)
	if aerr != nil {
		return 0, nil, aerr
	}
	actor, aerr := c.actor()
	if aerr != nil {
		return 0, nil, aerr
	}
	var body struct {
		Message     string `json:"message"`
		Subject     string `json:"subject"`
		HTMLMessage string `json:"html_message"`
	}
	if aerr := c.decode(&body); aerr != nil {
		return 0, nil, aerr
	}
	if strings.TrimSpace(body.Message) == "" {
		return 0, nil, badRequest("message must not be empty")
	}
	su := StatusUpdate{ID: f.newID("P"), SenderID: actor.ID, Message: body.Message, Subject: body.Subject, HTMLMessage: body.HTMLMessage, CreatedAt: c.now}
	inc.StatusUpdates = append(inc.StatusUpdates, su)
	inc.UpdatedAt = c.now
	m := map[string]any{
		"id":         su.ID,
		"message":    su.Message,
		"created_at": c.ts(su.CreatedAt),
		"sender":     f.userRef(su.SenderID),
	}
	if su.Subject != "" {
		m["subject"] = su.Subject
	}
	if su.HTMLMessage != "" {
		m["html_message"] = su.HTMLMessage
	}
	return http.StatusOK, map[string]any{"status_update": m}, nil
}
