// Package google is what every part of watchrelay that calls a Google API
// shares: the table of kinds (which API, watch call, params, scopes and
// channel lifetime each watched resource has), the typed
// google.golang.org/api clients with their credentials (Application Default
// Credentials, or domain-wide delegation through impersonation for a watch
// with a subject; no key files), and the classification of Google's errors
// into gone, failed and transient, with a reason a person can act on.
//
// Renew (renew/) opens and stops channels through it, the CLI validates
// watches with it, and Sync (changes/) reads changes through the same
// clients. With a base URL (WATCHRELAY_API_BASE_URL) every client talks
// to that host instead, carrying a stand-in token that names the watch's
// subject (SubjectToken), so that tests and the demo reach the project's
// simulator, internal/fake/googlesim, through the very same code.
package google
