//go:build e2e

// Package e2e runs the app against a real Mattermost 9.9 + Apps plugin v1.2.2 on 127.0.0.1
// (e2e/mm-stack.sh), with PagerDuty played by the spec-checking fake in this process. The app is
// the real binary, built here and started as its own process.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost-plugin-apps/apps"

	"github.com/mattermost/mattermost-app-pagerduty/e2e/harness"
	"github.com/mattermost/mattermost-app-pagerduty/internal/pdfake"
)

const appID = apps.AppID("pagerduty")

// tickInterval is the app's self-tick period in the suite.
const tickInterval = 2 * time.Second

// Credentials the fake accepts.
const (
	clientID     = "e2e-client"
	clientSecret = "e2e-client-secret"
	apiKey       = "u+E2EACCOUNTAPIKEY001"
)

// suite is what every scenario shares: one stack, one fake PagerDuty, one app process.
type suite struct {
	stack   *harness.Stack
	pd      *pdfake.Fake
	seed    pdfake.Seeded
	app     *harness.AppProcess
	appURL  string
	jwt     string
	started time.Time
	// The admin configured the app; alice connected as PagerDuty's Rita Responder.
	configured, connected bool
}

var s suite

func TestMain(m *testing.M) {
	code, err := runSuite(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		if s.app != nil {
			fmt.Fprintln(os.Stderr, "--- app log ---\n"+s.app.Logs(4000))
		}
		code = 1
	}
	os.Exit(code)
}

func runSuite(m *testing.M) (int, error) {
	s.started = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	root, err := filepath.Abs("..")
	if err != nil {
		return 1, err
	}
	stack, err := harness.Ensure(ctx, root, os.Stderr)
	if err != nil {
		return 1, fmt.Errorf("mattermost stack: %w", err)
	}
	s.stack = stack

	pd, err := pdfake.Start(func(f string, a ...any) { fmt.Fprintf(os.Stderr, "pdfake: "+f+"\n", a...) })
	if err != nil {
		return 1, fmt.Errorf("starting the PagerDuty fake: %w", err)
	}
	defer pd.Close()
	s.pd = pd
	s.seed = pd.Seed()
	pd.RegisterOAuthClient(clientID, clientSecret)
	pd.AddAPIKey(apiKey)

	bin := filepath.Join(os.TempDir(), "pagerduty-app-e2e")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return 1, fmt.Errorf("building the app: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return 1, err
	}
	s.appURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	buf := make([]byte, 24)
	_, _ = rand.Read(buf)
	s.jwt = hex.EncodeToString(buf)
	stateDir, err := os.MkdirTemp("", "pagerduty-app-state-*")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(stateDir)
	s.app, err = harness.StartApp(ctx, bin, []string{
		"PD_APP_LISTEN=" + strings.TrimPrefix(s.appURL, "http://"),
		"PD_APP_ROOT_URL=" + s.appURL,
		"PD_APP_PUBLIC_URL=" + s.appURL,
		"PD_APP_JWT_SECRET=" + s.jwt,
		"PD_APP_STATE_DIR=" + stateDir,
		"PD_APP_LOG_LEVEL=debug",
		// Short, so the suite sees the real scheduler tick through Mattermost (scheduler_e2e_test.go).
		"PD_APP_TICK_INTERVAL=" + tickInterval.String(),
	}, s.appURL+"/healthz")
	if err != nil {
		return 1, fmt.Errorf("starting the app: %w", err)
	}
	defer s.app.Stop()
	if rss, err := s.app.RSS(); err == nil {
		fmt.Printf("e2e: idle app RSS right after start: %d KiB\n", rss)
	}

	// A clean install every run: the plugin regenerates the webhook secret, the app captures it.
	if err := stack.UninstallApp(ctx, appID); err != nil {
		return 1, fmt.Errorf("uninstalling a previous app: %w", err)
	}
	if _, err := stack.InstallApp(ctx, s.appURL+"/manifest.json", s.jwt); err != nil {
		return 1, fmt.Errorf("installing the app: %w", err)
	}
	// Checked here, before any test configures the app: a plain user of an unconfigured app is
	// told that an admin must configure it.
	help, err := stack.ExecuteCommand(ctx, stack.UserToken, stack.ChannelID, stack.TeamID, "/pagerduty help")
	if err != nil || !strings.Contains(help.Text, "a system admin must run `/pagerduty configure`") {
		return 1, fmt.Errorf("unconfigured app: /pagerduty help as a plain user answered %+v, %v", help, err)
	}
	fmt.Println("e2e: unconfigured app tells the plain user an admin must configure it")
	code := m.Run()
	if v := pd.Violations(); len(v) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d PagerDuty spec violations:\n  %s\n", len(v), strings.Join(v, "\n  "))
		code = 1
	}
	if !pd.SpecChecked() {
		fmt.Fprintln(os.Stderr, "WARNING: the PagerDuty OpenAPI spec was not found: requests were not spec-checked")
		if os.Getenv("PAGERDUTY_SPEC_REQUIRED") == "1" {
			code = 1
		}
	}
	if code != 0 {
		fmt.Fprintln(os.Stderr, "--- app log (tail) ---\n"+s.app.Logs(6000))
	}
	fmt.Printf("e2e: suite ran in %s\n", time.Since(s.started).Round(time.Second))
	return code, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func here() harness.Where { return s.stack.Here() }

