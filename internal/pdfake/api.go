package pdfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// apiError is a PagerDuty error reply: {"error":{"message","code","errors"}}.
type apiError struct {
	status  int
	code    int
	message string
	errors  []string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %d %s %v", e.status, e.code, e.message, e.errors)
}

func errBody(code int, msg string, details ...string) map[string]any {
	e := map[string]any{"message": msg, "code": code}
	if len(details) > 0 {
		e["errors"] = details
	}
	return map[string]any{"error": e}
}

func badRequest(details ...string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: 2001, message: "Invalid Input Provided", errors: details}
}

func notFound(what string) *apiError {
	return &apiError{status: http.StatusNotFound, code: 2100, message: "Not Found", errors: []string{what + " not found"}}
}

func forbidden(detail string) *apiError {
	return &apiError{status: http.StatusForbidden, code: 2010, message: "Access Denied", errors: []string{detail}}
}

func unauthorized(detail string) *apiError {
	return &apiError{status: http.StatusUnauthorized, code: 2006, message: "Authentication failed", errors: []string{detail}}
}

func writeAPIError(w http.ResponseWriter, e *apiError) int {
	return writeJSON(w, e.status, errBody(e.code, e.message, e.errors...))
}

func writeJSON(w http.ResponseWriter, status int, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("pdfake: marshal reply: %v", err))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return status
}

// ---- authentication ----

type authState struct {
	kind     string
	userID   string // user tokens
	clientID string // OAuth tokens
}

func (a *authState) info() AuthInfo {
	if a == nil {
		return AuthInfo{Kind: AuthNone}
	}
	switch a.kind {
	case AuthAPIKey:
		return AuthInfo{Kind: a.kind, Subject: "account"}
	case AuthUserToken:
		return AuthInfo{Kind: a.kind, Subject: a.userID}
	case AuthAppToken:
		return AuthInfo{Kind: a.kind, Subject: a.clientID}
	}
	return AuthInfo{Kind: a.kind}
}

// authenticate reads "Token token=KEY" or "Bearer TOKEN"; anything else is 401.
func (f *Fake) authenticate(r *http.Request) (*authState, *apiError) {
	h := r.Header.Get("Authorization")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case h == "":
		return &authState{kind: AuthNone}, unauthorized("missing Authorization header")
	case strings.HasPrefix(h, "Token token="):
		if f.apiKeys[strings.TrimPrefix(h, "Token token=")] {
			return &authState{kind: AuthAPIKey}, nil
		}
		return &authState{kind: AuthInvalid}, unauthorized("invalid API key")
	case strings.HasPrefix(h, "Bearer "):
		tok := f.accessTokens[strings.TrimPrefix(h, "Bearer ")]
		if tok == nil {
			return &authState{kind: AuthInvalid}, unauthorized("invalid OAuth token")
		}
		if !f.clock().Before(tok.expires) {
			return &authState{kind: AuthInvalid}, unauthorized("OAuth token expired")
		}
		if tok.userID == "" {
			return &authState{kind: AuthAppToken, clientID: tok.clientID}, nil
		}
		if f.users[tok.userID] == nil {
			return &authState{kind: AuthInvalid}, unauthorized("the token's user no longer exists")
		}
		return &authState{kind: AuthUserToken, userID: tok.userID, clientID: tok.clientID}, nil
	}
	return &authState{kind: AuthInvalid}, unauthorized(`Authorization header must be "Token token=..." or "Bearer ..."`)
}

// ---- per-request context ----

// rctx is what a handler sees; handlers run with f.mu held.
type rctx struct {
	f    *Fake
	r    *http.Request
	op   string // "METHOD /template", as in the spec
	auth *authState
	now  time.Time
	tz   *time.Location
	body []byte
}

type handlerFunc func(c *rctx) (int, any, *apiError)

// handle registers a REST operation; pattern is the spec's "METHOD /path/{param}".
func (f *Fake) handle(pattern string, h handlerFunc) {
	f.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		auth, _ := r.Context().Value(ctxAuth).(*authState)
		body, _ := readAll(r)
		f.mu.Lock()
		c := &rctx{f: f, r: r, op: pattern, auth: auth, now: f.clock(), body: body}
		status, v, aerr := f.run(c, h)
		f.mu.Unlock()
		if aerr != nil {
			writeAPIError(w, aerr)
			return
		}
		if status == http.StatusNoContent || v == nil {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, v)
	})
}

func (f *Fake) run(c *rctx, h handlerFunc) (int, any, *apiError) {
	f.applyDueActions(c.now)
	tz, aerr := c.location(c.f.cfg.accountTZ)
	if aerr != nil {
		return 0, nil, aerr
	}
	c.tz = tz
	if c.r.Method != http.MethodGet {
		if aerr := c.checkWrite(); aerr != nil {
			return 0, nil, aerr
		}
	}
	if aerr := c.checkDenied(); aerr != nil {
		return 0, nil, aerr
	}
	return h(c)
}

// checkWrite: a user acting through their own token is held to their role.
func (c *rctx) checkWrite() *apiError {
	if c.auth.kind != AuthUserToken {
		return nil
	}
	u := c.f.users[c.auth.userID]
	if u != nil && readOnlyRoles[u.Role] {
		return forbidden(fmt.Sprintf("user %s has role %q, which cannot make changes", u.ID, u.Role))
	}
	return nil
}

// checkDenied applies DenyUser to the acting user: the token's user, else the From user.
func (c *rctx) checkDenied() *apiError {
	uid := c.auth.userID
	if uid == "" {
		if u := c.f.userByEmail(c.r.Header.Get("From")); u != nil {
			uid = u.ID
		}
	}
	if uid == "" {
		return nil
	}
	d := c.f.denials[uid]
	if d[c.op] || (d["*"] && c.r.Method != http.MethodGet) {
		return forbidden(fmt.Sprintf("user %s may not %s", uid, c.op))
	}
	return nil
}

