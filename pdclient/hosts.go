// Package pdclient is the PagerDuty REST client used by the app: go-pagerduty
// for the calls it does well, our own requests for the ones it lacks or gets
// wrong, one retrying transport under both, and the OAuth helpers.
package pdclient

import (
	"fmt"
	"net/url"
	"strings"
)

// Hosts are the base URLs of one PagerDuty service region. They are settings
// (not constants) because EU accounts live on other hosts and tests use fakes.
type Hosts struct {
	API      string // REST API, e.g. https://api.pagerduty.com
	Identity string // OAuth authorize and token endpoints
	Events   string // Events API v2
}

// US is the default PagerDuty service region.
func US() Hosts {
	return Hosts{
		API:      "https://api.pagerduty.com",
		Identity: "https://identity.pagerduty.com",
		Events:   "https://events.pagerduty.com",
	}
}

// EU is the PagerDuty EU service region.
func EU() Hosts {
	return Hosts{
		API:      "https://api.eu.pagerduty.com",
		Identity: "https://identity.eu.pagerduty.com",
		Events:   "https://events.eu.pagerduty.com",
	}
}

// HostError says which host setting is wrong and why, so a settings form can
// point at the field.
type HostError struct {
	Field  string // "API", "Identity" or "Events"
	Reason string
}

func (e *HostError) Error() string {
	return fmt.Sprintf("PagerDuty %s host %s", e.Field, e.Reason)
}

// Validate checks that every host is an absolute http(s) URL without query,
// fragment or credentials. The URL itself is left out of the error in case
// someone pasted a secret into it.
func (h Hosts) Validate() error {
	for _, f := range []struct{ name, value string }{
		{"API", h.API}, {"Identity", h.Identity}, {"Events", h.Events},
	} {
		if reason := checkHost(f.value); reason != "" {
			return &HostError{Field: f.name, Reason: reason}
		}
	}
	return nil
}

func checkHost(s string) string {
	const must = "must be an absolute http(s) URL without query"
	if strings.TrimSpace(s) == "" {
		return "is empty: " + must
	}
	u, err := url.Parse(s)
	if err != nil {
		return "does not parse: " + must
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("has scheme %q: %s", u.Scheme, must)
	case u.Host == "":
		return "has no host name: " + must
	case u.RawQuery != "" || u.ForceQuery:
		return "has a query: " + must
	case u.Fragment != "":
		return "has a fragment: " + must
	case u.User != nil:
		return "contains credentials: " + must
	}
	return ""
}

// trimmed drops trailing slashes so paths can be appended as "/incidents".
func (h Hosts) trimmed() Hosts {
	return Hosts{
		API:      strings.TrimRight(h.API, "/"),
		Identity: strings.TrimRight(h.Identity, "/"),
		Events:   strings.TrimRight(h.Events, "/"),
	}
}

// orUS makes the zero Hosts mean the default region.
func orUS(h Hosts) Hosts {
	if h == (Hosts{}) {
		return US()
	}
	return h
}