// command runs a /pagerduty command as the webapp does (client-side parsing, then /call).
func command(t *testing.T, ctx context.Context, token, cmd string) *apps.CallResponse {
	t.Helper()
	resp, err := s.stack.ExecuteCommand(ctx, token, s.stack.ChannelID, s.stack.TeamID, cmd)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return resp
}

// botUserID is the installed app's bot user, read as the admin.
func botUserID(t *testing.T, ctx context.Context) string {
	t.Helper()
	app, err := s.stack.GetApp(ctx, appID)
	if err != nil {
		t.Fatal(err)
	}
	return app.BotUserID
}

// adminJSON sends one JSON request to Mattermost's REST API as the stack's admin and decodes the
// reply into out (nil: the reply is not read past its status).
func adminJSON(ctx context.Context, method, path string, in, out any) error {
	body, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, method, s.stack.URL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.stack.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.stack.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// addTeamMember is POST /api/v4/teams/{team}/members as the admin (the harness has no helper).
func addTeamMember(ctx context.Context, teamID, userID string) error {
	return adminJSON(ctx, http.MethodPost, "/api/v4/teams/"+teamID+"/members", map[string]string{"team_id": teamID, "user_id": userID}, nil)
}

// commandContext is the context the webapp sends with a modal opened by a command.
func commandContext(location string) apps.Context {
	return apps.Context{UserAgentContext: apps.UserAgentContext{
		AppID: appID, ChannelID: s.stack.ChannelID, TeamID: s.stack.TeamID, Location: apps.Location(location), UserAgent: "webapp",
	}}
}

// ensureConfigured configures the app as the admin, through the modal, once.
func ensureConfigured(t *testing.T, ctx context.Context) {
	t.Helper()
	if s.configured {
		return
	}
	resp := command(t, ctx, s.stack.AdminToken, "/pagerduty configure")
	if resp.Type != apps.CallResponseTypeForm || resp.Form == nil {
		t.Fatalf("/pagerduty configure answered %s %q", resp.Type, resp.Text)
	}
	resp, err := s.stack.SubmitForm(ctx, s.stack.AdminToken, *resp.Form, commandContext("/command/pagerduty/configure"), map[string]any{
		"region": "custom", "api_host": s.pd.URL(), "identity_host": s.pd.URL(), "events_host": s.pd.URL(),
		"client_id": clientID, "client_secret": clientSecret, "credential": "api_key", "api_key": apiKey,
	})
	if err != nil || resp.Type != apps.CallResponseTypeOK {
		t.Fatalf("submitting the configure modal: %v %+v", err, resp)
	}
	s.configured = true
}

// ensureConnected connects the plain user through the real OAuth redirect path, once.
func ensureConnected(t *testing.T, ctx context.Context) {
	t.Helper()
	ensureConfigured(t, ctx)
	if s.connected {
		return
	}
	s.pd.SetAuthorizingUser(s.seed.Responder)
	res, err := s.stack.ConnectOAuth(ctx, s.stack.UserToken, appID)
	if err != nil {
		t.Fatalf("OAuth connect: %v", err)
	}
	if res.Status != 200 || !strings.Contains(res.Text, "Completed connecting your account") {
		t.Fatalf("OAuth connect ended at %s with %d: %s (hops %v)", res.FinalURL, res.Status, res.Text, res.Hops)
	}
	s.connected = true
}
