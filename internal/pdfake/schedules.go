package pdfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

const timeLayout = time.RFC3339

// segment is a stretch of time one user covers in a rendered schedule.
type segment struct {
	UserID     string
	Start, End time.Time
}

// finalTimeline merges a schedule's shifts and overrides (the latest-created override wins, an
// override beats any shift) into contiguous per-user segments, unclipped.
func finalTimeline(s *Schedule) []segment {
	var bounds []time.Time
	for _, e := range s.Entries {
		bounds = append(bounds, e.Start, e.End)
	}
	for _, o := range s.Overrides {
		bounds = append(bounds, o.Start, o.End)
	}
	sort.Slice(bounds, func(i, j int) bool { return bounds[i].Before(bounds[j]) })
	var out []segment
	for i := 0; i+1 < len(bounds); i++ {
		a, b := bounds[i], bounds[i+1]
		if !a.Before(b) {
			continue
		}
		who := ""
		for j := len(s.Overrides) - 1; j >= 0; j-- {
			o := s.Overrides[j]
			if !o.Start.After(a) && !o.End.Before(b) {
				who = o.UserID
				break
			}
		}
		if who == "" {
			for _, e := range s.Entries {
				if !e.Start.After(a) && !e.End.Before(b) {
					who = e.UserID
					break
				}
			}
		}
		if who == "" {
			continue
		}
		if n := len(out); n > 0 && out[n-1].UserID == who && out[n-1].End.Equal(a) {
			out[n-1].End = b
			continue
		}
		out = append(out, segment{UserID: who, Start: a, End: b})
	}
	return out
}

// overlaps: an instant window (since == until) asks "who is on at that moment".
func overlaps(start, end, since, until time.Time) bool {
	if since.Equal(until) {
		return !start.After(since) && end.After(since)
	}
	return start.Before(until) && end.After(since)
}

// window selects segments overlapping [since, until], clipped to it unless overflow.
func window(segs []segment, since, until time.Time, overflow bool) []segment {
	var out []segment
	for _, s := range segs {
		if !overlaps(s.Start, s.End, since, until) {
			continue
		}
		if !overflow {
			if s.Start.Before(since) {
				s.Start = since
			}
			if s.End.After(until) {
				s.End = until
			}
		}
		out = append(out, s)
	}
	return out
}

func (c *rctx) renderEntries(segs []segment) []any {
	out := []any{}
	for _, s := range segs {
		out = append(out, map[string]any{
			"user":  c.f.userRef(s.UserID),
			"start": c.ts(s.Start),
			"end":   c.ts(s.End),
		})
	}
	return out
}

func coverage(segs []segment, since, until time.Time) float64 {
	total := until.Sub(since)
	if total <= 0 {
		return 0
	}
	var covered time.Duration
	for _, s := range segs {
		a, b := s.Start, s.End
		if a.Before(since) {
			a = since
		}
		if b.After(until) {
			b = until
		}
		if b.After(a) {
			covered += b.Sub(a)
		}
	}
	return float64(int(float64(covered)/float64(total)*10000)) / 100
}

// scheduleSummary is the schedule as GET /schedules lists it.
func (f *Fake) scheduleSummary(c *rctx, s *Schedule) map[string]any {
	eps := []any{}
	for _, id := range f.epOrder {
		ep := f.eps[id]
		for _, r := range ep.Rules {
			hit := false
			for _, t := range r.Targets {
				hit = hit || (t.Type == TargetSchedule && t.ID == s.ID)
			}
			if hit {
				eps = append(eps, f.ref("escalation_policy", ep.ID, ep.Name))
				break
			}
		}
	}
	users := []any{}
	seen := map[string]bool{}
	for _, e := range s.Entries {
		if !seen[e.UserID] {
			seen[e.UserID] = true
			users = append(users, f.userRef(e.UserID))
		}
	}
	return map[string]any{
		"id":                  s.ID,
		"type":                "schedule",
		"summary":             s.Name,
		"self":                f.selfURL("schedule", s.ID),
		"html_url":            f.htmlURL("schedule", s.ID),
		"name":                s.Name,
		"description":         s.Description,
		"time_zone":           s.TimeZone,
		"escalation_policies": eps,
		"users":               users,
		"teams":               f.teamRefs(s.TeamIDs),
	}
}

