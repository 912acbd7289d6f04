package incident

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mattermost/mattermost-app-pagerduty/mdsafe"
)

// Limits that keep one card readable and well under Mattermost's post size whatever PagerDuty
// sends: a 10 000-character title must not push the status off the screen.
const (
	MaxTitleRunes       = 200
	MaxDescriptionRunes = 1000
	MaxNameRunes        = 80
	MaxListed           = 10 // assignees or teams shown before "and N more"
)

// CardText is the markdown of an incident card. Title is one line (a link to the incident);
// Body is several lines. Every piece of PagerDuty text in them is escaped with mdsafe. Buttons
// are the front door's business.
type CardText struct {
	Title string
	Body  string
}

// StatusEmoji is the colour dot shown for a status; unknown statuses get a white dot, so a new
// PagerDuty status still renders.
func StatusEmoji(status string) string {
	switch status {
	case StatusTriggered:
		return "🔴"
	case StatusAcknowledged:
		return "🟡"
	case StatusResolved:
		return "🟢"
	default:
		return "⚪"
	}
}

// Card renders the incident card. It is a pure function of the incident and the time the card
// is rendered (for the age), so it is golden-tested and cheap to call on every event.
func Card(inc Incident, now time.Time) CardText {
	return CardText{Title: TitleLink(inc), Body: cardBody(inc, now)}
}

// TitleLink is "#123 Title" linked to the incident in PagerDuty (plain escaped text when the
// URL is not http(s)).
func TitleLink(inc Incident) string {
	title := strings.TrimSpace(inc.Title)
	if title == "" {
		title = "Untitled incident"
	}
	title = mdsafe.Truncate(title, MaxTitleRunes)
	if inc.Number > 0 {
		title = "#" + strconv.Itoa(inc.Number) + " " + title
	}
	return mdsafe.Link(title, inc.HTMLURL)
}

func cardBody(inc Incident, now time.Time) string {
	var b strings.Builder
	b.Grow(512)

	b.WriteString(StatusEmoji(inc.Status))
	b.WriteString(" **")
	b.WriteString(label(inc.Status, "Unknown status"))
	b.WriteString("**")
	if inc.Urgency != "" {
		b.WriteString(" · Urgency: **")
		b.WriteString(label(inc.Urgency, ""))
		b.WriteString("**")
	}
	if p := inc.PriorityName(); p != "" {
		b.WriteString(" · Priority: **")
		b.WriteString(mdsafe.InlineMax(p, MaxNameRunes))
		b.WriteString("**")
	}

	if inc.Service.ID != "" || inc.Service.Summary != "" {
		b.WriteString("\n**Service:** ")
		b.WriteString(RefLink(inc.Service))
	}
	switch {
	case len(inc.Assignees) > 0:
		b.WriteString("\n**Assigned to:** ")
		b.WriteString(RefList(inc.Assignees))
	case inc.Status != StatusResolved:
		b.WriteString("\n**Assigned to:** nobody")
	}
	if inc.EscalationPolicy.ID != "" || inc.EscalationPolicy.Summary != "" {
		b.WriteString("\n**Escalation policy:** ")
		b.WriteString(RefLink(inc.EscalationPolicy))
	}
	if len(inc.Teams) > 0 {
		b.WriteString("\n**Teams:** ")
		b.WriteString(RefList(inc.Teams))
	}
	if !inc.CreatedAt.IsZero() {
		b.WriteString("\n**Opened:** ")
		b.WriteString(Age(now.Sub(inc.CreatedAt)))
		if inc.Status == StatusResolved && !inc.ResolvedAt.IsZero() {
			b.WriteString(" · **Resolved:** ")
			b.WriteString(Age(now.Sub(inc.ResolvedAt)))
		}
	}
	if d := strings.TrimSpace(inc.Description); d != "" {
		b.WriteString("\n\n")
		b.WriteString(mdsafe.Block(mdsafe.Truncate(d, MaxDescriptionRunes)))
	}
	return b.String()
}

// RefLink is the reference's name linked to its PagerDuty page, escaped; the id stands in for
// a missing name.
func RefLink(r Ref) string {
	name := strings.TrimSpace(r.Summary)
	if name == "" {
		name = r.ID
	}
	return mdsafe.Link(mdsafe.Truncate(name, MaxNameRunes), r.HTMLURL)
}

// RefList is up to MaxListed references joined by commas, then "and N more".
func RefList(refs []Ref) string { return joinRefs(refs, RefLink) }

// RefNames is like RefList without links, for one-line messages.
func RefNames(refs []Ref) string { return joinRefs(refs, RefName) }

// RefName is the reference's name without a link, escaped; the id stands in for a missing name.
func RefName(r Ref) string {
	name := r.Summary
	if name == "" {
		name = r.ID
	}
	return mdsafe.InlineMax(name, MaxNameRunes)
}

// joinRefs is up to MaxListed references, each written by one, joined by commas, then
// "and N more".
func joinRefs(refs []Ref, one func(Ref) string) string {
	var b strings.Builder
	for i, r := range refs {
		if i == MaxListed {
			fmt.Fprintf(&b, " and %d more", len(refs)-MaxListed)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one(r))
	}
	return b.String()
}

// Age is a short human duration: "just now", "5m ago", "3h 12m ago", "2d 4h ago". A negative
// duration (clock skew) reads "just now".
func Age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 24*time.Hour:
		h := int(d / time.Hour)
		m := int((d % time.Hour) / time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh ago", h)
		}
		return fmt.Sprintf("%dh %dm ago", h, m)
	default:
		days := int(d / (24 * time.Hour))
		h := int((d % (24 * time.Hour)) / time.Hour)
		if h == 0 {
			return fmt.Sprintf("%dd ago", days)
		}
		return fmt.Sprintf("%dd %dh ago", days, h)
	}
}

// label capitalises a PagerDuty keyword ("acknowledged" -> "Acknowledged") and escapes it, since
// a future or hostile value is still untrusted text.
func label(s, empty string) string {
	if s == "" {
		return empty
	}
	s = strings.ReplaceAll(mdsafe.Truncate(s, MaxNameRunes), "_", " ")
	r, size := utf8.DecodeRuneInString(s)
	return mdsafe.Inline(string(unicode.ToUpper(r)) + s[size:])
}
