package config

import (
	"crypto/rand"
	"encoding/base64"
)

// endpointTokenBytes is an endpoint token's entropy: 256 bits.
const endpointTokenBytes = 32

// NewEndpointToken returns an unguessable endpoint token, for a SourceEnvironment whose
// Source signs nothing: 256 random bits, base64url without padding. The operator
// generates it into a Secret, self-hosted mode into a file.
func NewEndpointToken() string {
	b := make([]byte, endpointTokenBytes)
	_, _ = rand.Read(b) // never fails: crypto/rand.Read crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}
