// Package config reads the app's process configuration from the environment. Everything about
// PagerDuty is configured later, inside Mattermost, by a system admin; the process itself only
// needs to know where to listen, how Mattermost reaches it, and the JWT secret it shares with the
// Apps plugin.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Environment variable names, listed in one place so README and errors agree.
const (
	EnvListen    = "PD_APP_LISTEN"        // host:port to listen on
	EnvRootURL   = "PD_APP_ROOT_URL"      // URL the Mattermost server uses to reach the app
	EnvPublicURL = "PD_APP_PUBLIC_URL"    // optional: URL PagerDuty can reach, for direct webhook ingress
	EnvJWTSecret = "PD_APP_JWT_SECRET"    // secret typed at install; the plugin signs every call with it
	EnvStateDir  = "PD_APP_STATE_DIR"     // small local state (scheduler, generated dev secret)
	EnvLogLevel  = "PD_APP_LOG_LEVEL"     // debug, info, warn, error
	EnvTick      = "PD_APP_TICK_INTERVAL" // on-call monitor period, default 1m
)

// Config is the validated process configuration.
type Config struct {
	Listen          string
	RootURL         string
	PublicURL       string
	JWTSecret       string
	JWTSecretFile   string // set when the secret was generated into the state dir
	StateDir        string
	LogLevel        slog.Level
	TickInterval    time.Duration
	GeneratedNewJWT bool
}

// MinJWTSecretLen keeps a typo or a placeholder from becoming the only thing between the internet
// and forged calls.
const MinJWTSecretLen = 16

// Load reads and validates the environment. Problems are returned together, each naming the
// variable and what is allowed, so a first run prints everything to fix at once.
func Load(getenv func(string) string) (Config, error) {
	var problems []string
	c := Config{
		Listen:       strings.TrimSpace(getenv(EnvListen)),
		RootURL:      strings.TrimRight(strings.TrimSpace(getenv(EnvRootURL)), "/"),
		PublicURL:    strings.TrimRight(strings.TrimSpace(getenv(EnvPublicURL)), "/"),
		JWTSecret:    getenv(EnvJWTSecret),
		StateDir:     strings.TrimSpace(getenv(EnvStateDir)),
		TickInterval: time.Minute,
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:4000"
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil || port == "" {
		problems = append(problems, fmt.Sprintf("%s=%q: want host:port, for example 127.0.0.1:4000 or :4000", EnvListen, c.Listen))
	}
	if c.RootURL == "" && err == nil {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		c.RootURL = "http://" + net.JoinHostPort(host, port)
	}
	if msg := checkURL(EnvRootURL, c.RootURL, true); msg != "" {
		problems = append(problems, msg)
	}
	if msg := checkURL(EnvPublicURL, c.PublicURL, false); msg != "" {
		problems = append(problems, msg)
	}
	if c.StateDir == "" {
		c.StateDir = ".state"
	}
	switch lvl := strings.ToLower(strings.TrimSpace(getenv(EnvLogLevel))); lvl {
	case "", "info":
		c.LogLevel = slog.LevelInfo
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "warn":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		problems = append(problems, fmt.Sprintf("%s=%q: want one of debug, info, warn, error", EnvLogLevel, lvl))
	}
	if v := strings.TrimSpace(getenv(EnvTick)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > time.Hour {
			problems = append(problems, fmt.Sprintf("%s=%q: want a duration between 1s and 1h, for example 1m", EnvTick, v))
		} else {
			c.TickInterval = d
		}
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < MinJWTSecretLen {
		problems = append(problems, fmt.Sprintf("%s is too short: use at least %d characters (for example: openssl rand -hex 32)", EnvJWTSecret, MinJWTSecretLen))
	}
	if len(problems) > 0 {
		return c, errors.New("configuration problems:\n  - " + strings.Join(problems, "\n  - "))
	}
	return c, nil
}

func checkURL(name, raw string, required bool) string {
	if raw == "" {
		if required {
			return fmt.Sprintf("%s is not set: the URL the Mattermost server uses to reach this app, for example http://127.0.0.1:4000", name)
		}
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Sprintf("%s=%q: want an absolute http(s) URL without query, for example https://pagerduty-app.example.com", name, raw)
	}
	return ""
}

// EnsureJWTSecret fills in a development JWT secret when none was configured: it is generated
// once into the state directory (mode 0600) and reused, so `make run` works on a fresh machine and
// the admin can read the secret from that file for `/apps install`. It is never printed.
func (c *Config) EnsureJWTSecret() error {
	if c.JWTSecret != "" {
		return nil
	}
	if err := os.MkdirAll(c.StateDir, 0o700); err != nil {
		return fmt.Errorf("creating state directory %s: %w", c.StateDir, err)
	}
	path := filepath.Join(c.StateDir, "jwt-secret")
	c.JWTSecretFile = path
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= MinJWTSecretLen {
		c.JWTSecret = strings.TrimSpace(string(b))
		return nil
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return fmt.Errorf("generating a JWT secret: %w", err)
	}
	c.JWTSecret = hex.EncodeToString(buf)
	c.GeneratedNewJWT = true
	if err := os.WriteFile(path, []byte(c.JWTSecret+"\n"), 0o600); err != nil {
		return fmt.Errorf("saving the generated JWT secret to %s: %w", path, err)
	}
	return nil
}
