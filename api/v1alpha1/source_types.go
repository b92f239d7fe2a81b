package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SourceType names the sender of a Source's events, which fixes how they are verified
// and where their event type, idempotency key and user id are found.
// +kubebuilder:validation:Enum=stripe;clerk;workos;supabase;posthog;segment;rudderstack;jitsu;freshpaint;hightouch;census;polytomic;slack;shopify;amplitude;clay;http
type SourceType string

const (
	// SourceTypeStripe verifies the Stripe-Signature header (HMAC-SHA256 over
	// "{t}.{body}", 5 minute tolerance). Event type body.type, key body.id.
	SourceTypeStripe SourceType = "stripe"
	// SourceTypeClerk verifies Clerk's Svix headers (svix-id, svix-timestamp,
	// svix-signature). Event type body.type, key header svix-id.
	SourceTypeClerk SourceType = "clerk"
	// SourceTypeWorkOS verifies the WorkOS-Signature header (millisecond timestamp,
	// 3 minute tolerance). Event type body.event, key body.id.
	SourceTypeWorkOS SourceType = "workos"
	// SourceTypeSupabase takes database webhooks, which are not signed. Event type
	// "{schema}.{table}:{type}", e.g. auth.users:INSERT; no key unless configured.
	SourceTypeSupabase SourceType = "supabase"
	// SourceTypePostHog takes PostHog's Knock/webhook destination, which is not
	// signed. Event type body.event, key body.messageId.
	SourceTypePostHog SourceType = "posthog"
	// SourceTypeSegment takes Segment's webhook destination, verifying X-Signature
	// (HMAC-SHA1) when a signing secret is set. Event type body.event for track calls,
	// the call type otherwise; key body.messageId.
	SourceTypeSegment SourceType = "segment"
	// SourceTypeRudderStack takes RudderStack's webhook destination (Segment spec, not
	// signed).
	SourceTypeRudderStack SourceType = "rudderstack"
	// SourceTypeJitsu takes Jitsu's webhook destination (Segment spec, not signed).
	SourceTypeJitsu SourceType = "jitsu"
	// SourceTypeFreshpaint takes Freshpaint's destination (Segment spec, not signed).
	SourceTypeFreshpaint SourceType = "freshpaint"
	// SourceTypeHightouch takes Hightouch syncs (records as JSON or NDJSON, bearer token).
	SourceTypeHightouch SourceType = "hightouch"
	// SourceTypeCensus takes Census syncs (records as JSON or NDJSON, bearer token).
	SourceTypeCensus SourceType = "census"
	// SourceTypePolytomic takes Polytomic syncs (records as JSON or NDJSON, bearer token).
	SourceTypePolytomic SourceType = "polytomic"
	// SourceTypeSlack verifies X-Slack-Signature (v0, HMAC-SHA256 over
	// "v0:{timestamp}:{body}", 5 minute tolerance). Event type body.event.type for Events
	// API callbacks, the interaction's type, or slash_command; key body.event_id, else
	// body.trigger_id.
	SourceTypeSlack SourceType = "slack"
	// SourceTypeShopify verifies X-Shopify-Hmac-Sha256 (or Shopify-Hmac-Sha256; base64
	// HMAC-SHA256 of the body). Event type header X-Shopify-Topic, key header
	// X-Shopify-Event-Id (or their names without X-).
	SourceTypeShopify SourceType = "shopify"
	// SourceTypeAmplitude takes Amplitude's webhook destinations (events, user updates
	// and cohort syncs), authenticated with a shared bearer secret. A cohort sync is one
	// event per audience member.
	SourceTypeAmplitude SourceType = "amplitude"
	// SourceTypeClay takes rows from Clay's HTTP API action, authenticated with a shared
	// bearer secret. Event type body.event, else body.type, else record.
	SourceTypeClay SourceType = "clay"
	// SourceTypeHTTP is any other HTTP sender; spec.http says how to verify and read it.
	SourceTypeHTTP SourceType = "http"
)

