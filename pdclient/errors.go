package pdclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/PagerDuty/go-pagerduty"
)

// ErrGrantRevoked means the refresh token was refused (revoked, expired or
// already used): the user has to connect their PagerDuty account again.
var ErrGrantRevoked = errors.New("PagerDuty refused the stored authorization; reconnect your PagerDuty account")

// ErrTruncated means a list had more than PagerDuty lets anyone page through
// (offset+limit ≤ 10000); the items read so far are returned with it.
var ErrTruncated = errors.New("PagerDuty list truncated at 10000 records; narrow the filter")

// APIError is a non-2xx answer from the REST API, whichever code path made
// the request. It never carries request headers, so never a token.
type APIError struct {
	StatusCode int      // HTTP status
	Code       int      // PagerDuty error code (see REST-API/14-Errors), 0 if none
	Message    string   // PagerDuty's message, if it sent one
	Errors     []string // PagerDuty's details
	Op         string   // what we were doing, e.g. "getting incident PXXXX"
}

func (e *APIError) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "PagerDuty answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, " (code %d)", e.Code)
	}
	if len(e.Errors) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Errors, "; "))
	}
	return b.String()
}

func asAPIError(err error) (*APIError, bool) {
	var e *APIError
	ok := errors.As(err, &e)
	return e, ok
}

// IsNotFound reports a 404 (or PagerDuty's "Not Found" code 2100).
func IsNotFound(err error) bool {
	e, ok := asAPIError(err)
	return ok && (e.StatusCode == http.StatusNotFound || e.Code == 2100)
}

// IsForbidden reports a 403: the token lacks the scope or the user the right.
func IsForbidden(err error) bool {
	e, ok := asAPIError(err)
	return ok && e.StatusCode == http.StatusForbidden
}

// IsUnauthorized reports a 401: the token is invalid or expired.
func IsUnauthorized(err error) bool {
	e, ok := asAPIError(err)
	return ok && e.StatusCode == http.StatusUnauthorized
}

// IsRateLimited reports a 429 that outlasted our retries.
func IsRateLimited(err error) bool {
	e, ok := asAPIError(err)
	return ok && e.StatusCode == http.StatusTooManyRequests
}

// readAPIError builds an APIError from a non-2xx response and closes it.
func readAPIError(resp *http.Response) *APIError {
	defer resp.Body.Close()
	e := &APIError{StatusCode: resp.StatusCode}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var doc struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &doc) != nil || len(doc.Error) == 0 {
		return e
	}
	var obj struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Errors  json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(doc.Error, &obj) != nil {
		// Some endpoints answer {"error": "text"}.
		var s string
		if json.Unmarshal(doc.Error, &s) == nil {
			e.Message = s
		}
		return e
	}
	e.Code, e.Message = obj.Code, obj.Message
	// "errors" is documented as a list but has been seen as a single string.
	if json.Unmarshal(obj.Errors, &e.Errors) != nil {
		var s string
		if json.Unmarshal(obj.Errors, &s) == nil && s != "" {
			e.Errors = []string{s}
		}
	}
	return e
}

// fail adds what we were doing to err and turns go-pagerduty's APIError into
// ours. go-pagerduty flattens transport errors with %v, so a cancelled ctx is
// re-attached for errors.Is.
func fail(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if e, ok := asAPIError(err); ok {
		c := *e
		c.Op = op
		return &c
	}
	var pe pagerduty.APIError
	if errors.As(err, &pe) {
		e := &APIError{StatusCode: pe.StatusCode, Op: op}
		if pe.APIError.Valid {
			o := pe.APIError.ErrorObject
			e.Code, e.Message, e.Errors = o.Code, o.Message, o.Errors
		}
		return e
	}
	var pp *pagerduty.APIError
	if errors.As(err, &pp) && pp != nil {
		return fail(ctx, op, *pp)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%s: %w", op, cerr)
	}
	return fmt.Errorf("%s: %w", op, err)
}
