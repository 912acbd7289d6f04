package timefmt

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{30 * time.Second, "<1m"},
		{45 * time.Minute, "45m"},
		{2*time.Hour + 30*time.Minute, "2h 30m"},
		{3 * time.Hour, "3h"},
		{28*time.Hour + 10*time.Minute, "1d 4h"},
		{48 * time.Hour, "2d"},
		{-90 * time.Minute, "1h 30m"},
		{49*time.Hour + 59*time.Minute, "2d 1h"},
	}
	for _, tt := range tests {
		if got := Duration(tt.d); got != tt.want {
			t.Errorf("Duration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestRelativeAndClock(t *testing.T) {
	berlin := Location(map[string]string{"useAutomaticTimezone": "true", "automaticTimezone": "Europe/Berlin"})
	now := time.Date(2026, 3, 28, 22, 0, 0, 0, time.UTC) // the night before the DST change
	tests := []struct {
		t        time.Time
		rel, clk string
	}{
		{now.Add(90 * time.Minute), "in 1h 30m", "Sun 00:30 CET"},
		{now.Add(-5 * time.Minute), "5m ago", "22:55 CET"},
		{now.Add(6 * time.Hour), "in 6h", "Sun 06:00 CEST"},
		{now.Add(10 * 24 * time.Hour), "in 10d", "Apr 8 00:00 CEST"},
	}
	for _, tt := range tests {
		if got := Relative(tt.t, now); got != tt.rel {
			t.Errorf("Relative = %q, want %q", got, tt.rel)
		}
		if got := Clock(tt.t, now, berlin); got != tt.clk {
			t.Errorf("Clock(%v) = %q, want %q", tt.t, got, tt.clk)
		}
	}
}

func TestLocationFallbacks(t *testing.T) {
	tests := []struct {
		tz   map[string]string
		want string
	}{
		{nil, "UTC"},
		{map[string]string{"useAutomaticTimezone": "false", "manualTimezone": "Asia/Tokyo", "automaticTimezone": "Europe/Berlin"}, "Asia/Tokyo"},
		{map[string]string{"useAutomaticTimezone": "true", "automaticTimezone": "Not/AZone"}, "UTC"},
		{map[string]string{"useAutomaticTimezone": "true", "automaticTimezone": "Not/AZone", "manualTimezone": "Asia/Tokyo"}, "Asia/Tokyo"},
		{map[string]string{"useAutomaticTimezone": "true", "automaticTimezone": "", "manualTimezone": "America/New_York"}, "America/New_York"},
	}
	for _, tt := range tests {
		if got := Location(tt.tz).String(); got != tt.want {
			t.Errorf("Location(%v) = %s, want %s", tt.tz, got, tt.want)
		}
	}
}
