package monitor

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
	"github.com/mattermost/mattermost-app-pagerduty/oncall"
)

// scopeLabel is the escaped, bold name of a schedule, or of a policy for direct targets.
func scopeLabel(e *Event) string {
	name := e.ScopeName
	if name == "" {
		name = strings.TrimPrefix(e.ScopeID, directScopePrefix)
	}
	if strings.HasPrefix(e.ScopeID, directScopePrefix) {
		return "**" + mdsafe.Inline(name) + "** (escalation policy)"
	}
	return "**" + mdsafe.Inline(name) + "**"
}

func nameOf(name, id string) string {
	if strings.TrimSpace(name) == "" {
		name = id
	}
	return "**" + mdsafe.Inline(name) + "**"
}

func until(e *Event, now time.Time, loc *time.Location) string {
	if e.End.IsZero() {
		return "until further notice"
	}
	return "until " + oncall.FormatTime(e.End, loc) + " (" + oncall.Relative(e.End.Sub(now)) + " remaining)"
}

// channelLine is one event in a channel post (times in UTC: a channel has no time zone).
func channelLine(e *Event, now time.Time) string {
	switch e.Kind {
	case KindStarted:
		return fmt.Sprintf("- 🟢 %s is now on call %s", nameOf(e.UserName, e.UserID), until(e, now, time.UTC))
	case KindEnded:
		return fmt.Sprintf("- ⚪ %s is no longer on call", nameOf(e.UserName, e.UserID))
	case KindOverride:
		return fmt.Sprintf("- 🔁 %s took over a shift of %s: %s", nameOf(e.ByUserName, e.ByUserID),
			nameOf(e.UserName, e.UserID), oncall.FormatSpan(e.Start, e.End, time.UTC))
	}
	return ""
}

// dmLine is one event in a DM, in the recipient's zone.
func dmLine(e *Event, now time.Time, loc *time.Location) string {
	switch e.Kind {
	case KindStarted:
		return fmt.Sprintf("🟢 You are now on call for %s %s.", scopeLabel(e), until(e, now, loc))
	case KindEnded:
		who := "Nobody is on call for it now."
		if len(e.NowOnCall) > 0 {
			names := make([]string, len(e.NowOnCall))
			for i, n := range e.NowOnCall {
				names[i] = nameOf(n, "someone")
			}
			who = "Now on call: " + strings.Join(names, ", ") + "."
		}
		return fmt.Sprintf("⚪ You are no longer on call for %s. %s", scopeLabel(e), who)
	case KindReminder:
		return fmt.Sprintf("⏰ Your on-call shift for %s %s: %s.", scopeLabel(e),
			oncall.ShiftStatus(e.Start, e.End, now), oncall.FormatSpan(e.Start, e.End, loc))
	case KindOverride:
		return fmt.Sprintf("🔁 %s took over your shift on %s: %s.", nameOf(e.ByUserName, e.ByUserID),
			scopeLabel(e), oncall.FormatSpan(e.Start, e.End, loc))
	}
	return ""
}

// message is one post or DM to send, with the events it reports.
type message struct {
	text   string
	events []*Event
}

// packer accumulates lines into messages under the post size limit; a new message starts with
// prefix (and reopen, the context line to repeat, e.g. the schedule heading).
type packer struct {
	prefix string
	out    []message
	b      strings.Builder
	runes  int
	events []*Event
}

func (p *packer) add(e *Event, line, reopen string) {
	n := utf8.RuneCountInString(line)
	if len(p.events) > 0 && p.runes+n > oncall.MaxPostRunes {
		p.flush()
		if !strings.HasPrefix(line, reopen) {
			line = reopen + line
		}
		n = utf8.RuneCountInString(line)
	}
	if len(p.events) == 0 {
		p.b.WriteString(p.prefix)
		p.runes = utf8.RuneCountInString(p.prefix)
	}
	p.b.WriteString(line)
	p.runes += n
	p.events = append(p.events, e)
}

func (p *packer) flush() []message {
	if len(p.events) > 0 {
		p.out = append(p.out, message{text: strings.TrimSuffix(p.b.String(), "\n"), events: p.events})
	}
	p.b.Reset()
	p.runes, p.events = 0, nil
	return p.out
}

// channelMessages renders the events for one channel: grouped by scope under a heading, split
// into posts under the post size limit, the scope repeated at the top of a continuation post.
func channelMessages(events []*Event, now time.Time) []message {
	p := packer{prefix: "#### PagerDuty on-call changes\n"}
	lastScope := ""
	for _, e := range events {
		heading := scopeLabel(e) + "\n"
		line := channelLine(e, now) + "\n"
		if e.ScopeID != lastScope {
			line = heading + line
		}
		p.add(e, line, heading)
		lastScope = e.ScopeID
	}
	return p.flush()
}

// dmMessages renders one user's events as DMs, one line each, split under the post size limit.
func dmMessages(events []*Event, now time.Time, loc *time.Location) []message {
	var p packer
	for _, e := range events {
		p.add(e, dmLine(e, now, loc)+"\n", "")
	}
	return p.flush()
}
