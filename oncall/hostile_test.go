package oncall

import (
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-server/v6/shared/markdown"

	"github.com/mattermost/mattermost-app-pagerduty/internal/mentions"
	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
)

// Untrusted PagerDuty text: user names, schedule names, descriptions and time zones, links and
// the reasons PagerDuty gives for refusing an override.
var (
	hostileUsers = []string{
		"@channel\n# Ann",
		"&commat;here **bold** [x](javascript:alert(1))",
		"@all\n> quote\n- item\n| a | b |",
		"- starts like a list item",
		"1. starts like an ordered list",
	}
	hostileSchedule = ScheduleInfo{ID: "PS1", Name: "**Primary** @channel\n## heading", Description: "> quote &commat;here\n- item\n@all",
		TimeZone: "@here/Berlin [x](javascript:alert(1))\n| tz |", HTMLURL: "https://acme.pagerduty.com/schedules/PS1) @channel [y](javascript:x"}
	hostileList = []ScheduleInfo{
		hostileSchedule,
		{ID: "PS2", Name: "[click](javascript:alert(1)) &commat;channel", Description: "# heading\n```\ncode\n```", TimeZone: "UTC",
			HTMLURL: "javascript:alert(1)"},
		{ID: "PS3", Name: "| a | b |\n|---|---|", Description: "@\u200bfine &#64;all", HTMLURL: "https://acme.pagerduty.com/schedules/PS3"},
		{ID: "PS4", Name: "", Description: "\n\n* star item", TimeZone: "> zone"},
	}
	hostileReason = "Override must end after its start; @channel [x](javascript:alert(1))\n# heading\n> quote"
)

// hostileStrings are every untrusted text of the fixtures, for checkRendered's name slots.
func hostileStrings() []string {
	out := append([]string{hostileReason}, hostileUsers...)
	for _, s := range hostileList {
		out = append(out, s.Name, s.Description, s.TimeZone)
	}
	return out
}

// The schedule view, the schedule lists and the override results, built from hostile PagerDuty
// text, mention nobody, link only to PagerDuty over https, and keep the renderer's lines.
func TestRenderersWithHostileText(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	now := utc("2026-01-05T22:30:00Z")
	var shifts []Shift
	for i, name := range hostileUsers {
		start := utc("2026-01-05T20:00:00Z").Add(ViewWindow / 8 * time.Duration(i))
		shifts = append(shifts, Shift{UserID: "PU" + string(rune('1'+i)), UserName: name, Start: start, End: start.Add(ViewWindow / 8)})
	}
	// Two people on call now: both names are in the "On call now" line.
	shifts = append(shifts, Shift{UserID: "PU9", UserName: hostileUsers[1], Start: utc("2026-01-05T22:00:00Z"), End: utc("2026-01-06T01:00:00Z")})

	outputs := []struct{ name, md string }{
		{"schedule view", RenderSchedule(hostileSchedule, Timeline(shifts, now, berlin, ViewWindow), berlin)},
		{"schedule view, nobody on call", RenderSchedule(hostileList[1], nil, berlin)},
		{"schedule list", RenderScheduleList(hostileList, false)},
		{"my schedules", RenderScheduleList(hostileList[:2], true)},
		{"override results", RenderOverrideResults([]OverrideResult{
			{Start: utc("2026-01-06T08:00:00Z"), End: utc("2026-01-06T16:00:00Z"), Status: 201},
			{Start: utc("2026-01-07T08:00:00Z"), End: utc("2026-01-07T16:00:00Z"), Status: 400, Error: hostileReason},
		}, berlin)},
	}
	var transcript strings.Builder
	for _, o := range outputs {
		if m := mentions.Find(o.md); len(m) > 0 {
			t.Errorf("%s mentions %v:\n%s", o.name, m, o.md)
		}
		for _, p := range blocksAndLinks(o.md) {
			t.Errorf("%s: %s:\n%s", o.name, p, o.md)
		}
		for _, line := range strings.Split(strings.TrimSuffix(o.md, "\n"), "\n") {
			if msg := checkRenderedLine(line, hostileStrings()); msg != "" {
				t.Errorf("%s: %s: %q\nin:\n%s", o.name, msg, line, o.md)
			}
		}
		transcript.WriteString("== " + o.name + "\n" + o.md + "\n")
	}
	// The hostile names are shown (escaped), not dropped.
	view := outputs[0].md
	for _, n := range hostileUsers {
		if !strings.Contains(view, mdsafe.Inline(n)) {
			t.Errorf("the schedule view does not show %q", n)
		}
	}
	golden(t, "hostile_renderers", transcript.String())
}

