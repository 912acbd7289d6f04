package monitor

import (
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-server/v6/shared/markdown"

	"github.com/mattermost/mattermost-app-pagerduty/internal/mentions"
	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
	"github.com/mattermost/mattermost-app-pagerduty/oncall"
)

// Hostile PagerDuty names: anyone who may edit a PagerDuty user, schedule or escalation policy
// chooses what the monitor posts in channels and DMs. Same IDs and emails as the harness's
// people, so the directory maps them as usual.
var (
	evilAnn      = person{ann.id, "@channel\n# Ann", ann.email}
	evilBob      = person{bob.id, "&commat;here **bold** [x](javascript:alert(1))", bob.email}
	evilCid      = person{cid.id, "@all\n> quote\n- item\n| a | b |", cid.email}
	evilSchedule = sched{primary.id, "**Primary** @channel [x](javascript:alert(1))\n## not a heading"}
	evilPolicy   = struct{ id, name string }{"PE3", "&commat;here\n* list @all\n>quote"}
)

// evilOn is one entry of p on the hostile schedule, under the hostile policy.
func evilOn(p person, start, end time.Time) []oncall.Entry {
	return []oncall.Entry{{UserID: p.id, UserName: p.name, UserEmail: p.email, ScheduleID: evilSchedule.id, ScheduleName: evilSchedule.name,
		PolicyID: evilPolicy.id, PolicyName: evilPolicy.name, Level: 1, Start: start, End: end}}
}

// evilDirect is p as a direct target of the hostile policy (no schedule, open-ended): the
// policy's name becomes the scope's name.
func evilDirect(p person) []oncall.Entry {
	return []oncall.Entry{{UserID: p.id, UserName: p.name, UserEmail: p.email, PolicyID: evilPolicy.id, PolicyName: evilPolicy.name, Level: 1}}
}

// Every kind of on-call message (started, ended with who is on now, reminder, override, by a
// schedule and by a policy, as channel posts and as DMs) built from hostile names mentions
// nobody, links nothing and keeps the renderer's line structure.
func TestMonitorHostileNames(t *testing.T) {
	h := newHarness(t)
	annDay := evilOn(evilAnn, ts("2026-01-08T08:00:00Z"), ts("2026-01-08T16:00:00Z"))
	bobEve := evilOn(evilBob, ts("2026-01-08T16:00:00Z"), ts("2026-01-09T00:00:00Z"))
	bobOverride := func(h *harness) {
		h.pd.set(
			evilOn(evilAnn, ts("2026-01-08T08:00:00Z"), ts("2026-01-08T09:30:00Z")),
			evilOn(evilBob, ts("2026-01-08T09:30:00Z"), ts("2026-01-08T11:00:00Z")),
			evilOn(evilAnn, ts("2026-01-08T11:00:00Z"), ts("2026-01-08T16:00:00Z")),
			bobEve)
	}
	cidOverride := func(h *harness) {
		h.pd.set(
			evilOn(evilAnn, ts("2026-01-08T08:00:00Z"), ts("2026-01-08T09:30:00Z")),
			evilOn(evilBob, ts("2026-01-08T09:30:00Z"), ts("2026-01-08T11:00:00Z")),
			evilOn(evilAnn, ts("2026-01-08T11:00:00Z"), ts("2026-01-08T12:05:00Z")),
			evilOn(evilCid, ts("2026-01-08T12:05:00Z"), ts("2026-01-08T13:00:00Z")),
			evilOn(evilAnn, ts("2026-01-08T13:00:00Z"), ts("2026-01-08T16:00:00Z")),
			bobEve)
	}
	h.pd.set(annDay, bobEve)
	h.run([]step{
		{at: "2026-01-08T09:00:00Z", check: wantBaseline},
		{at: "2026-01-08T09:10:00Z", setup: bobOverride, want: []string{
			"dm mm-ann: override PU1@PS1>PU2",
			"dm mm-bob: reminder PU2@PS1",
			"post ch-all: override PU1@PS1>PU2",
			"post ch-primary: override PU1@PS1>PU2",
		}},
		{at: "2026-01-08T09:30:00Z", want: []string{
			"dm mm-ann: ended PU1@PS1", "dm mm-bob: started PU2@PS1",
			"post ch-all: ended PU1@PS1, started PU2@PS1", "post ch-primary: ended PU1@PS1, started PU2@PS1",
		}},
		{at: "2026-01-08T10:30:00Z", want: []string{"dm mm-ann: reminder PU1@PS1"}},
		{at: "2026-01-08T11:00:00Z", want: []string{
			"dm mm-ann: started PU1@PS1", "dm mm-bob: ended PU2@PS1",
			"post ch-all: ended PU2@PS1, started PU1@PS1", "post ch-primary: ended PU2@PS1, started PU1@PS1",
		}},
		{at: "2026-01-08T12:05:00Z"}, // overrides are compared within the window both snapshots cover
		// Cid (no Mattermost account) takes the running shift: his name reaches Ann's DM.
		{at: "2026-01-08T12:06:00Z", setup: cidOverride, want: []string{
			"dm mm-ann: override PU1@PS1>PU3",
			"post ch-all: override PU1@PS1>PU3, started PU3@PS1",
			"post ch-primary: override PU1@PS1>PU3, started PU3@PS1",
		}},
		// Bob becomes a direct target of the policy: the policy's name is the scope.
		{at: "2026-01-08T12:10:00Z", setup: func(h *harness) {
			cidOverride(h)
			h.pd.set(h.pd.entries, evilDirect(evilBob))
		}, want: []string{"dm mm-bob: started PU2@policy:PE3", "post ch-all: started PU2@policy:PE3"}},
		{at: "2026-01-08T12:20:00Z", setup: cidOverride, want: []string{
			"dm mm-bob: ended PU2@policy:PE3", "post ch-all: ended PU2@policy:PE3",
		}},
	})

	if len(h.sent) == 0 {
		t.Fatal("no messages were sent: the test proves nothing")
	}
	names := []string{evilAnn.name, evilBob.name, evilCid.name, evilSchedule.name, evilPolicy.name}
	for _, m := range h.sent {
		if found := mentions.Find(m.text); len(found) > 0 {
			t.Errorf("%s %s mentions %v:\n%s", m.kind, m.target, found, m.text)
		}
		if links := linksIn(m.text); len(links) > 0 {
			t.Errorf("%s %s has links or blocks %v:\n%s", m.kind, m.target, links, m.text)
		}
		for _, line := range strings.Split(m.text, "\n") {
			if msg := checkLine(m.kind, line, names); msg != "" {
				t.Errorf("%s %s: %s: %q\nin:\n%s", m.kind, m.target, msg, line, m.text)
			}
		}
	}
	// The names are there, escaped (not dropped, which would also pass the checks above).
	log := h.log.String()
	for _, n := range names {
		if !strings.Contains(log, mdsafe.Inline(n)) {
			t.Errorf("the transcript never shows %q (as %q)", n, mdsafe.Inline(n))
		}
	}
	golden(t, "hostile_names", log)
}