// SourceSpec describes one sender and how it speaks.
// +kubebuilder:validation:XValidation:rule="self.type == 'http' ? has(self.http) : !has(self.http)",message="spec.http is required when type is http and not allowed for other types"
// +kubebuilder:validation:XValidation:rule="!has(self.headerAuth) || !(self.type in ['stripe', 'clerk', 'workos', 'slack', 'shopify', 'amplitude', 'clay', 'http'])",message="headerAuth is only for source types that sign nothing; an http source sets spec.http.verification instead"
type SourceSpec struct {
	// type of the sender. It fixes the signature scheme and where the event type,
	// idempotency key and user id are read: stripe, clerk, workos, supabase, posthog,
	// segment, rudderstack, jitsu, freshpaint, hightouch, census, polytomic, slack,
	// shopify, amplitude, clay, or http for any other sender, described in spec.http.
	// +required
	Type SourceType `json:"type,omitempty"`

	// description says, for people, what this source is.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`

	// tolerance is how far a signed timestamp may be from the ingress's clock, in either
	// direction, for stripe, clerk, workos and slack sources. At most 1h; defaults to the
	// provider's own: 5m for Stripe, Clerk and Slack, 3m for WorkOS. An http source sets its
	// tolerance in spec.http.verification instead.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('1h')",message="tolerance must be at most 1h"
	Tolerance *Duration `json:"tolerance,omitempty"`

	// headerAuth also requires each request to carry one of the SourceEnvironment's
	// signing secrets in a header, on top of the unguessable endpoint token. Only for
	// source types that sign nothing: supabase, posthog, segment, rudderstack, jitsu,
	// freshpaint, hightouch, census and polytomic.
	// +optional
	HeaderAuth *HeaderAuth `json:"headerAuth,omitempty"`

	// http describes a custom HTTP sender: how it is verified and where its event
	// type, idempotency key and user id are found. Required when type is http.
	// +optional
	HTTP *HTTPSource `json:"http,omitempty"`
}

// HeaderAuthScheme is how a token is carried in a request header.
// +kubebuilder:validation:Enum=bearer;basic;header
type HeaderAuthScheme string

const (
	// HeaderAuthBearer expects "Authorization: Bearer <secret>".
	HeaderAuthBearer HeaderAuthScheme = "bearer"
	// HeaderAuthBasic expects HTTP basic auth; the secret is "user:password".
	HeaderAuthBasic HeaderAuthScheme = "basic"
	// HeaderAuthHeader expects the secret as the whole value of a named header.
	HeaderAuthHeader HeaderAuthScheme = "header"
)

// HeaderAuth requires a secret token in a request header.
// +kubebuilder:validation:XValidation:rule="self.scheme == 'header' || !has(self.header)",message="header is only used with scheme header"
type HeaderAuth struct {
	// scheme is how the token is carried: bearer (Authorization: Bearer), basic (HTTP
	// basic auth, secret "user:password") or header (the value of the named header).
	// +required
	Scheme HeaderAuthScheme `json:"scheme,omitempty"`

	// header names the header that carries the token for scheme header. Defaults to
	// X-Webhook-Secret.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9-]+$`
	Header string `json:"header,omitempty"`
}

// HTTPSource describes a custom HTTP sender.
type HTTPSource struct {
	// verification says how the ingress checks that a request is authentic. It is
	// required: a source that checks nothing must say so with type none.
	// +required
	Verification Verification `json:"verification,omitzero"`

	// eventType is a CEL expression giving the event's type, which EventMappings
	// match on. Defaults to body.type.
	// +optional
	// +kubebuilder:default:="body.type"
	EventType Expression `json:"eventType,omitempty"`

	// idempotencyKey is a CEL expression giving a key that is the same for every
	// delivery of one event, such as body.id or headers['x-delivery-id']. Keys longer
	// than 255 characters are dropped and the event is processed without idempotency.
	// When unset, every delivery is processed.
	// +optional
	IdempotencyKey Expression `json:"idempotencyKey,omitempty"`

	// userId is a CEL expression giving the id of the user the event is about; it
	// becomes event.user_id.
	// +optional
	UserID Expression `json:"userId,omitempty"`

	// preprocess is a CEL expression run after verification and before the event type
	// is read; its result is available to the other expressions as preprocess.
	// +optional
	Preprocess Expression `json:"preprocess,omitempty"`

	// handshake says which endpoint handshake (Meta's hub.challenge, Microsoft Graph's
	// validationToken, Zoom's endpoint.url_validation, Okta's verification challenge, or
	// one described in CEL) the endpoint answers; see docs/sources/handshakes.md.
	// +optional
	Handshake *Handshake `json:"handshake,omitempty"`
}

// VerificationType is a scheme for checking an HTTP request's authenticity.
// +kubebuilder:validation:Enum=hmac;standardWebhooks;github;twilio;basic;bearer;headerToken;cel;none
type VerificationType string

