package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	appspath "github.com/mattermost/mattermost-plugin-apps/apps/path"
)

// Where is the user agent's position when the user acts: the channel shown, the current
// team, and for post actions the post (RootID is what the webapp sends as root_id; plugin
// v1.2.2 ignores it, see report).
type Where struct {
	ChannelID string
	TeamID    string
	PostID    string
	RootID    string
}

// Here is the stack's default team and channel (town-square of team e2e).
func (s *Stack) Here() Where { return Where{ChannelID: s.ChannelID, TeamID: s.TeamID} }

// Context builds the context the webapp sends for a binding at location of appID.
func (w Where) Context(appID apps.AppID, location apps.Location) apps.Context {
	return apps.Context{UserAgentContext: apps.UserAgentContext{
		AppID:     appID,
		Location:  location,
		ChannelID: w.ChannelID,
		TeamID:    w.TeamID,
		PostID:    w.PostID,
	}}
}

// OK turns a call response of type "error" into a Go error (keeping the response), so a test
// can write `resp, err := harness.OK(s.ExecuteCommand(...))`.
func OK(resp *apps.CallResponse, err error) (*apps.CallResponse, error) {
	if err != nil {
		return resp, err
	}
	if resp == nil {
		return nil, errors.New("no call response")
	}
	if resp.Type == apps.CallResponseTypeError {
		return resp, fmt.Errorf("app answered error: %s", resp.Text)
	}
	return resp, nil
}

// Call posts creq to {AppsAPI}/call with the user's Bearer token, as the webapp's
// Client4.executeAppCall does: context.user_agent "webapp" and track_as_submit (true for
// submits, false for form fetches and lookups). An app error comes back as a response of type
// "error" with a nil error (see OK); only an HTTP failure is an error.
func (s *Stack) Call(ctx context.Context, userToken string, creq apps.CallRequest, trackAsSubmit bool) (*apps.CallResponse, error) {
	creq.Context.UserAgent = "webapp"
	creq.Context.TrackAsSubmit = trackAsSubmit
	c := s.appsClient(ctx, userToken)
	resp, r, err := c.Call(creq)
	if err != nil {
		return nil, fmt.Errorf("call %s of %s: %w", creq.Path, creq.Context.AppID, s.appsErr(http.MethodPost, appspath.Call, r, err))
	}
	return resp, nil
}

// createCallRequest is the webapp's createCallRequest: the call's path, expand and state, the
// context, values and raw command.
func createCallRequest(call apps.Call, cc apps.Context, values map[string]any, rawCommand string) apps.CallRequest {
	return apps.CallRequest{Call: call, Context: cc, Values: values, RawCommand: rawCommand}
}

// --------------------------------------------------------------------- bindings

