package pdfake

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPagination(t *testing.T) {
	f := New(t)
	f.AddAPIKey("key")
	for i := range 250 {
		f.AddUser(User{Name: fmt.Sprintf("User %03d", i)})
	}
	c := &apiClient{t: t, base: f.URL(), auth: "Token token=key"}
	tests := []struct {
		query            string
		status           int
		n, limit, offset int
		more             bool
		total            any
		firstName        string
	}{
		{"", 200, 25, 25, 0, true, nil, "User 000"},
		{"limit=100&total=true", 200, 100, 100, 0, true, 250.0, "User 000"},
		{"limit=500", 200, 100, 100, 0, true, nil, "User 000"}, // clamped to PagerDuty's maximum
		{"limit=100&offset=200", 200, 50, 100, 200, false, nil, "User 200"},
		{"offset=250", 200, 0, 25, 250, false, nil, ""},
		{"limit=50&offset=9950", 200, 0, 50, 9950, false, nil, ""}, // offset+limit = 10000 is allowed
		{"limit=50&offset=9951", 400, 0, 0, 0, false, nil, ""},
		{"offset=10000", 400, 0, 0, 0, false, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := c.do(http.MethodGet, "/users?"+tt.query, nil).mustStatus(t, tt.status)
			if tt.status != 200 {
				if str(r.body, "error", "code") != "2001" {
					t.Errorf("error body = %s", r.raw)
				}
				return
			}
			users, _ := get(r.body, "users").([]any)
			if len(users) != tt.n || get(r.body, "limit") != float64(tt.limit) || get(r.body, "offset") != float64(tt.offset) ||
				get(r.body, "more") != tt.more || get(r.body, "total") != tt.total {
				t.Errorf("n=%d limit=%v offset=%v more=%v total=%v", len(users), get(r.body, "limit"), get(r.body, "offset"), get(r.body, "more"), get(r.body, "total"))
			}
			if tt.firstName != "" && str(users, 0, "name") != tt.firstName {
				t.Errorf("first = %s", str(users, 0, "name"))
			}
		})
	}
	// Walking pages until more=false sees every user exactly once.
	seen := map[string]bool{}
	for off := 0; ; off += 100 {
		r := c.do(http.MethodGet, fmt.Sprintf("/users?limit=100&offset=%d", off), nil).mustStatus(t, 200)
		for _, u := range get(r.body, "users").([]any) {
			seen[str(u, "id")] = true
		}
		if get(r.body, "more") != true {
			break
		}
	}
	if len(seen) != 250 {
		t.Errorf("walked %d users, want 250", len(seen))
	}
}

