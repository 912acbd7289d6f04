package statefile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteIsWholeAndPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "x.json")
	// A crash left a world-readable temporary file behind.
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".tmp", []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v := range []map[string]string{{"secret": "one"}, {"secret": "two"}} {
		if err := Write(path, v); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("mode = %v, %v; want 0600", st.Mode(), err)
		}
		b, _ := os.ReadFile(path)
		var got map[string]string
		if err := json.Unmarshal(b, &got); err != nil || got["secret"] != v["secret"] {
			t.Fatalf("file = %s, want %v", b, v)
		}
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatal("the temporary file was left behind")
	}
}
