package pdfake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// SpecEnv names the environment variable that points at the PagerDuty REST OpenAPI document.
const SpecEnv = "PAGERDUTY_OPENAPI_SPEC"

// SpecRequiredEnv, set to 1, turns a missing spec from a loud skip into a fatal error (CI sets it).
const SpecRequiredEnv = "PAGERDUTY_SPEC_REQUIRED"

// spec is the loaded, patched REST API document plus what validation needs.
type spec struct {
	path    string
	doc     *openapi3.T
	router  routers.Router
	errBody *openapi3.Schema // generic {"error":{...}} schema, for error statuses an operation does not declare
	patches []string         // human-readable list of what was patched, for the report and debugging
}

type specLoad struct {
	once sync.Once
	s    *spec
	err  error
}

var (
	specCacheMu sync.Mutex
	specCache   = map[string]*specLoad{}
)

// errSpecNotFound marks a missing spec file, the only load failure that may be skipped.
var errSpecNotFound = errors.New("spec not found")

// DefaultSpecPath finds the spec the way the project's tests expect: $PAGERDUTY_OPENAPI_SPEC, else
// ../shared/pagerduty/rest-openapiv3.json next to the directory holding go.mod.
func DefaultSpecPath() string {
	if p := os.Getenv(SpecEnv); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		return "rest-openapiv3.json"
	}
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Clean(filepath.Join(d, "..", "shared", "pagerduty", "rest-openapiv3.json"))
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	return filepath.Join(dir, "..", "shared", "pagerduty", "rest-openapiv3.json")
}

// EventsSpecPath is where the Events API v2 document is expected: next to the REST one.
func EventsSpecPath(restSpecPath string) string {
	return filepath.Join(filepath.Dir(restSpecPath), "events-v2-openapiv3.json")
}

// loadSpec loads and patches the REST spec at path once per process (it is 2.7 MB and takes ~1 s).
func loadSpec(path string) (*spec, error) { return loadSpecOnce(path, "") }

// loadEventsSpec loads the Events API v2 spec, whose paths live under /v2 on the fake.
func loadEventsSpec(path string) (*spec, error) { return loadSpecOnce(path, "/v2") }

func loadSpecOnce(path, pathPrefix string) (*spec, error) {
	key := pathPrefix + "|" + path
	specCacheMu.Lock()
	l, ok := specCache[key]
	if !ok {
		l = &specLoad{}
		specCache[key] = l
	}
	specCacheMu.Unlock()
	l.once.Do(func() { l.s, l.err = loadSpecUncached(path, pathPrefix) })
	return l.s, l.err
}

func loadSpecUncached(path, pathPrefix string) (*spec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", errSpecNotFound, path)
		}
		return nil, err
	}
	patched, notes, err := patchSpec(raw, pathPrefix)
	if err != nil {
		return nil, fmt.Errorf("patching %s: %w", path, err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(patched)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", path, err)
	}
	if err := doc.Validate(context.Background(),
		openapi3.DisableExamplesValidation(),
		openapi3.DisableSchemaDefaultsValidation(),
	); err != nil {
		return nil, fmt.Errorf("validating %s: %w", path, err)
	}
	// The documents' servers are https://api.pagerduty.com and https://events.pagerduty.com/v2;
	// the fake serves both from one 127.0.0.1 URL, so route on paths only (prefixed by patchSpec).
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("router for %s: %w", path, err)
	}
	s := &spec{path: path, doc: doc, router: router, patches: notes}
	for _, name := range []string{"ArgumentError", "Error"} { // REST, Events
		if r := doc.Components.Responses[name]; r != nil && r.Value != nil && s.errBody == nil {
			if mt := r.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
				s.errBody = mt.Schema.Value
			}
		}
	}
	if s.errBody == nil {
		return nil, fmt.Errorf("%s: no generic error response schema", path)
	}
	return s, nil
}

