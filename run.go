package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/mattermost/mattermost-app-pagerduty/app"
	"github.com/mattermost/mattermost-app-pagerduty/config"
	"github.com/mattermost/mattermost-app-pagerduty/scheduler"
)

// run is the whole program; main only supplies the process's environment so tests can drive it.
// It returns when ctx ends (after a graceful shutdown) or when serving fails.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	if err := cfg.EnsureJWTSecret(); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	manifest, err := fs.ReadFile(assets, "manifest.json")
	if err != nil {
		return fmt.Errorf("reading the embedded manifest: %w", err)
	}
	timer := &scheduler.Scheduler{Interval: cfg.TickInterval, StateDir: cfg.StateDir, Client: &http.Client{Timeout: 30 * time.Second}, Log: log}
	if err := timer.Load(); err != nil {
		log.Warn("the scheduler starts unarmed: the first call from Mattermost arms it", "error", err.Error())
	}
	a, err := app.New(app.Options{
		RootURL: cfg.RootURL, PublicURL: cfg.PublicURL, JWTSecret: cfg.JWTSecret,
		Manifest: manifest, Static: assets, Logger: log, Timer: timer, StateDir: cfg.StateDir,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	printNextSteps(stdout, cfg, ln.Addr().String())
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	go func() {
		if err := timer.Run(ctx); err != nil {
			log.Error("the scheduler stopped", "error", err.Error())
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// printNextSteps tells the operator what to do next, in plain words, without any secret.
func printNextSteps(w io.Writer, cfg config.Config, addr string) {
	fmt.Fprintf(w, "PagerDuty app listening on %s\n", addr)
	fmt.Fprintf(w, "Manifest: %s/manifest.json\n\n", cfg.RootURL)
	fmt.Fprintln(w, "Next steps:")
	fmt.Fprintln(w, "  1. Enable Apps on the Mattermost server (v10+: MM_FEATUREFLAGS_APPSENABLED=true) and the Apps plugin.")
	if cfg.JWTSecretFile != "" {
		fmt.Fprintf(w, "  2. In Mattermost, as a system admin: /apps install http %s/manifest.json\n", cfg.RootURL)
		fmt.Fprintf(w, "     and paste the JWT secret from %s (%s was not set; a secret was generated there).\n", cfg.JWTSecretFile, config.EnvJWTSecret)
	} else {
		fmt.Fprintf(w, "  2. In Mattermost, as a system admin: /apps install http %s/manifest.json\n", cfg.RootURL)
		fmt.Fprintf(w, "     and enter the same JWT secret as %s.\n", config.EnvJWTSecret)
	}
	fmt.Fprintln(w, "  3. Register a PagerDuty app (Scoped OAuth) and run /pagerduty configure: it shows the redirect URL to register.")
	fmt.Fprintln(w, "  4. Each user runs /pagerduty connect.")
	if cfg.PublicURL == "" {
		fmt.Fprintf(w, "  (Optional) Set %s to a URL PagerDuty can reach for signed, direct webhook delivery.\n", config.EnvPublicURL)
	}
}
