package pdfake

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"sort"
	"strings"
)

// routes registers every REST operation the fake implements, by its spec pattern.
func (f *Fake) routes() {
	f.handle("GET /users", f.hListUsers)
	f.handle("GET /users/me", f.hGetMe)
	f.handle("GET /users/{id}", f.hGetUser)
	f.handle("GET /teams", f.hListTeams)
	f.handle("GET /services", f.hListServices)
	f.handle("GET /escalation_policies", f.hListEPs)
	f.handle("GET /escalation_policies/{id}", f.hGetEP)
	f.handle("GET /priorities", f.hListPriorities)

	f.handle("GET /schedules", f.hListSchedules)
	f.handle("GET /schedules/{id}", f.hGetSchedule)
	f.handle("GET /schedules/{id}/users", f.hScheduleUsers)
	f.handle("GET /schedules/{id}/overrides", f.hListOverrides)
	f.handle("POST /schedules/{id}/overrides", f.hCreateOverrides)
	f.handle("DELETE /schedules/{id}/overrides/{override_id}", f.hDeleteOverride)
	f.handle("GET /oncalls", f.hListOncalls)

	f.handle("GET /incidents", f.hListIncidents)
	f.handle("POST /incidents", f.hCreateIncident)
	f.handle("PUT /incidents", f.hBulkUpdateIncidents)
	f.handle("GET /incidents/{id}", f.hGetIncident)
	f.handle("PUT /incidents/{id}", f.hUpdateIncident)
	f.handle("GET /incidents/{id}/notes", f.hListNotes)
	f.handle("POST /incidents/{id}/notes", f.hCreateNote)
	f.handle("GET /incidents/{id}/log_entries", f.hListLogEntries)
	f.handle("POST /incidents/{id}/snooze", f.hSnooze)
	f.handle("POST /incidents/{id}/responder_requests", f.hResponderRequest)
	f.handle("POST /incidents/{id}/status_updates", f.hStatusUpdate)

	f.handle("GET /webhook_subscriptions", f.hListWebhooks)
	f.handle("POST /webhook_subscriptions", f.hCreateWebhook)
	f.handle("GET /webhook_subscriptions/{id}", f.hGetWebhook)
	f.handle("PUT /webhook_subscriptions/{id}", f.hUpdateWebhook)
	f.handle("DELETE /webhook_subscriptions/{id}", f.hDeleteWebhook)
	f.handle("POST /webhook_subscriptions/{id}/enable", f.hEnableWebhook)

	// Anything else is an operation the spec has (or the spec check would have stopped it) but the
	// fake lacks: fail the test loudly rather than let a 404 pass for "no such object".
	f.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.addViolations(r, []string{"operation not implemented by pdfake (extend internal/pdfake)"})
		writeAPIError(w, &apiError{status: http.StatusNotFound, code: 2100, message: "Not Found",
			errors: []string{"pdfake does not implement " + r.Method + " " + r.URL.Path}})
	})
}

// ---- users ----

func (f *Fake) renderUser(c *rctx, u *User) map[string]any {
	sum := md5.Sum([]byte(strings.ToLower(u.Email)))
	return map[string]any{
		"id":                 u.ID,
		"type":               "user",
		"summary":            u.Name,
		"self":               f.selfURL("user", u.ID),
		"html_url":           f.htmlURL("user", u.ID),
		"name":               u.Name,
		"email":              u.Email,
		"time_zone":          u.TimeZone,
		"color":              u.Color,
		"role":               u.Role,
		"job_title":          u.JobTitle,
		"avatar_url":         "https://secure.gravatar.com/avatar/" + hex.EncodeToString(sum[:]) + ".png?d=mm&r=PG",
		"description":        nil,
		"invitation_sent":    false,
		"teams":              f.teamRefs(u.TeamIDs),
		"contact_methods":    []any{},
		"notification_rules": []any{},
	}
}

func (f *Fake) hListUsers(c *rctx) (int, any, *apiError) {
	q := strings.ToLower(c.q("query"))
	teams := c.qs("team_ids[]")
	items := []any{}
	for _, id := range f.userOrder {
		u := f.users[id]
		if q != "" && !strings.Contains(strings.ToLower(u.Name), q) && !strings.Contains(strings.ToLower(u.Email), q) {
			continue
		}
		if len(teams) > 0 && !intersects(u.TeamIDs, teams) {
			continue
		}
		items = append(items, f.renderUser(c, u))
	}
	out, aerr := c.page("users", items)
	return http.StatusOK, out, aerr
}