func TestAuthAndPermissions(t *testing.T) {
	f, s, _, c := newSeeded(t)
	inc := f.AddIncident(Incident{ServiceID: s.APIService})
	ack := map[string]any{"incident": map[string]any{"type": "incident_reference", "status": "acknowledged"}}
	as := func(tok string) *apiClient { return &apiClient{t: t, base: f.URL(), auth: "Bearer " + tok} }
	rita := f.IssueUserToken(s.Responder)
	oscar := f.IssueUserToken(s.Observer)
	rhea := f.IssueUserToken(s.Restricted)

	tests := []struct {
		name   string
		client *apiClient
		method string
		path   string
		body   any
		setup  func()
		status int
		code   string
	}{
		{"no credentials", &apiClient{t: t, base: f.URL()}, "GET", "/users", nil, nil, 401, "2006"},
		{"unknown API key", &apiClient{t: t, base: f.URL(), auth: "Token token=nope"}, "GET", "/users", nil, nil, 401, "2006"},
		{"malformed header", &apiClient{t: t, base: f.URL(), auth: "key"}, "GET", "/users", nil, nil, 401, "2006"},
		{"unknown bearer", as("pdus+_0XBPWQQ_nope"), "GET", "/users", nil, nil, 401, "2006"},
		{"API key read", c, "GET", "/users", nil, nil, 200, ""},
		{"API key write, unknown From", c.withFrom("ghost@example.com"), "PUT", "/incidents/" + inc, ack, nil, 400, "1008"},
		{"API key write, From", c.withFrom("rita@example.com"), "PUT", "/incidents/" + inc, ack, nil, 200, ""},
		{"user token me", as(rita), "GET", "/users/me", nil, nil, 200, ""},
		{"API key me", c, "GET", "/users/me", nil, nil, 400, "2001"},
		{"observer reads", as(oscar).withFrom("oscar@example.com"), "GET", "/incidents/" + inc, nil, nil, 200, ""},
		{"observer writes", as(oscar).withFrom("oscar@example.com"), "PUT", "/incidents/" + inc, ack, nil, 403, "2010"},
		{"restricted writes", as(rhea).withFrom("rhea@example.com"), "POST", "/incidents/" + inc + "/notes", map[string]any{"note": map[string]any{"content": "x"}}, nil, 403, "2010"},
		{"denied operation", as(rita).withFrom("rita@example.com"), "PUT", "/incidents/" + inc, ack,
			func() { f.DenyUser(s.Responder, "PUT /incidents/{id}") }, 403, "2010"},
		{"denied op, other ops fine", as(rita).withFrom("rita@example.com"), "POST", "/incidents/" + inc + "/notes", map[string]any{"note": map[string]any{"content": "x"}}, nil, 200, ""},
		{"denial follows From with an API key", c.withFrom("rita@example.com"), "PUT", "/incidents/" + inc, ack, nil, 403, "2010"},
		{"deny all writes", as(rita).withFrom("rita@example.com"), "POST", "/incidents/" + inc + "/notes", map[string]any{"note": map[string]any{"content": "x"}},
			func() { f.DenyUser(s.Responder, "*") }, 403, "2010"},
		{"deny all writes leaves reads", as(rita), "GET", "/incidents/" + inc, nil, nil, 200, ""},
		{"cleared", as(rita).withFrom("rita@example.com"), "PUT", "/incidents/" + inc, ack, func() { f.ClearDenials() }, 200, ""},
		{"unknown incident", c, "GET", "/incidents/QNOPE00", nil, nil, 404, "5001"},
		{"unknown user", c, "GET", "/users/PNOPE00", nil, nil, 404, "2100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			tt.client.t = t
			r := tt.client.do(tt.method, tt.path, tt.body).mustStatus(t, tt.status)
			if tt.code != "" && str(r.body, "error", "code") != tt.code {
				t.Errorf("error = %s, want code %s", r.raw, tt.code)
			}
			if tt.status >= 400 && str(r.body, "error", "message") == "" {
				t.Errorf("error without message: %s", r.raw)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	f, _, _, c := newSeeded(t)
	t.Run("429 with rate-limit headers, once", func(t *testing.T) {
		f.InjectFault(Fault{Method: "GET", PathPrefix: "/incidents", Status: 429, RateLimitHeaders: true, Times: 1})
		r := c.do("GET", "/incidents", nil).mustStatus(t, 429)
		if r.header.Get("ratelimit-reset") != "1" || r.header.Get("ratelimit-remaining") != "0" || r.header.Get("ratelimit-limit") == "" {
			t.Errorf("headers %v", r.header)
		}
		if str(r.body, "error", "code") != "2020" {
			t.Errorf("body %s", r.raw)
		}
		c.do("GET", "/incidents", nil).mustStatus(t, 200)
	})
	t.Run("429 bare", func(t *testing.T) {
		f.InjectFault(Fault{Status: 429, Times: 1})
		r := c.do("GET", "/users", nil).mustStatus(t, 429)
		if r.header.Get("ratelimit-reset") != "" || len(r.raw) != 0 {
			t.Errorf("bare 429 has headers or body: %v %q", r.header, r.raw)
		}
	})
	t.Run("5xx twice then fine, other methods untouched", func(t *testing.T) {
		f.InjectFault(Fault{Method: "GET", PathPrefix: "/oncalls", Status: 503, Times: 2})
		c.do("GET", "/users", nil).mustStatus(t, 200)
		c.do("GET", "/oncalls", nil).mustStatus(t, 503)
		c.do("GET", "/oncalls", nil).mustStatus(t, 503)
		c.do("GET", "/oncalls", nil).mustStatus(t, 200)
	})
	t.Run("until cleared", func(t *testing.T) {
		f.InjectFault(Fault{PathPrefix: "/teams", Status: 500})
		for range 3 {
			c.do("GET", "/teams", nil).mustStatus(t, 500)
		}
		f.ClearFaults()
		c.do("GET", "/teams", nil).mustStatus(t, 200)
	})
	t.Run("delay", func(t *testing.T) {
		f.InjectFault(Fault{PathPrefix: "/priorities", Delay: 150 * time.Millisecond, Times: 1})
		start := time.Now()
		c.do("GET", "/priorities", nil).mustStatus(t, 200)
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Errorf("answered after %v", d)
		}
	})
	t.Run("delay gives up with the client", func(t *testing.T) {
		f.InjectFault(Fault{PathPrefix: "/priorities", Delay: 10 * time.Second, Times: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", f.URL()+"/priorities", nil)
		req.Header.Set("Authorization", "Token token=key")
		req.Header.Set("Accept", "application/vnd.pagerduty+json;version=2")
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		if _, err := http.DefaultClient.Do(req); err == nil {
			t.Fatal("want a timeout")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})
}

func TestRequestLog(t *testing.T) {
	f, s, _, c := newSeeded(t)
	tok := f.IssueUserToken(s.Responder)
	c.do("GET", "/incidents?statuses[]=triggered", nil)
	(&apiClient{t: t, base: f.URL(), auth: "Bearer " + tok}).do("GET", "/users/me", nil)
	(&apiClient{t: t, base: f.URL(), auth: "Token token=bad"}).do("GET", "/users", nil)
	reqs := f.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests logged", len(reqs))
	}
	want := []Request{
		{Method: "GET", Path: "/incidents", Status: 200, Auth: AuthInfo{Kind: AuthAPIKey, Subject: "account"}},
		{Method: "GET", Path: "/users/me", Status: 200, Auth: AuthInfo{Kind: AuthUserToken, Subject: s.Responder}},
		{Method: "GET", Path: "/users", Status: 401, Auth: AuthInfo{Kind: AuthInvalid}},
	}
	for i, w := range want {
		g := reqs[i]
		if g.Method != w.Method || g.Path != w.Path || g.Status != w.Status || g.Auth != w.Auth {
			t.Errorf("request %d = %+v, want %+v", i, g, w)
		}
	}
	if reqs[0].Query.Get("statuses[]") != "triggered" {
		t.Errorf("query = %v", reqs[0].Query)
	}
	if dump := fmt.Sprintf("%+v", reqs); strings.Contains(dump, tok) || strings.Contains(dump, "token=") {
		t.Errorf("log leaks a credential: %s", dump)
	}
	if n := f.CountRequests("GET", "/users"); n != 2 {
		t.Errorf("CountRequests(GET, /users) = %d", n)
	}
	if n := f.CountRequests("", "/"); n != 3 {
		t.Errorf("CountRequests(any, /) = %d", n)
	}
	f.ResetRequests()
	if n := len(f.Requests()); n != 0 {
		t.Errorf("after reset: %d", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	f, s, _, c := newSeeded(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cc := &apiClient{t: t, base: c.base, auth: c.auth, from: "rita@example.com"}
			cc.do("POST", "/incidents", map[string]any{"incident": map[string]any{
				"type": "incident", "title": fmt.Sprintf("inc %d", i), "service": map[string]any{"id": s.WebService, "type": "service_reference"},
			}}).mustStatus(t, 201)
			cc.do("GET", "/incidents", nil).mustStatus(t, 200)
			f.Incidents()
			f.CountRequests("", "/")
		}()
	}
	wg.Wait()
	nums := map[int]bool{}
	for _, inc := range f.Incidents() {
		nums[inc.Number] = true
	}
	if len(nums) != 8 {
		t.Errorf("incident numbers %v; want 8 distinct", nums)
	}
}