// blocksAndLinks lists what the renderers never produce from untrusted text: quotes, code, and
// links other than to PagerDuty over https.
func blocksAndLinks(md string) []string {
	var out []string
	markdown.Inspect(md, func(node any) bool {
		switch n := node.(type) {
		case *markdown.BlockQuote:
			out = append(out, "quote")
		case *markdown.IndentedCode, *markdown.FencedCode, *markdown.CodeSpan:
			out = append(out, "code")
		case *markdown.InlineLink:
			if d := n.Destination(); !strings.HasPrefix(d, "https://acme.pagerduty.com/schedules/") || strings.ContainsAny(d, " ()") {
				out = append(out, "link to "+d)
			}
		case *markdown.ReferenceLink, *markdown.InlineImage, *markdown.ReferenceImage, *markdown.Autolink:
			out = append(out, "link or image")
		}
		return true
	})
	return out
}

// The renderers' lines, every slot for untrusted text holding T (see checkRenderedLine).
var renderedLineRE = regexp.MustCompile(`^(?:` + strings.Join([]string{
	// schedule view
	`#### \*\*(?:\[T\]\(https://acme\.pagerduty\.com/schedules/[^ ()]+\)|T|PS\d)\*\*`,
	`T`, // the description
	`Schedule time zone: (?:T|unknown) · times shown in Europe/Berlin`,
	``,
	`\*\*On call now:\*\* (?:nobody|\*\*T\*\* \([^()*]+\)(?:, \*\*T\*\* \([^()*]+\))*)`,
	`\*\*Next 48 hours\*\*`,
	`_No shifts in the next 48 hours\._`,
	`- (?:▶ \*\*T · [^*]+\*\*|T · [^*]+)`,
	// schedule lists
	`#### Schedules \(\d+\)`,
	`#### Your schedules: shifts in the next 48 hours \(\d+\)`,
	`- \*\*(?:\[T\]\(https://acme\.pagerduty\.com/schedules/[^ ()]+\)|T|PS\d)\*\* · (?:T|no time zone)(?: · T)?`,
	// override results
	`\*\*\d+ of \d+ override\(s\) created\*\* \(times in Europe/Berlin\)`,
	`- ✅ [^*]+: created`,
	`- ❌ [^*]+: failed \(\d+\): T`,
}, "|") + `)$`)

// checkRenderedLine replaces each untrusted text's escaped form with T and matches the line
// against the renderers' lines: untrusted text that added a line, a heading, a quote, a list
// item, a table row, bold or a link does not match. It returns what is wrong, or "".
func checkRenderedLine(line string, untrusted []string) string {
	var escaped []string
	for _, raw := range untrusted {
		for _, s := range []string{raw, strings.TrimSpace(raw)} {
			if s == "" {
				continue
			}
			// Inside a longer line (the time zone after its label) only the first character
			// may be escaped differently; the rest is the same as on its own.
			escaped = append(escaped, mdsafe.Inline(s), mdsafe.InlineMax(s, maxDescriptionRunes), strings.TrimPrefix(mdsafe.Inline(s), `\`))
		}
	}
	sort.Slice(escaped, func(i, j int) bool { return len(escaped[i]) > len(escaped[j]) })
	skeleton := line
	for _, e := range escaped {
		if e != "" {
			skeleton = strings.ReplaceAll(skeleton, e, "T")
		}
	}
	if !renderedLineRE.MatchString(skeleton) {
		return "not one of the renderers' lines (untrusted text replaced: " + skeleton + ")"
	}
	if line != "" && strings.ContainsRune("#>-*|", rune(line[0])) && !regexp.MustCompile(`^(?:#### |- |\*\*)`).MatchString(skeleton) {
		return "untrusted text starts the line with a block marker"
	}
	return ""
}
