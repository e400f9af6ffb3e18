package callmode

import "github.com/jobgate/jobgate/jobs"

// Settings are a tenant's call-mode settings (docs/api.md §9, "Redirect auth and redirect codes").
type Settings struct {
	// RequireAuthOnRedirects: status, output and hop URLs need the bearer token. When false,
	// every such Location carries a signed capability for its one job instead. Default true.
	RequireAuthOnRedirects bool `json:"RequireAuthOnRedirects"`
	// RedirectStatus is 303 (default) or 302, for clients that only follow 302.
	RedirectStatus int `json:"RedirectStatus"`
}

// DefaultSettings returns the settings of a tenant that configured none.
func DefaultSettings() Settings {
	return Settings{RequireAuthOnRedirects: true, RedirectStatus: 303}
}

// Validate reports EINVALID for settings the server cannot honour.
func (s Settings) Validate() error {
	if s.RedirectStatus != 302 && s.RedirectStatus != 303 {
		return &jobs.Error{Code: jobs.EINVALID, Message: "RedirectStatus must be 302 or 303",
			Fields: []jobs.FieldError{{Name: "RedirectStatus", Detail: "must be 302 or 303"}}}
	}
	return nil
}
