package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestVerify(t *testing.T) {
	body := []byte(`{"event":{"id":"01","event_type":"incident.triggered"}}`)
	current := []byte("current-secret")
	old := []byte("old-secret")
	other := []byte("not-our-secret")
	sig := func(secret []byte) string {
		mac := hmac.New(sha256.New, secret)
		mac.Write(body)
		return "v1=" + hex.EncodeToString(mac.Sum(nil))
	}

	tests := []struct {
		name    string
		header  string
		secrets [][]byte
		want    error
	}{
		{"valid", sig(current), [][]byte{current}, nil},
		{"valid, upper-case hex", "v1=" + strings.ToUpper(strings.TrimPrefix(sig(current), "v1=")), [][]byte{current}, nil},
		{"valid with spaces", "  " + sig(current) + " ", [][]byte{current}, nil},
		{"rotated by PagerDuty: ours is the first v1", sig(current) + "," + sig(other), [][]byte{current}, nil},
		{"rotated by PagerDuty: ours is the second v1", sig(other) + "," + sig(current), [][]byte{current}, nil},
		{"rotated by us: second secret matches", sig(old), [][]byte{current, old}, nil},
		{"future version next to v1", "v2=abcdef," + sig(current), [][]byte{current}, nil},
		{"invalid: signed with another secret", sig(other), [][]byte{current}, ErrSignatureMismatch},
		{"invalid: both rotated values wrong", sig(other) + "," + sig(old), [][]byte{current}, ErrSignatureMismatch},
		{"invalid: body altered", sig(current), [][]byte{[]byte("current-secreT")}, ErrSignatureMismatch},
		{"missing header", "", [][]byte{current}, ErrMissingSignature},
		{"blank header", "   ", [][]byte{current}, ErrMissingSignature},
		{"malformed: no v1", "v2=" + strings.TrimPrefix(sig(current), "v1="), [][]byte{current}, ErrMalformedSignature},
		{"malformed: not hex", "v1=" + strings.Repeat("zz", 32), [][]byte{current}, ErrMalformedSignature},
		{"malformed: truncated", sig(current)[:40], [][]byte{current}, ErrMalformedSignature},
		{"malformed: bare value", strings.TrimPrefix(sig(current), "v1="), [][]byte{current}, ErrMalformedSignature},
		{"no secret configured", sig(current), nil, ErrNoSecret},
		{"only empty secrets", sig(current), [][]byte{{}}, ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(body, tt.header, tt.secrets...)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if err != nil {
				for _, s := range [][]byte{current, old} {
					if strings.Contains(err.Error(), string(s)) {
						t.Fatalf("error %q echoes a secret", err)
					}
				}
				if strings.Contains(err.Error(), strings.TrimPrefix(sig(current), "v1=")) {
					t.Fatalf("error %q echoes a signature", err)
				}
			}
		})
	}

	// A one-byte change to the body breaks the signature.
	tampered := append([]byte{}, body...)
	tampered[10] ^= 1
	if err := Verify(tampered, sig(current), current); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("tampered body: %v", err)
	}
	// Sign produces what Verify accepts, for every secret.
	if err := Verify(body, Sign(body, other, current), current); err != nil {
		t.Fatalf("Sign/Verify round trip: %v", err)
	}
}
