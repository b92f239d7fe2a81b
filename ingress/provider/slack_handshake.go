package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"inlet.dev/inlet/api/v1alpha1"
)

// Slack checks an app's Request URL with a url_verification request before it sends
// events to it (and again when the URL changes):
//
//	POST {"token": "...", "challenge": "<challenge>", "type": "url_verification"}
//
// signed as every Slack request is. It is answered with {"challenge": "<challenge>"}
// only once the signature is verified with the app's signing secret, and creates no
// event.
func init() { registerHandshake(v1alpha1.SourceTypeSlack, slackHandshake) }

func slackHandshake(_ Config, compiled Compiled) (Handshake, error) {
	const typ = "slack"
	return &handshakeFunc{typ: typ, answer: func(_ context.Context, r *HandshakeRequest) (*HandshakeAnswer, error) {
		if r.Method != http.MethodPost || !bytes.Contains(r.Body, []byte("url_verification")) {
			return nil, nil
		}
		var body struct {
			Type      string `json:"type"`
			Challenge any    `json:"challenge"`
		}
		if json.Unmarshal(r.Body, &body) != nil || body.Type != "url_verification" {
			return nil, nil // an event that mentions it: the data path says what it is
		}
		if err := verifyWith(compiled.Verifier, r); err != nil {
			return nil, fmt.Errorf("slack handshake: %w", err)
		}
		c, _ := body.Challenge.(string)
		c, err := challenge(typ, "challenge", c)
		if err != nil {
			return nil, err
		}
		return jsonAnswer(map[string]string{"challenge": c})
	}}, nil
}
