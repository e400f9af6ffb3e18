// Package auth is jobgate's gatekeeper: it verifies bearer JWTs (HS256, RS256, ES256, with the
// accepted algorithms pinned to the configured keys), turns them into a Principal with an
// org, a tenant and scopes, provides the Echo middleware that guards tenant routes, mints
// tokens for `jobgate token`, and signs the capability URLs that let redirect targets work
// without an Authorization header.
//
// Every failure is an *Error carrying the HTTP status (401 or 403) and the
// WWW-Authenticate challenge; only the server turns it into a response. Nothing in this
// package logs or prints a token.
package auth
