package provider

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"inlet.dev/inlet/ingress/verify"
)

// zoomTolerance is how far Zoom's x-zm-request-timestamp may be from the clock.
const zoomTolerance = 5 * time.Minute

// zoomHandshake answers Zoom's endpoint validation, sent when the endpoint is set up and
// every 72 hours:
//
//	POST {"event": "endpoint.url_validation", "payload": {"plainToken": "<token>"}, ...}
//	x-zm-request-timestamp: <unix s>
//	x-zm-signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">
//
// once the signature is verified with one of the signing secrets (Zoom's secret token,
// 5 minute tolerance), with
//
//	{"plainToken": "<token>", "encryptedToken": "<hex HMAC-SHA256 of the token>"}
//
// keyed with the secret that verified it.
func zoomHandshake(secrets []string) (Handshake, error) {
	var keys []string
	for _, s := range secrets {
		if s != "" {
			keys = append(keys, s)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("signingSecretRefs: a zoom handshake needs Zoom's secret token as a signing secret")
	}
	const typ = "zoom"
	return &handshakeFunc{typ: typ, answer: func(_ context.Context, r *HandshakeRequest) (*HandshakeAnswer, error) {
		if r.Method != http.MethodPost || !bytes.Contains(r.Body, []byte("endpoint.url_validation")) {
			return nil, nil
		}
		var body struct {
			Event   string `json:"event"`
			Payload struct {
				PlainToken any `json:"plainToken"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil || body.Event != "endpoint.url_validation" {
			return nil, nil // not the validation event: the data path says what it is
		}
		secret, err := zoomVerify(keys, r)
		if err != nil {
			return nil, err
		}
		token, _ := body.Payload.PlainToken.(string)
		token, err = challenge(typ, "payload.plainToken", token)
		if err != nil {
			return nil, err
		}
		return jsonAnswer(map[string]string{"plainToken": token, "encryptedToken": ZoomEncryptedToken(secret, token)})
	}}, nil
}

// ZoomEncryptedToken is what Zoom's endpoint validation expects for plainToken: the hex
// HMAC-SHA256 of it, keyed with the secret token.
func ZoomEncryptedToken(secret, plainToken string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(plainToken))
	return hex.EncodeToString(mac.Sum(nil))
}

// ZoomSignature is Zoom's x-zm-signature of body sent at ts: "v0=" and the hex
// HMAC-SHA256 of "v0:{ts}:{body}", keyed with the secret token.
func ZoomSignature(secret string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + strconv.FormatInt(ts.Unix(), 10) + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// zoomVerify checks x-zm-signature and returns the secret that signed the request.
func zoomVerify(secrets []string, r *HandshakeRequest) (string, error) {
	sig := strings.TrimSpace(r.Header.Get("X-Zm-Signature"))
	ts := strings.TrimSpace(r.Header.Get("X-Zm-Request-Timestamp"))
	if sig == "" || ts == "" {
		return "", fmt.Errorf("zoom handshake: x-zm-signature and x-zm-request-timestamp: %w", verify.ErrMissingSignature)
	}
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil || len(got) != sha256.Size {
		return "", fmt.Errorf("zoom handshake: x-zm-signature: %w", verify.ErrMalformedSignature)
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || unix < 0 {
		return "", fmt.Errorf("zoom handshake: x-zm-request-timestamp: %w", verify.ErrMalformedSignature)
	}
	if age := r.Received.Sub(time.Unix(unix, 0)); age >= zoomTolerance || age <= -zoomTolerance {
		return "", fmt.Errorf("zoom handshake: x-zm-request-timestamp is %s from the clock: %w",
			age.Truncate(time.Second), verify.ErrTimestampOutOfTolerance)
	}
	for _, s := range secrets {
		mac := hmac.New(sha256.New, []byte(s))
		mac.Write([]byte("v0:" + ts + ":"))
		mac.Write(r.Body)
		if hmac.Equal(mac.Sum(nil), got) {
			return s, nil
		}
	}
	return "", fmt.Errorf("zoom handshake: x-zm-signature: %w", verify.ErrSignatureMismatch)
}
