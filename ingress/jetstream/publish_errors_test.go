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
		err                  error
		inProcess, permanent bool
	}{
		"duplicate in process": {
			err:       &jetstream.APIError{Code: 409, ErrorCode: 10158, Description: "duplicate message id is in process"},
			inProcess: true,
		},
		"wrapped in process": {
			err:       fmt.Errorf("publish x: %w", &jetstream.APIError{Code: 409, ErrorCode: 10158}),
			inProcess: true,
		},
		"another 4xx": {err: &jetstream.APIError{Code: 400, ErrorCode: 10054}, permanent: true},
		"5xx":         {err: &jetstream.APIError{Code: 503, ErrorCode: 10008}},
		"bad subject": {err: nats.ErrBadSubject, permanent: true},
		"timeout":     {err: errors.New("nats: timeout")},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := inProcess(tt.err); got != tt.inProcess {
				t.Errorf("inProcess(%v) = %v, want %v", tt.err, got, tt.inProcess)
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