// RawBindings is GET {AppsAPI}/bindings?channel_id&team_id&user_agent=webapp, as served
// (sub-binding locations are relative).
func (s *Stack) RawBindings(ctx context.Context, userToken, channelID, teamID string) ([]apps.Binding, error) {
	q := url.Values{"channel_id": {channelID}, "team_id": {teamID}, "user_agent": {"webapp"}}
	var out []apps.Binding
	if err := s.getJSON(ctx, s.AppsAPI+appspath.Bindings+"?"+q.Encode(), userToken, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// BindingProblems asks the plugin for the problems it found in the apps' bindings (the
// `test=1` variant of GET /bindings, which adds the errors the plugin otherwise only logs:
// dropped bindings, bad labels, ungranted locations...). Empty when none.
func (s *Stack) BindingProblems(ctx context.Context, userToken, channelID, teamID string) (string, error) {
	q := url.Values{"channel_id": {channelID}, "team_id": {teamID}, "user_agent": {"webapp"}, "test": {"1"}}
	var out struct {
		Error string `json:"error"`
	}
	err := s.getJSON(ctx, s.AppsAPI+appspath.Bindings+"?"+q.Encode(), userToken, &out)
	return out.Error, err
}

// Bindings fetches the bindings and cleans them as the webapp's validateBindings does: only
// /post_menu, /channel_header and /command are kept, sub-bindings inherit app_id, get a label
// (default: location) and a fully qualified location (parent + "/" + location, e.g.
// "/command/pagerduty/incident/create"); invalid ones are dropped.
func (s *Stack) Bindings(ctx context.Context, userToken, channelID, teamID string) ([]apps.Binding, error) {
	raw, err := s.RawBindings(ctx, userToken, channelID, teamID)
	if err != nil {
		return nil, err
	}
	return ValidateBindings(raw), nil
}

// ValidateBindings is the webapp's validateBindings (mattermost-redux/utils/apps.ts).
func ValidateBindings(raw []apps.Binding) []apps.Binding {
	var out []apps.Binding
	for _, loc := range []apps.Location{apps.LocationPostMenu, apps.LocationChannelHeader, apps.LocationCommand} {
		for _, b := range raw {
			if b.Location != loc {
				continue
			}
			b = copyBinding(b)
			cleanBinding(&b, loc, 0)
			if len(b.Bindings) > 0 {
				out = append(out, b)
			}
		}
	}
	return out
}

func copyBinding(b apps.Binding) apps.Binding {
	data, _ := json.Marshal(b)
	var c apps.Binding
	_ = json.Unmarshal(data, &c)
	return c
}

// cleanBinding is the webapp's cleanBindingRec, in place.
func cleanBinding(b *apps.Binding, top apps.Location, depth int) {
	var kept []apps.Binding
	usedLabels := map[string]bool{}
	for _, sub := range b.Bindings {
		if sub.AppID == "" {
			sub.AppID = b.AppID
		}
		if sub.Label == "" {
			sub.Label = string(sub.Location)
		}
		sub.Location = apps.Location(string(b.Location) + "/" + string(sub.Location))
		if sub.AppID == "" || strings.TrimSpace(sub.Label) == "" {
			continue
		}
		switch top {
		case apps.LocationCommand:
			if strings.ContainsAny(sub.Label, " \t") || usedLabels[sub.Label] {
				continue
			}
		case apps.LocationChannelHeader:
			if sub.Icon == "" && depth == 0 {
				continue
			}
		}
		hasBindings, hasForm, hasSubmit := len(sub.Bindings) > 0, sub.Form != nil, sub.Submit != nil
		if (!hasBindings && !hasForm && !hasSubmit) || (hasBindings && hasForm) || (hasBindings && hasSubmit) || (hasForm && hasSubmit) {
			continue
		}
		if hasBindings {
			cleanBinding(&sub, top, depth+1)
			if len(sub.Bindings) == 0 {
				continue
			}
		} else if hasForm {
			if sub.Form.Submit == nil && sub.Form.Source == nil {
				continue
			}
			cleanWebappForm(sub.Form)
		}
		usedLabels[sub.Label] = true
		kept = append(kept, sub)
	}
	b.Bindings = kept
}

// cleanWebappForm is the webapp's cleanForm: drops fields without a name, with a blank in
// name or label (label defaults to the name for the check only), repeated labels, static
// selects without options, dynamic selects without lookup.
func cleanWebappForm(f *apps.Form) {
	var kept []apps.Field
	usedLabels := map[string]bool{}
	for _, field := range f.Fields {
		if field.Name == "" || strings.ContainsAny(field.Name, " \t") {
			continue
		}
		label := field.Label
		if label == "" {
			label = field.Name
		}
		if strings.ContainsAny(label, " \t") || usedLabels[label] {
			continue
		}
		switch field.Type {
		case apps.FieldTypeStaticSelect:
			field.SelectStaticOptions = cleanStaticOptions(field.SelectStaticOptions)
			if len(field.SelectStaticOptions) == 0 {
				continue
			}
		case apps.FieldTypeDynamicSelect:
			if field.SelectDynamicLookup == nil {
				continue
			}
		}
		usedLabels[label] = true
		kept = append(kept, field)
	}
	f.Fields = kept
}

func cleanStaticOptions(in []apps.SelectOption) []apps.SelectOption {
	var out []apps.SelectOption
	labels, values := map[string]bool{}, map[string]bool{}
	for _, o := range in {
		label := o.Label
		if label == "" {
			label = o.Value
		}
		if label == "" || labels[label] || values[o.Value] {
			continue
		}
		labels[label], values[o.Value] = true, true
		out = append(out, o)
	}
	return out
}

// FindBinding returns the binding whose (fully qualified, see Bindings) location is loc,
// searching the whole tree; nil if none.
func FindBinding(bindings []apps.Binding, loc string) *apps.Binding {
	for i := range bindings {
		if string(bindings[i].Location) == loc {
			return &bindings[i]
		}
		if b := FindBinding(bindings[i].Bindings, loc); b != nil {
			return b
		}
	}
	return nil
}

// Locations lists every fully qualified binding location in the tree (for failure messages).
func Locations(bindings []apps.Binding) []string {
	var out []string
	for _, b := range bindings {
		out = append(out, string(b.Location))
		out = append(out, Locations(b.Bindings)...)
	}
	return out
}

// BindingContext is the context the webapp sends when b (from Bindings) is clicked at where.
func BindingContext(where Where, b apps.Binding) apps.Context {
	return where.Context(b.AppID, b.Location)
}

// ClickBinding does what the webapp does when the user clicks a channel-header, post-menu or
// in-post binding (handleBindingClick): a form with a source is fetched (call, not a
// submit); an embedded form is returned as a "form" response without any request (the webapp
// opens it as a modal: continue with SubmitForm and BindingContext); a submit is called.
// For a post-menu item, where.PostID is the post.
func (s *Stack) ClickBinding(ctx context.Context, userToken string, where Where, b apps.Binding) (*apps.CallResponse, error) {
	cc := BindingContext(where, b)
	switch {
	case b.Form != nil && b.Form.Source != nil:
		return s.Call(ctx, userToken, createCallRequest(*b.Form.Source, cc, nil, ""), false)
	case b.Form != nil:
		if b.Form.Submit == nil {
			return nil, fmt.Errorf("binding %s: form has neither submit nor source", b.Location)
		}
		f := *b.Form
		return &apps.CallResponse{Type: apps.CallResponseTypeForm, Form: &f}, nil
	case b.Submit != nil:
		return s.Call(ctx, userToken, createCallRequest(*b.Submit, cc, nil, ""), true)
	}
	return nil, fmt.Errorf("binding %s has no submit and no form", b.Location)
}

// CallBinding clicks b and, when that opens a form, submits it at once with values (as a
// user filling the modal would: see SubmitForm). values may be nil.
func (s *Stack) CallBinding(ctx context.Context, userToken string, where Where, b apps.Binding, values map[string]any) (*apps.CallResponse, error) {
	resp, err := s.ClickBinding(ctx, userToken, where, b)
	if err != nil || resp.Type != apps.CallResponseTypeForm || resp.Form == nil {
		return resp, err
	}
	return s.SubmitForm(ctx, userToken, *resp.Form, BindingContext(where, b), values)
}

// SubmitForm submits a modal form as the webapp's apps form does: every field starts with
// its default (field.value, false for bool, null otherwise), values override them, required
// fields must have a value ("This field is required"), then form.submit is called with the
// context the modal was opened with (cc: from ParseCommand, BindingContext...).
//
// Values are what the modal holds: a string for text, a bool for bool, an option
// {label,value} for selects. For convenience a string given for a static select is turned
// into its option (matched by value, then label), "@name" for a user field into
// {label:name, value:id}, "~name" for a channel field into {label:display name, value:id}.
func (s *Stack) SubmitForm(ctx context.Context, userToken string, form apps.Form, cc apps.Context, values map[string]any) (*apps.CallResponse, error) {
	if form.Submit == nil {
		return nil, errors.New("form has no submit call")
	}
	v, err := s.modalValues(ctx, userToken, form, cc, values)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, f := range form.Fields {
		if f.IsRequired && isEmptyValue(v[f.Name]) {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("modal %q: This field is required: %s", form.Title, strings.Join(missing, ", "))
	}
	return s.Call(ctx, userToken, createCallRequest(*form.Submit, cc, v, ""), true)
}

// RefreshForm is what the modal does when a field with refresh:true changes: form.source is
// called (not a submit) with the current values and selected_field.
func (s *Stack) RefreshForm(ctx context.Context, userToken string, form apps.Form, cc apps.Context, values map[string]any, selectedField string) (*apps.CallResponse, error) {
	if form.Source == nil {
		return nil, errors.New("form has no source to refresh from")
	}
	v, err := s.modalValues(ctx, userToken, form, cc, values)
	if err != nil {
		return nil, err
	}
	creq := createCallRequest(*form.Source, cc, v, "")
	creq.SelectedField = selectedField
	return s.Call(ctx, userToken, creq, false)
}

// Lookup is a dynamic select's lookup as the modal performs it: field.lookup is called (not a
// submit) with the form's current values, selected_field and query; the answer's
// data.items are returned.
func (s *Stack) Lookup(ctx context.Context, userToken string, field apps.Field, cc apps.Context, values map[string]any, query string) ([]apps.SelectOption, error) {
	if field.SelectDynamicLookup == nil {
		return nil, fmt.Errorf("field %s has no lookup", field.Name)
	}
	creq := createCallRequest(*field.SelectDynamicLookup, cc, values, "")
	creq.SelectedField = field.Name
	creq.Query = query
	resp, err := OK(s.Call(ctx, userToken, creq, false))
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", field.Name, err)
	}
	return lookupItems(field.Name, resp)
}

func lookupItems(field string, resp *apps.CallResponse) ([]apps.SelectOption, error) {
	var data struct {
		Items []apps.SelectOption `json:"items"`
	}
	b, _ := json.Marshal(resp.Data)
	if err := json.Unmarshal(b, &data); err != nil {
		return nil, fmt.Errorf("lookup %s: data is not {items:[...]}: %s", field, b)
	}
	return data.Items, nil
}

func (s *Stack) modalValues(ctx context.Context, token string, form apps.Form, cc apps.Context, values map[string]any) (map[string]any, error) {
	v := map[string]any{}
	for _, f := range form.Fields {
		var def any
		if f.Type == apps.FieldTypeBool {
			def = false
		}
		if !isEmptyValue(f.Value) {
			def = f.Value
		}
		v[f.Name] = def
	}
	for name, val := range values {
		field := findField(form.Fields, name)
		str, isStr := val.(string)
		if field == nil || !isStr {
			v[name] = val
			continue
		}
		switch field.Type {
		case apps.FieldTypeStaticSelect:
			var opt *apps.SelectOption
			for i, o := range field.SelectStaticOptions {
				if o.Value == str {
					opt = &field.SelectStaticOptions[i]
					break
				}
			}
			for i, o := range field.SelectStaticOptions {
				if opt == nil && o.Label == str {
					opt = &field.SelectStaticOptions[i]
				}
			}
			if opt == nil {
				return nil, fmt.Errorf("field %s: no option %q", name, str)
			}
			v[name] = *opt
		case apps.FieldTypeDynamicSelect:
			v[name] = apps.SelectOption{Label: str, Value: str}
		case apps.FieldTypeUser:
			u, err := s.UserByUsername(ctx, token, strings.TrimPrefix(str, "@"))
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", name, err)
			}
			v[name] = apps.SelectOption{Label: u.Username, Value: u.Id}
		case apps.FieldTypeChannel:
			ch, err := s.ChannelByName(ctx, token, cc.TeamID, strings.TrimPrefix(str, "~"))
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", name, err)
			}
			v[name] = apps.SelectOption{Label: ch.DisplayName, Value: ch.Id}
		default:
			v[name] = val
		}
	}
	return v, nil
}