// patchSpec fixes, in the raw JSON, what keeps the published document from loading or from
// describing what PagerDuty actually sends. Every change is listed in the returned notes.
func patchSpec(raw []byte, pathPrefix string) ([]byte, []string, error) {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, nil, err
	}
	var notes []string
	comps, _ := doc["components"].(map[string]any)
	if comps == nil {
		return nil, nil, errors.New("no components")
	}
	schemas, _ := comps["schemas"].(map[string]any)
	responses, _ := comps["responses"].(map[string]any)
	requestBodies, _ := comps["requestBodies"].(map[string]any)
	params, _ := comps["parameters"].(map[string]any)

	// 1. Responses that $ref a requestBody ("#/components/requestBodies/X" under "responses"):
	// kin-openapi refuses them. Copy X into components/responses and repoint the ref.
	paths, _ := doc["paths"].(map[string]any)
	for _, p := range sortedKeys(paths) {
		item, _ := paths[p].(map[string]any)
		for _, m := range sortedKeys(item) {
			op, _ := item[m].(map[string]any)
			rs, _ := op["responses"].(map[string]any)
			for _, code := range sortedKeys(rs) {
				r, _ := rs[code].(map[string]any)
				ref, _ := r["$ref"].(string)
				const prefix = "#/components/requestBodies/"
				if !strings.HasPrefix(ref, prefix) {
					continue
				}
				name := strings.TrimPrefix(ref, prefix)
				body, ok := requestBodies[name]
				if !ok {
					return nil, nil, fmt.Errorf("%s %s %s: dangling %s", m, p, code, ref)
				}
				if _, exists := responses[name]; !exists {
					responses[name] = body
				}
				r["$ref"] = "#/components/responses/" + name
				notes = append(notes, fmt.Sprintf("%s %s response %s: $ref %s -> #/components/responses/%s", strings.ToUpper(m), p, code, ref, name))
			}
		}
	}

	// 2. Query parameters named "x[]" but declared as a single string: real clients repeat them
	// (statuses[]=a&statuses[]=b), so declare them as exploded arrays of the original item schema.
	patchParam := func(where string, prm map[string]any) {
		name, _ := prm["name"].(string)
		if prm["in"] != "query" || !strings.HasSuffix(name, "[]") {
			return
		}
		sch, _ := prm["schema"].(map[string]any)
		if sch == nil || sch["type"] == "array" {
			return
		}
		items := map[string]any{}
		for k, v := range sch {
			if k != "uniqueItems" && k != "default" {
				items[k] = v
			}
		}
		prm["schema"] = map[string]any{"type": "array", "items": items}
		prm["style"] = "form"
		prm["explode"] = true
		notes = append(notes, fmt.Sprintf("query parameter %s (%s): string -> array of string", name, where))
	}
	for _, k := range sortedKeys(params) {
		if prm, ok := params[k].(map[string]any); ok {
			patchParam("#/components/parameters/"+k, prm)
		}
	}
	for _, p := range sortedKeys(paths) {
		item, _ := paths[p].(map[string]any)
		for _, m := range sortedKeys(item) {
			op, _ := item[m].(map[string]any)
			list, _ := op["parameters"].([]any)
			for _, x := range list {
				if prm, ok := x.(map[string]any); ok {
					patchParam(strings.ToUpper(m)+" "+p, prm)
				}
			}
		}
	}

	// 3. AcknowledgeLogEntry says type "acknowledgement_log_entry" while its base LogEntry (allOf)
	// allows only "acknowledge_log_entry", so no acknowledge entry could ever validate. PagerDuty
	// sends "acknowledge_log_entry".
	if setEnum(schemas, []string{"AcknowledgeLogEntry", "allOf", "1", "properties", "type"}, "acknowledgement_log_entry", "acknowledge_log_entry") {
		notes = append(notes, `AcknowledgeLogEntry.type: "acknowledgement_log_entry" -> "acknowledge_log_entry" (its allOf base forbids the former)`)
	}

	// 4. Channel (log entries' "channel") is a oneOf of five channel shapes none of which
	// constrains "type", so every channel matches several and no log entry can validate: anyOf.
	if ch, ok := schemas["Channel"].(map[string]any); ok {
		if alts, ok := ch["oneOf"]; ok {
			delete(ch, "oneOf")
			ch["anyOf"] = alts
			notes = append(notes, "Channel: oneOf -> anyOf (its alternatives overlap, so oneOf can never match exactly one)")
		}
	}

	// 4b. IncidentBody.details is declared an object, but the spec's own POST /incidents example,
	// PagerDuty's documentation and go-pagerduty send a string (the incident description). Accept
	// either, so a real client's string is not flagged and a wrong type still is.
	if ib, ok := schemas["IncidentBody"].(map[string]any); ok {
		if props, ok := ib["properties"].(map[string]any); ok {
			if d, ok := props["details"].(map[string]any); ok && d["type"] == "object" {
				props["details"] = map[string]any{"description": d["description"], "anyOf": []any{
					map[string]any{"type": "string"}, map[string]any{"type": "object"}}}
				notes = append(notes, "IncidentBody.details: object -> string or object (the spec's own example and PagerDuty send a string)")
			}
		}
	}

	// 5. On-calls: the schema's own descriptions say start/end are null for permanent (direct user)
	// on-calls and PagerDuty sends schedule: null for them, but none is declared nullable; and
	// include[]=users|schedules|escalation_policies expands the references into full objects,
	// which the reference-only schema rejects (Incident uses oneOf for the same thing).
	if oc, ok := schemas["Oncall"].(map[string]any); ok {
		props, _ := oc["properties"].(map[string]any)
		for _, f := range []string{"start", "end"} {
			if p, ok := props[f].(map[string]any); ok {
				p["nullable"] = true
			}
		}
		if p, ok := props["schedule"].(map[string]any); ok {
			p["nullable"] = true
			if alts, ok := p["oneOf"].([]any); ok {
				p["oneOf"] = append(alts, map[string]any{"$ref": "#/components/schemas/Schedule"})
			}
		}
		props["user"] = map[string]any{"oneOf": []any{
			map[string]any{"$ref": "#/components/schemas/UserReference"},
			map[string]any{"$ref": "#/components/schemas/User"},
		}}
		props["escalation_policy"] = map[string]any{"oneOf": []any{
			map[string]any{"$ref": "#/components/schemas/EscalationPolicyReference"},
			map[string]any{"$ref": "#/components/schemas/EscalationPolicy"},
		}}
		notes = append(notes, "Oncall: start/end/schedule nullable; user, escalation_policy, schedule may be full objects (include[])")
	}

	// 6. GET /schedules/{id}/overrides declares only 201 for a plain read; PagerDuty answers 200.
	if item, ok := paths["/schedules/{id}/overrides"].(map[string]any); ok {
		if op, ok := item["get"].(map[string]any); ok {
			if rs, ok := op["responses"].(map[string]any); ok {
				if r201, ok := rs["201"]; ok {
					if _, has := rs["200"]; !has {
						rs["200"] = r201
						notes = append(notes, "GET /schedules/{id}/overrides: 200 added (copy of the declared 201)")
					}
				}
			}
		}
	}

	// 7. Serve a document whose server URL carries a base path (events.pagerduty.com/v2) under it.
	if pathPrefix != "" {
		prefixed := map[string]any{}
		for p, item := range paths {
			prefixed[pathPrefix+p] = item
		}
		doc["paths"] = prefixed
		notes = append(notes, "paths prefixed with "+pathPrefix+" (the server URL's base path)")
	}

	out, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, err
	}
	return out, notes, nil
}