func (f *Fake) hGetUser(c *rctx) (int, any, *apiError) {
	u := f.users[c.path("id")]
	if u == nil {
		return 0, nil, notFound("User")
	}
	return http.StatusOK, map[string]any{"user": f.renderUser(c, u)}, nil
}

func (f *Fake) hGetMe(c *rctx) (int, any, *apiError) {
	if c.auth.kind != AuthUserToken {
		return 0, nil, badRequest("/users/me needs a user-level token; account-level API keys and app tokens have no user")
	}
	return http.StatusOK, map[string]any{"user": f.renderUser(c, f.users[c.auth.userID])}, nil
}

// ---- teams ----

func (f *Fake) renderTeam(t *Team) map[string]any {
	return map[string]any{
		"id":          t.ID,
		"type":        "team",
		"summary":     t.Name,
		"self":        f.selfURL("team", t.ID),
		"html_url":    f.htmlURL("team", t.ID),
		"name":        t.Name,
		"description": t.Description,
	}
}

func (f *Fake) hListTeams(c *rctx) (int, any, *apiError) {
	q := strings.ToLower(c.q("query"))
	items := []any{}
	for _, id := range f.teamOrder {
		t := f.teams[id]
		if q != "" && !strings.Contains(strings.ToLower(t.Name), q) {
			continue
		}
		items = append(items, f.renderTeam(t))
	}
	out, aerr := c.page("teams", items)
	return http.StatusOK, out, aerr
}

// ---- services ----

func (f *Fake) renderService(c *rctx, s *Service) map[string]any {
	m := map[string]any{
		"id":                      s.ID,
		"type":                    "service",
		"summary":                 s.Name,
		"self":                    f.selfURL("service", s.ID),
		"html_url":                f.htmlURL("service", s.ID),
		"name":                    s.Name,
		"description":             s.Description,
		"status":                  s.Status,
		"created_at":              c.ts(s.CreatedAt),
		"auto_resolve_timeout":    14400,
		"acknowledgement_timeout": 1800,
		"alert_creation":          "create_alerts_and_incidents",
		"teams":                   f.teamRefs(s.TeamIDs),
		"integrations":            []any{},
		"incident_urgency_rule":   map[string]any{"type": "constant", "urgency": "high"},
	}
	if ep := f.eps[s.EscalationPolicyID]; ep != nil {
		m["escalation_policy"] = f.ref("escalation_policy", ep.ID, ep.Name)
	}
	var last string
	for _, id := range f.incidentOrder {
		if inc := f.incidents[id]; inc.ServiceID == s.ID {
			last = inc.CreatedAt.In(c.tz).Format(timeLayout)
		}
	}
	if last != "" {
		m["last_incident_timestamp"] = last
	}
	return m
}

func (f *Fake) hListServices(c *rctx) (int, any, *apiError) {
	q := strings.ToLower(c.q("query"))
	name := c.q("name")
	teams := c.qs("team_ids[]")
	var list []*Service
	for _, id := range f.serviceOrder {
		s := f.services[id]
		if q != "" && !strings.Contains(strings.ToLower(s.Name), q) {
			continue
		}
		if name != "" && s.Name != name {
			continue
		}
		if len(teams) > 0 && !intersects(s.TeamIDs, teams) {
			continue
		}
		list = append(list, s)
	}
	desc := c.q("sort_by") == "name:desc"
	sort.SliceStable(list, func(i, j int) bool {
		if desc {
			return strings.ToLower(list[i].Name) > strings.ToLower(list[j].Name)
		}
		return strings.ToLower(list[i].Name) < strings.ToLower(list[j].Name)
	})
	items := []any{}
	for _, s := range list {
		items = append(items, f.renderService(c, s))
	}
	out, aerr := c.page("services", items)
	return http.StatusOK, out, aerr
}

// ---- escalation policies ----

