package harness

// A port of the 9.x webapp's client-side parser of app slash commands
// (webapp/channels/src/components/suggestion/command_provider/app_command_parser/
// app_command_parser.ts: ParsedCommand.matchBinding/parseForm and
// AppCommandParser.composeCommandSubmitCall, addDefaultAndReadOnlyValues, getMissingFields,
// expandOptions, getAppContext) and of actions/command.ts executeCommand, for submission
// only (no autocomplete). Its quirks are kept on purpose, so a command that works here
// works in the webapp; see the package README section in the report for what is left out.

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/mattermost/mattermost-plugin-apps/apps"
)

// CommandError is what the webapp would show the user instead of sending the command.
type CommandError struct {
	Command string
	Message string
	Pos     int // rune index where parsing stopped, -1 if not a parse error
	// Problems is what the plugin reports about the apps' bindings (dropped bindings, bad
	// labels...), fetched only when the command did not match, to make failures readable.
	Problems string
}

func (e *CommandError) Error() string {
	msg := e.Message
	if e.Pos >= 0 {
		msg = fmt.Sprintf("%s (at %d in %q)", msg, e.Pos, e.Command)
	} else if !strings.Contains(msg, e.Command) {
		msg = fmt.Sprintf("%s: %s", e.Command, msg)
	}
	if e.Problems != "" {
		msg += "; plugin's bindings problems: " + e.Problems
	}
	return msg
}

// ExecuteCommand plays the webapp for a slash command typed by the user of userToken in
// channelID of teamID: it fetches the bindings, parses the command against the /command
// binding tree and the matched binding's embedded form (ParseCommand), then submits the call
// to {AppsAPI}/call. A command the webapp would refuse returns a *CommandError and sends
// nothing. A command that is not an app command is sent to /api/v4/commands/execute as the
// webapp does, and its answer is returned as an error (this harness is for app commands).
func (s *Stack) ExecuteCommand(ctx context.Context, userToken, channelID, teamID, command string) (*apps.CallResponse, error) {
	creq, err := s.ParseCommand(ctx, userToken, channelID, teamID, command)
	if err != nil {
		return nil, err
	}
	return s.Call(ctx, userToken, *creq, true)
}

// ParseCommand returns the call request the webapp would send for command (before
// Call adds user_agent and track_as_submit), without sending it. Its Context is what a
// modal opened by the answer keeps (pass it to SubmitForm).
func (s *Stack) ParseCommand(ctx context.Context, userToken, channelID, teamID, command string) (*apps.CallRequest, error) {
	msg := normalizeCommand(command)
	bindings, err := s.Bindings(ctx, userToken, channelID, teamID)
	if err != nil {
		return nil, err
	}
	var commandBindings []apps.Binding
	for _, b := range bindings {
		if b.Location == apps.LocationCommand {
			commandBindings = append(commandBindings, b.Bindings...)
		}
	}
	if !isAppCommand(commandBindings, msg) {
		return nil, s.notAppCommand(ctx, userToken, channelID, teamID, msg)
	}
	p := &commandParser{
		s: s, ctx: ctx, token: userToken, where: Where{ChannelID: channelID, TeamID: teamID},
	}
	creq, cerr := p.composeCommandSubmitCall(msg, commandBindings)
	if cerr != nil {
		if cerr.Problems == "" && strings.Contains(cerr.Message, "No matching command") {
			cerr.Problems, _ = s.BindingProblems(ctx, userToken, channelID, teamID)
		}
		return nil, cerr
	}
	return creq, nil
}

