// Package statefile keeps the app's small local state files (the scheduler's target, the webhook
// ingress's secrets). They hold secrets, so they are written whole (a temporary file renamed over
// the old one, never half-written) and only ever with mode 0600.
package statefile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Write stores v as JSON at path, creating its directory (0700) when needed.
func Write(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating the state directory: %w", err)
	}
	tmp := path + ".tmp"
	// A leftover from a crash keeps its mode through WriteFile: start afresh.
	if err := os.Remove(tmp); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("removing %s: %w", tmp, err)
	}
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	return nil
}
