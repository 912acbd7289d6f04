package forms

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/PagerDuty/go-pagerduty"

	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
	"github.com/mattermost/mattermost-app-pagerduty/timefmt"
)

// MaxReplyBytes keeps a reply well under Mattermost's post limit (16383 characters), leaving room
// for the last line and the truncation note.
const MaxReplyBytes = 14000

// OnCallView is who is on call now, as the acting user asked for it.
type OnCallView struct {
	Entries  []pagerduty.OnCall
	MyUserID string // the acting user's PagerDuty id: their entries are marked
	Mine     bool   // the user asked for their own entries only
	Now      time.Time
	Loc      *time.Location
}

// OnCallNow renders on-calls grouped by escalation policy, then level, each line with the person,
// the schedule (or "directly assigned") and when the shift ends relative to now.
func OnCallNow(v OnCallView) string {
	if v.Loc == nil {
		v.Loc = time.UTC
	}
	var b strings.Builder
	title := "On call now"
	if v.Mine {
		title = "Your on-call shifts now"
	}
	b.WriteString("#### " + title + "\n")
	if len(v.Entries) == 0 {
		if v.Mine {
			b.WriteString("You are not on call right now.\n")
		} else {
			b.WriteString("Nobody is on call right now, or your PagerDuty role cannot see any escalation policy.\n")
		}
		return b.String()
	}
	type policy struct {
		id, name, url string
		levels        map[uint][]pagerduty.OnCall
	}
	policies := map[string]*policy{}
	for _, e := range v.Entries {
		p, ok := policies[e.EscalationPolicy.ID]
		if !ok {
			p = &policy{id: e.EscalationPolicy.ID, name: mdsafe.FirstNonBlank(e.EscalationPolicy.Summary, e.EscalationPolicy.Name, e.EscalationPolicy.ID), url: e.EscalationPolicy.HTMLURL, levels: map[uint][]pagerduty.OnCall{}}
			policies[e.EscalationPolicy.ID] = p
		}
		p.levels[e.EscalationLevel] = append(p.levels[e.EscalationLevel], e)
	}
	ordered := make([]*policy, 0, len(policies))
	for _, p := range policies {
		ordered = append(ordered, p)
	}
	sort.Slice(ordered, func(i, j int) bool {
		if a, b := strings.ToLower(ordered[i].name), strings.ToLower(ordered[j].name); a != b {
			return a < b
		}
		return ordered[i].id < ordered[j].id
	})
	written := 0
	for _, p := range ordered {
		if b.Len() > MaxReplyBytes {
			break
		}
		b.WriteString("\n**" + mdsafe.Link(p.name, p.url) + "**\n")
		levels := make([]uint, 0, len(p.levels))
		for l := range p.levels {
			levels = append(levels, l)
		}
		sort.Slice(levels, func(i, j int) bool { return levels[i] < levels[j] })
		for _, l := range levels {
			entries := p.levels[l]
			sort.SliceStable(entries, func(i, j int) bool {
				return mdsafe.FirstNonBlank(entries[i].User.Summary, entries[i].User.Name) < mdsafe.FirstNonBlank(entries[j].User.Summary, entries[j].User.Name)
			})
			for _, e := range entries {
				if b.Len() > MaxReplyBytes {
					break
				}
				b.WriteString(fmt.Sprintf("- Level %d: %s\n", l, onCallLine(e, v)))
				written++
			}
		}
	}
	if rest := len(v.Entries) - written; rest > 0 {
		b.WriteString(fmt.Sprintf("\n…and %d more on-call entries that do not fit in one message: use `/pagerduty oncall mine` or PagerDuty's on-call view.\n", rest))
	}
	return b.String()
}

func onCallLine(e pagerduty.OnCall, v OnCallView) string {
	name := mdsafe.Link(mdsafe.FirstNonBlank(e.User.Summary, e.User.Name, e.User.ID), e.User.HTMLURL)
	if e.User.ID != "" && e.User.ID == v.MyUserID {
		name = "**" + name + " (you)**"
	}
	where := "directly assigned"
	if e.Schedule.ID != "" {
		where = mdsafe.Link(mdsafe.FirstNonBlank(e.Schedule.Summary, e.Schedule.Name, e.Schedule.ID), e.Schedule.HTMLURL)
	}
	until := "always on call"
	if end, err := time.Parse(time.RFC3339, e.End); err == nil && e.End != "" {
		until = "until " + timefmt.Clock(end, v.Now, v.Loc) + " (" + timefmt.Duration(end.Sub(v.Now)) + " remaining)"
	}
	return name + " · " + where + " · " + until
}
