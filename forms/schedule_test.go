package forms

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mattermost/mattermost-plugin-apps/apps"
)

// hostileName is a schedule name that tries every markdown trick.
const hostileName = "@channel **Ops** [x](javascript:alert(1)) `code` \n# heading"

var scheduleMention = regexp.MustCompile(`@[A-Za-z0-9_.-]`)

// checkSafeHeader fails when markdown built from hostileName could mention or format.
func checkSafeHeader(t *testing.T, md string) {
	t.Helper()
	if m := scheduleMention.FindAllString(md, -1); len(m) > 0 {
		t.Errorf("header can mention %v:\n%s", m, md)
	}
	for _, bad := range []string{"](javascript:", "\n#", "**Ops**"} {
		if strings.Contains(md, bad) {
			t.Errorf("header contains %q:\n%s", bad, md)
		}
	}
}

func TestScheduleFormsGolden(t *testing.T) {
	act := &apps.Call{Path: "/schedule/action", State: map[string]any{"id": "PSCHED1"}}
	view := "#### **Platform Primary**\n**On call now:** **Rita Responder** (23h 30m remaining)\n"
	tests := []struct {
		name string
		form apps.Form
	}{
		{"schedule_view.json", ScheduleView("Platform Primary", view, true, act)},
		{"schedule_view_nobody.json", ScheduleView("Platform Primary", view, false, act)},
		{"schedule_pick.json", SchedulePick(apps.NewCall("/lookup/schedules"), apps.NewCall("/schedule"))},
		{"schedule_page.json", PageOnCall("PSCHED1", "Platform Primary", []string{"Rita Responder"}, apps.NewCall("/lookup/pagerduty"),
			apps.NewCall("/lookup/pagerduty"), apps.NewCall("/page"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { goldenJSON(t, tt.name, tt.form) })
	}
}

// TestScheduleViewButtons: the page button is offered only when someone is on call, and the
// buttons are the submit-buttons field (one word labels, as every field).
func TestScheduleViewButtons(t *testing.T) {
	for _, canPage := range []bool{true, false} {
		f := ScheduleView("S", "md", canPage, apps.NewCall("/x"))
		if f.SubmitButtons != FieldButton || len(f.Fields) != 1 || f.Fields[0].Name != FieldButton {
			t.Fatalf("buttons field: %+v", f)
		}
		var values []string
		for _, o := range f.Fields[0].SelectStaticOptions {
			values = append(values, o.Value)
		}
		hasPage := strings.Contains(strings.Join(values, ","), ButtonPage)
		if hasPage != canPage {
			t.Errorf("canPage=%v: buttons %v", canPage, values)
		}
	}
}

// TestScheduleFormsHostileNames: PagerDuty names are escaped in headers, and titles (plain text)
// are one bounded line.
func TestScheduleFormsHostileNames(t *testing.T) {
	long := strings.Repeat("Very long schedule name ", 20)
	for _, name := range []string{hostileName, long} {
		page := PageOnCall("PS", name, []string{"@all Mallory"}, apps.NewCall("/l"), apps.NewCall("/l"), apps.NewCall("/p"))
		checkSafeHeader(t, page.Header)
		for _, f := range []apps.Form{page, ScheduleView(name, "x", true, apps.NewCall("/a"))} {
			if strings.ContainsAny(f.Title, "\n\r") || utf8.RuneCountInString(f.Title) > 80 {
				t.Errorf("title %q is not one bounded line", f.Title)
			}
		}
		b, _ := json.Marshal(page.Fields[0].Value)
		if strings.Contains(string(b), `\n`) {
			t.Errorf("target label keeps a line break: %s", b)
		}
	}
}