// CommandLookup is the lookup the webapp's autocomplete performs while the user types a
// value for the dynamic select fieldName of a command (getDynamicSelectSuggestions): command
// is the text typed before that value (e.g. "/app incident create --service"), query the
// partial value. The lookup call is sent (not a submit) with the values parsed so far,
// raw_command = command, selected_field and query; the answer's data.items are returned.
func (s *Stack) CommandLookup(ctx context.Context, userToken, channelID, teamID, command, fieldName, query string) ([]apps.SelectOption, error) {
	msg := normalizeCommand(command)
	bindings, err := s.Bindings(ctx, userToken, channelID, teamID)
	if err != nil {
		return nil, err
	}
	var commandBindings []apps.Binding
	for _, b := range bindings {
		if b.Location == apps.LocationCommand {
			commandBindings = append(commandBindings, b.Bindings...)
		}
	}
	p := &commandParser{s: s, ctx: ctx, token: userToken, where: Where{ChannelID: channelID, TeamID: teamID}}
	p.command = []rune(strings.TrimRight(msg, " \t"))
	p.values = map[string]any{}
	if cerr := p.matchBinding(commandBindings); cerr != nil {
		return nil, cerr
	}
	if p.resolvedForm == nil {
		return nil, &CommandError{Command: msg, Pos: -1, Message: "no form to look up in"}
	}
	// The flag being typed ("--service" at the end) has no value yet: parse what precedes it.
	text := string(p.command)
	if i := strings.LastIndex(text, " -"); i >= 0 && !strings.Contains(text[i+1:], " ") {
		p.command = []rune(text[:i])
	}
	p.parseForm()
	if p.state == psError {
		return nil, &CommandError{Command: msg, Message: "Parsing error: " + p.err, Pos: p.i}
	}
	field := findField(p.resolvedForm.Fields, fieldName)
	if field == nil || field.SelectDynamicLookup == nil {
		return nil, fmt.Errorf("%s: no dynamic select field %q with a lookup", msg, fieldName)
	}
	if emsg := p.expandOptions(); emsg != "" {
		return nil, &CommandError{Command: msg, Pos: -1, Message: emsg}
	}
	creq := createCallRequest(*field.SelectDynamicLookup, p.where.Context(p.binding.AppID, p.binding.Location), p.values, command)
	creq.SelectedField = field.Name
	creq.Query = query
	resp, err := OK(s.Call(ctx, userToken, creq, false))
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", fieldName, err)
	}
	return lookupItems(fieldName, resp)
}

// normalizeCommand is executeCommand's first step: the command word is lower-cased and the
// rest trimmed, always separated by one space ("/Foo  a b " -> "/foo a b", "/foo" -> "/foo ").
func normalizeCommand(message string) string {
	n := strings.IndexByte(message, ' ')
	if n < 0 {
		n = len(message)
	}
	cmd := strings.ToLower(message[:n])
	return cmd + " " + strings.TrimSpace(message[n:])
}

// isAppCommand: the message starts with "/" + the label of a top command binding + " ".
func isAppCommand(commandBindings []apps.Binding, msg string) bool {
	lower := strings.ToLower(msg)
	for _, b := range commandBindings {
		base := b.Label
		if base == "" {
			continue
		}
		if base[0] != '/' {
			base = "/" + base
		}
		if strings.HasPrefix(lower, base+" ") {
			return true
		}
	}
	return false
}

func (s *Stack) notAppCommand(ctx context.Context, token, channelID, teamID, msg string) error {
	body := map[string]string{"command": msg, "channel_id": channelID, "team_id": teamID}
	var out struct {
		Text string `json:"text"`
	}
	err := s.sendJSON(ctx, http.MethodPost, s.URL+"/api/v4/commands/execute", token, body, &out)
	problems, _ := s.BindingProblems(ctx, token, channelID, teamID)
	if err != nil {
		return &CommandError{Command: msg, Pos: -1, Problems: problems,
			Message: fmt.Sprintf("not an app command (no /command binding matches), and the server's /commands/execute answered: %v", err)}
	}
	return &CommandError{Command: msg, Pos: -1, Problems: problems,
		Message: fmt.Sprintf("not an app command (no /command binding matches); the server executed it: %q", out.Text)}
}

type parseState int

const (
	psStart parseState = iota
	psCommand
	psEndCommand
	psCommandSeparator
	psStartParameter
	psParameterSeparator
	psFlag1
	psFlag
	psFlagValueSeparator
	psStartValue
	psNonspaceValue
	psQuotedValue
	psTickValue
	psEndValue
	psEndQuotedValue
	psEndTickedValue
	psError
	psMultiselectStart
	psMultiselectStartValue
	psMultiselectNonspaceValue
	psMultiselectQuotedValue
	psMultiselectTickValue
	psMultiselectEndValue
	psMultiselectEndQuotedValue
	psMultiselectEndTickedValue
	psMultiselectValueSeparator
	psMultiselectNextValue
	psRest
)