func (f *Fake) hListSchedules(c *rctx) (int, any, *apiError) {
	q := strings.ToLower(c.q("query"))
	teams := c.qs("team_ids[]")
	items := []any{}
	for _, id := range f.scheduleOrder {
		s := f.schedules[id]
		if q != "" && !strings.Contains(strings.ToLower(s.Name), q) {
			continue
		}
		if len(teams) > 0 && !intersects(s.TeamIDs, teams) {
			continue
		}
		items = append(items, f.scheduleSummary(c, s))
	}
	out, aerr := c.page("schedules", items)
	return http.StatusOK, out, aerr
}

// sinceUntil resolves a schedule-style window: each bound defaults to two weeks from the other,
// both absent means now .. now+2w.
func (c *rctx) sinceUntil() (time.Time, time.Time, *apiError) {
	since, hasSince, aerr := c.qtime("since")
	if aerr != nil {
		return since, since, aerr
	}
	until, hasUntil, aerr := c.qtime("until")
	if aerr != nil {
		return since, until, aerr
	}
	const twoWeeks = 14 * 24 * time.Hour
	switch {
	case !hasSince && !hasUntil:
		since, until = c.now, c.now.Add(twoWeeks)
	case !hasSince:
		since = until.Add(-twoWeeks)
	case !hasUntil:
		until = since.Add(twoWeeks)
	}
	if until.Before(since) {
		return since, until, &apiError{status: http.StatusBadRequest, code: 2005, message: "Invalid Query Date Range",
			errors: []string{"until must not be before since"}}
	}
	return since, until, nil
}

func (f *Fake) hGetSchedule(c *rctx) (int, any, *apiError) {
	s := f.schedules[c.path("id")]
	if s == nil {
		return 0, nil, notFound("Schedule")
	}
	if c.q("time_zone") == "" {
		loc, aerr := c.location(s.TimeZone)
		if aerr != nil {
			return 0, nil, aerr
		}
		c.tz = loc
	}
	since, until, aerr := c.sinceUntil()
	if aerr != nil {
		return 0, nil, aerr
	}
	overflow := c.qbool("overflow")
	m := f.scheduleSummary(c, s)

	var base []segment
	for _, e := range s.Entries {
		base = append(base, segment{UserID: e.UserID, Start: e.Start, End: e.End})
	}
	var ovs []segment
	for _, o := range s.Overrides {
		ovs = append(ovs, segment{UserID: o.UserID, Start: o.Start, End: o.End})
	}
	final := window(finalTimeline(s), since, until, overflow)
	layers := []any{}
	if len(s.Entries) > 0 {
		users := []any{}
		seen := map[string]bool{}
		for _, e := range s.Entries {
			if !seen[e.UserID] {
				seen[e.UserID] = true
				users = append(users, map[string]any{"user": f.userRef(e.UserID)})
			}
		}
		layerEntries := window(base, since, until, overflow)
		first := s.Entries[0].Start
		for _, e := range s.Entries {
			if e.Start.Before(first) {
				first = e.Start
			}
		}
		turn := s.TurnLength
		if turn <= 0 {
			turn = defaultScheduleTurnLen
		}
		layers = append(layers, map[string]any{
			"id":                           s.ID + "-L1",
			"name":                         "Layer 1",
			"start":                        c.ts(first),
			"users":                        users,
			"restrictions":                 []any{},
			"rotation_virtual_start":       c.ts(first),
			"rotation_turn_length_seconds": int(turn / time.Second),
			"rendered_schedule_entries":    c.renderEntries(layerEntries),
			"rendered_coverage_percentage": coverage(layerEntries, since, until),
		})
	}
	m["schedule_layers"] = layers
	m["final_schedule"] = map[string]any{
		"name":                         "Final Schedule",
		"rendered_schedule_entries":    c.renderEntries(final),
		"rendered_coverage_percentage": coverage(final, since, until),
	}
	ovWin := window(ovs, since, until, overflow)
	m["overrides_subschedule"] = map[string]any{
		"name":                         "Overrides",
		"rendered_schedule_entries":    c.renderEntries(ovWin),
		"rendered_coverage_percentage": coverage(ovWin, since, until),
	}
	return http.StatusOK, map[string]any{"schedule": m}, nil
}

func (f *Fake) hScheduleUsers(c *rctx) (int, any, *apiError) {
	s := f.schedules[c.path("id")]
	if s == nil {
		return 0, nil, notFound("Schedule")
	}
	since, until, aerr := c.sinceUntil()
	if aerr != nil {
		return 0, nil, aerr
	}
	users := []any{}
	seen := map[string]bool{}
	for _, seg := range window(finalTimeline(s), since, until, false) {
		if u := f.users[seg.UserID]; u != nil && !seen[u.ID] {
			seen[u.ID] = true
			users = append(users, f.renderUser(c, u))
		}
	}
	return http.StatusOK, map[string]any{"users": users}, nil
}

