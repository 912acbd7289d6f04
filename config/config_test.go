package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults", env: map[string]string{}, check: func(t *testing.T, c Config) {
			if c.Listen != "127.0.0.1:4000" || c.RootURL != "http://127.0.0.1:4000" || c.StateDir != ".state" || c.TickInterval != time.Minute {
				t.Errorf("defaults = %+v", c)
			}
		}},
		{name: "root from wildcard listen", env: map[string]string{EnvListen: ":8080"}, check: func(t *testing.T, c Config) {
			if c.RootURL != "http://127.0.0.1:8080" {
				t.Errorf("RootURL = %q", c.RootURL)
			}
		}},
		{name: "explicit root trimmed", env: map[string]string{EnvRootURL: "https://app.example.com/"}, check: func(t *testing.T, c Config) {
			if c.RootURL != "https://app.example.com" {
				t.Errorf("RootURL = %q", c.RootURL)
			}
		}},
		{name: "bad listen", env: map[string]string{EnvListen: "4000"}, wantErr: []string{EnvListen, "host:port"}},
		{name: "bad root", env: map[string]string{EnvRootURL: "ftp://x"}, wantErr: []string{EnvRootURL, "absolute http(s) URL"}},
		{name: "bad public", env: map[string]string{EnvPublicURL: "example.com"}, wantErr: []string{EnvPublicURL}},
		{name: "short secret", env: map[string]string{EnvJWTSecret: "abc"}, wantErr: []string{EnvJWTSecret, "at least 16"}},
		{name: "bad level", env: map[string]string{EnvLogLevel: "loud"}, wantErr: []string{EnvLogLevel, "debug, info, warn, error"}},
		{name: "bad tick", env: map[string]string{EnvTick: "5ms"}, wantErr: []string{EnvTick, "between 1s and 1h"}},
		{name: "several problems at once", env: map[string]string{EnvListen: "x", EnvLogLevel: "loud"}, wantErr: []string{EnvListen, EnvLogLevel}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(env(tt.env))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Load succeeded, want error mentioning %v", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestSecretNeverInError(t *testing.T) {
	_, err := Load(env(map[string]string{EnvJWTSecret: "s3cr3t"}))
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error %v must exist and not contain the secret", err)
	}
}

func TestEnsureJWTSecretGeneratesOnceAndReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	c := Config{StateDir: dir}
	if err := c.EnsureJWTSecret(); err != nil {
		t.Fatal(err)
	}
	if len(c.JWTSecret) < MinJWTSecretLen || !c.GeneratedNewJWT {
		t.Fatalf("generated secret too short or not flagged: %d", len(c.JWTSecret))
	}
	st, err := os.Stat(filepath.Join(dir, "jwt-secret"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode = %v, %v; want 0600", st.Mode(), err)
	}
	c2 := Config{StateDir: dir}
	if err := c2.EnsureJWTSecret(); err != nil {
		t.Fatal(err)
	}
	if c2.JWTSecret != c.JWTSecret || c2.GeneratedNewJWT {
		t.Fatal("second start must reuse the stored secret")
	}
}
