package mmfake

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-plugin-apps/utils"
)

// The plugin's cleanup of bindings (server/proxy/invoke_bindings.go) and forms
// (server/proxy/form.go), port for port: what it drops, the webapp never shows.

func (s *Server) normalizeStaticPath(appID apps.AppID, icon string) (string, error) {
	if !strings.HasPrefix(icon, "http://") && !strings.HasPrefix(icon, "https://") {
		clean, err := utils.CleanStaticURL(icon)
		if err != nil {
			return "", fmt.Errorf("invalid icon path: %w", err)
		}
		icon = s.appURL(appID) + "/" + path.Join("static", clean)
	}
	return icon, nil
}

func (s *Server) cleanAppBindings(app *apps.App, bindings []apps.Binding, locPrefix apps.Location, userAgent string) ([]apps.Binding, error) {
	out := []apps.Binding{}
	usedLocations := map[apps.Location]bool{}
	usedCommandLabels := map[string]bool{}
	seenLoc, seenLabel := map[apps.Location]bool{}, map[string]bool{}
	var problems []error
	for _, b := range bindings {
		clean, err := s.cleanAppBinding(app, b, locPrefix, userAgent)
		if err != nil {
			problems = append(problems, err)
		}
		if clean == nil {
			continue
		}
		fql := locPrefix.Sub(clean.Location)
		if usedLocations[clean.Location] {
			problems = append(problems, fmt.Errorf("ignored duplicate command binding for location %q", clean.Location))
			continue
		}
		if fql.In(apps.LocationCommand) && usedCommandLabels[clean.Label] {
			problems = append(problems, fmt.Errorf("ignored duplicate command binding for label %q (location %q)", clean.Label, clean.Location))
			continue
		}
		// The plugin never marks locations or labels as used, so its two checks above never
		// fire and the webapp gets both bindings. Report duplicates, keep both, as it does.
		if seenLoc[clean.Location] {
			problems = append(problems, fmt.Errorf("%s: duplicate location (the plugin keeps both)", fql))
		} else if fql.In(apps.LocationCommand) && seenLabel[clean.Label] {
			problems = append(problems, fmt.Errorf("%s: duplicate command label %q (the plugin keeps both)", fql, clean.Label))
		}
		seenLoc[clean.Location], seenLabel[clean.Label] = true, true
		out = append(out, *clean)
	}
	return out, errors.Join(problems...)
}

func (s *Server) cleanAppBinding(app *apps.App, b apps.Binding, locPrefix apps.Location, userAgent string) (*apps.Binding, error) {
	var problems []error
	fail := func() (*apps.Binding, error) { return nil, errors.Join(problems...) }
	if b.Location == "" && b.Label == "" {
		problems = append(problems, fmt.Errorf("%s: sub-binding with no location nor label", locPrefix))
		return fail()
	}
	if b.Location == "" {
		b.Location = apps.Location(b.Label)
	}
	if trimmed := apps.Location(strings.TrimSpace(string(b.Location))); trimmed != b.Location {
		problems = append(problems, fmt.Errorf("%s: trimmed whitespace from location", locPrefix.Sub(trimmed)))
		b.Location = trimmed
	}
	fql := locPrefix.Sub(b.Location)
	allowed := false
	for _, granted := range app.GrantedLocations {
		if fql.In(granted) {
			allowed = true
			break
		}
	}
	if !allowed {
		problems = append(problems, fmt.Errorf("%s: location is not granted", fql))
		return fail()
	}
	if !fql.IsTop() {
		b.AppID = app.AppID
	}
	if fql != apps.LocationCommand && fql.In(apps.LocationCommand) {
		if b.Label == "" {
			b.Label = string(b.Location)
		}
		if trimmed := strings.TrimSpace(b.Label); trimmed != b.Label {
			problems = append(problems, fmt.Errorf("%s: trimmed whitespace from label %s", fql, trimmed))
			b.Label = trimmed
		}
		if strings.ContainsAny(b.Label, " \t") {
			problems = append(problems, fmt.Errorf("%s: command label %q has multiple words", fql, b.Label))
			return fail()
		}
	}
	if b.Icon != "" {
		icon, err := s.normalizeStaticPath(app.AppID, b.Icon)
		if err == nil {
			b.Icon = icon
		} else {
			problems = append(problems, fmt.Errorf("%s: invalid icon path %q in binding", fql, b.Icon))
			b.Icon = ""
		}
	}
	if fql == apps.LocationChannelHeader.Sub(b.Location) && b.Icon == "" && userAgent == "webapp" {
		problems = append(problems, fmt.Errorf("%s: no icon in channel header binding", fql))
		return fail()
	}
	hasBindings, hasForm, hasSubmit := len(b.Bindings) > 0, b.Form != nil, b.Submit != nil
	switch {
	case hasBindings && !hasForm && !hasSubmit:
		sub, err := s.cleanAppBindings(app, b.Bindings, fql, userAgent)
		if err != nil {
			problems = append(problems, err)
		}
		b.Bindings = sub
		if len(b.Bindings) == 0 {
			return fail()
		}
	case hasForm && !hasSubmit && !hasBindings:
		clean, err := s.cleanForm(*b.Form, app.AppID)
		if err != nil {
			problems = append(problems, err)
		}
		b.Form = &clean
	case hasSubmit && !hasBindings && !hasForm:
	default:
		problems = append(problems, fmt.Errorf(`%s: (only) one of  "submit", "form", or "bindings" must be set in a binding`, fql))
		return fail()
	}
	return &b, errors.Join(problems...)
}

