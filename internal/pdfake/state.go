package pdfake

import (
	"fmt"
	"strings"
	"time"
)

// AddAPIKey registers an account-level REST API key ("Authorization: Token token=KEY").
func (f *Fake) AddAPIKey(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.apiKeys[key] = true
}

// DenyUser makes the user get 403 on op, the spec's "METHOD /path/{param}" (e.g.
// "PUT /incidents/{id}"), or on every write with op "*". It applies to the user acting through
// their token or named in From.
func (f *Fake) DenyUser(userID, op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.denials[userID] == nil {
		f.denials[userID] = map[string]bool{}
	}
	f.denials[userID][op] = true
}

// ClearDenials undoes every DenyUser.
func (f *Fake) ClearDenials() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.denials = map[string]map[string]bool{}
}

// AddUser adds a user and returns its ID (generated when empty).
func (f *Fake) AddUser(u User) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u.ID == "" {
		u.ID = f.newID("P")
	}
	if u.Name == "" {
		u.Name = "User " + u.ID
	}
	if u.Email == "" {
		u.Email = strings.ToLower(strings.ReplaceAll(u.Name, " ", ".")) + "@example.com"
	}
	if u.TimeZone == "" {
		u.TimeZone = defaultUserTimeZone
	}
	if u.Role == "" {
		u.Role = RoleUser
	}
	if u.Color == "" {
		u.Color = "purple"
	}
	u.TeamIDs = append([]string(nil), u.TeamIDs...)
	if f.users[u.ID] == nil {
		f.userOrder = append(f.userOrder, u.ID)
	}
	f.users[u.ID] = &u
	return u.ID
}

// AddTeam adds a team and returns its ID.
func (f *Fake) AddTeam(t Team) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.ID == "" {
		t.ID = f.newID("P")
	}
	if t.Name == "" {
		t.Name = "Team " + t.ID
	}
	if f.teams[t.ID] == nil {
		f.teamOrder = append(f.teamOrder, t.ID)
	}
	f.teams[t.ID] = &t
	return t.ID
}

// AddEscalationPolicy adds a policy and returns its ID.
func (f *Fake) AddEscalationPolicy(ep EscalationPolicy) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ep.ID == "" {
		ep.ID = f.newID("P")
	}
	if ep.Name == "" {
		ep.Name = "Escalation Policy " + ep.ID
	}
	ep.Rules = deepCopy(ep.Rules)
	for i := range ep.Rules {
		if ep.Rules[i].ID == "" {
			ep.Rules[i].ID = f.newID("P")
		}
		if ep.Rules[i].DelayMinutes == 0 {
			ep.Rules[i].DelayMinutes = 30
		}
	}
	ep.TeamIDs = append([]string(nil), ep.TeamIDs...)
	if f.eps[ep.ID] == nil {
		f.epOrder = append(f.epOrder, ep.ID)
	}
	f.eps[ep.ID] = &ep
	return ep.ID
}

// AddService adds a service and returns its ID.
func (f *Fake) AddService(s Service) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s.ID == "" {
		s.ID = f.newID("P")
	}
	if s.Name == "" {
		s.Name = "Service " + s.ID
	}
	if s.Status == "" {
		s.Status = "active"
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = f.clock().Add(-90 * 24 * time.Hour)
	}
	s.TeamIDs = append([]string(nil), s.TeamIDs...)
	if f.services[s.ID] == nil {
		f.serviceOrder = append(f.serviceOrder, s.ID)
	}
	f.services[s.ID] = &s
	return s.ID
}

// AddSchedule adds a schedule (with its entries and overrides) and returns its ID.
func (f *Fake) AddSchedule(s Schedule) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s.ID == "" {
		s.ID = f.newID("P")
	}
	if s.Name == "" {
		s.Name = "Schedule " + s.ID
	}
	if s.TimeZone == "" {
		s.TimeZone = defaultUserTimeZone
	}
	s = deepCopy(s)
	for i := range s.Overrides {
		if s.Overrides[i].ID == "" {
			s.Overrides[i].ID = f.newID("P")
		}
	}
	if f.schedules[s.ID] == nil {
		f.scheduleOrder = append(f.scheduleOrder, s.ID)
	}
	f.schedules[s.ID] = &s
	return s.ID
}

// AddScheduleEntries appends shifts to a schedule.
func (f *Fake) AddScheduleEntries(scheduleID string, entries ...ScheduleEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.schedules[scheduleID]
	if s == nil {
		return fmt.Errorf("pdfake: no schedule %q", scheduleID)
	}
	s.Entries = append(s.Entries, entries...)
	return nil
}

