// Package verify authenticates incoming webhook requests before inlet parses them.
//
// A [Verifier] checks one [Request]: the raw body exactly as received, the
// headers and the query. Verify returns nil only when the request is authentic.
// Every failure wraps one of the sentinel errors ([ErrMissingSignature],
// [ErrMalformedSignature], [ErrTimestampOutOfTolerance], [ErrSignatureMismatch],
// [ErrNoSecret], [ErrInvalidConfig]), so it can be checked with [errors.Is];
// the ingress answers every failure with HTTP 401 and records [Reason] in its
// metrics and logs.
//
// # Schemes
//
//   - [Stripe]: Stripe-Signature "t=<unix seconds>,v1=<hex>[,v1=<hex>…]",
//     HMAC-SHA256 over "{t}.{body}", keyed with the whole "whsec_…" string.
//   - [Svix]: Clerk and other Svix senders. svix-id, svix-timestamp and
//     svix-signature (or their webhook-* equivalents), HMAC-SHA256 over
//     "{id}.{timestamp}.{body}", base64, keyed with the base64 key after "whsec_".
//   - [StandardWebhooks]: webhook-id, webhook-timestamp and webhook-signature,
//     with "v1" HMAC-SHA256 signatures and "v1a" Ed25519 signatures checked
//     against pinned public keys.
//   - [WorkOS]: WorkOS-Signature "t=<unix milliseconds>, v1=<hex>",
//     HMAC-SHA256 over "{t}.{body}".
//   - [SegmentSignature]: X-Signature, hex HMAC-SHA1 of the body.
//   - [GitHub]: X-Hub-Signature-256 "sha256=<hex>", HMAC-SHA256 of the body.
//   - [Slack]: X-Slack-Request-Timestamp and X-Slack-Signature "v0=<hex>",
//     HMAC-SHA256 over "v0:{timestamp}:{body}".
//   - [Twilio]: X-Twilio-Signature, base64 HMAC-SHA1 of the configured public URL
//     and the form's parameters sorted by name (a JSON body through bodySHA256).
//   - [HMAC]: any other HMAC scheme, described by an [HMACConfig] (header,
//     algorithm, encoding, prefix, signed content, optional id and timestamp).
//   - [Bearer], [Basic], [HeaderToken] and [QueryToken]: a static shared
//     secret sent with every request, for senders that sign nothing.
//   - [None]: no check at all; the endpoint's unguessable URL is the only
//     protection.
//   - [All]: several verifiers that must all pass, for example an endpoint
//     token plus a header token.
//
// # Behaviour common to all schemes
//
// Signatures are computed over the raw body bytes and compared in constant time.
// Every constructor takes several secrets so that a secret can be rotated
// without downtime: a request is accepted when any signature it carries matches
// any configured secret. Constructors fail when no secret is configured, so a
// verifier never silently accepts everything (use [None] to opt out explicitly).
//
// Schemes with a timestamp check it in both directions: a request is accepted
// only when its timestamp is less than the tolerance away from now, whether in
// the past (a replay) or in the future. Because the timestamp is part of the
// signed content, it cannot be changed without invalidating the signature.
//
// Error messages name the scheme and the header involved but never contain a
// secret, a token, a received signature or an expected value, so they are safe
// to log.
package verify