type commandParser struct {
	s     *Stack
	ctx   context.Context
	token string
	where Where

	state           parseState
	command         []rune
	i               int
	incomplete      string
	incompleteStart int
	binding         *apps.Binding
	resolvedForm    *apps.Form
	field           *apps.Field
	position        int
	values          map[string]any // string or []string while parsing
	location        string
	err             string
}

func (p *commandParser) asError(msg string) *commandParser {
	p.state = psError
	p.err = msg
	return p
}

func (p *commandParser) char() rune {
	if p.i < len(p.command) {
		return p.command[p.i]
	}
	return 0 // '' in the TS code
}

// composeCommandSubmitCall: matchBinding, parseForm, defaults, required check, expandOptions,
// call request.
func (p *commandParser) composeCommandSubmitCall(msg string, commandBindings []apps.Binding) (*apps.CallRequest, *CommandError) {
	p.command = []rune(msg)
	p.values = map[string]any{}
	if err := p.matchBinding(commandBindings); err != nil {
		return nil, err
	}
	p.parseForm()
	if p.state == psError {
		return nil, &CommandError{Command: msg, Message: "Parsing error: " + p.err, Pos: p.i}
	}
	p.addDefaultAndReadOnlyValues()
	var missing []string
	if p.resolvedForm != nil {
		for _, f := range p.resolvedForm.Fields {
			if f.IsRequired && isFalsy(p.values[f.Name]) {
				missing = append(missing, f.Label)
			}
		}
	}
	if len(missing) > 0 {
		return nil, &CommandError{Command: msg, Pos: -1, Message: fmt.Sprintf("Required fields missing: `%s`.", strings.Join(missing, ", "))}
	}
	if p.binding == nil {
		return nil, &CommandError{Command: msg, Pos: -1, Message: "Missing command bindings."}
	}
	if p.resolvedForm == nil || p.resolvedForm.Submit == nil {
		return nil, &CommandError{Command: msg, Pos: -1, Message: "No submit call in binding or form."}
	}
	if msg := p.expandOptions(); msg != "" {
		return nil, &CommandError{Command: string(p.command), Pos: -1, Message: msg}
	}
	cc := p.where.Context(p.binding.AppID, p.binding.Location)
	creq := createCallRequest(*p.resolvedForm.Submit, cc, p.values, msg)
	return &creq, nil
}

func isFalsy(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	}
	return false // arrays and objects are truthy in JS, even empty
}

