package harness

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/mattermost/mattermost-plugin-apps/apps"
	"github.com/mattermost/mattermost-server/v6/model"
)

// Parser tests on static bindings (no stack): fields without user/channel types need no
// server.
func testCommandBindings() []apps.Binding {
	raw := []apps.Binding{{
		Location: apps.LocationCommand,
		Bindings: []apps.Binding{{
			AppID: "t", Location: "t", Label: "t",
			Bindings: []apps.Binding{
				{Location: "echo", Label: "echo", Form: &apps.Form{
					Submit: &apps.Call{Path: "/echo", State: "st"},
					Fields: []apps.Field{
						{Name: "message", Label: "message", Type: apps.FieldTypeText, AutocompletePosition: 1, IsRequired: true},
						{Name: "count", Label: "count", Type: apps.FieldTypeText, AutocompletePosition: 2},
						{Name: "priority", Label: "priority", Type: apps.FieldTypeStaticSelect, SelectStaticOptions: []apps.SelectOption{
							{Label: "High", Value: "P1"}, {Label: "Low", Value: "P5"}}},
						{Name: "service_id", Label: "service-id", Type: apps.FieldTypeDynamicSelect, SelectDynamicLookup: &apps.Call{Path: "/lookup"}},
						{Name: "notify", Label: "notify", Type: apps.FieldTypeBool},
						{Name: "tags", Label: "tags", Type: apps.FieldTypeStaticSelect, SelectIsMulti: true, SelectStaticOptions: []apps.SelectOption{
							{Label: "A", Value: "a"}, {Label: "B", Value: "b"}}},
						{Name: "fixed", Label: "fixed", Type: apps.FieldTypeText, ReadOnly: true, Value: "ro"},
						{Name: "dflt", Label: "dflt", Type: apps.FieldTypeStaticSelect, Value: map[string]any{"label": "Low", "value": "P5"},
							SelectStaticOptions: []apps.SelectOption{{Label: "Low", Value: "P5"}}},
					},
				}},
				{Location: "note", Label: "note", Form: &apps.Form{
					Submit: &apps.Call{Path: "/note"},
					Fields: []apps.Field{
						{Name: "id", Label: "id", Type: apps.FieldTypeText, AutocompletePosition: 1, IsRequired: true},
						{Name: "text", Label: "text", Type: apps.FieldTypeText, AutocompletePosition: -1},
					},
				}},
				{Location: "ping", Label: "ping", Submit: &apps.Call{Path: "/ping"}},
				{Location: "sourced", Label: "sourced", Form: &apps.Form{Source: &apps.Call{Path: "/form"}}},
			},
		}},
	}}
	var out []apps.Binding
	for _, b := range ValidateBindings(raw) {
		out = append(out, b.Bindings...)
	}
	return out
}

func parse(t *testing.T, cmd string) (*apps.CallRequest, *CommandError) {
	t.Helper()
	p := &commandParser{where: Where{ChannelID: "ch", TeamID: "tm"}}
	return p.composeCommandSubmitCall(normalizeCommand(cmd), testCommandBindings())
}

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		cmd      string
		path     string
		location string
		values   string // JSON
	}{
		{`/t echo hello`, "/echo", "/command/t/echo",
			`{"dflt":{"label":"Low","value":"P5"},"fixed":"ro","message":"hello"}`},
		{`/T  Echo "hello world" 3 --priority P1 --service-id=svc1 --notify --tags [a, b]`, "/echo", "/command/t/echo",
			`{"count":"3","dflt":{"label":"Low","value":"P5"},"fixed":"ro","message":"hello world","notify":true,"priority":{"label":"High","value":"P1"},"service_id":{"label":"svc1","value":"svc1"},"tags":[{"label":"A","value":"a"},{"label":"B","value":"b"}]}`},
		{"/t echo `x y` --notify false --tags [a", "/echo", "/command/t/echo", // an unclosed list is accepted
			`{"dflt":{"label":"Low","value":"P5"},"fixed":"ro","message":"x y","notify":false,"tags":[{"label":"A","value":"a"}]}`},
		{`/t echo --notify hi`, "/echo", "/command/t/echo",
			`{"dflt":{"label":"Low","value":"P5"},"fixed":"ro","message":"hi","notify":true}`},
		{`/t note 42 the rest of  the line`, "/note", "/command/t/note",
			`{"id":"42","text":"the rest of  the line"}`},
		{`/t ping`, "/ping", "/command/t/ping", `{}`},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			creq, err := parse(t, tc.cmd)
			if err != nil {
				t.Fatal(err)
			}
			if creq.Path != tc.path || string(creq.Context.Location) != tc.location {
				t.Errorf("path %q location %q", creq.Path, creq.Context.Location)
			}
			got, _ := json.Marshal(creq.Values)
			var g, w any
			_ = json.Unmarshal(got, &g)
			_ = json.Unmarshal([]byte(tc.values), &w)
			if !reflect.DeepEqual(g, w) {
				t.Errorf("values\n got %s\nwant %s", got, tc.values)
			}
			if creq.RawCommand != normalizeCommand(tc.cmd) || creq.Context.ChannelID != "ch" || creq.Context.TeamID != "tm" || creq.Context.AppID != "t" {
				t.Errorf("creq %+v", creq)
			}
		})
	}
	if creq, _ := parse(t, "/t echo hi"); creq.State != "st" {
		t.Errorf("state %v", creq.State)
	}
}

