package v1alpha1

// HandshakeType names the endpoint handshake an http Source answers: the request a
// sender makes, when its webhook is set up (and, for some, again from time to time), to
// check that the endpoint is the subscriber's own.
// +kubebuilder:validation:Enum=meta;microsoftGraph;zoom;okta;cel
type HandshakeType string

const (
	// HandshakeMeta answers Meta's (Facebook, Instagram, WhatsApp) verification request:
	// GET ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=..., answered with the
	// challenge as text/plain when hub.verify_token equals the configured verify token.
	HandshakeMeta HandshakeType = "meta"
	// HandshakeMicrosoftGraph answers Microsoft Graph's subscription validation: POST
	// ?validationToken=..., answered with the token as text/plain.
	HandshakeMicrosoftGraph HandshakeType = "microsoftGraph"
	// HandshakeZoom answers Zoom's endpoint.url_validation event, once its x-zm-signature
	// is verified with the signing secret, with {"plainToken", "encryptedToken"}, the
	// hex HMAC-SHA256 of plainToken keyed with that secret.
	HandshakeZoom HandshakeType = "zoom"
	// HandshakeOkta answers Okta's one-time event hook verification: GET with an
	// X-Okta-Verification-Challenge header, answered with {"verification": <value>} when
	// the request passes the Source's verification (Okta's authorization header).
	HandshakeOkta HandshakeType = "okta"
	// HandshakeCEL answers a handshake described in CEL: when it matches, what status,
	// body and headers to answer.
	HandshakeCEL HandshakeType = "cel"
)

// Handshake says which endpoint handshake an http Source's endpoint answers. A handshake
// is answered only when it is genuine (its token or signature checks out); it creates no
// event and publishes nothing. Secrets come from the SourceEnvironment, never from here.
// +kubebuilder:validation:XValidation:rule="(self.type == 'meta') == has(self.meta)",message="meta is required when type is meta and not allowed otherwise"
// +kubebuilder:validation:XValidation:rule="(self.type == 'cel') == has(self.cel)",message="cel is required when type is cel and not allowed otherwise"
type Handshake struct {
	// type is the handshake: meta (Meta, WhatsApp, Instagram: hub.challenge), microsoftGraph
	// (validationToken), zoom (endpoint.url_validation), okta (X-Okta-Verification-Challenge)
	// or cel (described in spec.http.handshake.cel).
	// +required
	Type HandshakeType `json:"type,omitempty"`

	// meta configures type meta.
	// +optional
	Meta *MetaHandshake `json:"meta,omitempty"`

	// cel configures type cel.
	// +optional
	CEL *CELHandshake `json:"cel,omitempty"`
}

// MetaHandshake configures Meta's verification request.
type MetaHandshake struct {
	// verifyTokenVariable names the SourceEnvironment variable (spec.variables, read from a
	// Secret with secretKeyRef) that holds the verify token entered in Meta's app
	// dashboard. A SourceEnvironment without this variable, or with it empty, is not
	// served, and its Ready condition says so.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	VerifyTokenVariable string `json:"verifyTokenVariable,omitempty"`
}

// HandshakeVerification says what a cel handshake request must pass before it is
// answered.
// +kubebuilder:validation:Enum=source;none
type HandshakeVerification string

const (
	// HandshakeVerifySource requires the request to pass the Source's own verification
	// (spec.http.verification), as an event would.
	HandshakeVerifySource HandshakeVerification = "source"
	// HandshakeVerifyNone leaves authenticity to the match expression, for senders whose
	// handshake carries no signature (it should compare a token with a secret variable,
	// or answer only what proves the secret, such as an HMAC of the challenge).
	HandshakeVerifyNone HandshakeVerification = "none"
)

// CELHandshake describes a handshake in CEL. Its expressions see body (the parsed JSON
// body, or null), rawBody, headers, vars, and two variables of their own: method (GET,
// HEAD or POST) and query (the URL's query parameters, the first value of each).
type CELHandshake struct {
	// match is a CEL expression that returns true for a handshake request, such as
	// method == 'GET' && 'crc_token' in query. A request it does not match goes on as an
	// event (POST) or is refused 405 (GET, HEAD).
	// +required
	Match Expression `json:"match,omitempty"`

	// verification is what a matched request must pass before it is answered: source
	// (the Source's spec.http.verification, as an event; the default) or none (match
	// alone decides, for a handshake that carries no signature). A request that fails is
	// answered 401.
	// +optional
	// +kubebuilder:default:=source
	Verification HandshakeVerification `json:"verification,omitempty"`

	// status is the HTTP status of the answer, 200 to 299. Defaults to 200.
	// +optional
	// +kubebuilder:default:=200
	// +kubebuilder:validation:Minimum=200
	// +kubebuilder:validation:Maximum=299
	Status int32 `json:"status,omitempty"`

	// body is a CEL expression giving the answer's body: a string (sent as text/plain),
	// bytes (application/octet-stream), or a map or list (sent as JSON). When unset, the
	// answer has no body.
	// +optional
	Body Expression `json:"body,omitempty"`

	// headers are the answer's headers, each a CEL expression giving a string, such as
	// {"Content-Type": "'text/plain'"}. Content-Length, Transfer-Encoding, Connection and
	// Set-Cookie cannot be set.
	// +optional
	// +kubebuilder:validation:MaxProperties=16
	Headers map[string]Expression `json:"headers,omitempty"`
}
