// Package golden compares rendered output (markdown, forms) with files under testdata/ and
// rewrites them under -update, for every package's golden tests.
package golden

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// update is the test binary's -update flag; importing this package registers it.
var update = flag.Bool("update", false, "rewrite golden files under testdata/ from the current output")

// Updating reports whether -update was given.
func Updating() bool { return *update }

// Assert compares got with testdata/name; under -update it writes got there instead.
func Assert(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file %s (run the test with -update to create it): %v", path, err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file (run with -update if intended).\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// AssertJSON is Assert on v as indented JSON.
func AssertJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	Assert(t, name, append(b, '\n'))
}