// AddOverride adds an override to a schedule and returns its ID.
func (f *Fake) AddOverride(scheduleID string, o Override) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.schedules[scheduleID]
	if s == nil {
		return "", fmt.Errorf("pdfake: no schedule %q", scheduleID)
	}
	if o.ID == "" {
		o.ID = f.newID("P")
	}
	s.Overrides = append(s.Overrides, o)
	return o.ID, nil
}

// AddPriority adds an incident priority and returns its ID.
func (f *Fake) AddPriority(p Priority) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p.ID == "" {
		p.ID = f.newID("P")
	}
	if f.priorities[p.ID] == nil {
		f.priorityOrder = append(f.priorityOrder, p.ID)
	}
	f.priorities[p.ID] = &p
	return p.ID
}

// AddIncident stores an incident as given (filling ID, Number, status, timestamps and a trigger
// log entry when missing), for tests that need existing incidents without going through the API.
func (f *Fake) AddIncident(inc Incident) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	inc = deepCopy(inc)
	now := f.clock()
	if inc.ID == "" {
		inc.ID = f.newID("Q")
	}
	if inc.Number == 0 {
		f.incidentSeq++
		inc.Number = f.incidentSeq
	} else if inc.Number > f.incidentSeq {
		f.incidentSeq = inc.Number
	}
	if inc.Status == "" {
		inc.Status = StatusTriggered
	}
	if inc.Urgency == "" {
		inc.Urgency = "high"
	}
	if inc.Title == "" {
		inc.Title = "Incident " + inc.ID
	}
	if inc.CreatedAt.IsZero() {
		inc.CreatedAt = now
	}
	if inc.UpdatedAt.IsZero() {
		inc.UpdatedAt = inc.CreatedAt
	}
	if inc.LastStatusChangeAt.IsZero() {
		inc.LastStatusChangeAt = inc.CreatedAt
	}
	if s := f.services[inc.ServiceID]; s != nil {
		if inc.EscalationPolicyID == "" {
			inc.EscalationPolicyID = s.EscalationPolicyID
		}
		if inc.TeamIDs == nil {
			inc.TeamIDs = append([]string(nil), s.TeamIDs...)
		}
	}
	if inc.AssignedVia == "" {
		inc.AssignedVia = "escalation_policy"
	}
	if inc.IncidentKey == "" {
		inc.IncidentKey = strings.ToLower(inc.ID) + "-key"
	}
	if inc.Status == StatusResolved && inc.ResolvedAt.IsZero() {
		inc.ResolvedAt = inc.LastStatusChangeAt
	}
	if len(inc.LogEntries) == 0 {
		updated := inc.UpdatedAt
		f.addLog(&inc, "trigger_log_entry", "", "", nil, inc.CreatedAt)
		inc.UpdatedAt = updated
	}
	for i := range inc.LogEntries {
		if inc.LogEntries[i].ID == "" {
			inc.LogEntries[i].ID = f.newID("R")
		}
	}
	if f.incidents[inc.ID] == nil {
		f.incidentOrder = append(f.incidentOrder, inc.ID)
	}
	f.incidents[inc.ID] = &inc
	return inc.ID
}

// Incident returns a deep copy of an incident for assertions.
func (f *Fake) Incident(id string) (Incident, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applyDueActions(f.clock())
	inc := f.incidents[id]
	if inc == nil {
		return Incident{}, false
	}
	return deepCopy(*inc), true
}

// Incidents returns copies of all incidents in creation order.
func (f *Fake) Incidents() []Incident {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applyDueActions(f.clock())
	out := []Incident{}
	for _, id := range f.incidentOrder {
		out = append(out, deepCopy(*f.incidents[id]))
	}
	return out
}

// Schedule returns a deep copy of a schedule (entries and overrides) for assertions.
func (f *Fake) Schedule(id string) (Schedule, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.schedules[id]
	if s == nil {
		return Schedule{}, false
	}
	return deepCopy(*s), true
}

// User returns a copy of a user.
func (f *Fake) User(id string) (User, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.users[id]
	if u == nil {
		return User{}, false
	}
	return deepCopy(*u), true
}

// SetUserRole changes a user's role, e.g. to observer to provoke 403s on writes.
func (f *Fake) SetUserRole(userID, role string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.users[userID]
	if u == nil {
		return fmt.Errorf("pdfake: no user %q", userID)
	}
	u.Role = role
	return nil
}

// OnCallNow lists the user IDs on call at an escalation level (1-based) at t, as GET /oncalls
// would compute them; handy for assertions.
func (f *Fake) OnCallNow(epID string, level int, t time.Time) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.oncallUsersAt(epID, level, t)
}
