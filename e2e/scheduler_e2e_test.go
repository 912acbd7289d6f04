//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"
)

// The app's own scheduler (there is no timer API in Apps v1.2.2) POSTs the installation's
// webhook URL; the plugin turns each tick into a call with a bot context, which the app accepts
// only with this installation's secret. Seen here from the outside: tick calls arrive through
// the real plugin, and none is refused.
func TestSchedulerTicksThroughMattermost(t *testing.T) {
	calls := func() int { return strings.Count(s.app.Logs(0), "msg=call path=/webhook/tick ") }
	start := calls()
	deadline := time.Now().Add(10 * tickInterval)
	for calls() < start+2 {
		if time.Now().After(deadline) {
			t.Fatalf("the scheduler's ticks did not arrive through Mattermost within %s; app log tail:\n%s", 10*tickInterval, s.app.Logs(3000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if log := s.app.Logs(0); strings.Contains(log, "refused a webhook call without this installation's webhook secret") {
		t.Fatalf("a tick was refused: the scheduler does not tick this installation's URL\n%s", log[max(0, len(log)-3000):])
	}
	t.Logf("e2e: %d scheduler ticks arrived through the plugin", calls()-start)
}
