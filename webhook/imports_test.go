package webhook

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// The domain packages must stay reusable by a second front door and must not reach the network
// by themselves: no Apps framework import, no HTTP client, in them or in the packages they use.
func TestDomainImports(t *testing.T) {
	forbidden := []string{"github.com/mattermost/mattermost-plugin-apps", "net/http", "net"}
	for _, dir := range []string{".", "../incident", "../subscription", "../mdsafe", "../kvstore"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				path := strings.Trim(imp.Path.Value, `"`)
				for _, bad := range forbidden {
					if path == bad || strings.HasPrefix(path, bad+"/") && bad != "net" {
						t.Errorf("%s imports %s", f, path)
					}
				}
			}
		}
	}
}