// actor is the user a write is attributed to: the token's user, else the From header's user
// (PagerDuty requires From with account-level credentials).
func (c *rctx) actor() (*User, *apiError) {
	if c.auth.kind == AuthUserToken {
		return c.f.users[c.auth.userID], nil
	}
	from := c.r.Header.Get("From")
	if from == "" {
		return nil, &apiError{status: http.StatusBadRequest, code: 2001, message: "Invalid Input Provided",
			errors: []string{`A "From" header with a valid user's email is required with account-level credentials`}}
	}
	u := c.f.userByEmail(from)
	if u == nil {
		return nil, &apiError{status: http.StatusBadRequest, code: 1008, message: "Requester User Not Found",
			errors: []string{fmt.Sprintf("no user with email %q", from)}}
	}
	return u, nil
}

func (c *rctx) decode(v any) *apiError {
	if len(c.body) == 0 {
		return badRequest("request body is required")
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return badRequest("invalid JSON: " + err.Error())
	}
	return nil
}

func (c *rctx) q(name string) string    { return c.r.URL.Query().Get(name) }
func (c *rctx) qs(name string) []string { return c.r.URL.Query()[name] }
func (c *rctx) path(name string) string { return c.r.PathValue(name) }

func (c *rctx) qbool(name string) bool {
	b, _ := strconv.ParseBool(c.q(name))
	return b
}

// location resolves ?time_zone=, else def.
func (c *rctx) location(def string) (*time.Location, *apiError) {
	name := c.q("time_zone")
	if name == "" {
		name = def
	}
	if name == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, badRequest(fmt.Sprintf("time_zone %q is not a known IANA zone", name))
	}
	return loc, nil
}

// qtime parses an optional time parameter; ok is false when absent.
func (c *rctx) qtime(name string) (t time.Time, ok bool, aerr *apiError) {
	v := c.q(name)
	if v == "" {
		return time.Time{}, false, nil
	}
	t, err := parseTime(v, c.tz)
	if err != nil {
		return time.Time{}, false, &apiError{status: http.StatusBadRequest, code: 2004, message: "Invalid time values in 'since' and/or 'until' parameters",
			errors: []string{fmt.Sprintf("%s: %q is not an ISO 8601 time", name, v)}}
	}
	return t, true, nil
}

func parseTime(v string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", v)
}

func (c *rctx) ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.In(c.tz).Format(time.RFC3339)
}

// page applies classic pagination: limit ≤ 100 (larger is clamped), offset+limit ≤ 10000 (400 beyond).
func (c *rctx) page(key string, items []any) (map[string]any, *apiError) {
	limit, offset := 25, 0
	if v := c.q("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, badRequest("limit must be an integer")
		}
		if n > 0 {
			limit = n
		}
	}
	if limit > 100 {
		limit = 100
	}
	if v := c.q("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, badRequest("offset must be a non-negative integer")
		}
		offset = n
	}
	if offset+limit > 10000 {
		return nil, badRequest(fmt.Sprintf("offset+limit (%d) exceeds the pagination limit of 10000; narrow the query with filters", offset+limit))
	}
	end := min(offset+limit, len(items))
	pageItems := []any{}
	if offset < len(items) {
		pageItems = items[offset:end]
	}
	out := map[string]any{
		key:      pageItems,
		"limit":  limit,
		"offset": offset,
		"more":   offset+len(pageItems) < len(items),
		"total":  nil,
	}
	if c.qbool("total") {
		out["total"] = len(items)
	}
	return out, nil
}

// ---- references and URLs ----

var plural = map[string]string{
	"user": "users", "team": "teams", "service": "services", "escalation_policy": "escalation_policies",
	"schedule": "schedules", "incident": "incidents", "priority": "priorities", "log_entry": "log_entries",
	"webhook_subscription": "webhook_subscriptions",
}

func (f *Fake) selfURL(kind, id string) string {
	return f.server.URL + "/" + plural[kind] + "/" + id
}

func (f *Fake) htmlURL(kind, id string) string {
	base := "https://" + f.cfg.subdomain + ".pagerduty.com"
	if f.cfg.region == "eu" {
		base = "https://" + f.cfg.subdomain + ".eu.pagerduty.com"
	}
	switch kind {
	case "priority":
		return base + "/account/incident_priorities"
	case "log_entry":
		return base + "/log_entries/" + id
	}
	return base + "/" + plural[kind] + "/" + id
}

// ref renders a PagerDuty reference object, e.g. {"id","type":"user_reference","summary",...}.
func (f *Fake) ref(kind, id, summary string) map[string]any {
	return map[string]any{
		"id":       id,
		"type":     kind + "_reference",
		"summary":  summary,
		"self":     f.selfURL(kind, id),
		"html_url": f.htmlURL(kind, id),
	}
}

func (f *Fake) userRef(id string) map[string]any {
	name := id
	if u := f.users[id]; u != nil {
		name = u.Name
	}
	return f.ref("user", id, name)
}

func (f *Fake) teamRefs(ids []string) []any {
	out := []any{}
	for _, id := range ids {
		if t := f.teams[id]; t != nil {
			out = append(out, f.ref("team", id, t.Name))
		}
	}
	return out
}

func (f *Fake) userByEmail(email string) *User {
	if email == "" {
		return nil
	}
	for _, id := range f.userOrder {
		if u := f.users[id]; u != nil && strings.EqualFold(u.Email, email) {
			return u
		}
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if contains(b, x) {
			return true
		}
	}
	return false
}

func readAll(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	return io.ReadAll(r.Body)
}
