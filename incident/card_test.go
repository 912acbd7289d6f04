package incident

import (
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mattermost/mattermost-app-pagerduty/internal/golden"
	"github.com/mattermost/mattermost-app-pagerduty/internal/mentions"
)

var cardNow = time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)

func baseIncident() Incident {
	return Incident{
		ID:               "PGR0VU2",
		Number:           2,
		Title:            "A little bump in the road",
		Status:           StatusTriggered,
		Urgency:          "high",
		HTMLURL:          "https://acme.pagerduty.com/incidents/PGR0VU2",
		Priority:         &Ref{ID: "PSO75BM", Summary: "P1"},
		Service:          Ref{ID: "PF9KMXH", Summary: "API Service", HTMLURL: "https://acme.pagerduty.com/services/PF9KMXH"},
		EscalationPolicy: Ref{ID: "PUS0KTE", Summary: "Default", HTMLURL: "https://acme.pagerduty.com/escalation_policies/PUS0KTE"},
		Teams:            []Ref{{ID: "PFCVPS0", Summary: "Engineering", HTMLURL: "https://acme.pagerduty.com/teams/PFCVPS0"}},
		Assignees:        []Ref{{ID: "PTUXL6G", Summary: "User 123", HTMLURL: "https://acme.pagerduty.com/users/PTUXL6G"}},
		CreatedAt:        cardNow.Add(-3*time.Hour - 12*time.Minute),
	}
}

func cardCases() []struct {
	name string
	inc  Incident
} {
	ack := baseIncident()
	ack.Status = StatusAcknowledged
	ack.Urgency = "low"
	ack.Priority = nil
	ack.Teams = nil

	resolved := baseIncident()
	resolved.Status = StatusResolved
	resolved.Assignees = nil
	resolved.ResolvedAt = cardNow.Add(-5 * time.Minute)
	resolved.CreatedAt = cardNow.Add(-49 * time.Hour)

	hostile := baseIncident()
	hostile.Title = "@channel **URGENT** [x](javascript:alert(1)) ![img](http://evil/x.png)\n# not a heading\n> quote"
	hostile.HTMLURL = "javascript:alert(1)"
	hostile.Service = Ref{ID: "S", Summary: "@here <script>alert(1)</script>", HTMLURL: "https://acme.pagerduty.com/services/S"}
	hostile.Assignees = []Ref{{ID: "U", Summary: "Mallory](http://evil) @all", HTMLURL: "data:text/html,x"}}
	hostile.Priority = &Ref{ID: "P", Summary: "P1 | col | `code`"}
	hostile.Description = "line one @channel\n- list item\n```\ncode fence\n```\n<!-- comment -->"

	long := baseIncident()
	long.Title = strings.Repeat("Disk space low on db-primary ", 18)[:500]
	long.Description = strings.Repeat("x", 3000)

	many := baseIncident()
	many.Assignees = nil
	for i := 0; i < 12; i++ {
		many.Assignees = append(many.Assignees, Ref{ID: "U" + string(rune('A'+i)), Summary: "User " + string(rune('A'+i))})
	}

	bare := Incident{ID: "Q9", Status: "snoozed"}

	// Mentions spelled as entities, or hidden behind punctuation, which a pattern for "@word"
	// does not see but Mattermost does.
	entities := baseIncident()
	entities.Title = "&commat;channel DB down &#64;all see.@here"
	entities.Service = Ref{ID: "S", Summary: "&#x40;here API", HTMLURL: "https://acme.pagerduty.com/services/S"}
	entities.Assignees = []Ref{{ID: "U", Summary: "&commat;alice", HTMLURL: "https://acme.pagerduty.com/users/U"}}
	entities.Teams = []Ref{{ID: "T", Summary: "x-@all", HTMLURL: "https://acme.pagerduty.com/teams/T"}}
	entities.Priority = &Ref{ID: "P", Summary: "&#0064;channel"}
	entities.Description = "&commat;here\n&amp;commat;here is fine"

	return []struct {
		name string
		inc  Incident
	}{
		{"triggered", baseIncident()},
		{"acknowledged", ack},
		{"resolved", resolved},
		{"hostile", hostile},
		{"hostile_entities", entities},
		{"long_title", long},
		{"many_assignees", many},
		{"bare_unknown_status", bare},
	}
}

func TestCardGolden(t *testing.T) {
	for _, tc := range cardCases() {
		t.Run(tc.name, func(t *testing.T) {
			c := Card(tc.inc, cardNow)
			got := "TITLE: " + c.Title + "\n---\n" + c.Body + "\n"
			golden.Assert(t, "card_"+tc.name+".golden.md", []byte(got))
		})
	}
}

var (
	rawMention = regexp.MustCompile(`@[a-zA-Z0-9_.\-]`)
	// Any markdown link or image whose target is not http(s).
	badLink = regexp.MustCompile(`\]\((?:[^h)]|h[^t])`)
)

// Properties that must hold whatever the golden files say, so that an -update cannot bless an
// unsafe card.
func TestCardIsSafe(t *testing.T) {
	for _, tc := range cardCases() {
		t.Run(tc.name, func(t *testing.T) {
			c := Card(tc.inc, cardNow)
			all := c.Title + "\n" + c.Body
			if m := rawMention.FindString(all); m != "" {
				t.Errorf("live mention %q in card:\n%s", m, all)
			}
			// As Mattermost finds them: after markdown parsing and entity decoding.
			for _, part := range []string{c.Title, c.Body} {
				if m := mentions.Find(part); len(m) > 0 {
					t.Errorf("card mentions %v:\n%s", m, part)
				}
			}
			if strings.Contains(all, "javascript:") && strings.Contains(all, "](javascript") {
				t.Errorf("javascript link in card:\n%s", all)
			}
			if m := badLink.FindString(all); m != "" {
				t.Errorf("non-http link %q in card:\n%s", m, all)
			}
			if strings.ContainsAny(c.Title, "\n\r") {
				t.Errorf("title spans lines: %q", c.Title)
			}
			if n := utf8.RuneCountInString(c.Title); n > MaxTitleRunes*2+200 {
				t.Errorf("title is %d runes", n)
			}
			for _, line := range strings.Split(c.Body, "\n") {
				if strings.HasPrefix(line, "#") || strings.HasPrefix(line, ">") || strings.HasPrefix(line, "```") || strings.HasPrefix(line, "- ") {
					t.Errorf("body line starts a markdown block: %q", line)
				}
			}
			if !strings.HasPrefix(c.Body, StatusEmoji(tc.inc.Status)) {
				t.Errorf("body does not start with the status emoji: %q", c.Body)
			}
		})
	}
}

func TestStatusEmoji(t *testing.T) {
	for status, want := range map[string]string{"triggered": "🔴", "acknowledged": "🟡", "resolved": "🟢", "snoozed": "⚪", "": "⚪"} {
		if got := StatusEmoji(status); got != want {
			t.Errorf("StatusEmoji(%q) = %q, want %q", status, got, want)
		}
	}
}
