package jetstream

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestPublishErrClassification(t *testing.T) {
	tests := map[string]struct {
		err                   error
		retryLater, permanent bool
	}{
		"duplicate in process": {
			err:        &jetstream.APIError{Code: 409, ErrorCode: 10158, Description: "duplicate message id is in process"},
			retryLater: true,
		},
		"wrapped in process": {
			err:        fmt.Errorf("publish x: %w", &jetstream.APIError{Code: 409, ErrorCode: 10158}),
			retryLater: true,
		},
		"batch incomplete": {
			err:        &jetstream.APIError{Code: 400, ErrorCode: 10176, Description: "atomic publish batch is incomplete"},
			retryLater: true,
		},
		"too many batches in flight": {
			err:        &jetstream.APIError{Code: 429, ErrorCode: 10210, Description: "atomic publish too many inflight"},
			retryLater: true,
		},
		"batch too large": {err: &jetstream.APIError{Code: 400, ErrorCode: 10199}, permanent: true},
		"another 4xx":     {err: &jetstream.APIError{Code: 400, ErrorCode: 10054}, permanent: true},
		"5xx":             {err: &jetstream.APIError{Code: 503, ErrorCode: 10008}},
		"bad subject":     {err: nats.ErrBadSubject, permanent: true},
		"timeout":         {err: errors.New("nats: timeout")},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := retryLater(tt.err); got != tt.retryLater {
				t.Errorf("retryLater(%v) = %v, want %v", tt.err, got, tt.retryLater)
			}
			if got := permanent(tt.err); got != tt.permanent {
				t.Errorf("permanent(%v) = %v, want %v", tt.err, got, tt.permanent)
			}
			if got := errors.Is(publishErr("s", tt.err), ErrUnavailable); got == tt.permanent {
				t.Errorf("publishErr(%v) unavailable = %v, want %v", tt.err, got, !tt.permanent)
			}
		})
	}
}

func TestVersionAtLeast(t *testing.T) {
	for v, want := range map[string]bool{
		"2.12.0": true, "2.15.2": true, "3.0.0": true, "2.14.0-RC.1": true,
		"2.11.9": false, "2.10.22": false, "1.99.0": false, "": false, "garbage": false,
	} {
		if got := versionAtLeast(v, 2, 12); got != want {
			t.Errorf("versionAtLeast(%q, 2, 12) = %v, want %v", v, got, want)
		}
	}
}
