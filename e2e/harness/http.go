package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/mattermost/mattermost-plugin-apps/apps/appclient"
	"github.com/mattermost/mattermost-server/v6/model"
)

// HTTPError is an answer of the server other than 2xx.
type HTTPError struct {
	Method string
	URL    string // secrets in the query are redacted
	Status int
	Body   string // excerpt
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.URL, e.Status, http.StatusText(e.Status), e.Body)
}

var secretRE = regexp.MustCompile(`(?i)((?:secret|access_token|code|token)=)[^&\s]+`)

func redact(u string) string { return secretRE.ReplaceAllString(u, "${1}REDACTED") }

func excerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}

// do sends one request. token is sent as "Authorization: Bearer"; a non-nil body is sent as
// JSON. It returns the body of a 2xx answer, an *HTTPError otherwise.
func (s *Stack) do(ctx context.Context, method, u, token string, body []byte, hdr http.Header) ([]byte, error) {
	data, _, err := s.doStatus(ctx, method, u, token, body, hdr)
	return data, err
}

// doStatus is do that also returns the status (0 when no answer).
func (s *Stack) doStatus(ctx context.Context, method, u, token string, body []byte, hdr http.Header) ([]byte, int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, 0, err
	}
	for k, vv := range hdr {
		for _, v := range vv {
			req.Header.Add(k, v)
		}
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("X-Requested-With", "XMLHttpRequest") // as the webapp's Client4
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: %w", method, redact(u), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("%s %s: reading body: %w", method, redact(u), err)
	}
	if resp.StatusCode/100 != 2 {
		return data, resp.StatusCode, &HTTPError{Method: method, URL: redact(u), Status: resp.StatusCode, Body: excerpt(data)}
	}
	return data, resp.StatusCode, nil
}

// getJSON / postJSON: do + JSON decoding of the answer into out (when out != nil).
func (s *Stack) getJSON(ctx context.Context, u, token string, out any) error {
	data, err := s.do(ctx, http.MethodGet, u, token, nil, nil)
	if err != nil {
		return err
	}
	return decode(http.MethodGet, u, data, out)
}

func (s *Stack) sendJSON(ctx context.Context, method, u, token string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	data, err := s.do(ctx, method, u, token, b, nil)
	if err != nil {
		return err
	}
	return decode(method, u, data, out)
}

func decode(method, u string, data []byte, out any) error {
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decoding %T: %w; body: %s", method, redact(u), out, err, excerpt(data))
	}
	return nil
}

// appsClient is an appclient.ClientPP (the Apps plugin's own REST client) authenticated with
// token, whose requests carry ctx (ClientPP itself builds requests without a context).
func (s *Stack) appsClient(ctx context.Context, token string) *appclient.ClientPP {
	c := appclient.NewAppsPluginAPIClient(s.URL)
	base := s.HTTP.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.HTTPClient = &http.Client{Transport: ctxTransport{ctx: ctx, base: base}, Timeout: s.HTTP.Timeout}
	if token != "" {
		c.SetOAuthToken(token)
	}
	c.HTTPHeader["X-Requested-With"] = "XMLHttpRequest"
	return c
}

type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(r.WithContext(t.ctx))
}

// appsErr turns an appclient error (whose text is the body of a non-2xx answer) into an
// *HTTPError when a status is known.
func (s *Stack) appsErr(method, p string, resp *model.Response, err error) error {
	if err == nil {
		return nil
	}
	u := s.AppsAPI + p
	if resp != nil && resp.StatusCode != 0 && resp.StatusCode/100 != 2 {
		return &HTTPError{Method: method, URL: redact(u), Status: resp.StatusCode, Body: excerpt([]byte(err.Error()))}
	}
	return fmt.Errorf("%s %s: %w", method, redact(u), err)
}

func pathEscape(s string) string { return url.PathEscape(s) }