// matchBinding walks the command words down the binding tree (labels, case-insensitive).
func (p *commandParser) matchBinding(commandBindings []apps.Binding) *CommandError {
	if len(commandBindings) == 0 {
		return &CommandError{Command: string(p.command), Pos: -1, Message: "No command bindings."}
	}
	bindings := commandBindings
	for done := false; !done; {
		c := p.char()
		switch p.state {
		case psStart:
			if c != '/' {
				return &CommandError{Command: string(p.command), Pos: 0, Message: "Command must start with a `/`."}
			}
			p.i++
			p.incomplete = ""
			p.incompleteStart = p.i
			p.state = psCommand
		case psCommand:
			switch c {
			case 0, ' ', '\t':
				p.state = psEndCommand
			default:
				p.incomplete += string(c)
				p.i++
			}
		case psEndCommand:
			var found *apps.Binding
			for i := range bindings {
				if strings.EqualFold(bindings[i].Label, p.incomplete) {
					found = &bindings[i]
					break
				}
			}
			if found == nil {
				done = true
				break
			}
			p.binding = found
			p.location += "/" + found.Label
			bindings = found.Bindings
			p.state = psCommandSeparator
		case psCommandSeparator:
			if c == 0 {
				done = true
			}
			switch c {
			case ' ', '\t':
				p.i++
			default:
				p.incomplete = ""
				p.incompleteStart = p.i
				p.state = psCommand
			}
		default:
			return &CommandError{Command: string(p.command), Pos: p.i, Message: fmt.Sprintf("Unreachable: Unexpected state in matchBinding: `%d`.", p.state)}
		}
	}

	if p.binding == nil {
		return &CommandError{Command: string(p.command), Pos: -1, Message: fmt.Sprintf("`%s`: No matching command found in this workspace.", string(p.command))}
	}
	if len(p.binding.Bindings) > 0 {
		return &CommandError{Command: string(p.command), Pos: -1,
			Message: fmt.Sprintf("You must select a subcommand (one of %s).", labels(p.binding.Bindings))}
	}
	switch {
	case p.binding.Submit != nil && p.binding.Form == nil:
		p.resolvedForm = &apps.Form{Submit: p.binding.Submit}
	case p.binding.Form != nil && p.binding.Submit == nil:
		form := p.binding.Form
		if form.Submit == nil {
			// The webapp fetches the form from its source (a request the app sees)... and then
			// parses against binding.form anyway, which has no fields and no submit.
			if form.Source == nil {
				return &CommandError{Command: string(p.command), Pos: -1, Message: "Form has neither submit nor source."}
			}
			cc := p.where.Context(p.binding.AppID, p.binding.Location)
			resp, err := p.s.Call(p.ctx, p.token, createCallRequest(*form.Source, cc, nil, ""), false)
			switch {
			case err != nil:
				return &CommandError{Command: string(p.command), Pos: -1, Message: err.Error()}
			case resp.Type == apps.CallResponseTypeError:
				return &CommandError{Command: string(p.command), Pos: -1, Message: resp.Text}
			case resp.Type != apps.CallResponseTypeForm:
				return &CommandError{Command: string(p.command), Pos: -1, Message: fmt.Sprintf("App response type was not expected. Response type: %s", resp.Type)}
			case resp.Form == nil || resp.Form.Submit == nil:
				return &CommandError{Command: string(p.command), Pos: -1, Message: "No submit call in binding or form."}
			}
		}
		p.resolvedForm = form
	default:
		return &CommandError{Command: string(p.command), Pos: -1, Message: "Parsing error: unreachable: invalid binding, neither or both Submit and Form"}
	}
	return nil
}

func labels(bb []apps.Binding) string {
	var out []string
	for _, b := range bb {
		out = append(out, b.Label)
	}
	return strings.Join(out, ", ")
}

// fieldLabel: the plugin defaults a missing label to the name with "_" -> "-" (server/proxy
// form.go cleanForm) before the webapp sees it; the webapp then matches flags on labels only.
func fieldLabel(f *apps.Field) string {
	if f.Label != "" {
		return f.Label
	}
	return strings.ReplaceAll(f.Name, "_", "-")
}

