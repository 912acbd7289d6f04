package forms

import (
	"strings"
	"testing"

	"github.com/mattermost/mattermost-plugin-apps/apps"
)

var testSubs = []SubscriptionLine{
	{ID: "k3x9qa", Markdown: "`k3x9qa` all incident events", Plain: "k3x9qa: all incident events"},
	{ID: "m7pq2r", Markdown: "`m7pq2r` incident.triggered, incident.resolved · services PX1 · urgency high",
		Plain: "m7pq2r: incident.triggered, incident.resolved · services PX1 · urgency high"},
}

func TestSubscriptionListGolden(t *testing.T) {
	tests := []struct {
		name string
		v    SubscriptionListView
	}{
		{"subscription_list.md", SubscriptionListView{Channel: "Incidents", Subs: testSubs, CanManage: true, WebhookReady: true}},
		{"subscription_list_member.md", SubscriptionListView{Channel: "Incidents", Subs: testSubs, WebhookReady: true}},
		// A channel name is untrusted text; the webhook note shows until an admin sets it up.
		{"subscription_list_empty_hostile.md", SubscriptionListView{Channel: "*pwn* [x](http://evil) @all", CanManage: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { golden(t, tt.name, SubscriptionList(tt.v)) })
	}
}

func TestSubscriptionTextsGolden(t *testing.T) {
	got := SubscribedText("Incidents", testSubs[1], false) + "\n---\n" +
		UnsubscribedText("Incidents", testSubs) + "\n---\n" + UnsubscribedText("Incidents", nil)
	golden(t, "subscription_texts.md", got)
}

func TestSubscriptionSettingsGolden(t *testing.T) {
	submit := apps.NewCall("/notifications/submit")
	events := []string{"incident.triggered", "incident.acknowledged", "incident.resolved"}
	goldenJSON(t, "subscription_settings.json", SubscriptionSettings(SubscriptionSettingsView{Channel: "Incidents", Subs: testSubs, EventTypes: events, WebhookReady: true}, submit))
	empty := SubscriptionSettings(SubscriptionSettingsView{Channel: "Incidents", EventTypes: events}, submit)
	goldenJSON(t, "subscription_settings_empty.json", empty)
	// With nothing to remove, the form offers neither the removal actions nor the field.
	if len(empty.Fields[0].SelectStaticOptions) != 1 {
		t.Fatalf("actions %+v", empty.Fields[0].SelectStaticOptions)
	}
	for _, f := range empty.Fields {
		if f.Name == SubFieldRemove {
			t.Fatal("a remove field without subscriptions")
		}
	}
	goldenJSON(t, "subscription_continue.json", NotificationsContinue(apps.NewCall("/notifications")))
}

// Labels are what the webapp matches --flags against, and the plugin drops fields whose
// label is not one word or repeats.
func TestSubscriptionSettingsLabels(t *testing.T) {
	f := SubscriptionSettings(SubscriptionSettingsView{Channel: "c", Subs: testSubs, EventTypes: []string{"a"}}, apps.NewCall("/x"))
	seen := map[string]bool{}
	for _, fld := range f.Fields {
		if fld.Label != fld.Name || strings.ContainsAny(fld.Label, " \t") || seen[fld.Label] {
			t.Errorf("field %s label %q", fld.Name, fld.Label)
		}
		seen[fld.Label] = true
	}
}
