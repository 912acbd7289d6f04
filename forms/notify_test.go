package forms

import (
	"strings"
	"testing"

	"github.com/mattermost/mattermost-plugin-apps/apps"
)

func TestNotifyFormGolden(t *testing.T) {
	switches := []NotifySwitch{
		{Name: "started", Label: "On-call started", Help: "When you go on call for a schedule", On: true},
		{Name: "ended", Label: "On-call ended", Help: "When you are no longer on call", On: false},
		{Name: "reminder", Label: "Shift starts in 30 minutes", Help: "Once per shift", On: true},
		{Name: "override", Label: "Shift taken by an override", Help: "When someone else takes your shift", On: false},
	}
	goldenJSON(t, "notify_connected.json", NotifyForm(switches, true, apps.NewCall("/notify/submit")))
	f := NotifyForm(switches, false, apps.NewCall("/notify/submit"))
	goldenJSON(t, "notify_not_connected.json", f)
	if !strings.Contains(f.Header, "/pagerduty connect") {
		t.Errorf("a user who is not connected is not told how to be found: %s", f.Header)
	}
	for i, fl := range f.Fields {
		if fl.Type != apps.FieldTypeBool || fl.Value != switches[i].On {
			t.Errorf("switch %s: type %s value %v", fl.Name, fl.Type, fl.Value)
		}
	}
}