// setEnum replaces from with to in the enum found by walking keys (list indices as strings).
func setEnum(root map[string]any, keys []string, from, to string) bool {
	var cur any = root
	for _, k := range keys {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[k]
		case []any:
			var i int
			if _, err := fmt.Sscanf(k, "%d", &i); err != nil || i >= len(c) {
				return false
			}
			cur = c[i]
		default:
			return false
		}
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return false
	}
	enum, _ := m["enum"].([]any)
	changed := false
	for i, v := range enum {
		if v == from {
			enum[i] = to
			changed = true
		}
	}
	return changed
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// validationOptions are the openapi3filter options every check uses (design.md §3).
func validationOptions() *openapi3filter.Options {
	o := &openapi3filter.Options{
		MultiError:                 true,
		ExcludeReadOnlyValidations: true,
		SkipSettingDefaults:        true,
		AuthenticationFunc:         openapi3filter.NoopAuthenticationFunc,
	}
	o.WithCustomSchemaErrorFunc(schemaErrorMessage)
	return o
}

// findRoute maps a request onto the spec; a nil route means the spec has no such operation.
func (s *spec) findRoute(r *http.Request) (*routers.Route, map[string]string, error) {
	return s.router.FindRoute(r)
}

// validateRequest checks r (whose body is given separately, r.Body is left untouched) against route.
func (s *spec) validateRequest(ctx context.Context, r *http.Request, body []byte, route *routers.Route, params map[string]string) *openapi3filter.RequestValidationInput {
	rr := r.Clone(ctx)
	rr.Body = io.NopCloser(bytes.NewReader(body))
	return &openapi3filter.RequestValidationInput{
		Request:    rr,
		PathParams: params,
		Route:      route,
		Options:    validationOptions(),
	}
}

// checkRequest returns readable violation messages, none when r conforms.
func (s *spec) checkRequest(ctx context.Context, in *openapi3filter.RequestValidationInput) []string {
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		return flattenErr(err)
	}
	return nil
}

// checkResponse validates a buffered response. Error statuses the operation does not declare are
// checked against the generic error schema (PagerDuty answers 400/401/403/404/429/5xx everywhere,
// the spec lists them unevenly); an undeclared success status is itself a violation.
func (s *spec) checkResponse(ctx context.Context, in *openapi3filter.RequestValidationInput, status int, header http.Header, body []byte) []string {
	op := in.Route.Operation
	declared := op.Responses.Status(status) != nil || op.Responses.Default() != nil
	if !declared {
		if status < 400 {
			return []string{fmt.Sprintf("response status %d is not declared for %s %s (declared: %s)", status, in.Route.Method, in.Route.Path, strings.Join(declaredStatuses(op), ", "))}
		}
		if len(body) == 0 {
			return nil
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return []string{fmt.Sprintf("response %d body is not JSON: %v", status, err)}
		}
		if err := s.errBody.VisitJSON(v, openapi3.MultiErrors(), openapi3.VisitAsResponse(), openapi3.SetSchemaErrorMessageCustomizer(schemaErrorMessage)); err != nil {
			return prefixAll(fmt.Sprintf("response %d body (generic error schema)", status), flattenErr(err))
		}
		return nil
	}
	opts := validationOptions()
	opts.IncludeResponseStatus = true
	rin := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, rin); err != nil {
		return prefixAll(fmt.Sprintf("response %d", status), flattenErr(err))
	}
	return nil
}