func (f *Fake) renderEP(c *rctx, ep *EscalationPolicy) map[string]any {
	rules := []any{}
	for _, r := range ep.Rules {
		targets := []any{}
		for _, t := range r.Targets {
			switch t.Type {
			case TargetUser:
				targets = append(targets, f.userRef(t.ID))
			case TargetSchedule:
				name := t.ID
				if s := f.schedules[t.ID]; s != nil {
					name = s.Name
				}
				targets = append(targets, f.ref("schedule", t.ID, name))
			}
		}
		rules = append(rules, map[string]any{
			"id":                          r.ID,
			"escalation_delay_in_minutes": r.DelayMinutes,
			"targets":                     targets,
		})
	}
	services := []any{}
	for _, id := range f.serviceOrder {
		if s := f.services[id]; s.EscalationPolicyID == ep.ID {
			services = append(services, f.ref("service", s.ID, s.Name))
		}
	}
	return map[string]any{
		"id":                            ep.ID,
		"type":                          "escalation_policy",
		"summary":                       ep.Name,
		"self":                          f.selfURL("escalation_policy", ep.ID),
		"html_url":                      f.htmlURL("escalation_policy", ep.ID),
		"name":                          ep.Name,
		"description":                   ep.Description,
		"num_loops":                     ep.NumLoops,
		"on_call_handoff_notifications": "if_has_services",
		"escalation_rules":              rules,
		"services":                      services,
		"teams":                         f.teamRefs(ep.TeamIDs),
	}
}

// epTargetsUser: the user is a direct target or appears on a targeted schedule.
func (f *Fake) epTargetsUser(ep *EscalationPolicy, userID string) bool {
	for _, r := range ep.Rules {
		for _, t := range r.Targets {
			if t.Type == TargetUser && t.ID == userID {
				return true
			}
			if t.Type == TargetSchedule {
				if s := f.schedules[t.ID]; s != nil && scheduleHasUser(s, userID) {
					return true
				}
			}
		}
	}
	return false
}

func scheduleHasUser(s *Schedule, userID string) bool {
	for _, e := range s.Entries {
		if e.UserID == userID {
			return true
		}
	}
	for _, o := range s.Overrides {
		if o.UserID == userID {
			return true
		}
	}
	return false
}

func (f *Fake) hListEPs(c *rctx) (int, any, *apiError) {
	q := strings.ToLower(c.q("query"))
	users := c.qs("user_ids[]")
	teams := c.qs("team_ids[]")
	var list []*EscalationPolicy
	for _, id := range f.epOrder {
		ep := f.eps[id]
		if q != "" && !strings.Contains(strings.ToLower(ep.Name), q) {
			continue
		}
		if len(teams) > 0 && !intersects(ep.TeamIDs, teams) {
			continue
		}
		if len(users) > 0 {
			hit := false
			for _, u := range users {
				hit = hit || f.epTargetsUser(ep, u)
			}
			if !hit {
				continue
			}
		}
		list = append(list, ep)
	}
	desc := c.q("sort_by") == "name:desc"
	sort.SliceStable(list, func(i, j int) bool {
		if desc {
			return strings.ToLower(list[i].Name) > strings.ToLower(list[j].Name)
		}
		return strings.ToLower(list[i].Name) < strings.ToLower(list[j].Name)
	})
	items := []any{}
	for _, ep := range list {
		items = append(items, f.renderEP(c, ep))
	}
	out, aerr := c.page("escalation_policies", items)
	return http.StatusOK, out, aerr
}

func (f *Fake) hGetEP(c *rctx) (int, any, *apiError) {
	ep := f.eps[c.path("id")]
	if ep == nil {
		return 0, nil, notFound("Escalation Policy")
	}
	return http.StatusOK, map[string]any{"escalation_policy": f.renderEP(c, ep)}, nil
}

// ---- priorities ----

func (f *Fake) renderPriority(p *Priority) map[string]any {
	return map[string]any{
		"id":          p.ID,
		"type":        "priority",
		"summary":     p.Name,
		"self":        f.selfURL("priority", p.ID),
		"html_url":    f.htmlURL("priority", p.ID),
		"name":        p.Name,
		"description": p.Description,
		"color":       p.Color,
	}
}

func (f *Fake) hListPriorities(c *rctx) (int, any, *apiError) {
	items := []any{}
	for _, id := range f.priorityOrder {
		items = append(items, f.renderPriority(f.priorities[id]))
	}
	out, aerr := c.page("priorities", items)
	return http.StatusOK, out, aerr
}
