// Package webhook turns PagerDuty V3 webhook deliveries into channel posts: it verifies the
// signature over the raw body, decodes the event (from PagerDuty's bytes or the Mattermost
// plugin's re-encoded JSON), drops redeliveries, and decides per subscribed channel whether to
// post a card, edit it and add a thread line, or skip an event older than what the card shows.
//
// It does no network I/O of its own and imports nothing of the Apps framework: the front door
// executes the returned Actions against Mattermost, and storage goes through kvstore.KV.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// SignatureHeader is the header PagerDuty signs deliveries with (docs/webhooks/04-Signatures.md).
const SignatureHeader = "X-PagerDuty-Signature"

// MaxBodySize caps the request body read by the ingress. PagerDuty guarantees delivery up to
// 55 KB and drops every webhook whose final size is over 256 KB (docs/webhooks/02-Behavior.md,
// "Size Limit"), so nothing genuine is larger; reading more is only an attacker's cost to us.
const MaxBodySize = 256 << 10

// GuaranteedBodySize is the size up to which PagerDuty guarantees delivery and per-incident
// ordering; larger webhooks (up to MaxBodySize) are best effort and may arrive out of order.
const GuaranteedBodySize = 55 << 10

// Verification errors. They never contain the secret, the expected signature or the header.
var (
	ErrNoSecret           = errors.New("webhook signature: no signing secret configured")
	ErrMissingSignature   = errors.New("webhook signature: X-PagerDuty-Signature header missing")
	ErrMalformedSignature = errors.New("webhook signature: no well-formed v1 signature in X-PagerDuty-Signature")
	ErrSignatureMismatch  = errors.New("webhook signature: no v1 signature matches the body")
)

// Verify checks body against the X-PagerDuty-Signature header value: a comma-separated list of
// "v1=<hex HMAC-SHA256 of the raw body>", one per signing secret PagerDuty currently has (two
// during a rotation). The body is trusted when any v1 value matches the HMAC under any of
// secrets (we may also hold two during our own rotation). Comparisons are constant time
// (hmac.Equal on the decoded bytes). Other versions and malformed entries are ignored; if no
// entry is a well-formed v1 signature the error is ErrMalformedSignature.
func Verify(body []byte, signatureHeader string, secrets ...[]byte) error {
	if len(secrets) == 0 {
		return ErrNoSecret
	}
	if strings.TrimSpace(signatureHeader) == "" {
		return ErrMissingSignature
	}
	var expected [][sha256.Size]byte
	for _, secret := range secrets {
		if len(secret) == 0 {
			continue
		}
		mac := hmac.New(sha256.New, secret)
		mac.Write(body)
		var sum [sha256.Size]byte
		mac.Sum(sum[:0])
		expected = append(expected, sum)
	}
	if len(expected) == 0 {
		return ErrNoSecret
	}
	wellFormed, match := false, false
	for entry := range strings.SplitSeq(signatureHeader, ",") {
		version, value, ok := strings.Cut(strings.TrimSpace(entry), "=")
		if !ok || version != "v1" || len(value) != 2*sha256.Size {
			continue
		}
		var got [sha256.Size]byte
		if _, err := hex.Decode(got[:], []byte(value)); err != nil {
			continue
		}
		wellFormed = true
		for i := range expected {
			// No early exit: the time taken does not depend on which secret matched.
			if hmac.Equal(got[:], expected[i][:]) {
				match = true
			}
		}
	}
	switch {
	case match:
		return nil
	case !wellFormed:
		return ErrMalformedSignature
	default:
		return ErrSignatureMismatch
	}
}

// Sign returns the header value PagerDuty would send for body under secrets ("v1=…,v1=…"), for
// tests and for the app's own re-entry into Mattermost.
func Sign(body []byte, secrets ...[]byte) string {
	parts := make([]string, 0, len(secrets))
	for _, s := range secrets {
		mac := hmac.New(sha256.New, s)
		mac.Write(body)
		parts = append(parts, "v1="+hex.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(parts, ",")
}