func TestParseCommandErrors(t *testing.T) {
	for cmd, want := range map[string]string{
		`/t echo`:                        "Required fields missing: `message`.",
		`/t echo hi --nope x`:            "Command does not accept flag `nope`.",
		`/t echo hi --service_id x`:      "Command does not accept flag `service_id`.", // the label is service-id
		`/t echo hi 2 3`:                 "Unable to identify argument.",
		`/t echo "hi`:                    "Matching double quote expected",
		`/t echo hi --priority High`:     "Unknown option for field `priority`: `High`", // by value only
		`/t echo hi --priority=x=y`:      "Unknown option",
		`/t echo hi --priority==x`:       "Multiple `=` signs are not allowed.",
		`/t echo hi --count [1]`:         "Unexpected list opening.",
		`/t`:                             "You must select a subcommand",
		`/t nosuch`:                      "You must select a subcommand",
		`t echo`:                         "Command must start with a `/`.",
		`/t sourced`:                     "", // needs the stack to fetch the source: checked in e2e
		`/t echo hi --tags [a, a]`:       "Option repeated for field `tags`",
		`/t echo hi --tags [a, c]`:       "Unknown option for field `tags`: `c`",
		`/t echo hi --tags [a,`:          "Expected list closing token.",
		`/t echo hi --fixed x`:           "Command does not accept flag `fixed`.", // read-only fields are not parsed
		`/t echo hi --tags [a b]`:        "Unexpected character.",
		`/t echo hi --notify --count ""`: "Empty values are not allowed",
	} {
		if want == "" {
			continue
		}
		_, err := parse(t, cmd)
		if err == nil || !strings.Contains(err.Message, want) {
			t.Errorf("%s: got %v, want %q", cmd, err, want)
		}
	}
}

func TestNormalizeCommand(t *testing.T) {
	for in, want := range map[string]string{"/Foo  a b ": "/foo a b", "/foo": "/foo ", "/x\ty": "/x\ty "} {
		if got := normalizeCommand(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestInPostBindings(t *testing.T) {
	// An embed without location: the webapp builds "undefined/<loc>".
	props := `[{"app_id":"x","label":"Incident","bindings":[{"location":"ack","label":"Ack","submit":{"path":"/ack"}}]}]`
	var v any
	_ = json.Unmarshal([]byte(props), &v)
	post := &model.Post{}
	post.AddProp("app_bindings", v)
	bb, err := InPostBindings(post)
	if err != nil {
		t.Fatal(err)
	}
	if len(bb) != 1 || bb[0].Location != "/in_post/undefined/ack" || bb[0].AppID != "x" {
		t.Fatalf("%+v", bb)
	}
}

func TestParseEnvFile(t *testing.T) {
	env := parseEnvFile([]byte("A=1\nB='x y'\n# c\nexport C=\"z\"\n"))
	if env["A"] != "1" || env["B"] != "x y" || env["C"] != "z" {
		t.Fatal(env)
	}
}

func TestIsLoopback(t *testing.T) {
	for h, want := range map[string]bool{"127.0.0.1": true, "127.3.2.1": true, "::1": true, "localhost": true, "example.com": false, "10.0.0.1": false} {
		if isLoopback(h) != want {
			t.Errorf("%s", h)
		}
	}
}