func findField(fields []apps.Field, name string) *apps.Field {
	for i := range fields {
		if fields[i].Name == name {
			return &fields[i]
		}
	}
	return nil
}

func isEmptyValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case apps.SelectOption:
		return x.Value == ""
	case *apps.SelectOption:
		return x == nil || x.Value == ""
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// --------------------------------------------------------------------- install

// InstallApp installs the HTTP app whose manifest is at manifestURL exactly as the webapp
// does for `/apps install http URL` typed by the admin: the command goes through the
// client-side parser to the built-in "apps" app (/install-http), which answers the consent
// modal; the modal is submitted (/install-consent) with consent, the preselected
// deploy_type (http) and secret = jwtSecret (the secret the plugin signs JWTs with when the
// manifest has use_jwt). Returns the installed app record (as the admin sees it, with
// secrets: WebhookSecret, BotUserID...). Installing over an installed app is a re-install
// (new webhook secret, on_install called again). When the app's on_install fails, the plugin
// installs it anyway: the app is returned together with an error quoting the plugin's text.
func (s *Stack) InstallApp(ctx context.Context, manifestURL, jwtSecret string) (*apps.App, error) {
	here := s.Here()
	creq, err := s.ParseCommand(ctx, s.AdminToken, here.ChannelID, here.TeamID, "/apps install http "+manifestURL)
	if err != nil {
		return nil, fmt.Errorf("install %s: %w", manifestURL, err)
	}
	resp, err := OK(s.Call(ctx, s.AdminToken, *creq, true))
	if err != nil {
		return nil, fmt.Errorf("install %s: /install-http: %w", manifestURL, err)
	}
	if resp.Type != apps.CallResponseTypeForm || resp.Form == nil {
		return nil, fmt.Errorf("install %s: /install-http answered %s %q, not the consent form", manifestURL, resp.Type, resp.Text)
	}
	values := map[string]any{"consent": true}
	if findField(resp.Form.Fields, "secret") != nil {
		values["secret"] = jwtSecret
	} else if jwtSecret != "" {
		return nil, fmt.Errorf("install %s: a JWT secret was given but the consent form has no secret field (manifest without http.use_jwt?)", manifestURL)
	}
	resp, err = OK(s.SubmitForm(ctx, s.AdminToken, *resp.Form, creq.Context, values))
	if err != nil {
		return nil, fmt.Errorf("install %s: /install-consent: %w", manifestURL, err)
	}
	return s.installedFromText(ctx, manifestURL, resp)
}