const (
	// VerificationHMAC checks an HMAC signature header, configured in hmac.
	VerificationHMAC VerificationType = "hmac"
	// VerificationStandardWebhooks checks webhook-id, webhook-timestamp and
	// webhook-signature as the Standard Webhooks spec defines (v1 HMAC, v1a Ed25519).
	VerificationStandardWebhooks VerificationType = "standardWebhooks"
	// VerificationGitHub checks X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of body>.
	VerificationGitHub VerificationType = "github"
	// VerificationTwilio checks X-Twilio-Signature: the base64 HMAC-SHA1 of the public
	// URL Twilio calls (twilio.url) followed by the form's parameters sorted by name, each
	// name then its value, keyed with the account's auth token.
	VerificationTwilio VerificationType = "twilio"
	// VerificationBasic checks HTTP basic auth against "user:password" secrets.
	VerificationBasic VerificationType = "basic"
	// VerificationBearer checks "Authorization: Bearer <secret>".
	VerificationBearer VerificationType = "bearer"
	// VerificationHeaderToken checks that a named header equals a secret.
	VerificationHeaderToken VerificationType = "headerToken"
	// VerificationCEL runs a CEL expression that must return true.
	VerificationCEL VerificationType = "cel"
	// VerificationNone checks nothing but the unguessable endpoint token.
	VerificationNone VerificationType = "none"
)

// Verification says how an HTTP source's requests are checked. The secrets come from
// the SourceEnvironment's signingSecretRefs; every one of them is tried, for rotation.
// +kubebuilder:validation:XValidation:rule="(self.type == 'hmac') == has(self.hmac)",message="hmac is required when type is hmac and not allowed otherwise"
// +kubebuilder:validation:XValidation:rule="(self.type == 'headerToken') == has(self.headerToken)",message="headerToken is required when type is headerToken and not allowed otherwise"
// +kubebuilder:validation:XValidation:rule="(self.type == 'cel') == has(self.cel)",message="cel is required when type is cel and not allowed otherwise"
// +kubebuilder:validation:XValidation:rule="self.type == 'standardWebhooks' || !has(self.standardWebhooks)",message="standardWebhooks is only used with type standardWebhooks"
// +kubebuilder:validation:XValidation:rule="(self.type == 'twilio') == has(self.twilio)",message="twilio is required when type is twilio and not allowed otherwise"
type Verification struct {
	// type is the scheme: hmac, standardWebhooks, github, twilio, basic, bearer,
	// headerToken, cel, or none (the unguessable endpoint token only; weakest).
	// +required
	Type VerificationType `json:"type,omitempty"`

	// hmac configures type hmac.
	// +optional
	HMAC *HMACVerification `json:"hmac,omitempty"`

	// standardWebhooks configures type standardWebhooks.
	// +optional
	StandardWebhooks *StandardWebhooksVerification `json:"standardWebhooks,omitempty"`

	// twilio configures type twilio.
	// +optional
	Twilio *TwilioVerification `json:"twilio,omitempty"`

	// headerToken configures type headerToken.
	// +optional
	HeaderToken *HeaderTokenVerification `json:"headerToken,omitempty"`

	// cel configures type cel.
	// +optional
	CEL *CELVerification `json:"cel,omitempty"`
}

// HMACAlgorithm is the hash an HMAC signature uses.
// +kubebuilder:validation:Enum=sha1;sha256;sha512
type HMACAlgorithm string

// The HMAC algorithms.
const (
	HMACSHA1   HMACAlgorithm = "sha1"
	HMACSHA256 HMACAlgorithm = "sha256"
	HMACSHA512 HMACAlgorithm = "sha512"
)

// SignatureEncoding is how a signature is written in its header.
// +kubebuilder:validation:Enum=hex;base64
type SignatureEncoding string

// The signature encodings.
const (
	EncodingHex    SignatureEncoding = "hex"
	EncodingBase64 SignatureEncoding = "base64"
)

// SignedContent is what bytes an HMAC signature covers.
// +kubebuilder:validation:Enum=body;timestamp.body;id.timestamp.body
type SignedContent string

// The signed contents: the raw body, "{timestamp}.{body}", or "{id}.{timestamp}.{body}".
const (
	SignedBody            SignedContent = "body"
	SignedTimestampBody   SignedContent = "timestamp.body"
	SignedIDTimestampBody SignedContent = "id.timestamp.body"
)

// TimestampUnit is the unit of a signed timestamp header.
// +kubebuilder:validation:Enum=seconds;milliseconds
type TimestampUnit string

// The timestamp units.
const (
	TimestampSeconds      TimestampUnit = "seconds"
	TimestampMilliseconds TimestampUnit = "milliseconds"
)