// linksIn lists the markdown nodes no on-call message has: links, images, quotes, code, and
// list items other than the renderer's event lines.
func linksIn(md string) []string {
	var out []string
	items, dashes := 0, 0
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "- ") {
			dashes++
		}
	}
	markdown.Inspect(md, func(node any) bool {
		switch node.(type) {
		case *markdown.InlineLink, *markdown.ReferenceLink, *markdown.InlineImage, *markdown.ReferenceImage, *markdown.Autolink:
			out = append(out, "link")
		case *markdown.BlockQuote:
			out = append(out, "quote")
		case *markdown.IndentedCode, *markdown.FencedCode, *markdown.CodeSpan:
			out = append(out, "code")
		case *markdown.ListItem:
			items++
		}
		return true
	})
	if items != dashes { // only the renderer's own "- " items, one per event line
		out = append(out, "list items")
	}
	return out
}

// The renderer's line templates, with every name slot holding NAME (see checkLine). A time or
// span holds digits, letters, spaces and ':', '–', '(', ')'.
var (
	span          = `[A-Za-z0-9 :–()]+`
	scope         = `\*\*NAME\*\*(?: \(escalation policy\))?`
	channelLineRE = regexp.MustCompile(`^(?:#### PagerDuty on-call changes|` + scope + `|` +
		`- 🟢 \*\*NAME\*\* is now on call (?:until further notice|until ` + span + `)|` +
		`- ⚪ \*\*NAME\*\* is no longer on call|` +
		`- 🔁 \*\*NAME\*\* took over a shift of \*\*NAME\*\*: ` + span + `)$`)
	dmLineRE = regexp.MustCompile(`^(?:` +
		`🟢 You are now on call for ` + scope + ` (?:until further notice|until ` + span + `)|` +
		`⚪ You are no longer on call for ` + scope + `\. (?:Nobody is on call for it now|Now on call: \*\*NAME\*\*(?:, \*\*NAME\*\*)*)|` +
		`⏰ Your on-call shift for ` + scope + ` ` + span + `|` +
		`🔁 \*\*NAME\*\* took over your shift on ` + scope + `: ` + span + `)\.$`)
)

// checkLine replaces each name's escaped form with NAME and matches the line against the
// templates of its kind: a name that added a line, a heading, a quote, a list item, a table
// row, bold or a link does not match. It returns what is wrong, or "".
func checkLine(kind, line string, names []string) string {
	escaped := make([]string, 0, len(names))
	for _, n := range names {
		escaped = append(escaped, mdsafe.Inline(n))
	}
	sort.Slice(escaped, func(i, j int) bool { return len(escaped[i]) > len(escaped[j]) })
	skeleton := line
	for _, e := range escaped {
		skeleton = strings.ReplaceAll(skeleton, e, "NAME")
	}
	re := channelLineRE
	if kind == "dm" {
		re = dmLineRE
	}
	if !re.MatchString(skeleton) {
		return "line is not one of the renderer's (names replaced: " + skeleton + ")"
	}
	// Spelled out: untrusted text never starts a line, so a line starting with a block marker
	// is one of the renderer's own (the heading, an event's "- ", a scope's "**").
	if line != "" && strings.ContainsRune("#>-*|", rune(line[0])) &&
		!strings.HasPrefix(skeleton, "#### PagerDuty") && !strings.HasPrefix(skeleton, "- ") && !strings.HasPrefix(skeleton, "**NAME**") {
		return "line starts with a block marker"
	}
	return ""
}