// parseForm parses the rest of the command against the resolved form (ParsedCommand.parseForm,
// autocompleteMode=false).
func (p *commandParser) parseForm() {
	if p.state == psError || p.resolvedForm == nil {
		return
	}
	var fields []*apps.Field
	for i := range p.resolvedForm.Fields {
		f := &p.resolvedForm.Fields[i]
		if f.Type != apps.FieldTypeMarkdown && !f.ReadOnly {
			fields = append(fields, f)
		}
	}
	p.state = psStartParameter
	p.i = p.incompleteStart
	flagEqualsUsed := false
	escaped := false

	for {
		c := p.char()
		switch p.state {
		case psStartParameter:
			switch c {
			case 0:
				return
			case '-':
				p.state = psFlag1
				p.i++
			case '—':
				p.state = psFlag
				p.i++
				p.incomplete = ""
				p.incompleteStart = p.i
				flagEqualsUsed = false
			default:
				p.position++
				var field *apps.Field
				for _, f := range fields {
					if f.AutocompletePosition == p.position {
						field = f
						break
					}
				}
				if field == nil {
					for _, f := range fields {
						if f.AutocompletePosition == -1 && f.Type == apps.FieldTypeText {
							field = f
							break
						}
					}
					if field == nil || !isFalsy(p.values[field.Name]) {
						p.asError("Unable to identify argument.")
						return
					}
					p.incompleteStart = p.i
					p.incomplete = ""
					p.field = field
					p.state = psRest
					break
				}
				p.field = field
				p.state = psStartValue
			}

		case psRest:
			if c == 0 {
				p.values[p.field.Name] = p.incomplete
				return
			}
			p.i++
			p.incomplete += string(c)

		case psParameterSeparator:
			p.incompleteStart = p.i
			switch c {
			case 0:
				p.state = psStartParameter
				return
			case ' ', '\t':
				p.i++
			default:
				p.state = psStartParameter
			}

		case psFlag1:
			if c == '-' {
				p.i++
			}
			p.state = psFlag
			p.incomplete = ""
			p.incompleteStart = p.i
			flagEqualsUsed = false

		case psFlag:
			switch c {
			case 0, ' ', '\t', '=':
				var field *apps.Field
				for _, f := range fields {
					if strings.EqualFold(fieldLabel(f), p.incomplete) {
						field = f
						break
					}
				}
				if field == nil {
					p.asError(fmt.Sprintf("Command does not accept flag `%s`.", p.incomplete))
					return
				}
				p.state = psFlagValueSeparator
				p.field = field
				p.incomplete = ""
			default:
				p.incomplete += string(c)
				p.i++
			}

		case psFlagValueSeparator:
			p.incompleteStart = p.i
			switch c {
			case 0:
				p.state = psStartValue
			case ' ', '\t':
				p.i++
			case '=':
				if flagEqualsUsed {
					p.asError("Multiple `=` signs are not allowed.")
					return
				}
				flagEqualsUsed = true
				p.i++
			default:
				p.state = psStartValue
			}

		case psStartValue:
			p.incomplete = ""
			p.incompleteStart = p.i
			switch c {
			case '"':
				p.state = psQuotedValue
				p.i++
			case '`':
				p.state = psTickValue
				p.i++
			case ' ', '\t':
				p.asError("Unreachable: Unexpected whitespace.")
				return
			case '[':
				if p.field == nil || !p.field.SelectIsMulti {
					p.asError("Unexpected list opening.")
					return
				}
				p.state = psMultiselectStart
				p.i++
			default:
				p.state = psNonspaceValue
			}

		case psNonspaceValue:
			switch c {
			case 0, ' ', '\t':
				p.state = psEndValue
			default:
				p.incomplete += string(c)
				p.i++
			}

		case psQuotedValue, psMultiselectQuotedValue:
			switch c {
			case 0:
				p.asError("Matching double quote expected before end of input.")
				return
			case '"':
				if p.incompleteStart == p.i-1 {
					p.asError("Empty values are not allowed")
					return
				}
				p.i++
				if p.state == psQuotedValue {
					p.state = psEndQuotedValue
				} else {
					p.state = psMultiselectEndQuotedValue
				}
			case '\\':
				escaped = true
				p.i++
			default:
				p.incomplete += string(c)
				p.i++
				if escaped {
					escaped = false
				}
			}

		case psTickValue, psMultiselectTickValue:
			switch c {
			case 0:
				p.asError("Matching tick quote expected before end of input.")
				return
			case '`':
				if p.incompleteStart == p.i-1 {
					p.asError("Empty values are not allowed")
					return
				}
				p.i++
				if p.state == psTickValue {
					p.state = psEndTickedValue
				} else {
					p.state = psMultiselectEndTickedValue
				}
			default:
				p.incomplete += string(c)
				p.i++
			}

		case psEndTickedValue, psEndQuotedValue, psEndValue:
			if p.field == nil {
				p.asError("Field value is missing.")
				return
			}
			// Optional bool values: "--flag true" vs "--flag next-positional" vs "--flag --next".
			if p.field.Type == apps.FieldTypeBool && p.incomplete != "true" && p.incomplete != "false" {
				p.i = p.incompleteStart
				p.values[p.field.Name] = "true"
				p.state = psStartParameter
			} else {
				p.values[p.field.Name] = p.incomplete
				p.incomplete = ""
				p.incompleteStart = p.i
				if c == 0 {
					return
				}
				p.state = psParameterSeparator
			}

		case psMultiselectStart:
			if p.field == nil {
				p.asError("Field value is missing.")
				return
			}
			p.values[p.field.Name] = []string{}
			switch c {
			case ' ', '\t':
				p.i++
			case ']':
				p.i++
				p.state = psParameterSeparator
			default:
				p.state = psMultiselectStartValue
			}

		case psMultiselectStartValue:
			p.incomplete = ""
			p.incompleteStart = p.i
			switch c {
			case 0:
				p.asError("Expected list closing token.")
				return
			case '"':
				p.state = psMultiselectQuotedValue
				p.i++
			case '`':
				p.state = psMultiselectTickValue
				p.i++
			case ' ', '\t':
				p.asError("Unreachable: Unexpected whitespace.")
				return
			case ',':
				p.asError("Unexpected comma.")
				return
			default:
				p.state = psMultiselectNonspaceValue
			}

		case psMultiselectNonspaceValue:
			switch c {
			case 0, ' ', '\t', ',', ']':
				p.state = psMultiselectEndValue
			default:
				p.incomplete += string(c)
				p.i++
			}

		case psMultiselectEndTickedValue, psMultiselectEndQuotedValue, psMultiselectEndValue:
			if p.field == nil {
				p.asError("Field value is missing.")
				return
			}
			list, _ := p.values[p.field.Name].([]string)
			p.values[p.field.Name] = append(list, p.incomplete)
			p.incomplete = ""
			p.incompleteStart = p.i
			if c == 0 {
				return
			}
			p.state = psMultiselectValueSeparator

		case psMultiselectValueSeparator:
			switch c {
			case 0:
				p.asError("Expected list closing token.")
				return
			case ']':
				p.i++
				p.state = psParameterSeparator
			case ' ', '\t':
				p.i++
			case ',':
				p.i++
				p.state = psMultiselectNextValue
			default:
				p.asError("Unexpected character.")
				return
			}

		case psMultiselectNextValue:
			switch c {
			case ' ', '\t':
				p.i++
			default:
				p.state = psMultiselectStartValue
			}

		default:
			p.asError(fmt.Sprintf("Unreachable: Unexpected state in parseForm: `%d`.", p.state))
			return
		}
	}
}

