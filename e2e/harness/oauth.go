package harness

import (
	"context"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"

	"github.com/mattermost/mattermost-plugin-apps/apps"
)

// BrowserResult is where a browser ended up after following redirects.
type BrowserResult struct {
	FinalURL string   // the last URL fetched (secrets redacted)
	Status   int      // its status
	Text     string   // its body as text (HTML tags stripped, whitespace collapsed)
	Body     string   // its raw body (excerpt)
	Hops     []string // every URL fetched, in order (secrets redacted)
}

// ConnectOAuthURL is {URL}/plugins/com.mattermost.apps/apps/{appID}/oauth2/remote/connect.
func (s *Stack) ConnectOAuthURL(appID apps.AppID) string {
	return s.URL + "/plugins/com.mattermost.apps/apps/" + pathEscape(string(appID)) + "/oauth2/remote/connect"
}

// ConnectOAuth opens the app's OAuth2 connect URL in a "browser" logged in as the user of
// userToken (session cookie MMAUTHTOKEN, as the webapp's browser has; the server also
// accepts "Authorization: Bearer" on plugin routes, but a browser window sends the cookie)
// and follows the redirects by hand: the plugin answers 307 to the URL the app's
// get_oauth2_connect_url returned (the provider's authorize page), the provider redirects to
// .../oauth2/remote/complete?code&state, and the plugin calls on_oauth2_complete and renders
// "Completed connecting your account...". Every hop must stay on loopback (127.0.0.0/8, ::1,
// localhost): any other host is refused with an error before it is contacted.
// A final status other than 200 is an error (the result is returned too).
func (s *Stack) ConnectOAuth(ctx context.Context, userToken string, appID apps.AppID) (*BrowserResult, error) {
	return s.Browse(ctx, userToken, s.ConnectOAuthURL(appID))
}

// Browse GETs start as a browser logged in with userToken (MMAUTHTOKEN cookie on the
// Mattermost host; cookies set by any host are kept, as a browser's jar), following at most
// 10 redirects, loopback only. See ConnectOAuth.
func (s *Stack) Browse(ctx context.Context, userToken, start string) (*BrowserResult, error) {
	jar, _ := cookiejar.New(nil)
	mm, err := url.Parse(s.URL)
	if err != nil {
		return nil, err
	}
	if userToken != "" {
		jar.SetCookies(mm, []*http.Cookie{{Name: "MMAUTHTOKEN", Value: userToken, Path: "/", HttpOnly: true}})
	}
	base := s.HTTP.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	client := &http.Client{
		Jar:       jar,
		Timeout:   s.HTTP.Timeout,
		Transport: base,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	res := &BrowserResult{}
	next := start
	for hop := 0; ; hop++ {
		u, err := url.Parse(next)
		if err != nil {
			return res, fmt.Errorf("hop %d: bad URL %q: %w", hop, redact(next), err)
		}
		if !isLoopback(u.Hostname()) {
			return res, fmt.Errorf("hop %d: refusing to leave loopback for %s (hops so far: %s)", hop, redact(next), strings.Join(res.Hops, " -> "))
		}
		if hop >= 10 {
			return res, fmt.Errorf("more than 10 redirects: %s", strings.Join(res.Hops, " -> "))
		}
		res.Hops = append(res.Hops, redact(next))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		if err != nil {
			return res, err
		}
		req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*")
		resp, err := client.Do(req)
		if err != nil {
			return res, fmt.Errorf("GET %s: %w", redact(next), err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		res.FinalURL, res.Status, res.Body, res.Text = redact(next), resp.StatusCode, excerpt(body), htmlText(body)
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			loc := resp.Header.Get("Location")
			if loc == "" {
				return res, fmt.Errorf("GET %s: %d without Location", redact(next), resp.StatusCode)
			}
			nu, err := u.Parse(loc)
			if err != nil {
				return res, fmt.Errorf("GET %s: bad Location %q: %w", redact(next), loc, err)
			}
			next = nu.String()
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return res, fmt.Errorf("browser ended at GET %s: %d %s: %s (hops: %s)", res.FinalURL, resp.StatusCode,
				http.StatusText(resp.StatusCode), res.Text, strings.Join(res.Hops, " -> "))
		}
		return res, nil
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var (
	scriptRE = regexp.MustCompile(`(?is)<(script|style)[^>]*>.*?</(script|style)>`)
	tagRE    = regexp.MustCompile(`(?s)<[^>]*>`)
	spaceRE  = regexp.MustCompile(`\s+`)
)

func htmlText(b []byte) string {
	s := scriptRE.ReplaceAllString(string(b), " ")
	s = tagRE.ReplaceAllString(s, " ")
	s = html.UnescapeString(s)
	return strings.TrimSpace(spaceRE.ReplaceAllString(s, " "))
}
