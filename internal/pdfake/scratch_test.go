package pdfake

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

func TestScratchLoad(t *testing.T) {
	raw, err := os.ReadFile("/work/shared/pagerduty/rest-openapiv3.json")
	if err != nil { t.Fatal(err) }
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(raw)); d.UseNumber()
	if err := d.Decode(&m); err != nil { t.Fatal(err) }
	comps := m["components"].(map[string]any)
	rb := comps["requestBodies"].(map[string]any)
	rs := comps["responses"].(map[string]any)
	rs["OrchestrationCacheVariableDataPutResponse"] = rb["OrchestrationCacheVariableDataPutResponse"]
	out, _ := json.Marshal(m)
	s := strings.ReplaceAll(string(out), `"#/components/requestBodies/OrchestrationCacheVariableDataPutResponse"`, `"#/components/responses/OrchestrationCacheVariableDataPutResponse"`)
	start := time.Now()
	l := openapi3.NewLoader()
	doc, err := l.LoadFromData([]byte(s))
	t.Logf("load %v err=%v", time.Since(start), err)
	if err != nil { return }
	err = doc.Validate(context.Background(), openapi3.DisableExamplesValidation(), openapi3.DisableSchemaDefaultsValidation())
	t.Logf("validate %v err=%v", time.Since(start), err)
}