// addDefaultAndReadOnlyValues: fields with a value (default) that were not typed, and
// read-only fields, get it (as the string the user would have typed).
func (p *commandParser) addDefaultAndReadOnlyValues() {
	if p.resolvedForm == nil {
		return
	}
	for _, f := range p.resolvedForm.Fields {
		if isFalsy(f.Value) || f.Value == false {
			continue
		}
		if _, typed := p.values[f.Name]; typed && !f.ReadOnly {
			continue
		}
		switch f.Type {
		case apps.FieldTypeText:
			if s, ok := f.Value.(string); ok {
				p.values[f.Name] = s
			}
		case apps.FieldTypeBool:
			p.values[f.Name] = "true"
		case apps.FieldTypeUser:
			if u, err := p.s.User(p.ctx, p.token, optionValue(f.Value)); err == nil {
				p.values[f.Name] = u.Username
			}
		case apps.FieldTypeChannel:
			// The webapp looks the channel up by the option's *label* here.
			if ch, err := p.s.Channel(p.ctx, p.token, optionLabel(f.Value)); err == nil {
				p.values[f.Name] = ch.Name
			}
		case apps.FieldTypeStaticSelect, apps.FieldTypeDynamicSelect:
			p.values[f.Name] = optionValue(f.Value)
		}
	}
}

func optionValue(v any) string {
	switch x := v.(type) {
	case map[string]any:
		s, _ := x["value"].(string)
		return s
	case apps.SelectOption:
		return x.Value
	case *apps.SelectOption:
		return x.Value
	}
	return ""
}

func optionLabel(v any) string {
	switch x := v.(type) {
	case map[string]any:
		s, _ := x["label"].(string)
		return s
	case apps.SelectOption:
		return x.Label
	case *apps.SelectOption:
		return x.Label
	}
	return ""
}

