package provider

import (
	"net/http"
	"time"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/verify"
)

// clay: rows a Clay table sends with its HTTP API action (docs/sources/clay.md).
//
//	verified  Authorization: Bearer <signing secret>, a secret shared with Clay
//	          (compared in constant time); no endpoint token
//	type      body.event, else body.type, when a non-empty string; else "record"
//	key       header Idempotency-Key, else none
//	user id   body.user_id, else body.userId, else body.id
//	data      the whole row (body)
func init() {
	register(&builtin{
		typ:              v1alpha1.SourceTypeClay,
		signs:            true,
		signatureHeaders: []string{authorizationHeader},
		verifier:         bearer,
		sign:             signBearer,
		describe:         describeRecord,
		reads:            recordReads,
		data:             []string{""},
	})
}

// bearer is the verifier of a sender that authenticates with a shared bearer secret.
func bearer(secrets []string, _ time.Duration) (verify.Verifier, error) {
	return verify.Bearer(secrets)
}

// signBearer sets the shared bearer secret.
func signBearer(h http.Header, secret string, _ time.Time, _ []byte) error {
	signHeaderToken(h, v1alpha1.HeaderAuthBearer, "", secret)
	return nil
}
