package pdfake

import "time"

// Seeded names what Seed created, so tests refer to people and objects by role, not by ID.
type Seeded struct {
	Owner, Admin, Responder, Limited, Observer, Restricted, Secondary string // user IDs

	PlatformTeam, PaymentsTeam string

	PlatformSchedule string // daily rotation Responder -> Secondary -> Limited, handoff 09:00 UTC; Responder's shift starts today 09:00
	PaymentsSchedule string // weekly rotation Secondary -> Admin, handoff Monday 09:00 UTC; Secondary has the current week

	PlatformEP string // L1: PlatformSchedule, L2: Admin
	PaymentsEP string // L1: PaymentsSchedule, L2: Owner + PlatformSchedule

	APIService, WebService, BillingService string // API and Web use PlatformEP, Billing uses PaymentsEP

	Priorities []string // P1..P5 IDs, most severe first
}

// Seed builds a small, realistic account: one user per role, two teams, two rotating schedules
// (shifts from two weeks before to six weeks after the clock's now), two two-level escalation
// policies, three services and priorities P1–P5. Call it once per fake.
func (f *Fake) Seed() Seeded {
	var s Seeded
	s.PlatformTeam = f.AddTeam(Team{Name: "Platform", Description: "Runs the platform"})
	s.PaymentsTeam = f.AddTeam(Team{Name: "Payments", Description: "Money in, money out"})

	s.Owner = f.AddUser(User{Name: "Olivia Owner", Email: "olivia@example.com", Role: RoleOwner, TimeZone: "America/New_York", JobTitle: "CTO"})
	s.Admin = f.AddUser(User{Name: "Adam Admin", Email: "adam@example.com", Role: RoleAdmin, TimeZone: "Europe/Paris", TeamIDs: []string{s.PlatformTeam}})
	s.Responder = f.AddUser(User{Name: "Rita Responder", Email: "rita@example.com", Role: RoleUser, TimeZone: "America/Los_Angeles", TeamIDs: []string{s.PlatformTeam}})
	s.Secondary = f.AddUser(User{Name: "Sam Second", Email: "sam@example.com", Role: RoleUser, TimeZone: "Europe/London", TeamIDs: []string{s.PlatformTeam, s.PaymentsTeam}})
	s.Limited = f.AddUser(User{Name: "Lena Limited", Email: "lena@example.com", Role: RoleLimitedUser, TimeZone: "Asia/Tokyo", TeamIDs: []string{s.PlatformTeam}})
	s.Observer = f.AddUser(User{Name: "Oscar Observer", Email: "oscar@example.com", Role: RoleObserver, TimeZone: "Etc/UTC", TeamIDs: []string{s.PaymentsTeam}})
	s.Restricted = f.AddUser(User{Name: "Rhea Restricted", Email: "rhea@example.com", Role: RoleRestrictedAccess, TimeZone: "Etc/UTC"})

	now := f.Now().UTC()
	day := 24 * time.Hour
	// Daily rotation, handoff at 09:00 UTC.
	first := time.Date(now.Year(), now.Month(), now.Day(), 9, 0, 0, 0, time.UTC).Add(-15 * day) // Responder has today from 09:00
	var daily []ScheduleEntry
	rot := []string{s.Responder, s.Secondary, s.Limited}
	for i := 0; i < 57; i++ {
		start := first.Add(time.Duration(i) * day)
		daily = append(daily, ScheduleEntry{UserID: rot[i%len(rot)], Start: start, End: start.Add(day)})
	}
	s.PlatformSchedule = f.AddSchedule(Schedule{Name: "Platform Primary", TimeZone: "Etc/UTC", TeamIDs: []string{s.PlatformTeam}, Entries: daily, TurnLength: day})

	// Weekly rotation, handoff Monday 09:00 UTC.
	monday := time.Date(now.Year(), now.Month(), now.Day(), 9, 0, 0, 0, time.UTC)
	for monday.Weekday() != time.Monday {
		monday = monday.Add(-day)
	}
	monday = monday.Add(-14 * day)
	var weekly []ScheduleEntry
	wrot := []string{s.Secondary, s.Admin}
	for i := 0; i < 8; i++ {
		start := monday.Add(time.Duration(i) * 7 * day)
		weekly = append(weekly, ScheduleEntry{UserID: wrot[i%len(wrot)], Start: start, End: start.Add(7 * day)})
	}
	s.PaymentsSchedule = f.AddSchedule(Schedule{Name: "Payments Primary", TimeZone: "Europe/London", TeamIDs: []string{s.PaymentsTeam}, Entries: weekly, TurnLength: 7 * day})

	s.PlatformEP = f.AddEscalationPolicy(EscalationPolicy{
		Name: "Platform On-Call", NumLoops: 1, TeamIDs: []string{s.PlatformTeam},
		Rules: []EscalationRule{
			{DelayMinutes: 15, Targets: []Target{ScheduleTarget(s.PlatformSchedule)}},
			{DelayMinutes: 30, Targets: []Target{UserTarget(s.Admin)}},
		},
	})
	s.PaymentsEP = f.AddEscalationPolicy(EscalationPolicy{
		Name: "Payments On-Call", TeamIDs: []string{s.PaymentsTeam},
		Rules: []EscalationRule{
			{DelayMinutes: 10, Targets: []Target{ScheduleTarget(s.PaymentsSchedule)}},
			{DelayMinutes: 30, Targets: []Target{UserTarget(s.Owner), ScheduleTarget(s.PlatformSchedule)}},
		},
	})

	s.APIService = f.AddService(Service{Name: "API", Description: "Public REST API", EscalationPolicyID: s.PlatformEP, TeamIDs: []string{s.PlatformTeam}})
	s.WebService = f.AddService(Service{Name: "Web", Description: "Web front end", EscalationPolicyID: s.PlatformEP, TeamIDs: []string{s.PlatformTeam}})
	s.BillingService = f.AddService(Service{Name: "Billing", Description: "Invoices and payments", EscalationPolicyID: s.PaymentsEP, TeamIDs: []string{s.PaymentsTeam}})

	for _, p := range []Priority{
		{Name: "P1", Description: "Critical: customer-facing outage", Color: "a8171c"},
		{Name: "P2", Description: "High: major degradation", Color: "eb6016"},
		{Name: "P3", Description: "Moderate", Color: "f9b406"},
		{Name: "P4", Description: "Low", Color: "0c78c3"},
		{Name: "P5", Description: "Informational", Color: "666666"},
	} {
		s.Priorities = append(s.Priorities, f.AddPriority(p))
	}
	return s
}