// expandOptions types the parsed strings: select options, users, channels, bools. It returns
// the webapp's error text ("" when fine).
func (p *commandParser) expandOptions() string {
	if p.resolvedForm == nil {
		return ""
	}
	var errs []string
	for _, f := range p.resolvedForm.Fields {
		raw, ok := p.values[f.Name]
		if !ok || isFalsy(raw) {
			continue
		}
		list, isList := raw.([]string)
		str, _ := raw.(string)
		switch f.Type {
		case apps.FieldTypeDynamicSelect:
			if f.SelectIsMulti && isList {
				// The webapp builds this list but never fills it: a multiselect dynamic select
				// typed in a command is sent as [] (kept as is).
				p.values[f.Name] = []apps.SelectOption{}
				continue
			}
			p.values[f.Name] = apps.SelectOption{Label: str, Value: str}
		case apps.FieldTypeStaticSelect:
			find := func(v string) *apps.SelectOption {
				for i := range f.SelectStaticOptions {
					if f.SelectStaticOptions[i].Value == v { // by value only, as the webapp
						return &f.SelectStaticOptions[i]
					}
				}
				return nil
			}
			unknown := func(v string) string {
				var vals []string
				for _, o := range f.SelectStaticOptions {
					vals = append(vals, o.Value)
				}
				return fmt.Sprintf("Unknown option for field `%s`: `%s` (options' values: %s).", f.Name, v, strings.Join(vals, ", "))
			}
			if f.SelectIsMulti && isList {
				var opts []apps.SelectOption
				for _, v := range list {
					o := find(v)
					if o == nil {
						errs = append(errs, unknown(v))
						break
					}
					for _, prev := range opts {
						if prev.Value == o.Value {
							errs = append(errs, fmt.Sprintf("Option repeated for field `%s`: `%s`.", f.Name, v))
						}
					}
					opts = append(opts, *o)
				}
				p.values[f.Name] = opts
				continue
			}
			o := find(str)
			if o == nil {
				errs = append(errs, unknown(str))
				delete(p.values, f.Name)
				continue
			}
			p.values[f.Name] = *o
		case apps.FieldTypeUser:
			resolve := func(name string) (apps.SelectOption, bool) {
				name = strings.TrimPrefix(name, "@")
				u, err := p.s.UserByUsername(p.ctx, p.token, name)
				if err != nil {
					errs = append(errs, fmt.Sprintf("Unknown user for field `%s`: `%s`.", f.Name, name))
					return apps.SelectOption{}, false
				}
				return apps.SelectOption{Label: u.Username, Value: u.Id}, true
			}
			if f.SelectIsMulti && isList {
				var opts []apps.SelectOption
				for _, v := range list {
					o, ok := resolve(v)
					if !ok {
						break
					}
					opts = append(opts, o)
				}
				p.values[f.Name] = opts
				continue
			}
			if o, ok := resolve(str); ok {
				p.values[f.Name] = o
			}
		case apps.FieldTypeChannel:
			resolve := func(name string) (apps.SelectOption, bool) {
				name = strings.TrimPrefix(name, "~")
				ch, err := p.s.ChannelByName(p.ctx, p.token, p.where.TeamID, name)
				if err != nil {
					errs = append(errs, fmt.Sprintf("Unknown channel for field `%s`: `%s`.", f.Name, name))
					return apps.SelectOption{}, false
				}
				return apps.SelectOption{Label: ch.DisplayName, Value: ch.Id}, true
			}
			if f.SelectIsMulti && isList {
				var opts []apps.SelectOption
				for _, v := range list {
					o, ok := resolve(v)
					if !ok {
						break
					}
					opts = append(opts, o)
				}
				p.values[f.Name] = opts
				continue
			}
			if o, ok := resolve(str); ok {
				p.values[f.Name] = o
			}
		case apps.FieldTypeBool:
			p.values[f.Name] = strings.EqualFold(str, "true")
		}
	}
	if len(errs) == 0 {
		return ""
	}
	return strings.Join(errs, "\n")
}
