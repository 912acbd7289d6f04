package pdfake

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSpecViolationsAreRecorded runs each case against an inner fake whose testing.TB only records
// failures, then checks that exactly the bad exchanges were flagged, readably, and that the inner
// fake's cleanup reported them through Errorf (which fails a real test).
func TestSpecViolationsAreRecorded(t *testing.T) {
	if _, err := loadSpec(DefaultSpecPath()); err != nil {
		t.Skipf("spec unavailable: %v", err)
	}
	type tc struct {
		name string
		run  func(f *Fake, s Seeded, c *apiClient)
		want []string // substrings of the single expected violation; nil = no violation
	}
	cases := []tc{
		{"valid read", func(f *Fake, s Seeded, c *apiClient) {
			c.do(http.MethodGet, "/incidents?statuses[]=triggered&statuses[]=acknowledged", nil)
		}, nil},
		{"bad status value in incident PUT", func(f *Fake, s Seeded, c *apiClient) {
			id := f.AddIncident(Incident{ServiceID: s.APIService})
			c.withFrom("rita@example.com").do(http.MethodPut, "/incidents/"+id, map[string]any{"incident": map[string]any{"type": "incident_reference", "status": "fixed"}})
		}, []string{"PUT /incidents/", "request body", "/incident/status", `"fixed"`}},
		{"unknown route", func(f *Fake, s Seeded, c *apiClient) {
			c.do(http.MethodGet, "/incidents/QX/frobnicate", nil)
		}, []string{"GET /incidents/QX/frobnicate", "no such operation"}},
		{"method not in spec", func(f *Fake, s Seeded, c *apiClient) {
			c.do(http.MethodDelete, "/incidents", nil)
		}, []string{"DELETE /incidents", "no such operation"}},
		{"bad enum in repeated query param", func(f *Fake, s Seeded, c *apiClient) {
			c.do(http.MethodGet, "/incidents?statuses[]=triggered&statuses[]=open", nil)
		}, []string{`query parameter "statuses[]"`, `"open"`}},
		{"non-integer limit", func(f *Fake, s Seeded, c *apiClient) {
			c.do(http.MethodGet, "/users?limit=ten", nil)
		}, []string{`query parameter "limit"`}},
		{"missing required From header", func(f *Fake, s Seeded, c *apiClient) {
			c.do(http.MethodPost, "/incidents", map[string]any{"incident": map[string]any{"type": "incident", "title": "x", "service": map[string]any{"id": s.APIService, "type": "service_reference"}}})
		}, []string{`header parameter "From"`}},
		{"missing required body field", func(f *Fake, s Seeded, c *apiClient) {
			c.withFrom("rita@example.com").do(http.MethodPost, "/incidents", map[string]any{"incident": map[string]any{"type": "incident", "service": map[string]any{"id": s.APIService, "type": "service_reference"}}})
		}, []string{"request body", "title"}},
		{"operation in the spec the fake lacks", func(f *Fake, s Seeded, c *apiClient) {
			c.do(http.MethodGet, "/services/"+s.APIService, nil)
		}, []string{"GET /services/", "not implemented by pdfake"}},
		{"response the spec rejects", func(f *Fake, s Seeded, c *apiClient) {
			id := f.AddUser(User{Name: "Wiz", Role: "wizard"}) // not a PagerDuty role
			c.do(http.MethodGet, "/users/"+id, nil)
		}, []string{"response 200", "/user/role", `"wizard"`}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recTB{TB: t}
			var f *Fake
			t.Run("inner", func(it *testing.T) {
				rec.TB = it
				var s Seeded
				var c *apiClient
				f, s, _, c = newSeeded(rec)
				c.t = it
				tt.run(f, s, c)
			})
			got := f.Violations()
			if tt.want == nil {
				if len(got) != 0 || len(rec.errors()) != 0 {
					t.Fatalf("want no violation, got %q (errors %q)", got, rec.errors())
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want exactly 1 violation, got %d: %q", len(got), got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got[0], w) {
					t.Errorf("violation %q does not mention %q", got[0], w)
				}
			}
			if len(got[0]) > 1200 {
				t.Errorf("violation message is %d bytes; keep it readable: %s", len(got[0]), got[0])
			}
			errs := rec.errors()
			if len(errs) != 1 || !strings.HasPrefix(errs[0], "pdfake: ") {
				t.Errorf("inner fake's cleanup reported %q; want one Errorf naming the violation", errs)
			}
		})
	}
}

func TestMissingSpecIsLoudButSkippable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.json")
	t.Run("skipped", func(t *testing.T) {
		t.Setenv(SpecRequiredEnv, "")
		var logged []string
		f, err := Start(func(format string, args ...any) { logged = append(logged, format) }, WithSpecPath(missing))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if f.SpecChecked() {
			t.Fatal("SpecChecked() = true without a spec")
		}
		if len(logged) == 0 || !strings.Contains(logged[0], "PAGERDUTY OPENAPI SPEC NOT FOUND at %s: spec check SKIPPED") {
			t.Fatalf("logged %q; want the loud SKIPPED line", logged)
		}
		// The fake still works, unchecked: a malformed request passes, an unknown route is still flagged.
		f.AddAPIKey("k")
		c := &apiClient{t: t, base: f.URL(), auth: "Token token=k"}
		c.do(http.MethodGet, "/incidents?statuses[]=bogus", nil).mustStatus(t, http.StatusOK)
		if v := f.Violations(); len(v) != 0 {
			t.Fatalf("violations without a spec: %q", v)
		}
		c.do(http.MethodGet, "/nope", nil).mustStatus(t, http.StatusNotFound)
		if v := f.Violations(); len(v) != 1 || !strings.Contains(v[0], "not implemented") {
			t.Fatalf("violations: %q", v)
		}
	})
	t.Run("required", func(t *testing.T) {
		t.Setenv(SpecRequiredEnv, "1")
		if _, err := Start(nil, WithSpecPath(missing)); err == nil || !strings.Contains(err.Error(), "NOT FOUND") {
			t.Fatalf("err = %v; want a fatal not-found error", err)
		}
	})
}

func TestDefaultSpecPath(t *testing.T) {
	t.Setenv(SpecEnv, "")
	p := DefaultSpecPath()
	if !strings.HasSuffix(p, filepath.Join("shared", "pagerduty", "rest-openapiv3.json")) {
		t.Fatalf("DefaultSpecPath() = %q", p)
	}
	wd, _ := os.Getwd()
	root := wd
	for ; root != "/"; root = filepath.Dir(root) {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
	}
	if want := filepath.Join(filepath.Dir(root), "shared", "pagerduty", "rest-openapiv3.json"); p != want {
		t.Fatalf("DefaultSpecPath() = %q, want %q", p, want)
	}
	t.Setenv(SpecEnv, "/x/y.json")
	if p := DefaultSpecPath(); p != "/x/y.json" {
		t.Fatalf("with %s set: %q", SpecEnv, p)
	}
}

func TestSpecPatchesApplied(t *testing.T) {
	s, err := loadSpec(DefaultSpecPath())
	if err != nil {
		t.Skipf("spec unavailable: %v", err)
	}
	joined := strings.Join(s.patches, "\n")
	for _, want := range []string{
		"OrchestrationCacheVariableDataPutResponse",
		"statuses[]",
		"include[]",
		"AcknowledgeLogEntry",
		"Channel",
		"Oncall",
		"GET /schedules/{id}/overrides",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("no patch mentions %q; patches:\n%s", want, joined)
		}
	}
}