// ---- overrides ----

func (c *rctx) renderOverride(o Override) map[string]any {
	return map[string]any{
		"id":    o.ID,
		"start": c.ts(o.Start),
		"end":   c.ts(o.End),
		"user":  c.f.userRef(o.UserID),
	}
}

func (f *Fake) hListOverrides(c *rctx) (int, any, *apiError) {
	s := f.schedules[c.path("id")]
	if s == nil {
		return 0, nil, notFound("Schedule")
	}
	since, _, aerr := c.qtime("since")
	if aerr != nil {
		return 0, nil, aerr
	}
	until, _, aerr := c.qtime("until")
	if aerr != nil {
		return 0, nil, aerr
	}
	overflow := c.qbool("overflow")
	editable := c.q("editable") != ""
	out := []any{}
	for _, o := range s.Overrides {
		if !overlaps(o.Start, o.End, since, until) {
			continue
		}
		if editable && !o.Start.After(c.now) {
			continue
		}
		if !overflow {
			if o.Start.Before(since) {
				o.Start = since
			}
			if o.End.After(until) {
				o.End = until
			}
		}
		out = append(out, c.renderOverride(o))
	}
	return http.StatusOK, map[string]any{"overrides": out}, nil
}

type overrideIn struct {
	Start    string `json:"start"`
	End      string `json:"end"`
	TimeZone string `json:"time_zone"`
	User     struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"user"`
}

// hCreateOverrides answers 201 with one status per requested override, as PagerDuty does: a bad
// item is reported in place and does not stop the others.
func (f *Fake) hCreateOverrides(c *rctx) (int, any, *apiError) {
	s := f.schedules[c.path("id")]
	if s == nil {
		return 0, nil, notFound("Schedule")
	}
	var body struct {
		Overrides []map[string]any `json:"overrides"`
	}
	if aerr := c.decode(&body); aerr != nil {
		return 0, nil, aerr
	}
	if len(body.Overrides) == 0 {
		return 0, nil, badRequest("overrides must be a non-empty array")
	}
	results := []any{}
	for _, raw := range body.Overrides {
		var in overrideIn
		if err := jsonRoundTrip(raw, &in); err != nil {
			results = append(results, map[string]any{"status": 400, "errors": []string{"invalid override: " + err.Error()}, "override": raw})
			continue
		}
		loc := c.tz
		if in.TimeZone != "" {
			if l, err := time.LoadLocation(in.TimeZone); err == nil {
				loc = l
			}
		}
		var errs []string
		start, err := parseTime(in.Start, loc)
		if err != nil {
			errs = append(errs, fmt.Sprintf("start %q is not an ISO 8601 time", in.Start))
		}
		end, err := parseTime(in.End, loc)
		if err != nil {
			errs = append(errs, fmt.Sprintf("end %q is not an ISO 8601 time", in.End))
		}
		if len(errs) == 0 && !start.Before(end) {
			errs = append(errs, "Override must end after its start")
		}
		if f.users[in.User.ID] == nil {
			errs = append(errs, fmt.Sprintf("User %q not found", in.User.ID))
		}
		if len(errs) > 0 {
			results = append(results, map[string]any{"status": 400, "errors": errs, "override": raw})
			continue
		}
		o := Override{ID: f.newID("P"), UserID: in.User.ID, Start: start, End: end}
		s.Overrides = append(s.Overrides, o)
		results = append(results, map[string]any{"status": 201, "override": c.renderOverride(o)})
	}
	return http.StatusCreated, results, nil
}

func (f *Fake) hDeleteOverride(c *rctx) (int, any, *apiError) {
	s := f.schedules[c.path("id")]
	if s == nil {
		return 0, nil, notFound("Schedule")
	}
	id := c.path("override_id")
	for i, o := range s.Overrides {
		if o.ID != id {
			continue
		}
		switch {
		case !o.End.After(c.now):
			return 0, nil, &apiError{status: http.StatusBadRequest, code: 4004, message: "Invalid Override", errors: []string{"You cannot remove a past override"}}
		case o.Start.Before(c.now):
			s.Overrides[i].End = c.now
			return http.StatusOK, nil, nil
		}
		s.Overrides = append(s.Overrides[:i], s.Overrides[i+1:]...)
		return http.StatusNoContent, nil, nil
	}
	return 0, nil, &apiError{status: http.StatusNotFound, code: 4004, message: "Override Not Found", errors: []string{"Override " + id + " not found"}}
}

// ---- on-calls ----

type oncall struct {
	epID       string
	level      int
	scheduleID string
	userID     string
	start, end time.Time // zero for permanent (direct user target) on-calls
}

// computeOncalls derives on-calls from escalation policies at query time: user targets are always
// on call at their level, schedule targets per the final schedule.
func (f *Fake) computeOncalls(since, until time.Time, epIDs, schedIDs, userIDs []string) []oncall {
	var out []oncall
	for _, epID := range f.epOrder {
		if len(epIDs) > 0 && !contains(epIDs, epID) {
			continue
		}
		ep := f.eps[epID]
		for li, rule := range ep.Rules {
			for _, t := range rule.Targets {
				switch t.Type {
				case TargetUser:
					if len(schedIDs) > 0 || (len(userIDs) > 0 && !contains(userIDs, t.ID)) {
						continue
					}
					out = append(out, oncall{epID: epID, level: li + 1, userID: t.ID})
				case TargetSchedule:
					if len(schedIDs) > 0 && !contains(schedIDs, t.ID) {
						continue
					}
					s := f.schedules[t.ID]
					if s == nil {
						continue
					}
					for _, seg := range window(finalTimeline(s), since, until, true) {
						if len(userIDs) > 0 && !contains(userIDs, seg.UserID) {
							continue
						}
						out = append(out, oncall{epID: epID, level: li + 1, scheduleID: s.ID, userID: seg.UserID, start: seg.Start, end: seg.End})
					}
				}
			}
		}
	}
	return out
}

func (f *Fake) hListOncalls(c *rctx) (int, any, *apiError) {
	since, hasSince, aerr := c.qtime("since")
	if aerr != nil {
		return 0, nil, aerr
	}
	until, hasUntil, aerr := c.qtime("until")
	if aerr != nil {
		return 0, nil, aerr
	}
	if !hasSince {
		since = c.now
	}
	if !hasUntil {
		until = c.now
	}
	if !hasUntil && since.After(until) {
		until = since
	}
	if until.Before(since) {
		return 0, nil, &apiError{status: http.StatusBadRequest, code: 2005, message: "Invalid Query Date Range", errors: []string{"until must not be before since"}}
	}
	if until.Sub(since) > 90*24*time.Hour {
		return 0, nil, &apiError{status: http.StatusBadRequest, code: 2005, message: "Invalid Query Date Range", errors: []string{"the range cannot exceed 90 days"}}
	}
	list := f.computeOncalls(since, until, c.qs("escalation_policy_ids[]"), c.qs("schedule_ids[]"), c.qs("user_ids[]"))
	if c.qbool("earliest") {
		seen := map[string]bool{}
		var kept []oncall
		sort.SliceStable(list, func(i, j int) bool { return list[i].start.Before(list[j].start) })
		for _, o := range list {
			k := fmt.Sprintf("%s|%d|%s", o.epID, o.level, o.userID)
			if !seen[k] {
				seen[k] = true
				kept = append(kept, o)
			}
		}
		list = kept
	}
	epRank := map[string]int{}
	for i, id := range f.epOrder {
		epRank[id] = i
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.epID != b.epID {
			return epRank[a.epID] < epRank[b.epID]
		}
		if a.level != b.level {
			return a.level < b.level
		}
		return a.start.Before(b.start)
	})
	include := c.qs("include[]")
	items := []any{}
	for _, o := range list {
		ep := f.eps[o.epID]
		m := map[string]any{
			"escalation_level":  o.level,
			"escalation_policy": f.ref("escalation_policy", ep.ID, ep.Name),
			"user":              f.userRef(o.userID),
			"schedule":          nil,
			"start":             c.ts(o.start),
			"end":               c.ts(o.end),
		}
		if contains(include, "escalation_policies") {
			m["escalation_policy"] = f.renderEP(c, ep)
		}
		if u := f.users[o.userID]; u != nil && contains(include, "users") {
			m["user"] = f.renderUser(c, u)
		}
		if s := f.schedules[o.scheduleID]; s != nil {
			if contains(include, "schedules") {
				m["schedule"] = f.scheduleSummary(c, s)
			} else {
				m["schedule"] = f.ref("schedule", s.ID, s.Name)
			}
		}
		items = append(items, m)
	}
	out, aerr := c.page("oncalls", items)
	return http.StatusOK, out, aerr
}

func jsonRoundTrip(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