func declaredStatuses(op *openapi3.Operation) []string {
	var out []string
	for k := range op.Responses.Map() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func prefixAll(prefix string, msgs []string) []string {
	for i, m := range msgs {
		msgs[i] = prefix + ": " + m
	}
	return msgs
}

// flattenErr turns kin-openapi's nested errors into one short line per problem, naming the
// parameter or the JSON path and never dumping the schema.
func flattenErr(err error) []string {
	var out []string
	var walk func(prefix string, err error)
	walk = func(prefix string, err error) {
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, x := range e {
				walk(prefix, x)
			}
			return
		case *openapi3filter.RequestError:
			p := prefix
			switch {
			case e.Parameter != nil:
				p = join(prefix, fmt.Sprintf("%s parameter %q", e.Parameter.In, e.Parameter.Name))
			case e.RequestBody != nil:
				p = join(prefix, "request body")
			}
			if e.Err != nil {
				if e.Reason != "" && !strings.Contains(e.Err.Error(), e.Reason) {
					p = join(p, e.Reason)
				}
				walk(p, e.Err)
				return
			}
			out = append(out, join(p, e.Reason))
			return
		case *openapi3filter.ResponseError:
			p := prefix
			if e.Err != nil {
				if e.Reason != "" {
					p = join(p, e.Reason)
				}
				walk(p, e.Err)
				return
			}
			out = append(out, join(p, e.Reason))
			return
		case *openapi3.SchemaError:
			msgs := dedupe(schemaLeafMessages(e))
			const maxMsgs = 6
			if len(msgs) > maxMsgs {
				msgs = append(msgs[:maxMsgs], fmt.Sprintf("(+%d more)", len(msgs)-maxMsgs))
			}
			out = append(out, join(prefix, strings.Join(msgs, "; ")))
			return
		case *openapi3filter.SecurityRequirementsError:
			return // authentication is the fake's job, not the spec check's
		}
		var me openapi3.MultiError
		if errors.As(err, &me) {
			walk(prefix, me)
			return
		}
		out = append(out, join(prefix, err.Error()))
	}
	walk("", err)
	return out
}

func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ": " + b
}

// schemaLeafMessages explains a schema error by its innermost causes. For a oneOf/anyOf that no
// alternative matched it reports only the closest alternative (fewest problems), which is almost
// always the one the author meant.
func schemaLeafMessages(e *openapi3.SchemaError) []string {
	var me openapi3.MultiError
	if e.Origin == nil || !errors.As(e.Origin, &me) {
		return []string{schemaErrorMessage(e)}
	}
	var groups [][]string
	for _, sub := range me {
		var msgs []string
		var se *openapi3.SchemaError
		var sme openapi3.MultiError
		switch {
		case errors.As(sub, &sme):
			for _, x := range sme {
				msgs = append(msgs, flattenErr(x)...)
			}
		case errors.As(sub, &se):
			msgs = schemaLeafMessages(se)
		default:
			msgs = []string{sub.Error()}
		}
		groups = append(groups, msgs)
	}
	if e.SchemaField != "oneOf" && e.SchemaField != "anyOf" {
		var all []string
		for _, g := range groups {
			all = append(all, g...)
		}
		return all
	}
	best := -1
	for i, g := range groups {
		if len(g) > 0 && (best < 0 || len(g) < len(groups[best])) {
			best = i
		}
	}
	if best < 0 {
		return []string{schemaErrorMessage(e)}
	}
	return groups[best]
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// schemaErrorMessage says where (JSON pointer), what rule and which value, in one line.
func schemaErrorMessage(e *openapi3.SchemaError) string {
	ptr := "/" + strings.Join(e.JSONPointer(), "/")
	reason := e.Reason
	if reason == "" {
		reason = fmt.Sprintf("doesn't match schema %q", e.SchemaField)
	}
	if e.Origin != nil && !errors.Is(e.Origin, openapi3.ErrOneOfConflict) {
		reason = e.Origin.Error()
	}
	return fmt.Sprintf("at %s: %s (value: %s)", ptr, reason, shortJSON(e.Value))
}

func shortJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	if len(b) > 100 {
		return string(b[:97]) + "..."
	}
	return string(b)
}