func (s *Stack) installedFromText(ctx context.Context, manifestURL string, resp *apps.CallResponse) (*apps.App, error) {
	// The consent submit answers "Installed <display name>..."; the app id is in the manifest.
	var m apps.Manifest
	if err := s.getJSON(ctx, manifestURL, "", &m); err != nil {
		return nil, fmt.Errorf("install %s: answered %q, but re-reading the manifest: %w", manifestURL, resp.Text, err)
	}
	app, err := s.GetApp(ctx, m.AppID)
	if err != nil {
		return nil, fmt.Errorf("install %s: answered %q, but: %w", manifestURL, resp.Text, err)
	}
	// The plugin installs the app even when on_install (or, without on_install, the bindings
	// call) fails, and only says so in the text.
	if strings.Contains(resp.Text, "despite on_install failure") || strings.Contains(resp.Text, "despite bindings failure") {
		return app, fmt.Errorf("install %s: app installed, but: %s", manifestURL, resp.Text)
	}
	return app, nil
}

// GetApp is GET {AppsAPI}/apps/{appID} as the admin (the raw record with secrets).
func (s *Stack) GetApp(ctx context.Context, appID apps.AppID) (*apps.App, error) {
	app, r, err := s.appsClient(ctx, s.AdminToken).GetApp(appID)
	if err != nil {
		return nil, s.appsErr(http.MethodGet, appspath.Apps+"/"+string(appID), r, err)
	}
	return app, nil
}

// UninstallApp uninstalls appID as the admin (appclient: POST {AppsAPI}/uninstall-app). An
// app that is not installed is not an error. When the app refuses or cannot be reached for
// its on_uninstall call, it falls back to what an admin would type: `/apps uninstall ID
// --force`.
func (s *Stack) UninstallApp(ctx context.Context, appID apps.AppID) error {
	r, err := s.appsClient(ctx, s.AdminToken).UninstallApp(appID)
	if err == nil {
		return nil
	}
	herr := s.appsErr(http.MethodPost, appspath.UninstallApp, r, err)
	var he *HTTPError
	if errors.As(herr, &he) && he.Status == http.StatusNotFound {
		return nil
	}
	if strings.Contains(err.Error(), "not found") {
		return nil
	}
	if _, ferr := OK(s.ExecuteCommand(ctx, s.AdminToken, s.ChannelID, s.TeamID, "/apps uninstall "+string(appID)+" --force")); ferr != nil {
		return fmt.Errorf("uninstall %s: %v; then /apps uninstall --force: %w", appID, herr, ferr)
	}
	return nil
}
