package oncall

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
)

// Limits on PagerDuty text in one list line, so one long description cannot push a post past
// Mattermost's message size.
const (
	maxNameRunes        = 100
	maxDescriptionRunes = 300
)

// MaxPostRunes is below Mattermost's 16383-character post limit, leaving room for a header.
const MaxPostRunes = 15000

// RenderSchedule renders the schedule view: name, description, time zones, who is on call now
// (bold, first) and every shift of the timeline with its start, end and status, all in loc.
// Buttons (page the current on-call, override) are bindings the front door adds.
func RenderSchedule(info ScheduleInfo, rows []TimelineRow, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#### %s\n", scheduleTitle(info))
	if d := strings.TrimSpace(info.Description); d != "" {
		b.WriteString(mdsafe.InlineMax(d, maxDescriptionRunes) + "\n")
	}
	zone := "Schedule time zone: " + plainOr(info.TimeZone, "unknown")
	fmt.Fprintf(&b, "%s · times shown in %s\n\n", mdsafe.Inline(zone), mdsafe.Inline(zoneLabel(loc)))

	var current []string
	for _, r := range rows {
		if r.Current {
			current = append(current, fmt.Sprintf("**%s** (%s)", personName(r.UserName, r.UserID), r.Status))
		}
	}
	if len(current) == 0 {
		b.WriteString("**On call now:** nobody\n\n")
	} else {
		b.WriteString("**On call now:** " + strings.Join(current, ", ") + "\n\n")
	}

	b.WriteString("**Next 48 hours**\n")
	if len(rows) == 0 {
		b.WriteString("_No shifts in the next 48 hours._\n")
		return b.String()
	}
	for _, r := range rows {
		line := fmt.Sprintf("%s · %s · %s", personName(r.UserName, r.UserID), FormatSpan(r.Start, r.End, loc), r.Status)
		if r.Current {
			line = "▶ **" + line + "**"
		}
		b.WriteString("- " + line + "\n")
	}
	return b.String()
}

// RenderScheduleList renders schedules sorted by name, one line each (name linked to PagerDuty,
// time zone, description), so the result can be split between lines with Split. mine selects
// the heading and the empty-list text of "/pagerduty schedules mine".
func RenderScheduleList(schedules []ScheduleInfo, mine bool) string {
	sorted := append([]ScheduleInfo(nil), schedules...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := strings.ToLower(sorted[i].Name), strings.ToLower(sorted[j].Name)
		if a != b {
			return a < b
		}
		return sorted[i].ID < sorted[j].ID
	})
	var b strings.Builder
	if mine {
		fmt.Fprintf(&b, "#### Your schedules: shifts in the next 48 hours (%d)\n", len(sorted))
		if len(sorted) == 0 {
			b.WriteString("You have no on-call shifts in the next 48 hours.\n")
		}
	} else {
		fmt.Fprintf(&b, "#### Schedules (%d)\n", len(sorted))
		if len(sorted) == 0 {
			b.WriteString("This PagerDuty account has no schedules.\n")
		}
	}
	for _, s := range sorted {
		line := "- " + scheduleTitle(s) + " · " + mdsafe.Inline(plainOr(s.TimeZone, "no time zone"))
		if d := strings.TrimSpace(s.Description); d != "" {
			line += " · " + mdsafe.InlineMax(d, maxDescriptionRunes)
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// Split cuts markdown into posts of at most max runes, only between lines, so a list item is
// never cut. A single line longer than max is cut with mdsafe.Truncate (rare: lines are bounded).
func Split(md string, max int) []string {
	if max <= 0 {
		max = MaxPostRunes
	}
	var out []string
	var cur strings.Builder
	n := 0
	for _, line := range strings.SplitAfter(md, "\n") {
		if line == "" {
			continue
		}
		l := len([]rune(line))
		if l > max {
			line, l = mdsafe.Truncate(strings.TrimRight(line, "\n"), max-1)+"\n", max
		}
		if n+l > max && n > 0 {
			out = append(out, cur.String())
			cur.Reset()
			n = 0
		}
		cur.WriteString(line)
		n += l
	}
	if n > 0 {
		out = append(out, cur.String())
	}
	return out
}

func scheduleTitle(s ScheduleInfo) string {
	name := plainOr(mdsafe.Truncate(s.Name, maxNameRunes), s.ID)
	return "**" + mdsafe.Link(name, s.HTMLURL) + "**"
}

// personName is the escaped name, or the escaped ID when PagerDuty sent no name.
func personName(name, id string) string {
	return mdsafe.Inline(plainOr(mdsafe.Truncate(name, maxNameRunes), id))
}

func plainOr(s, fallback string) string {
	if strings.TrimSpace(s) == "" {
		return fallback
	}
	return s
}
