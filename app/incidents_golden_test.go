package app

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/forms"
	"github.com/mattermost/mattermost-app-pagerduty/incident"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
)

// -update rewrites golden files; the flag is registered here unless another test file of the
// package already did.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files in testdata")
	}
}

func updatingGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func goldenFile(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updatingGolden() {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test ./app -run Golden -update to create it): %v", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from golden file.\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

// mentionable finds what Mattermost would turn into a mention: '@' directly followed by a name.
var mentionable = regexp.MustCompile(`@[A-Za-z0-9_.-]`)

func hostile() incident.Incident {
	at := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	return incident.Incident{
		ID: "QHOSTILE1", Number: 7, Status: incident.StatusTriggered, Urgency: "high",
		Title:     "@channel @all @here @rita **bold** [click](javascript:alert(1)) ![x](http://evil/p.png)\n# heading\n| a | b |",
		HTMLURL:   "https://acme.pagerduty.com/incidents/QHOSTILE1",
		Priority:  &incident.Ref{ID: "PP1", Summary: "P1 @here"},
		Service:   incident.Ref{ID: "PS1", Summary: "API ``` fence", HTMLURL: "javascript:void(0)"},
		Assignees: []incident.Ref{{ID: "PU1", Summary: "Eve](http://evil) @all"}},
		CreatedAt: at, UpdatedAt: at,
		Description: "> quote @channel\n```\ncode\n```",
	}
}

// TestIncidentCardPostGolden pins the card post (message and buttons) for a hostile incident:
// nothing from PagerDuty can mention anyone or break out of the card's markdown.
func TestIncidentCardPostGolden(t *testing.T) {
	a := &App{now: func() time.Time { return time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) }}
	for name, inc := range map[string]incident.Incident{
		"incident_card_hostile.json": hostile(),
		"incident_card_acknowledged.json": func() incident.Incident {
			i := hostile()
			i.Title, i.Status, i.Priority, i.Service, i.Assignees, i.Description = "Disk full on db-3", incident.StatusAcknowledged, nil,
				incident.Ref{ID: "PS1", Summary: "Database", HTMLURL: "https://acme.pagerduty.com/services/PS1"},
				[]incident.Ref{{ID: "PU1", Summary: "Rita Responder", HTMLURL: "https://acme.pagerduty.com/users/PU1"}}, ""
			return i
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			p := a.incidentCardPost(inc)
			b, err := json.MarshalIndent(map[string]any{"message": p.Message, "props": p.GetProps()}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			goldenFile(t, name, append(b, '\n'))
			if m := mentionable.FindAllString(p.Message, -1); len(m) > 0 {
				t.Errorf("card can mention %v:\n%s", m, p.Message)
			}
			for _, bad := range []string{"](javascript:", "![", "\n#", "\n```", "\n>", "\n|"} {
				if strings.Contains(p.Message, bad) {
					t.Errorf("card contains %q:\n%s", bad, p.Message)
				}
			}
		})
	}
}

// TestUntrustedTextThroughTheApp: hostile titles and notes from PagerDuty, read through the
// real paths (card, list, view, replies), never produce a mention.
func TestUntrustedTextThroughTheApp(t *testing.T) {
	e := newIncidentEnv(t)
	id := e.addIncident("@channel wake up @all [x](javascript:1)", func(i *pdfake.Incident) {
		i.Notes = []pdfake.Note{{ID: "PN1", UserID: e.seed.Secondary, Content: "@here\n# boom", CreatedAt: e.clock.Now()}}
	})
	card, err := e.app.postIncidentCard(e.ctx, e.botClient(), e.channel.Id, e.viewOf(id))
	if err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{"card": e.mm.PostByID(card.Id).Message}
	texts["list"] = e.command(e.user, "incidents", nil).Text
	texts["view"] = e.command(e.user, "incident", map[string]any{forms.FieldIncident: id}).Text
	texts["ack reply"] = e.click(e.user, e.mm.PostByID(card.Id), "Acknowledge").Text
	texts["card after ack"] = e.mm.PostByID(card.Id).Message
	for name, md := range texts {
		if m := mentionable.FindAllString(md, -1); len(m) > 0 {
			t.Errorf("%s can mention %v:\n%s", name, m, md)
		}
		if strings.Contains(md, "](javascript:") {
			t.Errorf("%s has a javascript link:\n%s", name, md)
		}
	}
}