// HMACVerification configures a generic HMAC signature check. It covers most senders:
// Segment is {header: X-Signature, algorithm: sha1}; GitHub is {header:
// X-Hub-Signature-256, prefix: "sha256="}.
// +kubebuilder:validation:XValidation:rule="self.signedContent == 'body' || has(self.timestampHeader)",message="timestampHeader is required when signedContent includes the timestamp"
// +kubebuilder:validation:XValidation:rule="self.signedContent != 'id.timestamp.body' || has(self.idHeader)",message="idHeader is required when signedContent is id.timestamp.body"
type HMACVerification struct {
	// header names the request header carrying the signature.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9-]+$`
	Header string `json:"header,omitempty"`

	// algorithm is the hash: sha1, sha256 or sha512. Defaults to sha256.
	// +optional
	// +kubebuilder:default:=sha256
	Algorithm HMACAlgorithm `json:"algorithm,omitempty"`

	// encoding is how the signature is written: hex or base64. Defaults to hex.
	// +optional
	// +kubebuilder:default:=hex
	Encoding SignatureEncoding `json:"encoding,omitempty"`

	// prefix is text before the signature in the header, such as "sha256=".
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Prefix string `json:"prefix,omitempty"`

	// signedContent is what the signature covers: body, timestamp.body
	// ("{timestamp}.{body}") or id.timestamp.body ("{id}.{timestamp}.{body}"). Defaults
	// to body.
	// +optional
	// +kubebuilder:default:=body
	SignedContent SignedContent `json:"signedContent,omitempty"`

	// timestampHeader names the header carrying the signed timestamp. When set, the
	// timestamp must be within tolerance of the ingress's clock.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9-]+$`
	TimestampHeader string `json:"timestampHeader,omitempty"`

	// timestampUnit is the timestamp's unit: seconds or milliseconds. Defaults to seconds.
	// +optional
	// +kubebuilder:default:=seconds
	TimestampUnit TimestampUnit `json:"timestampUnit,omitempty"`

	// idHeader names the header carrying the message id for id.timestamp.body.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9-]+$`
	IDHeader string `json:"idHeader,omitempty"`

	// tolerance is how far the signed timestamp may be from the ingress's clock, in
	// either direction. At most 1h; defaults to 5m.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('1h')",message="tolerance must be at most 1h"
	Tolerance *Duration `json:"tolerance,omitempty"`
}

// StandardWebhooksVerification configures the Standard Webhooks check.
type StandardWebhooksVerification struct {
	// publicKeys are pinned Ed25519 public keys ("whpk_" + base64) for v1a
	// signatures. Symmetric v1 secrets come from the SourceEnvironment.
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MaxLength=128
	// +listType=atomic
	PublicKeys []string `json:"publicKeys,omitempty"`

	// tolerance is how far webhook-timestamp may be from the ingress's clock, in either
	// direction. At most 1h; defaults to 5m.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('1h')",message="tolerance must be at most 1h"
	Tolerance *Duration `json:"tolerance,omitempty"`
}

// TwilioVerification configures the check of Twilio's X-Twilio-Signature.
type TwilioVerification struct {
	// url is the public URL Twilio calls, exactly as it is configured in Twilio (scheme,
	// host, any port, path and query): Twilio signs that URL, so it is what the ingress
	// verifies, whatever proxy or gateway the request came through. The ingress never
	// rebuilds it from the request, so X-Forwarded-Proto and X-Forwarded-Host change
	// nothing. The URL with and without the scheme's default port (:443, :80) is accepted,
	// as Twilio's libraries accept it.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^\s]+$`
	URL string `json:"url,omitempty"`
}

// HeaderTokenVerification configures a check that a header equals a secret.
type HeaderTokenVerification struct {
	// header names the header that must equal one of the signing secrets.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9-]+$`
	Header string `json:"header,omitempty"`
}

// CELVerification configures a verification written in CEL.
type CELVerification struct {
	// expression must return true for an authentic request. It sees rawBody, headers and
	// vars, and is run once per signing secret with that secret as vars.signingSecret
	// (the request passes if any run returns true). hmac.sha256, hex.encode,
	// base64.encode and secureCompare are among its functions, e.g.
	// secureCompare(hex.encode(hmac.sha256(vars.signingSecret, rawBody)),
	// headers['x-signature']).
	// +required
	Expression Expression `json:"expression,omitempty"`
}

// SourceStatus is the observed state of a Source.
type SourceStatus struct {
	// conditions say whether the Source is valid (Ready).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=32
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the generation of the spec this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// environments is the number of SourceEnvironments that use this Source.
	// +optional
	Environments int32 `json:"environments,omitempty"`
}

// Source is one sender of events and how it speaks: its type and, for a custom HTTP
// sender, how to verify it and where its event type and keys are.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=src,categories=inlet
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Environments",type=integer,JSONPath=`.status.environments`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Source struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec describes the sender.
	// +required
	Spec SourceSpec `json:"spec,omitzero"`

	// status is what the operator observed.
	// +optional
	Status SourceStatus `json:"status,omitzero"`
}

// SourceList is a list of Sources.
// +kubebuilder:object:root=true
type SourceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []Source `json:"items"`
}