func (s *Server) cleanForm(in apps.Form, appID apps.AppID) (apps.Form, error) {
	out := in
	out.Fields = []apps.Field{}
	var problems []error
	usedLabels := map[string]bool{}
	if in.Icon != "" {
		icon, err := s.normalizeStaticPath(appID, in.Icon)
		if err != nil {
			problems = append(problems, fmt.Errorf("invalid icon path in form: %w", err))
			out.Icon = ""
		} else {
			out.Icon = icon
		}
	}
	if in.Submit == nil && in.Source == nil {
		problems = append(problems, errors.New("form must define either a submit or a source"))
	}
	for _, f := range in.Fields {
		if f.Name == "" {
			problems = append(problems, fmt.Errorf("field with no name, label %s", f.Label))
			continue
		}
		if strings.ContainsAny(f.Name, " \t") {
			problems = append(problems, fmt.Errorf("field name must be a single word: %q", f.Name))
			continue
		}
		if f.Label == "" {
			f.Label = strings.ReplaceAll(f.Name, "_", "-")
		}
		if strings.ContainsAny(f.Label, " \t") {
			problems = append(problems, fmt.Errorf("label must be a single word: %q (field: %s)", f.Label, f.Name))
			continue
		}
		if usedLabels[f.Label] {
			problems = append(problems, fmt.Errorf("repeated label: %q (field: %s)", f.Label, f.Name))
			continue
		}
		switch f.Type {
		case apps.FieldTypeStaticSelect:
			clean, err := cleanStaticSelect(f)
			if err != nil {
				problems = append(problems, err)
			}
			if len(clean.SelectStaticOptions) == 0 {
				problems = append(problems, fmt.Errorf("no options for static select: %s", f.Name))
				continue
			}
			f = clean
		case apps.FieldTypeDynamicSelect:
			if f.SelectDynamicLookup == nil {
				problems = append(problems, fmt.Errorf("no lookup call for dynamic select: %s", f.Name))
				continue
			}
		}
		out.Fields = append(out.Fields, f)
		usedLabels[f.Label] = true
	}
	return out, errors.Join(problems...)
}

func cleanStaticSelect(f apps.Field) (apps.Field, error) {
	var problems []error
	usedLabels, usedValues := map[string]bool{}, map[string]bool{}
	clean := []apps.SelectOption{}
	for _, option := range f.SelectStaticOptions {
		label := option.Label
		if label == "" {
			label = option.Value
		}
		if label == "" {
			problems = append(problems, fmt.Errorf("option with neither label nor value (field %s)", f.Name))
			continue
		}
		if usedLabels[label] {
			problems = append(problems, fmt.Errorf("repeated label %q on select option (field %s)", label, f.Name))
			continue
		}
		if usedValues[option.Value] {
			problems = append(problems, fmt.Errorf("repeated value %q on select option (field %s)", option.Value, f.Name))
			continue
		}
		usedLabels[label], usedValues[option.Value] = true, true
		clean = append(clean, option)
	}
	f.SelectStaticOptions = clean
	return f, errors.Join(problems...)
}

// mergeBindings and sortTopBindings are proxy.mergeBindings and proxy.SortTopBindings,
// including the unstable sort of sub-bindings by app id.
func mergeBindings(bb1, bb2 []apps.Binding) []apps.Binding {
	out := append([]apps.Binding(nil), bb1...)
	for _, b2 := range bb2 {
		found := false
		for i, o := range out {
			if b2.AppID == o.AppID && b2.Location == o.Location {
				found = true
				merged := b2
				if len(o.Bindings) != 0 {
					merged.Bindings = mergeBindings(o.Bindings, b2.Bindings)
				}
				out[i] = merged
			}
		}
		if !found {
			out = append(out, b2)
		}
	}
	return out
}

func sortTopBindings(in []apps.Binding) []apps.Binding {
	out := []apps.Binding{}
	for _, b := range in {
		sort.Slice(b.Bindings, func(i, j int) bool { return b.Bindings[i].AppID < b.Bindings[j].AppID })
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Location < out[j].Location })
	return out
}
