package pdfake

import (
	"encoding/json"
	"time"
)

// Roles a PagerDuty user can have. Users whose role is in readOnlyRoles get 403 on writes made
// with their own (OAuth user) token.
const (
	RoleOwner                = "owner"
	RoleAdmin                = "admin"
	RoleUser                 = "user"
	RoleLimitedUser          = "limited_user"
	RoleObserver             = "observer"
	RoleRestrictedAccess     = "restricted_access"
	RoleReadOnlyUser         = "read_only_user"
	RoleReadOnlyLimitedUser  = "read_only_limited_user"
	defaultUserTimeZone      = "Etc/UTC"
	defaultScheduleTurnLen   = 7 * 24 * time.Hour
	defaultIncidentListRange = 30 * 24 * time.Hour
)

var readOnlyRoles = map[string]bool{
	RoleObserver:            true,
	RoleRestrictedAccess:    true,
	RoleReadOnlyUser:        true,
	RoleReadOnlyLimitedUser: true,
}

// Incident statuses.
const (
	StatusTriggered    = "triggered"
	StatusAcknowledged = "acknowledged"
	StatusResolved     = "resolved"
)

// User is a PagerDuty user. Tests identify actors by ID; writes with an API key find the actor by
// Email (the From header).
type User struct {
	ID       string
	Name     string
	Email    string
	TimeZone string // IANA name; default Etc/UTC
	Role     string // one of the Role* constants; default "user"
	JobTitle string
	Color    string
	TeamIDs  []string
}

// Team is a PagerDuty team.
type Team struct {
	ID          string
	Name        string
	Description string
}

// Service is a PagerDuty service; its escalation policy decides who new incidents go to.
type Service struct {
	ID                 string
	Name               string
	Description        string
	EscalationPolicyID string
	TeamIDs            []string
	Status             string // default "active"
	CreatedAt          time.Time
}

// EscalationPolicy is an ordered list of levels (rules); level N is Rules[N-1].
type EscalationPolicy struct {
	ID          string
	Name        string
	Description string
	NumLoops    int
	Rules       []EscalationRule
	TeamIDs     []string
}

// EscalationRule is one escalation level.
type EscalationRule struct {
	ID           string
	DelayMinutes int // default 30
	Targets      []Target
}

// Target is an escalation target: a user (always on call at its level) or a schedule.
type Target struct {
	Type string // TargetUser or TargetSchedule
	ID   string
}

// Escalation target kinds.
const (
	TargetUser     = "user"
	TargetSchedule = "schedule"
)

// UserTarget and ScheduleTarget build escalation targets tersely in tests.
func UserTarget(id string) Target     { return Target{Type: TargetUser, ID: id} }
func ScheduleTarget(id string) Target { return Target{Type: TargetSchedule, ID: id} }

// Schedule reduces PagerDuty's layers to a flat list of shifts plus overrides; overrides win
// where they overlap a shift.
type Schedule struct {
	ID          string
	Name        string
	Description string
	TimeZone    string // IANA name; default Etc/UTC
	TeamIDs     []string
	Entries     []ScheduleEntry
	Overrides   []Override
	// TurnLength is only echoed as the rendered layer's rotation_turn_length_seconds.
	TurnLength time.Duration
}

// ScheduleEntry is one shift of the (single) rendered layer.
type ScheduleEntry struct {
	UserID string
	Start  time.Time
	End    time.Time
}

// Override replaces whoever is on the schedule between Start and End.
type Override struct {
	ID     string
	UserID string
	Start  time.Time
	End    time.Time
}

// Priority is an incident priority (P1..P5 after Seed).
type Priority struct {
	ID          string
	Name        string
	Description string
	Color       string
}

// Incident is the fake's record of an incident; Incident(id) returns a deep copy for assertions.
type Incident struct {
	ID                 string
	Number             int
	Title              string
	Status             string
	Urgency            string
	ServiceID          string
	EscalationPolicyID string
	EscalationLevel    int // 1-based, 0 when directly assigned
	PriorityID         string
	TeamIDs            []string
	Assignments        []Assignment
	Acknowledgements   []Acknowledgement
	AssignedVia        string // "escalation_policy" or "direct_assignment"
	IncidentKey        string
	Details            map[string]any
	DetailsText        string // set when the body's details came as a string (then echoed as one)
	CreatedAt          time.Time
	UpdatedAt          time.Time
	LastStatusChangeAt time.Time
	LastStatusChangeBy string // user ID; empty for the service
	ResolvedAt         time.Time
	SnoozedUntil       time.Time // non-zero while snoozed
	Notes              []Note
	LogEntries         []LogEntry
	StatusUpdates      []StatusUpdate
	ResponderRequests  []ResponderRequest
}

// Assignment is one current assignee.
type Assignment struct {
	UserID string
	At     time.Time
}

// Acknowledgement records who acknowledged and when.
type Acknowledgement struct {
	UserID string
	At     time.Time
}

// Note is an incident note.
type Note struct {
	ID        string
	UserID    string
	Content   string
	CreatedAt time.Time
}

// LogEntry is an incident log entry; Type is PagerDuty's (trigger_log_entry, acknowledge_log_entry…).
type LogEntry struct {
	ID          string
	Type        string
	CreatedAt   time.Time
	AgentID     string // user ID; empty means the service
	Note        string
	AssigneeIDs []string
	Summary     string
}

// StatusUpdate is a status update posted on an incident.
type StatusUpdate struct {
	ID          string
	SenderID    string
	Message     string
	Subject     string
	HTMLMessage string
	CreatedAt   time.Time
}

// ResponderRequest is a request for more responders.
type ResponderRequest struct {
	ID          string
	RequesterID string
	Message     string
	RequestedAt time.Time
	Targets     []ResponderTarget
}

// ResponderTarget is a user or escalation policy asked to respond; State is pending until changed.
type ResponderTarget struct {
	Type    string // "user_reference" or "escalation_policy_reference"
	ID      string
	UserIDs []string // the users asked (the target itself, or the policy's level-1 on-calls)
	State   string
}

// WebhookSubscription is a V3 webhook subscription. Secret signs deliveries; the API shows it only
// in the create reply.
type WebhookSubscription struct {
	ID                  string
	Description         string
	URL                 string
	Secret              string
	Events              []string
	FilterType          string // account_reference, service_reference, team_reference
	FilterID            string
	Active              bool
	TemporarilyDisabled bool
	CustomHeaders       []Header
}

// Header is a custom header a webhook subscription sends.
type Header struct {
	Name  string
	Value string
}

// deepCopy copies v through JSON; the model types hold only JSON-friendly values.
func deepCopy[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}
