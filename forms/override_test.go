package forms

import (
	"strings"
	"testing"

	"github.com/mattermost/mattermost-plugin-apps/apps"
)

func TestOverrideFormsGolden(t *testing.T) {
	sched := &apps.SelectOption{Label: "Platform Primary", Value: "schedule:PSCHED1"}
	lookup, submit := apps.NewCall("/lookup"), apps.NewCall("/override")
	preview := "2 shift(s) of **Sam Second** will be handed over (times in Europe/Berlin):\n" +
		"- Tue 24 Nov 10:00 CET – Wed 25 Nov 10:00 CET (1d)\n- Fri 27 Nov 10:00 CET – Sat 28 Nov 10:00 CET (1d)\n"
	tests := []struct {
		name string
		form apps.Form
	}{
		{"override_quick_new.json", QuickOverrideForm(OverrideValues{}, "Europe/Berlin", lookup, lookup, submit)},
		{"override_quick_echo.json", QuickOverrideForm(OverrideValues{Schedule: sched, User: &apps.SelectOption{Label: "lena", Value: "lena"}, End: "4h"},
			"Europe/Berlin", lookup, lookup, submit)},
		{"override_bulk_new.json", BulkOverrideForm(BulkValues{Schedule: sched}, "Europe/Berlin", lookup, apps.NewCall("/lookup/members"), lookup, apps.NewCall("/override/bulk"))},
		{"override_bulk_preview.json", BulkPreview("Platform Primary", "Lena Limited", preview, "", 2, apps.NewCall("/override/bulk/confirm"))},
		{"override_bulk_preview_changed.json", BulkPreview("Platform Primary", "Lena Limited", preview, "⚠️ **The schedule changed since the preview.**", 2,
			apps.NewCall("/override/bulk/confirm"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { goldenJSON(t, tt.name, tt.form) })
	}
}

// TestOverrideFormsEcho: values typed in a command come back in the modal, and an empty value is
// no value (the webapp would show "" as chosen).
func TestOverrideFormsEcho(t *testing.T) {
	f := QuickOverrideForm(OverrideValues{Start: "2026-11-23 14:00", End: ""}, "UTC", nil, nil, apps.NewCall("/o"))
	byName := map[string]apps.Field{}
	for _, fl := range f.Fields {
		byName[fl.Name] = fl
		if !fl.IsRequired {
			t.Errorf("modal field %s is not required", fl.Name)
		}
	}
	if byName[FieldStart].Value != "2026-11-23 14:00" || byName[FieldEnd].Value != nil || byName[FieldSchedule].Value != nil {
		t.Errorf("echo: start %v end %v schedule %v", byName[FieldStart].Value, byName[FieldEnd].Value, byName[FieldSchedule].Value)
	}
	if def := QuickOverrideForm(OverrideValues{}, "UTC", nil, nil, apps.NewCall("/o")); def.Fields[2].Value != "now" {
		t.Errorf("start defaults to %v, want now", def.Fields[2].Value)
	}
}

func TestBulkPreviewEscapesNames(t *testing.T) {
	f := BulkPreview(hostileName, hostileName, "- a shift\n", "", 1, apps.NewCall("/c"))
	checkSafeHeader(t, f.Header)
	if !strings.Contains(f.Fields[0].SelectStaticOptions[0].Label, "Create 1 override(s)") {
		t.Errorf("button: %+v", f.Fields[0])
	}
}
